// A full self-registration in the browser: position and organisation by
// type-ahead (keyboard and mouse), the mobile verified with the OTP from
// the SMS file, SIGN UP; the activation link from the e-mail received by
// the SMTP sink; then an OTP login that lands on home with the details.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { nextMessage, codeOf } from '../api/lib/sms.mjs';
import { launch, open, ready, quiet, noProblems, startStack } from './lib/browser.mjs';

let stack, browser;
before(async () => { stack = await startStack(); browser = await launch(); });
after(async () => { await browser?.close(); await stack?.stop(); });

const USER = { first: 'Anita', last: 'Sharma', email: 'anita.sharma@doj.gov.in', mobile: '9812345670' };

test('self-registration, activation by e-mail, OTP login, logout', async () => {
  const page = await open(browser, { base: stack.url });
  await page.goto(stack.url + '/register');
  await ready(page);

  await page.fill('#first_name', USER.first);
  await page.fill('#last_name', USER.last);

  // position: keyboard only (combobox pattern)
  await page.focus('#position');
  await page.keyboard.type('deputy sec');
  await page.waitForSelector('#position-listbox .option');
  assert.equal(await page.getAttribute('#position', 'aria-expanded'), 'true');
  await page.keyboard.press('ArrowDown');
  const active = await page.getAttribute('#position', 'aria-activedescendant');
  assert.equal(await page.getAttribute(`#${active}`, 'aria-selected'), 'true');
  const picked = (await page.textContent(`#${active} .option-name`)).trim();
  await page.keyboard.press('Enter');
  assert.equal(await page.inputValue('#position'), picked);
  assert.match(picked, /Deputy Secretary/);
  assert.equal(await page.getAttribute('#position', 'aria-expanded'), 'false');

  await page.fill('#email', USER.email);
  await page.fill('#mobile', USER.mobile);

  // mobile: Send OTP, the code from the SMS file, Verify
  const { message } = await nextMessage(stack.sms, USER.mobile, () => page.click('#mobile-send'));
  await page.waitForSelector('#mobile-otp:visible');
  assert.match(await page.textContent('#mobile-otp-status'), new RegExp(USER.mobile));
  // a wrong code first: an error next to the code field
  await page.fill('#mobile-otp', '000000');
  await page.click('#mobile-verify');
  await page.waitForSelector('#mobile-otp[aria-invalid=true]');
  assert.match(await page.textContent('#mobile-otp-error'), /attempts left/);
  await page.fill('#mobile-otp', codeOf(message));
  await page.click('#mobile-verify');
  await page.waitForSelector('#mobile-otp-status.ok');
  assert.match(await page.textContent('#mobile-otp-status'), /verified/);

  // organisation: Center, then search "justice" and see the hierarchy
  await page.check('#sector-center');
  await page.fill('#org', 'justice');
  await page.waitForSelector('#org-listbox .option');
  const doj = page.locator('#org-listbox .option', { hasText: 'Department of Justice' }).first();
  assert.match(await doj.textContent(), /Under Ministry of Law and Justice/);
  await doj.click();
  assert.equal(await page.inputValue('#org'), 'Department of Justice');

  // without the declaration and terms: errors next to them, nothing lost
  await page.click('#signup');
  await page.waitForSelector('#declaration[aria-invalid=true]');
  assert.match(await page.textContent('#declaration-error'), /Confirm that the information you have given is accurate/);
  assert.match(await page.textContent('#terms-error'), /Terms of Service/);
  assert.equal(await page.inputValue('#first_name'), USER.first);
  assert.equal(await page.inputValue('#org'), 'Department of Justice');
  assert.deepEqual(await page.$$eval('#reg-form .error-summary a', (as) => as.map((a) => a.getAttribute('href'))), ['#declaration', '#terms']);

  await page.check('#declaration');
  await page.check('#terms');
  await page.click('#signup');
  await page.waitForSelector('#reg-done:visible');
  assert.match(await page.textContent('#reg-done'), /Thank you for registering!/);
  assert.match(await page.textContent('#reg-done'), /Please check your registered email to activate your account\./);
  noProblems(page);

  // the activation link, as received by the SMTP sink
  const mail = await stack.smtp.waitFor(USER.email);
  const link = mail.body.match(/\/activate\?token=([A-Za-z0-9_-]+)/);
  assert.ok(link, mail.body);
  await page.goto(`${stack.url}/activate?token=${link[1]}`);
  await ready(page);
  await page.waitForSelector('#act-status.ok');
  assert.match(await page.textContent('#act-status'), /Your account is active/);

  // OTP login
  await page.click('#act-login a');
  await page.waitForURL(`${stack.url}/login`);
  await ready(page);
  await page.fill('#mobile', USER.mobile);
  const login = await nextMessage(stack.sms, USER.mobile, () => page.click('#mobile-send'));
  await page.fill('#mobile-otp', codeOf(login.message));
  await page.click('#login-submit');
  await page.waitForURL(`${stack.url}/`);
  await ready(page);
  await page.waitForSelector('#user:visible');
  assert.equal((await page.textContent('#user-title')).trim(), `Welcome, ${USER.first} ${USER.last}`);
  const details = await page.textContent('#user-details');
  for (const s of [USER.email, USER.mobile, 'Department of Justice', 'Under Ministry of Law and Justice', picked, 'Active']) {
    assert.ok(details.includes(s), `${s} in ${details}`);
  }

  // the header says who is logged in; its logout ends the session
  assert.equal((await page.textContent('#session-name')).trim(), `${USER.first} ${USER.last}`);
  assert.equal((await page.textContent('#session .session-role')).trim(), 'User');
  assert.equal(await page.getAttribute('#profile-link', 'href'), '/profile');
  // and on to the learning platform
  await page.waitForSelector('#learning-link:visible');
  assert.equal(await page.getAttribute('#learning-link', 'href'), 'https://learning.example.gov.in/');
  assert.equal((await page.textContent('#learning-link')).trim(), 'Go to iGOT Karmayogi');
  await page.click('#session-logout');
  await page.waitForURL(`${stack.url}/login`);
  await page.goto(stack.url + '/');
  await ready(page);
  await quiet(page);
  assert.equal(await page.locator('#anon').isVisible(), true);
  noProblems(page);
  await page.context().close();
});

test('login: a wrong code is shown next to the code field', async () => {
  const page = await open(browser, { base: stack.url });
  await page.goto(stack.url + '/login');
  await ready(page);
  await page.fill('#mobile', '9812345671');
  await page.click('#login-submit'); // the first press sends the code
  await page.waitForSelector('#mobile-otp:visible');
  await page.fill('#mobile-otp', '123456');
  await page.click('#login-submit');
  await page.waitForSelector('#mobile-otp[aria-invalid=true]');
  assert.match(await page.textContent('#mobile-otp-error'), /not right/);
  assert.equal(await page.inputValue('#mobile'), '9812345671');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'mobile-otp');
  noProblems(page);
  await page.context().close();
});
