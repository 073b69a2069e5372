// Requests for help and the SPV page: a position requested in the browser
// is approved (with an edited name) by an SPV administrator in the SPV
// page, then chosen in a new registration; an organisation request is
// approved with a sector, type and parent; another is rejected with a
// reason; a position and an MDO administrator are added; the audit log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { req } from '../api/lib/server.mjs';
import { nextMessage, codeOf } from '../api/lib/sms.mjs';
import { launch, open, ready, quiet, noProblems, startStack, createAdmin, adminLoginPage } from './lib/browser.mjs';

let stack, browser, spvPage;
const PW = 'a long enough password';

before(async () => {
  stack = await startStack();
  createAdmin(stack.srv, { role: 'spv', username: 'spv', password: PW, org: 'd-dopt', first: 'Sita', last: 'Ram', email: 'spv@dopt.gov.in', mobile: '9999900000' });
  browser = await launch();
});
after(async () => { await browser?.close(); await stack?.stop(); });

async function apiRequest(body) {
  const { message } = await nextMessage(stack.sms, body.mobile, () => req(stack.url, 'POST', '/api/v1/otp', { json: { mobile: body.mobile, purpose: 'request' } }));
  const v = await req(stack.url, 'POST', '/api/v1/otp/verify', { json: { mobile: body.mobile, purpose: 'request', code: codeOf(message) } });
  const r = await req(stack.url, 'POST', '/api/v1/requests', { json: { ...body, verification_token: v.body.verification_token, declaration: true } });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

test('a position requested in the browser', async () => {
  const page = await open(browser, { base: stack.url });
  await page.goto(stack.url + '/register');
  await ready(page);
  // what is typed on Register travels to the request page
  await page.fill('#first_name', 'Kiran');
  await page.fill('#last_name', 'Rao');
  await page.fill('#email', 'kiran.rao@example.com');
  await page.fill('#mobile', '9822200001');
  await page.fill('#position', 'chief data steward');
  await page.waitForSelector('#position-listbox:visible');
  assert.match(await page.textContent('#position-listbox'), /No matches/);
  await page.click('#request-position-link');
  await page.waitForURL(/\/request-position\?name=chief/);
  await ready(page);
  assert.equal(await page.inputValue('#full_name'), 'Kiran Rao');
  assert.equal(await page.inputValue('#email'), 'kiran.rao@example.com');
  assert.equal(await page.inputValue('#name'), 'chief data steward');
  const { message } = await nextMessage(stack.sms, '9822200001', () => page.click('#mobile-send'));
  await page.fill('#mobile-otp', codeOf(message));
  await page.click('#mobile-verify');
  await page.waitForSelector('#mobile-otp-status.ok');
  await page.fill('#details', 'Leads the data governance cell.');
  await page.click('#req-submit');
  await page.waitForSelector('#declaration[aria-invalid=true]');
  assert.equal(await page.inputValue('#details'), 'Leads the data governance cell.');
  await page.check('#declaration');
  await page.click('#req-submit');
  await page.waitForSelector('#req-done:visible');
  assert.match(await page.textContent('#req-done'), /Your request has been sent/);
  noProblems(page);
  await page.context().close();
});

test('the SPV administrator approves, rejects and adds in the SPV page', async () => {
  await apiRequest({ kind: 'organisation', full_name: 'Ravi Verma', email: 'ravi@example.com', mobile: '9822200002', name: 'Directorate of Prosecution', details: 'Prosecutors of the department', sector: 'center' });
  await apiRequest({ kind: 'position', full_name: 'Asha Nair', email: 'asha@example.com', mobile: '9822200003', name: 'Chief Executive Dreamer', details: '' });

  const page = spvPage = await open(browser, { base: stack.url });
  await adminLoginPage(page, stack, 'spv', PW);
  await page.waitForURL(`${stack.url}/spv`);
  await ready(page);
  await page.waitForSelector('#requests article');

  // approve the position with an edited name; the requester is told by SMS
  const pos = page.locator('#requests article', { hasText: 'chief data steward' });
  await pos.locator('summary', { hasText: 'Approve' }).click();
  await pos.locator('input[id$=-name]').fill('Chief Data Steward');
  await nextMessage(stack.sms, '9822200001', () => pos.locator('button', { hasText: 'Approve' }).click());
  await page.waitForSelector('#spv-status.ok');
  assert.match(await page.textContent('#spv-status'), /Chief Data Steward/);
  await quiet(page);

  // approve the organisation under the Department of Justice
  const org = page.locator('#requests article', { hasText: 'Directorate of Prosecution' });
  await org.locator('summary', { hasText: 'Approve' }).click();
  assert.equal(await org.locator('select').inputValue(), 'center');
  await org.locator('input[id$=-type]').fill('directorate');
  await org.locator('input[id$=-parent]').fill('justice');
  await org.locator('.option', { hasText: 'Department of Justice' }).first().click();
  await org.locator('button', { hasText: 'Approve' }).click();
  await page.waitForFunction(() => /Directorate of Prosecution/.test(document.querySelector('#spv-status').textContent));
  await quiet(page);

  // reject with a reason: first without one (the error is next to it)
  const bad = page.locator('#requests article', { hasText: 'Chief Executive Dreamer' });
  await bad.locator('summary', { hasText: 'Reject' }).click();
  await bad.locator('button', { hasText: 'Reject' }).click();
  await bad.locator('textarea[aria-invalid=true]').waitFor();
  await bad.locator('textarea').fill('Not a position in government service');
  await bad.locator('button', { hasText: 'Reject' }).click();
  await page.waitForFunction(() => /rejected/.test(document.querySelector('#spv-status').textContent));
  await quiet(page);
  assert.match(await page.textContent('#requests'), /No requests here/);
  await page.selectOption('#req-status', 'rejected');
  await page.waitForSelector('#requests article');
  assert.match(await page.textContent('#requests'), /Not a position in government service/);

  // add a position and an MDO administrator of the new directorate
  await page.click('#tab-directory');
  await page.fill('#pos-name', 'Knowledge Manager');
  await page.click('#pos-submit');
  await page.waitForSelector('#pos-form .form-alert.ok');
  await page.fill('#pos-name', 'knowledge manager');
  await page.click('#pos-submit'); // again: it exists
  await page.waitForSelector('#pos-name[aria-invalid=true]');
  assert.match(await page.textContent('#pos-name-error'), /exists/);

  await page.click('#tab-admins');
  await page.fill('#admin-org', 'prosecution');
  await page.locator('#admin-org-listbox .option', { hasText: 'Directorate of Prosecution' }).click();
  await page.fill('#admin-username', 'mdo.prosecution');
  await page.fill('#admin-password', 'short');
  await page.fill('#admin-first', 'Vikram');
  await page.fill('#admin-last', 'Singh');
  await page.fill('#admin-email', 'vikram.singh@doj.gov.in');
  await page.fill('#admin-mobile', '9822200009');
  await page.click('#admin-submit');
  await page.waitForSelector('#admin-password[aria-invalid=true]');
  assert.equal(await page.inputValue('#admin-email'), 'vikram.singh@doj.gov.in', 'nothing typed is lost');
  await page.fill('#admin-password', 'a much longer password');
  await page.click('#admin-submit');
  await page.waitForSelector('#admin-form .form-alert.ok');
  assert.match(await page.textContent('#admin-form .form-alert'), /mdo\.prosecution/);

  // the audit log
  await page.click('#tab-audit');
  await page.waitForSelector('#audit-table tbody tr td');
  const audit = await page.textContent('#audit-table');
  for (const s of ['Approved a request', 'Rejected a request', 'Added a position', 'Added an administrator']) assert.ok(audit.includes(s), s);
  noProblems(page);
  await page.context().close();
});

test('the approved position and organisation are chosen in a new registration', async () => {
  const page = await open(browser, { base: stack.url });
  await page.goto(stack.url + '/register');
  await ready(page);
  await page.fill('#first_name', 'Kiran');
  await page.fill('#last_name', 'Rao');
  await page.focus('#position');
  await page.keyboard.type('data stew');
  await page.waitForSelector('#position-listbox .option');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  assert.equal(await page.inputValue('#position'), 'Chief Data Steward');
  await page.fill('#email', 'kiran.rao@example.com');
  await page.fill('#mobile', '9822200001');
  const { message } = await nextMessage(stack.sms, '9822200001', () => page.click('#mobile-send'));
  await page.fill('#mobile-otp', codeOf(message));
  await page.click('#mobile-verify');
  await page.waitForSelector('#mobile-otp-status.ok');
  await page.fill('#org', 'prosecution');
  const opt = page.locator('#org-listbox .option', { hasText: 'Directorate of Prosecution' });
  assert.match(await opt.textContent(), /Under Ministry of Law and Justice > Department of Justice/);
  await opt.click();
  await page.check('#declaration');
  await page.check('#terms');
  await page.click('#signup');
  await page.waitForSelector('#reg-done:visible');
  await stack.smtp.waitFor('kiran.rao@example.com', (m) => /activate\?token=/.test(m.body));
  noProblems(page);
  await page.context().close();
});
