// Browser helpers for the page tests: Debian's Chromium driven by
// playwright-core (never a downloaded browser), axe-core checks,
// screenshots at phone and desktop widths, the language switch, and a
// guard that fails a test on any page error or CSP refusal.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { root } from '../../api/lib/server.mjs';

export const AXE = path.join(root, 'node_modules/axe-core/axe.min.js');
export const SHOTS = path.join(root, 'tests/browser/screenshots');
export const PHONE = { width: 390, height: 844 };
export const DESKTOP = { width: 1280, height: 800 };

export function launch() {
  return chromium.launch({
    executablePath: process.env.PRAVESH_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

// A new context and page. Page errors, console errors (CSP refusals among
// them) and requests that leave the server are collected in page.problems;
// call noProblems(page) to assert there were none.
export async function open(browser, { viewport = PHONE, bypassCSP = false, base } = {}) {
  const context = await browser.newContext({ viewport, bypassCSP, acceptDownloads: true, locale: 'en-IN' });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  page.problems = [];
  page.inflight = 0;
  page.on('request', () => { page.inflight += 1; });
  const done = () => { page.inflight = Math.max(0, page.inflight - 1); };
  page.on('requestfinished', done);
  page.on('requestfailed', done);
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) page.inflight = 0; });
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    // an API answer of 4xx is logged by Chromium as a failed resource; the
    // pages handle those, so only script problems count
    if (/Failed to load resource: the server responded with a status of [45]\d\d/.test(text)) return;
    page.problems.push(`console: ${text}`);
  });
  if (base) {
    page.on('request', (r) => {
      const u = r.url();
      if (!u.startsWith(base) && !u.startsWith('data:') && !u.startsWith('blob:')) page.problems.push(`external request: ${u}`);
    });
  }
  return page;
}

export function noProblems(page) {
  assert.deepEqual(page.problems, [], 'page errors');
}

// The page is translated and shown (i18n.js adds html.ready) and no
// request has been in flight for 100 ms.
export async function ready(page) {
  await page.waitForSelector('html.ready', { state: 'attached' });
  await quiet(page);
}

export async function quiet(page, ms = 100, timeout = 10000) {
  const t0 = Date.now();
  let since = Date.now();
  while (Date.now() - since < ms) {
    if (page.inflight > 0) since = Date.now();
    if (Date.now() - t0 > timeout) throw new Error('the page never went quiet');
    await new Promise((r) => setTimeout(r, 20));
  }
}

// axe-core on the page as it is now: no violations at all.
export async function axeCheck(page, label) {
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.addScriptTag({ path: AXE });
  const r = await page.evaluate(async () => {
    const res = await window.axe.run(document, { resultTypes: ['violations'] });
    return res.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  assert.deepEqual(r, [], `axe violations on ${label}: ${JSON.stringify(r, null, 1)}`);
}

// Full-page screenshots at phone and desktop widths, as <name>-phone.png
// and <name>-desktop.png; leaves the page at the phone width.
export async function screenshots(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  for (const [w, vp] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    await page.setViewportSize(vp);
    await page.waitForTimeout(50);
    await page.screenshot({ path: path.join(SHOTS, `${name}-${w}.png`), fullPage: true });
  }
}

export async function setLang(page, lang) {
  await page.selectOption('#lang', lang);
  await page.waitForFunction((l) => document.documentElement.lang === l, lang);
}

// The real server with file: SMS, a real SMTP sink and relaxed OTP limits
// (the pages send many codes), plus helpers to create administrators.
import { startServer, cli } from '../../api/lib/server.mjs';
import { startSmtpSink } from '../../api/lib/smtp.mjs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

export async function startStack(env = {}) {
  const smtp = await startSmtpSink();
  const d = mkdtempSync(path.join(tmpdir(), 'pravesh-browser-'));
  const sms = path.join(d, 'sms.jsonl');
  const srv = await startServer({
    env: {
      PRAVESH_SMS: `file:${sms}`, PRAVESH_MAIL: smtp.url, PRAVESH_MAIL_FROM: 'Pravesh <no-reply@pravesh.test>',
      PRAVESH_OTP_RESEND: '0', PRAVESH_OTP_PER_HOUR: '1000', PRAVESH_OTP_PER_DAY: '1000',
      PRAVESH_OTP_PER_IP_HOUR: '100000', PRAVESH_PUBLIC_URL: 'https://pravesh.example.gov.in/',
      PRAVESH_OTP_NUMBER_PER_HOUR: '1000', PRAVESH_OTP_NUMBER_PER_DAY: '1000', PRAVESH_ANON_PER_IP_HOUR: '100000',
      PRAVESH_LOGIN_FAIL_PER_IP_HOUR: '100000', ...env,
    },
  });
  return {
    srv, sms, smtp, url: srv.url,
    async stop() { await srv.stop(); await smtp.close(); },
  };
}

// Creates an administrator with `pravesh admin create`; role spv or mdo.
export function createAdmin(srv, { role, username, password, org, first, last, email, mobile }) {
  const r = cli(['admin', 'create', '--role', role, '--username', username, '--org', org,
    '--first-name', first, '--last-name', last, '--email', email, '--mobile', mobile], srv.env, password + '\n');
  assert.equal(r.status, 0, r.stderr);
}

// An administrator's login through the page, both steps: the password,
// then the code the SMS carried (read from the stack's SMS file, the
// newest to the number the page hints at).
export async function adminLoginPage(page, stack, username, password) {
  const { messages } = await import('../../api/lib/sms.mjs');
  const before = messages(stack.sms).length;
  await page.goto(stack.url + '/admin-login');
  await ready(page);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('#alogin-submit');
  await page.waitForSelector('#alogin-code-form:not([hidden])');
  const tail = (await page.textContent('#alogin-mobile-hint')).replace(/\*/g, '');
  let code = null;
  for (let i = 0; i < 750 && !code; i++) {
    const m = messages(stack.sms).slice(before).filter((x) => x.to.endsWith(tail) && x.template === 'otp_sms');
    if (m.length) code = m[m.length - 1].text.match(/\b(\d{6})\b/)[1];
    else await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(code, 'the second-factor code arrived');
  await page.fill('#admin-code', code);
  await page.click('#alogin-code-submit');
}
