// What the pages say, tried as a new user would: each field says what is
// wrong with it, the OTP steps say how many tries are left and how long to
// wait (and the timer agrees), SMS and e-mails follow the page's language,
// the focus goes on after a verified number, a verification survives a
// visit to "Request for help", and dates read as Hindi in Hindi.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { req } from '../api/lib/server.mjs';
import { nextMessage, codeOf, messages } from '../api/lib/sms.mjs';
import { launch, open, ready, quiet, setLang, noProblems, startStack, createAdmin } from './lib/browser.mjs';

let stack, slow, browser;
const PW = 'a long enough password';
const DEVANAGARI = /[\u0900-\u097F]/;

before(async () => {
  stack = await startStack();
  // a second server with a real resend window, for the waits
  slow = await startStack({ PRAVESH_OTP_RESEND: '60' });
  createAdmin(stack.srv, { role: 'mdo', username: 'mdo.doj', password: PW, org: 'd-doj', first: 'Meera', last: 'Iyer', email: 'meera.iyer@doj.gov.in', mobile: '9876500011' });
  browser = await launch();
});
after(async () => { await browser?.close(); await stack?.stop(); await slow?.stop(); });

async function page0(s = stack, path = '/register') {
  const page = await open(browser, { base: s.url });
  await page.goto(s.url + path);
  await ready(page);
  return page;
}

const errorOf = async (page, id) => (await page.textContent(`#${id}-error`)).trim();
// Waits until the error of field id says text (the pages answer asynchronously).
const errorIs = (page, id, text) => page.waitForFunction(([i, t]) => document.getElementById(i + '-error')?.textContent.trim() === t, [id, text]);

test('registration: the mobile number says what is wrong with it, before and after SIGN UP', async () => {
  const page = await page0();
  // Send OTP with nothing typed: no code was sent, so none is asked for
  await page.click('#mobile-send');
  await errorIs(page, 'mobile', 'Enter your mobile number');
  await page.click('#signup');
  await page.waitForSelector('.error-summary:not([hidden])');
  await errorIs(page, 'mobile', 'Enter your mobile number');

  // a number typed but no code asked for
  await page.fill('#mobile', '9812300001');
  await page.click('#signup');
  await page.waitForFunction(() => /Send OTP/.test(document.querySelector('#mobile-error').textContent));
  assert.match(await errorOf(page, 'mobile'), /^Verify your mobile number: select “Send OTP”/);

  // a code sent but not verified
  await nextMessage(stack.sms, '9812300001', () => page.click('#mobile-send'));
  await page.waitForSelector('#mobile-otp:visible');
  await page.click('#signup');
  await page.waitForFunction(() => /Verify/.test(document.querySelector('#mobile-error').textContent));
  assert.equal(await errorOf(page, 'mobile'), 'Enter the OTP sent to your mobile number and select “Verify”');

  // a registered number: the page cannot tell (no enumeration), so it says
  // what the SMS may carry, and the owner's SMS tells them to log in
  const sms = await nextMessage(stack.sms, '9876500011', async () => {
    await page.fill('#mobile', '9876500011');
    await page.click('#mobile-send');
  });
  assert.match(sms.message.text, /already registered/);
  await page.waitForFunction(() => /on its way to 9876500011/.test(document.querySelector('#mobile-otp-status').textContent));
  assert.equal((await page.textContent('#mobile-otp-status')).trim(), 'An SMS is on its way to 9876500011: the OTP to enter below or, if this number is already registered, how to log in with it.');
  // SIGN UP keeps to what the page knows: a code was sent and not verified
  await page.click('#signup');
  await page.waitForSelector('.error-summary a[href="#mobile"]');
  await errorIs(page, 'mobile', 'Enter the OTP sent to your mobile number and select “Verify”');
  noProblems(page);
  await page.context().close();
});

test('OTP: tries left, "1 attempt left", then a dead code', async () => {
  const page = await page0();
  await page.fill('#mobile', '9812300002');
  const { message } = await nextMessage(stack.sms, '9812300002', () => page.click('#mobile-send'));
  const good = codeOf(message);
  const bad = good === '000000' ? '111111' : '000000';
  await page.fill('#mobile-otp', bad);
  await page.click('#mobile-verify');
  await page.waitForSelector('#mobile-otp[aria-invalid=true]');
  assert.equal(await errorOf(page, 'mobile-otp'), 'This OTP is not right. You have 2 attempts left.');
  await page.click('#mobile-verify');
  await page.waitForFunction(() => /1 attempt left/.test(document.querySelector('#mobile-otp-error').textContent));
  assert.equal(await errorOf(page, 'mobile-otp'), 'This OTP is not right. You have 1 attempt left; after that you will need a new OTP.');
  await setLang(page, 'hi');
  assert.match(await errorOf(page, 'mobile-otp'), /आपके पास 1 प्रयास शेष है/);
  await setLang(page, 'en');
  await page.click('#mobile-verify');
  // the third: the code is dead, a new one is needed (this server has no resend wait)
  await page.waitForFunction(() => /can no longer be used/.test(document.querySelector('#mobile-otp-error').textContent));
  await page.waitForFunction(() => /Resend OTP/.test(document.querySelector('#mobile-otp-error').textContent));
  assert.equal(await page.isEnabled('#mobile-resend'), true);
  // even the right code is refused now
  await page.fill('#mobile-otp', good);
  await page.click('#mobile-verify');
  await page.waitForFunction(() => /can no longer be used/.test(document.querySelector('#mobile-otp-error').textContent));
  noProblems(page);
  await page.context().close();
});

test('OTP: during the resend wait the message and the timer say the same', async () => {
  const page = await page0(slow);
  await page.fill('#mobile', '9812300003');
  await nextMessage(slow.sms, '9812300003', () => page.click('#mobile-send'));
  await page.waitForSelector('#mobile-otp:visible');
  assert.match(await page.textContent('#mobile-otp-timer'), /^You can ask for a new OTP in (60|59) seconds\.$/);
  assert.equal(await page.isDisabled('#mobile-resend'), true);
  // asking again at once: the server says wait, the page says how long
  const [resp] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/api/v1/otp')), page.click('#mobile-send')]);
  assert.equal(resp.status(), 429);
  const retry = Number(resp.headers()['retry-after']);
  await page.waitForSelector('#mobile[aria-invalid=true]');
  const both = await page.evaluate(() => [document.querySelector('#mobile-error').textContent, document.querySelector('#mobile-otp-timer').textContent]);
  const n = both.map((s) => Number((s.match(/in (\d+) seconds?/) || [])[1]));
  assert.match(both[0], /^Too many OTPs have been asked for\. You can ask for a new OTP in \d+ seconds\.$/);
  assert.equal(n[0], n[1], `message and timer agree: ${both}`);
  assert.ok(n[0] <= retry && n[0] >= retry - 1, `${n[0]} seconds for Retry-After ${retry}`);
  // a fresh page knows nothing of the first code: the server's wait is shown
  const fresh = await page0(slow);
  await fresh.fill('#mobile', '9812300003');
  await fresh.click('#mobile-send');
  await fresh.waitForSelector('#mobile[aria-invalid=true]');
  assert.match(await errorOf(fresh, 'mobile'), /You can ask for a new OTP in (\d+) seconds\./);
  await setLang(fresh, 'hi');
  assert.match(await errorOf(fresh, 'mobile'), /आप \d+ सेकंड बाद नया ओटीपी माँग सकते हैं/);
  noProblems(page);
  noProblems(fresh);
  await page.context().close();
  await fresh.context().close();
});

test('login: a wrong code says how many tries are left; after the third a new code is needed, and when', async () => {
  const page = await page0(slow, '/login');
  await page.fill('#mobile', '9812300010');
  await page.click('#login-submit'); // the first press sends the code
  await page.waitForSelector('#mobile-otp:visible');
  await page.fill('#mobile-otp', '000000');
  await page.click('#login-submit');
  await page.waitForSelector('#mobile-otp[aria-invalid=true]');
  assert.equal(await errorOf(page, 'mobile-otp'), 'This OTP is not right. You have 2 attempts left.');
  await page.click('#login-submit');
  await page.waitForFunction(() => /1 attempt left/.test(document.querySelector('#mobile-otp-error').textContent));
  assert.equal(await errorOf(page, 'mobile-otp'), 'This OTP is not right. You have 1 attempt left; after that you will need a new OTP.');
  const [resp] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/otp')), page.click('#login-submit')]);
  assert.equal(resp.status(), 429);
  const retry = Number(resp.headers()['retry-after']);
  await page.waitForFunction(() => /can no longer be used/.test(document.querySelector('#mobile-otp-error').textContent));
  // the wait in the message is the timer's
  const both = await page.evaluate(() => [document.querySelector('#mobile-otp-error').textContent, document.querySelector('#mobile-otp-timer').textContent]);
  assert.match(both[0], /^This OTP was not right too many times and can no longer be used\. You can ask for a new OTP in \d+ seconds\.$/);
  const n = both.map((x) => Number((x.match(/in (\d+) seconds?/) || [])[1]));
  assert.equal(n[0], n[1], `message and timer agree: ${both}`);
  assert.ok(n[0] <= retry && n[0] >= retry - 1);
  assert.equal(await page.isDisabled('#mobile-resend'), true);
  noProblems(page);
  await page.context().close();
});

test('login: an unregistered number is told the code went only if it is registered', async () => {
  const page = await page0(stack, '/login');
  await page.fill('#mobile', '9812300004');
  await page.click('#mobile-send');
  await page.waitForSelector('#mobile-otp:visible');
  assert.equal((await page.textContent('#mobile-otp-status')).trim(), 'If 9812300004 is registered, an OTP has been sent to it.');
  await setLang(page, 'hi');
  assert.equal((await page.textContent('#mobile-otp-status')).trim(), 'यदि 9812300004 पंजीकृत है, तो उस पर ओटीपी भेजा गया है।');
  noProblems(page);
  await page.context().close();
});

test('a service restarting, busy or out of reach is said for the form: the number and the code are not marked wrong', async () => {
  const page = await page0(stack, '/login');
  const problem = (code, detail) => ({ status: 503, headers: { 'content-type': 'application/problem+json', 'retry-after': '1' },
    body: JSON.stringify({ type: `/errors/${code}`, title: 'Service Unavailable', status: 503, code, detail }) });
  const summary = () => page.evaluate(() => document.querySelector('.error-summary:not([hidden]) ul')?.textContent.trim());
  await page.route('**/api/v1/otp', (r) => r.fulfill(problem('stopping', 'The server is stopping; please try again in a moment.')));
  await page.fill('#mobile', '9812300004');
  await page.click('#mobile-send');
  await page.waitForSelector('.error-summary:not([hidden])');
  assert.equal(await summary(), 'The service is restarting just now. Please try again in a moment.');
  assert.equal(await page.getAttribute('#mobile', 'aria-invalid'), null);
  await setLang(page, 'hi');
  assert.match(await summary(), /[\u0900-\u097F]/);
  await setLang(page, 'en');
  // no network at all
  await page.unroute('**/api/v1/otp');
  await page.route('**/api/v1/otp', (r) => r.abort('connectionrefused'));
  await page.click('#mobile-send');
  await page.waitForFunction(() => /could not be reached/.test(document.querySelector('.error-summary:not([hidden])')?.textContent || ''));
  assert.equal(await page.getAttribute('#mobile', 'aria-invalid'), null);
  // the code sent for real; then the login itself meets a busy server
  await page.unroute('**/api/v1/otp');
  await page.click('#mobile-send');
  await page.waitForSelector('#mobile-otp:visible');
  assert.equal(await page.evaluate(() => document.querySelector('.error-summary')?.hidden ?? true), true, 'a new try clears the old message');
  await page.route('**/api/v1/auth/otp', (r) => r.fulfill(problem('overloaded', 'The server is busy; please try again in a moment.')));
  await page.fill('#mobile-otp', '123456');
  await page.click('#login-submit');
  await page.waitForFunction(() => /very busy/.test(document.querySelector('.error-summary:not([hidden])')?.textContent || ''));
  assert.equal(await page.getAttribute('#mobile-otp', 'aria-invalid'), null);
  await page.context().close();

  // on a longer form the errors already shown stay, beside the service's
  // message, and stay after it is gone; the focus is on the summary
  const reg = await page0(stack, '/register');
  await reg.fill('#email', 'not an address');
  await reg.click('#signup');
  await reg.waitForSelector('#email[aria-invalid=true]');
  const emailError = await errorOf(reg, 'email');
  await reg.route('**/api/v1/otp', (r) => r.fulfill(problem('overloaded', 'The server is busy; please try again in a moment.')));
  await reg.fill('#mobile', '9812300005');
  await reg.click('#mobile-send');
  await reg.waitForFunction(() => /very busy/.test(document.querySelector('.error-summary:not([hidden]) ul')?.textContent || ''));
  assert.equal(await reg.getAttribute('#email', 'aria-invalid'), 'true');
  assert.equal(await errorOf(reg, 'email'), emailError);
  assert.equal(await reg.getAttribute('#mobile', 'aria-invalid'), null);
  assert.equal(await reg.evaluate(() => document.activeElement.classList.contains('error-summary')), true, 'the focus is on the summary');
  await reg.unroute('**/api/v1/otp');
  await reg.click('#mobile-send');
  await reg.waitForSelector('#mobile-otp:visible');
  assert.doesNotMatch(await reg.evaluate(() => document.querySelector('.error-summary ul')?.textContent || ''), /very busy/);
  assert.equal(await reg.getAttribute('#email', 'aria-invalid'), 'true');
  assert.equal(await errorOf(reg, 'email'), emailError);
  await reg.context().close();
});

test('the SMS and the e-mail follow the language of the page', async () => {
  const page = await page0();
  await setLang(page, 'hi');
  const mobile = '9812300005';
  await page.fill('#first_name', 'Kavita');
  await page.fill('#last_name', 'Joshi');
  await page.focus('#position');
  await page.keyboard.type('deputy sec');
  await page.waitForSelector('#position-listbox .option');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await page.fill('#email', 'kavita.joshi@doj.gov.in');
  await page.fill('#mobile', mobile);
  const { message } = await nextMessage(stack.sms, mobile, () => page.click('#mobile-send'));
  assert.match(message.text, DEVANAGARI, `a Hindi SMS: ${message.text}`);
  await page.fill('#mobile-otp', codeOf(message));
  await page.click('#mobile-verify');
  await page.waitForSelector('#mobile-otp-status.ok');
  await page.fill('#org', 'justice');
  await page.locator('#org-listbox .option', { hasText: 'Department of Justice' }).first().click();
  await page.check('#declaration');
  await page.check('#terms');
  await page.click('#signup');
  await page.waitForSelector('#reg-done:visible');
  const mail = await stack.smtp.waitFor('kavita.joshi@doj.gov.in');
  assert.match(mail.subject + mail.body, DEVANAGARI, 'a Hindi activation e-mail');
  // and an English page gets English
  const en = await page0();
  await en.fill('#mobile', '9812300006');
  const m2 = await nextMessage(stack.sms, '9812300006', () => en.click('#mobile-send'));
  assert.doesNotMatch(m2.message.text, DEVANAGARI);
  noProblems(page);
  await page.context().close();
  await en.context().close();
});

test('after a verified number the focus goes to the next step', async () => {
  const page = await page0();
  await page.fill('#mobile', '9812300007');
  const { message } = await nextMessage(stack.sms, '9812300007', () => page.click('#mobile-send'));
  await page.fill('#mobile-otp', codeOf(message));
  await page.click('#mobile-verify');
  await page.waitForSelector('#mobile-otp-status.ok');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'sector-center');
  // on a request page the next step is the name asked for
  const rq = await page0(stack, '/request-position');
  await rq.fill('#mobile', '9812300008');
  const m2 = await nextMessage(stack.sms, '9812300008', () => rq.click('#mobile-send'));
  await rq.fill('#mobile-otp', codeOf(m2.message));
  await rq.keyboard.press('Enter');
  await rq.waitForSelector('#mobile-otp-status.ok');
  assert.equal(await rq.evaluate(() => document.activeElement.id), 'name');
  noProblems(page);
  await page.context().close();
  await rq.context().close();
});

test('"Request for help": links named by their targets, and the verification kept on the way back', async () => {
  const page = await page0();
  // the two links have different accessible names that say where they go
  const pos = page.getByRole('link', { name: 'Request for help to add a position', exact: true });
  const org = page.getByRole('link', { name: 'Request for help to add an organisation', exact: true });
  assert.equal(await pos.count(), 1);
  assert.equal(await org.count(), 1);
  await page.fill('#mobile', '9812300009');
  const { message } = await nextMessage(stack.sms, '9812300009', () => page.click('#mobile-send'));
  await page.fill('#mobile-otp', codeOf(message));
  await page.click('#mobile-verify');
  await page.waitForSelector('#mobile-otp-status.ok');
  await pos.click();
  await page.waitForURL(/\/request-position/);
  await ready(page);
  await page.click('a:has-text("Back to Register")');
  await page.waitForURL(/\/register$/);
  await ready(page);
  assert.equal(await page.inputValue('#mobile'), '9812300009');
  assert.equal((await page.textContent('#mobile-otp-status')).trim(), 'Mobile number verified.');
  assert.equal(await page.locator('#mobile-send').isVisible(), false);
  // and it is still good: SIGN UP does not ask for it again
  await page.click('#signup');
  await page.waitForSelector('.error-summary:not([hidden])');
  assert.equal(await page.locator('#mobile[aria-invalid=true]').count(), 0);
  assert.equal(await page.locator('.error-summary a[href="#mobile"]').count(), 0);
  noProblems(page);
  await page.context().close();
});

test('activation resend: an empty or malformed address is refused on the page', async () => {
  const page = await page0(stack, '/activate');
  let posted = 0;
  page.on('request', (r) => { if (r.url().endsWith('/api/v1/activation/resend')) posted += 1; });
  await page.click('#resend-submit');
  await page.waitForSelector('#resend_email[aria-invalid=true]');
  assert.equal(await errorOf(page, 'resend_email'), 'Enter the email address you registered with');
  await page.fill('#resend_email', 'someone@');
  await page.click('#resend-submit');
  await page.waitForFunction(() => /correct format/.test(document.querySelector('#resend_email-error').textContent));
  assert.equal(await errorOf(page, 'resend_email'), 'Enter an email address in the correct format, like name@example.com');
  assert.equal(posted, 0, 'nothing sent');
  await page.fill('#resend_email', 'someone@example.gov.in');
  await page.click('#resend-submit');
  await page.waitForSelector('#resend-form .form-alert.ok');
  assert.equal(posted, 1);
  noProblems(page);
  await page.context().close();
});

test('admin login: empty fields are named', async () => {
  const page = await page0(stack, '/admin-login');
  await page.click('#alogin-submit');
  await page.waitForSelector('.error-summary:not([hidden])');
  assert.deepEqual(await page.$$eval('.error-summary a', (as) => as.map((a) => a.textContent)), ['Enter your username', 'Enter your password']);
  noProblems(page);
  await page.context().close();
});

test('dates in Hindi have a Hindi am/pm', async () => {
  const page = await open(browser, { base: stack.url });
  const mobile = '9876500011';
  const { message } = await nextMessage(stack.sms, mobile, () => req(stack.url, 'POST', '/api/v1/otp', { json: { mobile, purpose: 'login' } }));
  const r = await page.context().request.post(`${stack.url}/api/v1/auth/otp`, { data: { mobile, code: codeOf(message) } });
  assert.equal(r.status(), 200);
  await page.goto(stack.url + '/');
  await ready(page);
  await page.waitForSelector('#user-details dd');
  await setLang(page, 'hi');
  await quiet(page);
  const since = await page.locator('#user-details dd').last().textContent();
  assert.match(since, /(पूर्वाह्न|अपराह्न)$/, since);
  assert.doesNotMatch(since, /\b(am|pm)\b/i, since);
  await setLang(page, 'en');
  assert.match(await page.locator('#user-details dd').last().textContent(), /\b(am|pm)$/);
  noProblems(page);
  await page.context().close();
  assert.ok(messages(stack.sms).length > 0);
});
