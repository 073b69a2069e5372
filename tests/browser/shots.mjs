// Screenshots of every page at 1280 px and 390 px wide, in English and
// Hindi, logged in where needed, with some data to show: a helper for
// looking at the pages, not a test. Run after `make build/pravesh`:
//   node tests/browser/shots.mjs [OUT_DIR] [name-filter]
// The PNGs are OUT_DIR/<page>-<state>-<lang>-<width>.png.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { req } from '../api/lib/server.mjs';
import { nextMessage, codeOf } from '../api/lib/sms.mjs';
import { launch, open, ready, quiet, startStack, createAdmin, adminLoginApi, PHONE, DESKTOP } from './lib/browser.mjs';
import { makeXlsx } from './lib/xlsx.mjs';

const OUT = path.resolve(process.argv[2] || 'tests/browser/screenshots/all');
const only = process.argv[3] ? new RegExp(process.argv[3]) : null;
const PW = 'a long enough password';
mkdirSync(OUT, { recursive: true });

const stack = await startStack();
const browser = await launch();
try {
  createAdmin(stack.srv, { role: 'spv', username: 'spv', password: PW, org: 'd-dopt', first: 'Sita', last: 'Ram', email: 'spv@dopt.gov.in', mobile: '9999900000' });
  createAdmin(stack.srv, { role: 'mdo', username: 'mdo.doj', password: PW, org: 'd-doj', first: 'Meera', last: 'Iyer', email: 'meera.iyer@doj.gov.in', mobile: '9876500011' });
  for (const [i, body] of [
    { kind: 'organisation', full_name: 'Ravi Verma', email: 'ravi@example.com', name: 'Directorate of Vigilance', details: 'Under the Department of Justice', sector: 'center', parent_id: 'd-doj' },
    { kind: 'position', full_name: 'Asha Nair', email: 'asha@example.com', name: 'Chief Knowledge Officer', details: 'Heads the knowledge management cell of the department, which has no such post today.' },
  ].entries()) {
    const mobile = `98111000${10 + i}`;
    const { message } = await nextMessage(stack.sms, mobile, () => req(stack.url, 'POST', '/api/v1/otp', { json: { mobile, purpose: 'request' } }));
    const v = await req(stack.url, 'POST', '/api/v1/otp/verify', { json: { mobile, purpose: 'request', code: codeOf(message) } });
    const r = await req(stack.url, 'POST', '/api/v1/requests', { json: { ...body, mobile, verification_token: v.body.verification_token, declaration: true } });
    assert.equal(r.status, 201, r.text);
  }
  // an upload with good and bad rows, through the API as the MDO administrator
  const { request: pwRequest } = await import('playwright-core');
  const api = await pwRequest.newContext();
  const { token } = await adminLoginApi(api, stack, 'mdo.doj', PW);
  await api.dispose();
  const rows = [['First Name', 'Last Name', 'Email Id', 'Mobile Number']];
  for (let i = 0; i < 30; i++) rows.push([`Person${String.fromCharCode(65 + (i % 26))}`, 'Kumar', `person${i}@doj.gov.in`, `97000000${String(i).padStart(2, '0')}`]);
  rows.push(['Bad', 'Row', 'not an email', '123']);
  const fd = new FormData();
  fd.append('file', new Blob([makeXlsx(rows)]), 'users-file-upload-test4 with a rather long name.xlsx');
  const up = await fetch(stack.url + '/api/v1/mdo/uploads', { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: fd });
  assert.equal(up.status, 202, await up.text());

  const pages = [
    { name: 'home', path: '/' },
    { name: 'register', path: '/register' },
    { name: 'register-errors', path: '/register', act: async (p) => { await p.fill('#first_name', 'R2D2'); await p.click('#signup'); await p.waitForSelector('.error-summary:not([hidden])'); } },
    { name: 'request-position', path: '/request-position?name=Data%20Steward' },
    { name: 'request-organisation', path: '/request-organisation' },
    { name: 'activate', path: '/activate?token=bad' },
    { name: 'login', path: '/login' },
    { name: 'admin-login', path: '/admin-login' },
    { name: 'notfound', path: '/no-such-page' },
    { name: 'home-user', path: '/', login: 'mdo.doj' },
    { name: 'mdo-active', path: '/mdo', login: 'mdo.doj', act: async (p) => { await p.waitForSelector('#active-table tbody tr td'); } },
    { name: 'mdo-uploads', path: '/mdo#uploads', login: 'mdo.doj', act: async (p) => { await p.waitForSelector('#uploads-table tbody tr td'); } },
    { name: 'mdo-confirm', path: '/mdo', login: 'mdo.doj', act: async (p) => { await p.waitForSelector('#active-table tbody button'); await p.click('#active-table tbody button >> nth=0'); await p.waitForSelector('dialog[open]'); } },
    { name: 'spv-requests', path: '/spv', login: 'spv', act: async (p) => { await p.waitForSelector('#requests article'); await p.click('#requests summary >> nth=0'); } },
    { name: 'spv-directory', path: '/spv#directory', login: 'spv', act: async (p) => { await p.waitForSelector('#orgs-table tbody tr td'); } },
    { name: 'spv-directory-open', path: '/spv#directory', login: 'spv', act: async (p) => { await p.waitForSelector('#orgs-table tbody tr td'); await p.fill('#orgs-q', 'law and justice'); await p.locator('#orgs-table button.org-open', { hasText: 'Ministry of Law and Justice' }).click(); await p.waitForFunction(() => /Ministry of Law/.test(document.querySelector('#orgs-crumbs').textContent)); await p.locator('#orgs-table tbody tr', { hasText: 'Department of Justice' }).locator('button', { hasText: /Edit|संपादित/ }).click(); } },
    { name: 'spv-positions', path: '/spv#positions', login: 'spv', act: async (p) => { await p.waitForSelector('#pos-table tbody tr td'); } },
    { name: 'spv-admins', path: '/spv#admins', login: 'spv', act: async (p) => { await p.waitForSelector('#admins-table tbody tr td'); } },
    { name: 'spv-audit', path: '/spv#audit', login: 'spv', act: async (p) => { await p.waitForSelector('#audit-table tbody tr td'); } },
  ];
  for (const pg of pages) {
    if (only && !only.test(pg.name)) continue;
    for (const lang of ['en', 'hi']) {
      for (const [w, vp] of [['1280', DESKTOP], ['390', PHONE]]) {
        const page = await open(browser, { viewport: vp });
        if (pg.login) {
          await adminLoginApi(page.context().request, stack, pg.login, PW);
        }
        await page.goto(stack.url + '/');
        await page.evaluate((l) => { localStorage.setItem('pravesh.lang', l); document.cookie = `pravesh_lang=${l}; Path=/`; }, lang);
        await page.goto(stack.url + pg.path);
        await ready(page).catch(() => {});
        if (pg.act) await pg.act(page);
        await quiet(page);
        await page.waitForTimeout(100);
        // long pages in parts of at most 1600 px, so that each stays legible
        const height = await page.evaluate(() => document.documentElement.scrollHeight);
        for (let y = 0, part = 1; y < height && part <= 3; y += 1600, part++) {
          const file = path.join(OUT, `${pg.name}-${lang}-${w}${part > 1 ? '-' + part : ''}.png`);
          await page.screenshot({ path: file, fullPage: true, clip: { x: 0, y, width: vp.width, height: Math.min(1600, height - y) } });
        }
        if (page.problems.length) console.log(pg.name, lang, w, page.problems);
        await page.context().close();
      }
    }
    console.log('shot', pg.name);
  }
} finally {
  await browser.close();
  await stack.stop();
}
