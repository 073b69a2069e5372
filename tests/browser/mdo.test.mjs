// The MDO page: an administrator logs in, uploads an XLSX with good and bad
// rows, follows it in the uploads table, downloads the template, the file
// and the result; then finds a new user, deactivates and activates them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { launch, open, ready, quiet, noProblems, startStack, createAdmin, adminLoginPage } from './lib/browser.mjs';
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

  const dir = mkdtempSync(path.join(tmpdir(), 'pravesh-upload-'));
  const file = path.join(dir, 'users-file-upload-test.xlsx');
  writeFileSync(file, makeXlsx([
    ['First Name', 'Last Name', 'Email Id', 'Mobile Number'],
    ['Ramesh', 'Kumar', 'ramesh.kumar@doj.gov.in', '9876543210'],
    ['Gita', 'Ben', 'gita.ben@example.com', '9012345678'],
    ['Ramesh', 'Kumar', 'ramesh @yopmail.co', '9012345607'],
    ['Meera', 'Again', 'meera.iyer@doj.gov.in', '9876500011'],
  ]));
  await page.setInputFiles('#file', file);
  await page.click('#upload-submit');
  await page.waitForSelector('#upload-form .form-alert.ok');

  // the table refreshes by itself until the work is done
  const row = page.locator('#uploads-table tbody tr').first();
  await page.waitForFunction(() => /FAILED|SUCCESSFUL/.test(document.querySelector('#uploads-table tbody tr')?.textContent || ''), null, { timeout: 30000 });
  const cells = (await row.locator('td').allTextContents()).map((c) => c.trim());
  assert.match(cells[1], /^\d+_users-file-upload-test\.xlsx/);
  assert.equal(cells[2], 'FAILED');
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
  await page.click('#active-table button:has-text("Deactivate")');
  await page.waitForSelector('#active-alert.ok');
  assert.match(await page.textContent('#active-alert'), /Gita Ben has been deactivated/);
  await page.click('#tab-inactive');
  await page.waitForSelector('#inactive-table tbody tr:has-text("Gita Ben")');
  await page.click('#inactive-table button[aria-label="Activate Gita Ben"]');
  await page.waitForSelector('#inactive-alert.ok');
  await quiet(page);
  assert.doesNotMatch(await page.textContent('#inactive-table'), /Gita Ben/);
  noProblems(page);
  await page.context().close();
});
