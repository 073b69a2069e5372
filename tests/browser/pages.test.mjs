// Every page: axe-core finds no violations (in English and Hindi, and with
// errors shown), the Hindi switch translates the page and is remembered,
// nothing sticks out at phone and desktop widths (screenshots of both),
// a favicon, and a <noscript> that says the page needs JavaScript.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { req } from '../api/lib/server.mjs';
import { nextMessage, codeOf } from '../api/lib/sms.mjs';
import { launch, open, ready, quiet, axeCheck, screenshots, setLang, noProblems, startStack, createAdmin } from './lib/browser.mjs';

let stack, browser;
const PW = 'a long enough password';
const MDO = { username: 'mdo.doj', mobile: '9876500011' };

before(async () => {
  stack = await startStack();
  createAdmin(stack.srv, { role: 'spv', username: 'spv', password: PW, org: 'd-dopt', first: 'Sita', last: 'Ram', email: 'spv@dopt.gov.in', mobile: '9999900000' });
  createAdmin(stack.srv, { role: 'mdo', username: MDO.username, password: PW, org: 'd-doj', first: 'Meera', last: 'Iyer', email: 'meera.iyer@doj.gov.in', mobile: MDO.mobile });
  browser = await launch();
  // a pending request, so the SPV queue has something to show
  const mobile = '9811100001';
  const { message } = await nextMessage(stack.sms, mobile, () => req(stack.url, 'POST', '/api/v1/otp', { json: { mobile, purpose: 'request' } }));
  const v = await req(stack.url, 'POST', '/api/v1/otp/verify', { json: { mobile, purpose: 'request', code: codeOf(message) } });
  const r = await req(stack.url, 'POST', '/api/v1/requests', { json: { kind: 'organisation', full_name: 'Ravi Verma', email: 'ravi@example.com', mobile, verification_token: v.body.verification_token, name: 'Directorate of Vigilance', details: 'Under the Department of Justice', sector: 'center', parent_id: 'd-doj', declaration: true } });
  assert.equal(r.status, 201, r.text);
});
after(async () => { await browser?.close(); await stack?.stop(); });

async function loginPassword(page, username) {
  const { messages } = await import('../api/lib/sms.mjs');
  const before = messages(stack.sms).length;
  const r = await page.context().request.post(`${stack.url}/api/v1/auth/password`, { data: { username, password: PW } });
  assert.equal(r.status(), 200);
  const { challenge, mobile_hint: hint } = await r.json();
  let code = null;
  for (let i = 0; i < 750 && !code; i++) {
    const m = messages(stack.sms).slice(before).filter((x) => x.to.endsWith(hint.replace(/\*/g, '')) && x.template === 'otp_sms');
    if (m.length) code = m[m.length - 1].text.match(/\b(\d{6})\b/)[1];
    else await new Promise((res) => setTimeout(res, 20));
  }
  const r2 = await page.context().request.post(`${stack.url}/api/v1/auth/password/otp`, { data: { challenge, code } });
  assert.equal(r2.status(), 200);
}

async function loginOtp(page, mobile) {
  const { message } = await nextMessage(stack.sms, mobile, () => req(stack.url, 'POST', '/api/v1/otp', { json: { mobile, purpose: 'login' } }));
  const r = await page.context().request.post(`${stack.url}/api/v1/auth/otp`, { data: { mobile, code: codeOf(message) } });
  assert.equal(r.status(), 200);
}

const DEVANAGARI = /[\u0900-\u097F]/;

// Loads the page and checks it in English (axe, screenshots), then each of
// `states` (an action, then axe and screenshots again); switches to Hindi,
// checks that the heading and the title are translated (axe again with
// axeHindi) and that a reload keeps Hindi.
async function checkPage(name, path, { login, then, states = [], axeHindi = false } = {}) {
  const page = await open(browser, { bypassCSP: true, base: stack.url });
  if (login) await login(page);
  await page.goto(stack.url + path);
  await ready(page);
  if (then) await then(page);
  assert.equal(await page.getAttribute('link[rel=icon]', 'href'), '/favicon.svg', `${name}: favicon`);
  assert.match(await page.evaluate(() => document.querySelector('noscript')?.textContent || ''), /needs JavaScript/, `${name}: noscript`);
  const h1 = (await page.locator('h1:visible').first().textContent()).trim();
  assert.ok(h1 && !DEVANAGARI.test(h1), `${name}: English heading "${h1}"`);
  await axeCheck(page, name);
  await screenshots(page, name);
  for (const st of states) {
    await st.act(page);
    await quiet(page);
    await axeCheck(page, `${name}-${st.name}`);
    await screenshots(page, `${name}-${st.name}`);
  }

  await setLang(page, 'hi');
  const hi = (await page.locator('h1:visible').first().textContent()).trim();
  assert.ok(DEVANAGARI.test(hi), `${name}: Hindi heading "${hi}"`);
  assert.ok(DEVANAGARI.test(await page.title()), `${name}: Hindi title`);
  assert.ok(DEVANAGARI.test(await page.locator('#lang').evaluate((e) => e.labels[0].textContent)));
  if (axeHindi) await axeCheck(page, `${name} (hi)`);
  await page.reload();
  await ready(page);
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'hi', `${name}: Hindi remembered`);
  assert.ok(DEVANAGARI.test(await page.locator('h1:visible').first().textContent()));
  if (axeHindi) await screenshots(page, `${name}-hi`);
  await setLang(page, 'en');
  noProblems(page);
  await page.context().close();
}

test('home, anonymous and logged in', async () => {
  await checkPage('home', '/', {
    then: async (p) => assert.equal(await p.locator('a[href="/register"]').first().isVisible(), true),
  });
  await checkPage('home-user', '/', {
    login: (p) => loginOtp(p, MDO.mobile),
    then: async (p) => {
      await p.waitForSelector('#user-details dd');
      assert.match(await p.textContent('#user-details'), /Department of Justice/);
      assert.match(await p.textContent('#user-details'), /Under Ministry of Law and Justice/);
      // a mobile-OTP session is an ordinary user's, whoever logs in
      assert.equal(await p.locator('a[href="/mdo"]').count(), 0);
    },
  });
  await checkPage('home-admin', '/', {
    login: (p) => loginPassword(p, MDO.username),
    then: async (p) => {
      await p.waitForSelector('#user-details dd');
      assert.equal(await p.locator('a[href="/mdo"]').isVisible(), true);
    },
  });
});

test('register, empty and with errors shown', async () => {
  await checkPage('register', '/register', {
    axeHindi: true,
    states: [{
      name: 'errors',
      act: async (p) => {
        await p.fill('#first_name', 'R2D2');
        await p.click('#signup');
        await p.waitForSelector('#last_name[aria-invalid=true]');
        assert.equal(await p.inputValue('#first_name'), 'R2D2', 'nothing typed is lost');
        assert.match(await p.getAttribute('#first_name', 'aria-describedby'), /first_name-error/);
        // each field says what is wrong with it; the name rule says what is allowed
        assert.match(await p.textContent('#first_name-error'), /only include letters, spaces, full stops \(\.\), apostrophes \('\) and hyphens/);
        assert.equal((await p.textContent('#last_name-error')).trim(), 'Enter your surname');
        assert.equal((await p.textContent('#mobile-error')).trim(), 'Enter your mobile number');
        assert.match(await p.textContent('#terms-error'), /Terms of Service/);
        // the error summary: focused, first in the form, one link per error
        // in the order of the page, and "Error: " before the title
        assert.equal(await p.evaluate(() => document.activeElement.classList.contains('error-summary')), true);
        assert.match(await p.textContent('.error-summary h2'), /There is a problem/);
        const links = await p.$$eval('.error-summary a', (as) => as.map((a) => [a.getAttribute('href'), a.textContent]));
        assert.deepEqual(links.map((l) => l[0]), ['#first_name', '#last_name', '#position', '#email', '#mobile', '#org', '#declaration', '#terms']);
        assert.equal(links[1][1], 'Enter your surname');
        assert.match(await p.title(), /^Error: Register/);
        await p.click('.error-summary a[href="#email"]');
        assert.equal(await p.evaluate(() => document.activeElement.id), 'email');
        // Hindi: the errors and the title follow the language
        await setLang(p, 'hi');
        assert.match(await p.textContent('#terms-error'), DEVANAGARI);
        assert.match(await p.textContent('.error-summary a[href="#last_name"]'), DEVANAGARI);
        assert.match(await p.title(), /^त्रुटि: /);
        await setLang(p, 'en');
        // corrected and sent again: the summary and the title's "Error: " go
        await p.fill('#first_name', 'Ravi');
        await p.fill('#last_name', 'Verma');
        await p.click('#signup');
        await p.waitForFunction(() => !document.querySelector('#last_name[aria-invalid]'));
        assert.doesNotMatch(await p.textContent('.error-summary'), /surname/);
      },
    }],
  });
});

test('requests for a position and an organisation', async () => {
  // one page for both kinds: the organisation's fields only for organisations
  await checkPage('request-position', '/request-position?name=Data%20Steward', {
    then: async (p) => {
      assert.equal(await p.inputValue('#name'), 'Data Steward');
      assert.equal((await p.textContent('h1')).trim(), 'Request to add position');
      assert.equal(await p.title(), 'Request to add position — Pravesh');
      assert.equal(await p.locator('#sector-group').isVisible(), false);
      assert.equal(await p.locator('#parent').isVisible(), false);
    },
  });
  await checkPage('request-organisation', '/request-organisation', {
    then: async (p) => {
      assert.equal((await p.textContent('h1')).trim(), 'Request to add organisation');
      assert.equal((await p.innerText('label[for=name]')).trim(), 'Organisation');
      assert.equal(await p.locator('#sector-group').isVisible(), true);
      assert.equal(await p.locator('#parent').isVisible(), true);
    },
  });
});

test('an unknown page: the 404 page in the chosen language, with the way home', async () => {
  await checkPage('notfound', '/no-such-page', {
    axeHindi: true,
    then: async (p) => {
      assert.equal((await p.textContent('h1')).trim(), 'Page not found');
      assert.equal(await p.getAttribute('a[data-i18n="nf.home"]', 'href'), '/');
    },
  });
});

test('activate, with a bad link', async () => {
  await checkPage('activate', '/activate?token=not-a-token', {
    then: async (p) => {
      await p.waitForSelector('#act-status.error');
      assert.match(await p.textContent('#act-status'), /not valid/);
      assert.equal(p.url(), `${stack.url}/activate`, 'the token leaves the address bar');
      assert.equal(await p.locator('#resend-form').isVisible(), true);
    },
  });
});

test('login: OTP by default, SSO errors, the Parichay button when configured', async () => {
  await checkPage('login', '/login', {
    then: async (p) => {
      assert.equal(await p.locator('#sso').isVisible(), false, 'no SSO configured here');
      assert.equal(await p.locator('a[href="/admin-login"]').isVisible(), true);
    },
  });
  // the button appears when /api/v1/sso says enabled; ?error= is shown
  const page = await open(browser, { bypassCSP: true, base: stack.url });
  await page.route('**/api/v1/sso', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: '{"enabled":true,"name":"Parichay"}' }));
  await page.goto(stack.url + '/login?error=sso_not_registered');
  await ready(page);
  assert.match(await page.textContent('#login-form .error-summary'), /No active account/);
  await page.waitForSelector('#sso-link:visible');
  assert.equal((await page.textContent('#sso-link')).trim(), 'Login with Parichay');
  assert.equal(await page.getAttribute('#sso-link', 'href'), '/auth/sso/parichay');
  await axeCheck(page, 'login with SSO');
  await screenshots(page, 'login-sso');
  await setLang(page, 'hi');
  assert.match(await page.textContent('#sso-link'), /परिचय|Parichay/);
  await setLang(page, 'en');
  noProblems(page);
  await page.context().close();
});

test('admin login', async () => {
  await checkPage('admin-login', '/admin-login', {
    then: async (p) => {
      await p.fill('#username', 'spv');
      await p.fill('#password', 'wrong password!!');
      await p.click('#alogin-submit');
      await p.waitForSelector('#alogin-form .error-summary:not([hidden])');
      // it speaks of what this page asks for: username and password
      assert.match(await p.textContent('#alogin-form .error-summary'), /The username or the password is not right/);
      assert.doesNotMatch(await p.textContent('#alogin-form .error-summary'), /mobile|OTP/);
      assert.equal(await p.inputValue('#username'), 'spv');
      await setLang(p, 'hi');
      assert.match(await p.textContent('#alogin-form .error-summary li'), /उपयोगकर्ता नाम या पासवर्ड सही नहीं है/);
      await setLang(p, 'en');
      // the right password leads to the second step: the code sent by SMS
      await p.fill('#password', PW);
      await p.click('#alogin-submit');
      await p.waitForSelector('#alogin-code-form:not([hidden])');
      assert.match(await p.textContent('#alogin-mobile-hint'), /\*+0000$/);
      assert.equal(await p.evaluate(() => document.activeElement.id), 'admin-code');
      await screenshots(p, 'admin-login-code');
      await axeCheck(p);
      // a wrong code says how many tries are left
      await p.fill('#admin-code', '12345');
      await p.click('#alogin-code-submit');
      await p.waitForSelector('#admin-code[aria-invalid=true]');
      await p.fill('#admin-code', '000000');
      await p.click('#alogin-code-submit');
      await p.waitForFunction(() => /2 more tries/.test(document.querySelector('#admin-code-error').textContent));
      // starting again goes back to the password
      await p.click('#alogin-restart');
      await p.waitForSelector('#alogin-form:not([hidden])');
      assert.equal(await p.inputValue('#password'), '');
    },
  });
});

test('MDO administration', async () => {
  await checkPage('mdo', '/mdo', {
    axeHindi: true,
    login: (p) => loginPassword(p, MDO.username),
    then: async (p) => {
      await p.waitForSelector('#active-table tbody tr td');
      assert.match(await p.textContent('#active-table'), /Meera Iyer/);
      assert.match(await p.textContent('#mdo-org'), /Department of Justice/);
    },
    states: [
      { name: 'inactive', act: async (p) => { await p.click('#tab-inactive'); await p.waitForSelector('#panel-inactive:visible'); } },
      { name: 'uploads', act: async (p) => { await p.click('#tab-uploads'); await p.waitForSelector('#uploads-table tbody tr'); } },
    ],
  });
});

test('SPV administration', async () => {
  const tab = (t) => ({ name: t, act: async (p) => { await p.click(`#tab-${t}`); await p.waitForSelector(`#panel-${t}:visible`); } });
  await checkPage('spv', '/spv', {
    axeHindi: true,
    login: (p) => loginPassword(p, 'spv'),
    then: async (p) => {
      await p.waitForSelector('#requests article');
      assert.match(await p.textContent('#requests'), /Directorate of Vigilance/);
      await p.click('#requests summary >> nth=0');
    },
    states: [tab('directory'), tab('positions'), tab('admins'), tab('audit')],
  });
});
