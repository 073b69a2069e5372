// The MDO page: an administrator logs in, uploads an XLSX with good and bad
// rows, follows it in the uploads table, downloads the template, the file
// and the result; then finds a new user, deactivates (after confirming)
// and activates them. The tables fit at 1280 px and become stacked cards
// at 390 px with every column and action; a running upload has a moving
// progress bar.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { launch, open, ready, quiet, noProblems, noOverflow, startStack, createAdmin, adminLoginPage, adminLoginApi, PHONE } from './lib/browser.mjs';
import { makeXlsx, readXlsx } from './lib/xlsx.mjs';

let stack, browser;
const PW = 'a long enough password';
before(async () => {
  stack = await startStack();
  createAdmin(stack.srv, { role: 'mdo', username: 'mdo.doj', password: PW, org: 'd-doj', first: 'Meera', last: 'Iyer', email: 'meera.iyer@doj.gov.in', mobile: '9876500011' });
  browser = await launch();
});
after(async () => { await browser?.close(); await stack?.stop(); });

async function download(page, click) {
  const [dl] = await Promise.all([page.waitForEvent('download'), click()]);
  const file = await dl.path();
  return { name: dl.suggestedFilename(), data: readFileSync(file) };
}

test('upload an XLSX with good and bad rows, download the result, manage users', async () => {
  const page = await open(browser, { base: stack.url, viewport: { width: 1280, height: 800 } });
  await adminLoginPage(page, stack, 'mdo.doj', PW);
  await page.waitForURL(`${stack.url}/mdo`);
  await ready(page);

  // the tabs are keyboard operable: Right arrow twice reaches File uploads
  await page.focus('#tab-active');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.getAttribute('#tab-uploads', 'aria-selected'), 'true');
  await page.waitForSelector('#panel-uploads:visible');
  await quiet(page);

  // the template
  const tpl = await download(page, () => page.click('#template-xlsx'));
  assert.deepEqual(readXlsx(tpl.data)[0].slice(0, 4), ['First Name', 'Last Name', 'Email Id', 'Mobile Number']);

  // no file chosen: an error next to the file field
  await page.click('#upload-submit');
  await page.waitForSelector('#file[aria-invalid=true]');
  assert.equal((await page.textContent('#file-error')).trim(), 'Choose a CSV or XLSX file to upload');

  const dir = mkdtempSync(path.join(tmpdir(), 'pravesh-upload-'));
  const file = path.join(dir, 'users file-upload test (May).xlsx');
  writeFileSync(file, makeXlsx([
    ['First Name', 'Last Name', 'Email Id', 'Mobile Number'],
    ['Ramesh', 'Kumar', 'ramesh.kumar@doj.gov.in', '9876543210'],
    ['Gita', 'Ben', 'gita.ben@example.com', '9012345678'],
    ['Ramesh', 'Kumar', 'ramesh @yopmail.co', '9012345607'],
    ['Meera', 'Again', 'meera.iyer@doj.gov.in', '9876500011'],
  ]));
  await page.setInputFiles('#file', file);
  await page.click('#upload-submit');
  // the table refreshes by itself until the work is done; then "X has been
  // uploaded; its rows are being processed" goes
  const row = page.locator('#uploads-table tbody tr').first();
  await page.waitForFunction(() => /FAILED|SUCCESSFUL/.test(document.querySelector('#uploads-table tbody tr')?.textContent || ''), null, { timeout: 30000 });
  await page.waitForFunction(() => !/being processed/.test(document.querySelector('#upload-form .form-alert').textContent));
  assert.equal(await row.locator('progress').count(), 0);
  const cells = (await row.locator('td').allTextContents()).map((c) => c.trim());
  assert.match(cells[0], /^[0-9a-f]{8}$/, 'a short id');
  assert.equal(cells[1], 'users file-upload test (May).xlsx', 'the name as uploaded');
  // partly failed: FAILED as the SOP says, and what to do about it
  assert.equal(await row.locator('.badge').textContent(), 'FAILED');
  assert.match(cells[2], /2 of 4 rows were not created: download the result file to see why\./);
  assert.deepEqual(cells.slice(3, 6), ['2', '2', '4'], 'failed, success, total');

  // the file as uploaded, and the result with Status and Error Details
  const orig = await download(page, () => row.locator('a', { hasText: 'File' }).click());
  assert.deepEqual(orig.data, readFileSync(file));
  const res = await download(page, () => row.locator('a.result-link').click());
  const rows = readXlsx(res.data);
  assert.deepEqual(rows[0], ['First Name', 'Last Name', 'Email Id', 'Mobile Number', 'Status', 'Error Details']);
  assert.equal(rows[1][4], 'SUCCESS');
  assert.equal(rows[2][4], 'SUCCESS');
  assert.equal(rows[3][4], 'FAILED');
  assert.match(rows[3][5], /Invalid Email Id/);
  assert.equal(rows[4][4], 'FAILED');
  assert.match(rows[4][5], /Email id already registered/);
  assert.match(rows[4][5], /Mobile number is already registered/);

  // the new users: search, deactivate, find them under Inactive, activate
  await page.click('#tab-active');
  await page.fill('#active-q', 'gita');
  await page.waitForFunction(() => {
    const rowsNow = document.querySelectorAll('#active-table tbody tr');
    return rowsNow.length === 1 && /Gita Ben/.test(rowsNow[0].textContent);
  });
  // deactivation asks first; Cancel changes nothing
  await page.click('#active-table button:has-text("Deactivate")');
  await page.waitForSelector('dialog[open]');
  assert.equal((await page.textContent('dialog h2')).trim(), 'Deactivate Gita Ben?');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.confirm), 'no', 'Cancel has the focus');
  await page.click('dialog button:has-text("Cancel")');
  await page.waitForSelector('dialog', { state: 'detached' });
  assert.match(await page.textContent('#active-table'), /Gita Ben/);
  await page.click('#active-table button:has-text("Deactivate")');
  await page.click('dialog button[data-confirm=yes]');
  await page.waitForSelector('#active-alert.ok');
  assert.match(await page.textContent('#active-alert'), /Gita Ben has been deactivated/);
  await page.click('#tab-inactive');
  await page.waitForSelector('#inactive-table tbody tr:has-text("Gita Ben")');
  await page.click('#inactive-table button[aria-label="Activate Gita Ben"]');
  await page.waitForSelector('#inactive-alert.ok');
  await quiet(page);
  assert.doesNotMatch(await page.textContent('#inactive-table'), /Gita Ben/);

  // no Deactivate on one's own row
  await page.click('#tab-active');
  await page.fill('#active-q', 'meera');
  await page.waitForFunction(() => document.querySelectorAll('#active-table tbody tr').length === 1 && /Meera Iyer/.test(document.querySelector('#active-table tbody').textContent));
  assert.equal(await page.locator('#active-table tbody button').count(), 0);
  assert.match(await page.textContent('#active-table tbody'), /This is you/);

  // the header: who, in which role, and logout
  assert.equal((await page.textContent('#session-name')).trim(), 'Meera Iyer');
  assert.match(await page.textContent('#session'), /MDO administrator/);
  noProblems(page);
  await page.context().close();
});

// Every cell of every row of the three tables is shown and reachable: at
// 1280 px as a table that fits, at 390 px as cards with the column names.
test('the tables fit at 1280 px and stack at 390 px with every column and action', async () => {
  const page = await open(browser, { base: stack.url, viewport: { width: 1280, height: 800 } });
  await adminLoginApi(page.context().request, stack, 'mdo.doj', PW);
  await page.goto(`${stack.url}/mdo`);
  await ready(page);
  for (const tab of ['active', 'uploads']) {
    await page.click(`#tab-${tab}`);
    await page.waitForSelector(`#${tab}-table tbody tr td:not(.empty)`);
    for (const vp of [{ width: 1280, height: 800 }, PHONE]) {
      await page.setViewportSize(vp);
      await noOverflow(page, `${tab} at ${vp.width}`);
      const cells = await page.$$eval(`#${tab}-table tbody tr:first-child td`, (tds) => tds.map((td) => {
        const b = td.getBoundingClientRect();
        const label = getComputedStyle(td, '::before').content;
        return { w: b.width, h: b.height, left: b.left, right: b.right, label, text: td.textContent.trim() };
      }));
      const heads = await page.$$eval(`#${tab}-table thead th`, (ths) => ths.map((th) => th.textContent.trim()));
      assert.equal(cells.length, heads.length);
      for (const [i, c] of cells.entries()) {
        assert.ok(c.w > 0 && c.h > 0 && c.left >= 0 && c.right <= vp.width + 1, `${tab} ${heads[i]} visible at ${vp.width}: ${JSON.stringify(c)}`);
        if (vp.width < 600) assert.equal(c.label, `"${heads[i]}"`, `the column's name beside the value at ${vp.width}`);
      }
      for (const a of await page.locator(`#${tab}-table tbody tr:first-child :is(a, button)`).all()) {
        assert.equal(await a.isVisible(), true);
        const b = await a.boundingBox();
        assert.ok(b.x >= 0 && b.x + b.width <= vp.width, `an action off the screen at ${vp.width}`);
      }
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  }
  noProblems(page);
  await page.context().close();
});

// A running upload: the bar shows rows done of total and moves as the
// counts grow; when the upload ends it goes. The server's answers are
// played from a script, so that each step is seen.
test('a running upload shows a progress bar that moves and then goes', async () => {
  const page = await open(browser, { base: stack.url, viewport: { width: 1280, height: 800 } });
  await adminLoginApi(page.context().request, stack, 'mdo.doj', PW);
  const base = { id: 'b7c4d1e2-0000-4000-8000-000000000001', file_name: '1796132378115_staff.csv', original_name: 'staff list (May).csv', format: 'csv', error: null, created_at: '2026-12-01T10:00:00.000Z', updated_at: '2026-12-01T10:00:05.000Z' };
  const steps = [
    { status: 'QUEUED', total_records: 0, success_records: 0, failed_records: 0 },
    { status: 'IN_PROGRESS', total_records: 1000, success_records: 100, failed_records: 0 },
    { status: 'IN_PROGRESS', total_records: 1000, success_records: 580, failed_records: 20 },
    { status: 'SUCCESSFUL', total_records: 1000, success_records: 1000, failed_records: 0 },
  ];
  let step = 0;
  let release = null;
  await page.route('**/api/v1/mdo/uploads?*', async (route) => {
    // each answer waits for the test to let it go
    await new Promise((res) => { release = res; });
    const body = { items: [{ ...base, ...steps[Math.min(step, steps.length - 1)] }], total: 1, page: 1, per_page: 20 };
    await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
  });
  const next = async () => {
    await page.waitForFunction(() => true);
    while (!release) await new Promise((res) => setTimeout(res, 10));
    const go = release;
    release = null;
    go();
  };
  await page.goto(`${stack.url}/mdo#uploads`);
  await ready(page).catch(() => {});
  const bar = page.locator('#uploads-table tbody tr progress');
  const seen = [];
  for (step = 0; step < steps.length; step++) {
    await next();
    if (step < 3) {
      await bar.waitFor();
      await page.waitForFunction((want) => document.querySelector('#uploads-table .progress-text')?.textContent === want,
        step === 0 ? 'Waiting to start' : `${step === 1 ? '100' : '600'} of 1,000 rows`);
      seen.push(await bar.evaluate((b) => (b.hasAttribute('value') ? b.value / b.max : null)));
      assert.equal((await page.textContent('#uploads-table tbody .file-name')).trim(), 'staff list (May).csv');
    }
  }
  await bar.waitFor({ state: 'detached' });
  assert.match(await page.textContent('#uploads-table tbody .badge'), /SUCCESSFUL/);
  assert.deepEqual(seen, [null, 0.1, 0.6], 'indeterminate while queued, then it moves');
  noProblems(page);
  await page.context().close();
});
