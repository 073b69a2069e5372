// Every page: axe-core finds no violations (in English and Hindi, and with
// errors shown), the Hindi switch translates the page and is remembered,
// and screenshots at phone and desktop widths.
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
        assert.match(await p.textContent('#first_name-error'), /valid name/);
        assert.match(await p.textContent('#terms-error'), /Terms of Service/);
        // Hindi: the errors follow the language
        await setLang(p, 'hi');
        assert.match(await p.textContent('#terms-error'), DEVANAGARI);
        await setLang(p, 'en');
      },
    }],
  });
});

test('requests for a position and an organisation', async () => {
  await checkPage('request-position', '/request-position?name=Data%20Steward', {
    then: async (p) => assert.equal(await p.inputValue('#name'), 'Data Steward'),
  });
  await checkPage('request-organisation', '/request-organisation');
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
  assert.match(await page.textContent('#login-form .form-alert'), /No active account/);
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
      await p.waitForSelector('#alogin-form .form-alert.error');
      assert.match(await p.textContent('#alogin-form .form-alert'), /not right/);
      assert.equal(await p.inputValue('#username'), 'spv');
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
    states: [tab('directory'), tab('admins'), tab('audit')],
  });
});
