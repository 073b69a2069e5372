// The person's own data in the browser (issue 15), in English and in
// Hindi: /profile (edit the details, change the mobile with an OTP to the
// new number, change the e-mail with a link, download the data, close the
// account with an OTP to one's own number), /privacy and /terms from the
// operator's texts, /confirm-email, and the SOP's "Need help? contact us
// here" on the login, registration and upload pages. axe-clean, with
// screenshots at 1280 and 390 px.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { req } from '../api/lib/server.mjs';
import { messages, nextMessage, codeOf } from '../api/lib/sms.mjs';
import { person } from '../api/lib/person.mjs';
import { launch, open, ready, quiet, axeCheck, screenshots, setLang, noProblems, startStack, createAdmin } from './lib/browser.mjs';

let stack, browser, ctx;
const PW = 'a long enough password';

before(async () => {
  stack = await startStack({
    PRAVESH_HELP_EMAIL: 'help@pravesh.example.gov.in', PRAVESH_GRIEVANCE_EMAIL: 'grievance@pravesh.example.gov.in',
    PRAVESH_SELF_PER_HOUR: '1000',
  });
  ctx = { url: stack.url, sms: stack.sms, smtp: stack.smtp };
  createAdmin(stack.srv, { role: 'mdo', username: 'mdo.doj', password: PW, org: 'd-doj', first: 'Meera', last: 'Iyer', email: 'meera.iyer@doj.gov.in', mobile: '9876500011' });
  browser = await launch();
});
after(async () => { await browser?.close(); await stack?.stop(); });

// A registered, active person, logged in in a new page of the browser.
async function loggedIn(p, lang) {
  const who = await person(ctx, p);
  const page = await open(browser, { bypassCSP: true, base: stack.url });
  const host = new URL(stack.url).hostname;
  await page.context().addCookies(who.cookie.split('; ').map((kv) => {
    const i = kv.indexOf('=');
    return { name: kv.slice(0, i), value: kv.slice(i + 1), domain: host, path: '/' };
  }));
  await page.goto(stack.url + '/profile');
  await ready(page);
  if (lang === 'hi') await setLang(page, 'hi');
  await page.waitForSelector('#profile:visible');
  return { page, who };
}

const L = {
  en: { saved: /Your details have been saved/, mobileSaved: /Your mobile number is now 98/, sent: /We have sent a link/, closed: /Your account is closed/, required: /Enter your first name/, verify: /verify your mobile number/i },
  hi: { saved: /सहेज लिया गया/, mobileSaved: /मोबाइल नंबर अब 98/, sent: /लिंक भेजा है/, closed: /खाता बंद कर दिया गया/, required: /अपना पहला नाम दर्ज करें/, verify: /सत्यापित/ },
};

for (const [i, lang] of ['en', 'hi'].entries()) {
  test(`/profile in ${lang}: edit, change mobile, change e-mail, download, close`, async () => {
    const base = 9811200000 + i * 100;
    const P = { first: 'Sunita', last: 'Williams', email: `sunita.williams.${lang}@doj.gov.in`, mobile: String(base + 1) };
    const { page } = await loggedIn(P, lang);
    const t = L[lang];
    assert.equal(await page.inputValue('#first_name'), P.first);
    assert.match(await page.textContent('#mobile-current'), new RegExp(P.mobile));
    assert.match(await page.textContent('#email-current'), new RegExp(P.email.replace(/\./g, '\\.')));
    assert.match(await page.textContent('#org-value'), /Department of Justice/);
    // the header of a logged-in page: who, in which role, and log out
    assert.equal((await page.textContent('#session-name')).trim(), `${P.first} ${P.last}`);
    assert.ok(await page.isVisible('#session-logout'));
    await axeCheck(page, `profile (${lang})`);
    await screenshots(page, `profile-${lang}`);

    // edit: an error first (next to the field, the summary above), then saved
    await page.fill('#first_name', '');
    await page.click('#details-save');
    await page.waitForSelector('#first_name[aria-invalid=true]');
    assert.match(await page.textContent('#first_name-error'), t.required);
    await axeCheck(page, `profile with an error (${lang})`);
    await screenshots(page, `profile-error-${lang}`);
    await page.fill('#first_name', 'सुनीता');
    await page.click('#details-save');
    await page.waitForSelector('#details-form .form-alert.ok');
    assert.match(await page.textContent('#details-form .form-alert'), t.saved);
    const me = await page.context().request.get(`${stack.url}/api/v1/me`);
    assert.equal((await me.json()).first_name, 'सुनीता');

    // change of mobile: without the OTP first, then proven on the new number
    const NEW = String(base + 2);
    await page.fill('#new-mobile', NEW);
    await page.click('#mobile-save');
    await page.waitForSelector('#new-mobile[aria-invalid=true]');
    assert.match(await page.textContent('#new-mobile-error'), t.verify);
    const { message } = await nextMessage(stack.sms, NEW, () => page.click('#new-mobile-send'));
    await page.fill('#new-mobile-otp', codeOf(message));
    await page.click('#new-mobile-verify');
    await page.waitForSelector('#new-mobile-otp-status.ok');
    const old = await nextMessage(stack.sms, P.mobile, () => page.click('#mobile-save'));
    assert.equal(old.message.template, 'mobile_replaced_sms');
    await page.waitForSelector('#mobile-form .form-alert.ok');
    assert.match(await page.textContent('#mobile-form .form-alert'), t.mobileSaved);
    assert.match(await page.textContent('#mobile-current'), new RegExp(NEW));
    assert.equal(await page.inputValue('#close-mobile'), NEW);

    // change of e-mail: a link to the new address, the change waiting for it
    const NEWMAIL = `sunita.w.${lang}@nic.in`;
    await page.fill('#new-email', NEWMAIL);
    await page.click('#email-send');
    await page.waitForSelector('#email-form .form-alert.ok');
    assert.match(await page.textContent('#email-form .form-alert'), t.sent);
    await page.waitForSelector('#email-pending:visible');
    assert.ok((await page.textContent('#email-pending')).includes(NEWMAIL));
    await axeCheck(page, `profile with a change waiting (${lang})`);
    const mail = await stack.smtp.waitFor(NEWMAIL, (m) => /confirm-email/.test(m.body));
    const link = mail.body.match(/\/confirm-email\?token=[A-Za-z0-9_-]+/)[0];
    const confirm = await page.context().newPage();
    await confirm.goto(stack.url + link);
    await ready(confirm);
    await confirm.waitForSelector('#ce-status.ok');
    assert.ok((await confirm.textContent('#ce-status')).includes(NEWMAIL));
    assert.equal(new URL(confirm.url()).search, '', 'the token leaves the address bar');
    await axeCheck(confirm, `confirm-email (${lang})`);
    await screenshots(confirm, `confirm-email-${lang}`);
    await confirm.close();
    await page.reload();
    await ready(page);
    await page.waitForSelector('#profile:visible');
    assert.ok((await page.textContent('#email-current')).includes(NEWMAIL));
    assert.equal(await page.locator('#email-pending').isVisible(), false);

    // download: everything held, as a JSON attachment
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#data-download')]);
    assert.match(dl.suggestedFilename(), /^pravesh-my-data-\d{4}-\d\d-\d\d\.json$/);
    const data = JSON.parse(readFileSync(await dl.path(), 'utf8'));
    assert.equal(data.user.first_name, 'सुनीता');
    assert.equal(data.user.mobile, NEW);
    assert.equal(data.user.email, NEWMAIL);
    assert.ok(data.audit.some((a) => a.action === 'change_mobile'));

    // closing: what happens, said plainly; the OTP to one's own number
    const what = await page.textContent('#close-what');
    assert.match(what, lang === 'en' ? /After 30 days/ : /30 दिन बाद/);
    await page.click('#close-submit');
    await page.waitForSelector('#close-understand[aria-invalid=true]');
    await axeCheck(page, `profile closing with errors (${lang})`);
    await screenshots(page, `profile-close-errors-${lang}`);
    const code = await nextMessage(stack.sms, NEW, () => page.click('#close-mobile-send'));
    assert.equal(code.message.template, 'otp_sms');
    await page.fill('#close-mobile-otp', codeOf(code.message));
    await page.click('#close-mobile-verify');
    await page.waitForSelector('#close-mobile-otp-status.ok');
    await page.check('#close-understand');
    await page.click('#close-submit');
    await page.waitForSelector('#closed:visible');
    assert.match(await page.textContent('#closed'), t.closed);
    await axeCheck(page, `profile closed (${lang})`);
    await screenshots(page, `profile-closed-${lang}`);
    assert.equal((await page.context().request.get(`${stack.url}/api/v1/me`)).status(), 401);
    await page.goto(stack.url + '/profile');
    await ready(page);
    await page.waitForSelector('#anon:visible');
    noProblems(page);
    await page.context().close();
  });
}

test('the new pages load under the Content-Security-Policy without a problem', async () => {
  const page = await open(browser, { base: stack.url });
  for (const path of ['/privacy', '/terms', '/profile', '/confirm-email', '/register', '/login']) {
    await page.goto(stack.url + path);
    await ready(page);
    await quiet(page);
  }
  noProblems(page);
  await page.context().close();
});

test('/privacy and /terms: the operator\'s texts in both languages, with their versions', async () => {
  for (const lang of ['en', 'hi']) {
    for (const doc of ['privacy', 'terms']) {
      const page = await open(browser, { bypassCSP: true, base: stack.url });
      await page.goto(`${stack.url}/${doc}`);
      await ready(page);
      if (lang === 'hi') await setLang(page, 'hi');
      await page.waitForFunction((l) => document.querySelector('#legal-text').lang === l, lang);
      await quiet(page);
      const text = await page.textContent('#legal-text');
      if (doc === 'privacy') {
        assert.ok(text.includes('grievance@pravesh.example.gov.in'));
        assert.equal(await page.getAttribute('#legal-text a[href^="mailto:"]', 'href'), 'mailto:grievance@pravesh.example.gov.in');
      }
      assert.ok((await page.locator('#legal-text h2').count()) >= 3);
      assert.match(await page.textContent('#legal-version'), new RegExp(`${doc}-${lang}-[0-9a-f]{16}`));
      if (lang === 'hi') assert.match(text, /[\u0900-\u097F]/);
      await axeCheck(page, `${doc} (${lang})`);
      await screenshots(page, `${doc}-${lang}`);
      noProblems(page);
      await page.context().close();
    }
  }
});

test('"Need help? contact us here" on the login, registration and upload pages; the terms linked from registration', async () => {
  const page = await open(browser, { bypassCSP: true, base: stack.url });
  for (const path of ['/login', '/register']) {
    await page.goto(stack.url + path);
    await ready(page);
    await page.waitForSelector('[data-help]:visible');
    assert.match(await page.textContent('[data-help]'), /Need help\? contact us here/);
    assert.equal(await page.getAttribute('[data-help] a', 'href'), 'mailto:help@pravesh.example.gov.in');
    assert.equal(await page.getAttribute('footer .footer-links a[href="/privacy"]', 'href'), '/privacy');
    await screenshots(page, `${path.slice(1)}-help-en`);
    await setLang(page, 'hi');
    assert.match(await page.textContent('[data-help]'), /सहायता चाहिए\?/);
    await screenshots(page, `${path.slice(1)}-help-hi`);
    await setLang(page, 'en');
  }
  assert.equal(await page.getAttribute('#terms-hint a[href="/terms"]', 'href'), '/terms');
  assert.equal(await page.getAttribute('#terms', 'aria-describedby'), 'terms-hint');
  await axeCheck(page, 'register with the terms links');
  // the upload page of an MDO administrator
  const { adminLoginPage } = await import('./lib/browser.mjs');
  await adminLoginPage(page, stack, 'mdo.doj', PW);
  await page.waitForURL(/\/(mdo)?$/);
  await page.goto(stack.url + '/mdo');
  await ready(page);
  await page.click('#tab-uploads');
  await page.waitForSelector('#panel-uploads [data-help]:visible');
  assert.match(await page.textContent('#panel-uploads [data-help]'), /Need help\? contact us here/);
  await axeCheck(page, 'mdo uploads with the help link');
  await screenshots(page, 'mdo-uploads-help-en');
  noProblems(page);
  await page.context().close();
});

test('an administrator sees a closed account as closed, with no action', async () => {
  const who = await person(ctx, { first: 'Closing', last: 'Soon', email: 'closing.soon@doj.gov.in', mobile: '9811200901' });
  const { message } = await nextMessage(stack.sms, '9811200901', () => req(stack.url, 'POST', '/api/v1/otp', { json: { mobile: '9811200901', purpose: 'erasure' }, bearer: who.token }));
  const v = await req(stack.url, 'POST', '/api/v1/otp/verify', { json: { mobile: '9811200901', purpose: 'erasure', code: codeOf(message) }, bearer: who.token });
  assert.equal((await req(stack.url, 'POST', '/api/v1/me/erasure', { json: { verification_token: v.body.verification_token }, bearer: who.token })).status, 202);
  const page = await open(browser, { bypassCSP: true, base: stack.url });
  const { adminLoginPage } = await import('./lib/browser.mjs');
  await adminLoginPage(page, stack, 'mdo.doj', PW);
  await page.waitForURL(/\/(mdo)?$/);
  await page.goto(stack.url + '/mdo');
  await ready(page);
  await page.click('#tab-inactive');
  await page.selectOption('#inactive-status', 'closed');
  await page.waitForSelector('#inactive-table tbody tr td .badge.closed');
  const row = page.locator('#inactive-table tbody tr', { hasText: 'Closing Soon' });
  assert.match(await row.textContent(), /Closed/);
  assert.equal(await row.locator('button').count(), 0);
  assert.ok(!(await row.textContent()).includes('9811200901'));
  await axeCheck(page, 'mdo closed users');
  noProblems(page);
  await page.context().close();
  assert.ok(messages(stack.sms, '9811200901').length >= 1);
});
