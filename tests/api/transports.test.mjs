// The peers Pravesh talks to, failing: an SMS gateway, an SMTP server and
// an OpenID provider, each behind a proxy (lib/chaos.mjs) that makes it
// down (connections reset), slow (accepted, never answered) or answering
// garbage. Each wait is bounded (PRAVESH_SMS_TIMEOUT, PRAVESH_MAIL_TIMEOUT,
// PRAVESH_SSO_TIMEOUT at 1 s here), the API answers at once whatever the
// peer does, messages are retried with back-off and delivered exactly once
// when the peer is back, and single sign-on works again as soon as the
// provider does, with calls that can be repeated retried at once.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startServer, req, cli } from './lib/server.mjs';
import { startChaos } from './lib/chaos.mjs';
import { startSmtpSink } from './lib/smtp.mjs';
import { startProvider, CLIENT_SECRET } from './sso/provider.mjs';

const cleanups = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, pred, timeoutMs = 20000) {
  const t0 = Date.now();
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

// What each failing mode looks like in the retry's error (curl's words).
const modeError = {
  down: /reset|Recv failure|Couldn't connect|receiving data|Send failure|Server returned nothing/i,
  slow: /Timeout/i,
  garbage: /Weird server reply|HTTP\/0\.9|receiving data|Unsupported|nothing/i,
  http500: /answered HTTP 500/,
};

const retryLine = (channel) => new RegExp(`"msg":"message will be retried"[^\\n]*"channel":"${channel}"`);

test('SMS gateway down, slow, answering garbage or 500: the API answers at once, the SMS is retried with back-off and arrives once', { timeout: 180000 }, async () => {
  const got = [];
  let fail500 = false;
  const gateway = http.createServer((q, r) => {
    let body = '';
    q.on('data', (d) => { body += d; });
    q.on('end', () => {
      if (fail500) { r.statusCode = 500; r.end('<html>busy</html>'); return; }
      got.push(JSON.parse(body));
      r.end('{"status":"queued"}');
    });
  });
  await new Promise((r) => gateway.listen(0, '127.0.0.1', r));
  const chaos = await startChaos(gateway.address().port);
  const srv = await startServer({ env: {
    PRAVESH_SMS: 'http', PRAVESH_SMS_URL: `${chaos.url}/send`, PRAVESH_SMS_TIMEOUT: '1',
    PRAVESH_OTP_PER_IP_HOUR: '1000', PRAVESH_METRICS_LISTEN: '127.0.0.1:0',
  } });
  cleanups.push(() => srv.stop(), () => chaos.close(), () => new Promise((r) => { gateway.closeAllConnections(); gateway.close(r); }));

  let n = 0;
  for (const mode of ['down', 'slow', 'garbage', 'http500']) {
    const mobile = `98765${String(43000 + n++)}`;
    const from = srv.logs.length;
    chaos.mode = mode === 'http500' ? 'ok' : mode;
    fail500 = mode === 'http500';
    const r = await req(srv.url, 'POST', '/api/v1/otp', { json: { mobile, purpose: 'register' } });
    assert.equal(r.status, 202, r.text); // the answer never waits for the gateway
    const log = await srv.waitLog(retryLine('sms'), from, 30000);
    const line = log.split('\n').find((l) => retryLine('sms').test(l));
    assert.match(JSON.parse(line).error, modeError[mode], `${mode}: ${line}`);
    assert.equal(JSON.parse(line).attempt, '1');
    assert.ok(!line.includes(mobile), 'the number is masked in the log');
    chaos.mode = 'ok';
    fail500 = false;
    await srv.waitLog(/"msg":"message sent"[^\n]*"channel":"sms"/, from, 30000);
    await sleep(200);
    const mine = got.filter((m) => m.mobile === mobile);
    assert.equal(mine.length, 1, `${mode}: delivered ${mine.length} times`);
    assert.match(mine[0].text, /\b\d{6}\b/);
  }
  // the back-off doubles: the metrics counted one retry per failing mode
  const m = await req(srv.metricsUrl, 'GET', '/metrics');
  assert.match(m.text, /pravesh_messages_total\{channel="sms",outcome="retried"\} 4\b/);
  assert.match(m.text, /pravesh_messages_total\{channel="sms",outcome="sent"\} 4\b/);
});

test('SMTP server down, slow, answering garbage: the welcome e-mail is retried with back-off and arrives once', { timeout: 180000 }, async () => {
  const sink = await startSmtpSink();
  const chaos = await startChaos(Number(new URL(sink.url.replace('smtp:', 'http:')).port));
  const sideDir = mkdtempSync(path.join(tmpdir(), 'pravesh-mail-'));
  const srv = await startServer({ env: {
    PRAVESH_MAIL: `smtp://127.0.0.1:${chaos.port}`, PRAVESH_MAIL_TIMEOUT: '1',
    PRAVESH_SMS: `file:${sideDir}/sms.jsonl`,
  } });
  cleanups.push(() => srv.stop(), () => chaos.close(), () => sink.close(), () => rmSync(sideDir, { recursive: true, force: true }));
  const a = cli(['admin', 'create', '--role', 'mdo', '--username', 'mdo.mail', '--org', 'd-doj', '--first-name', 'M',
    '--last-name', 'A', '--email', 'mdo.mail@doj.gov.in', '--mobile', '6000000401'], srv.env, 'a long enough password\n');
  assert.equal(a.status, 0, a.stderr);
  const login = await srv.adminLogin('mdo.mail', 'a long enough password');
  assert.equal(login.status, 200, login.text);

  let n = 0;
  for (const mode of ['down', 'slow', 'garbage']) {
    const email = `welcome${n}@example.in`;
    const from = srv.logs.length;
    chaos.mode = mode;
    const fd = new FormData();
    fd.append('file', new Blob([`First Name,Last Name,Email Id,Mobile Number\nWel,Come,${email},${7200000000 + n++}\n`], { type: 'text/csv' }), 'one.csv');
    const r = await req(srv.url, 'POST', '/api/v1/mdo/uploads', { body: fd, bearer: login.body.token });
    assert.equal(r.status, 202, r.text);
    const log = await srv.waitLog(retryLine('email'), from, 30000);
    const line = log.split('\n').find((l) => retryLine('email').test(l));
    assert.match(JSON.parse(line).error, modeError[mode], `${mode}: ${line}`);
    chaos.mode = 'ok';
    await sink.waitFor(email, () => true, 30000);
    await srv.waitLog(/"msg":"message sent"[^\n]*"channel":"email"/, from, 30000);
    await sleep(200);
    assert.equal(sink.mails.filter((x) => x.to.includes(email)).length, 1, `${mode}: not exactly once`);
  }
});

// A browser: one cookie jar per origin, redirects not followed.
function browser() {
  const jars = new Map();
  return {
    jars,
    async get(url) {
      const u = new URL(url);
      if (!jars.has(u.origin)) jars.set(u.origin, new Map());
      const jar = jars.get(u.origin);
      const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      const r = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
      for (const c of r.headers.getSetCookie()) {
        const [kv, ...attrs] = c.split(';').map((s) => s.trim());
        const i = kv.indexOf('=');
        if (kv.slice(i + 1) === '' || attrs.some((x) => /^max-age=0$/i.test(x))) jar.delete(kv.slice(0, i));
        else jar.set(kv.slice(0, i), kv.slice(i + 1));
      }
      const loc = r.headers.get('location');
      await r.text();
      return { status: r.status, location: loc ? new URL(loc, url).href : null };
    },
  };
}

test('OpenID provider down, slow, answering garbage: bounded refusals, repeatable calls retried, logins work again at once', { timeout: 180000 }, async () => {
  const chaos = await startChaos();
  const prov = await startProvider({ issuer: chaos.url });
  chaos.target = prov.port;
  const srv = await startServer({ env: {
    PRAVESH_SSO_MODE: 'oidc', PRAVESH_SSO_ISSUER: chaos.url, PRAVESH_SSO_CLIENT_ID: 'pravesh',
    PRAVESH_SSO_CLIENT_SECRET: CLIENT_SECRET, PRAVESH_SSO_TIMEOUT: '1', PRAVESH_SSO_PER_IP_HOUR: '100000',
  } });
  cleanups.push(() => srv.stop(), () => prov.close(), () => chaos.close());
  prov.configure([`${srv.url}/auth/sso/parichay/callback`]);
  const a = cli(['admin', 'create', '--role', 'mdo', '--username', 'ravi', '--org', 'd-doj', '--first-name', 'Ravi',
    '--last-name', 'Kumar', '--email', 'ravi.kumar@doj.gov.in', '--mobile', '9876511001'], srv.env, 'a long enough password\n');
  assert.equal(a.status, 0, a.stderr);
  prov.ctl.account = 'ravi.kumar@doj.gov.in';

  const refused = async (mode, reason) => {
    const from = srv.logs.length;
    const before = chaos.counts[mode];
    chaos.mode = mode;
    const r = await browser().get(`${srv.url}/auth/sso/parichay`);
    assert.equal(r.status, 302);
    assert.equal(r.location, `${srv.url}/login?error=sso_failed`, `${mode}`);
    const log = await srv.waitLog(/"msg":"sso login refused"/, from);
    assert.match(log, reason, mode);
    return chaos.counts[mode] - before;
  };
  // down: the discovery GET is tried three times (100 and 400 ms apart)
  assert.equal(await refused('down', /could not be reached/), 3);
  // slow: one try, cut at the 1 s bound (no time left for another)
  assert.equal(await refused('slow', /could not be reached \(Timeout/), 1);
  // garbage: retried, refused
  assert.ok(await refused('garbage', /could not be reached/) >= 2);

  // back, after one more dropped connection: the retry makes the login
  const from = srv.logs.length;
  chaos.mode = 'ok';
  chaos.failNext(1, 'down');
  const b = browser();
  let r = await b.get(`${srv.url}/auth/sso/parichay`);
  assert.equal(r.status, 302);
  assert.ok(r.location.startsWith(`${chaos.url}/auth?`), r.location);
  await srv.waitLog(/"msg":"sso: the provider's answer failed; trying again"/, from);
  let url = r.location;
  for (let i = 0; i < 12 && !url.startsWith(srv.url); i++) url = (await b.get(url)).location;
  assert.ok(url.startsWith(`${srv.url}/auth/sso/parichay/callback`), url);
  // the token endpoint down at the callback: the code is not sent twice
  // (a POST that may have reached it), the login is refused...
  chaos.mode = 'down';
  r = await b.get(url);
  assert.equal(r.location, `${srv.url}/login?error=sso_failed`);
  // ...and the next one, with the provider back, works
  chaos.mode = 'ok';
  const b2 = browser();
  r = await b2.get(`${srv.url}/auth/sso/parichay`);
  url = r.location;
  for (let i = 0; i < 12 && !url.startsWith(srv.url); i++) url = (await b2.get(url)).location;
  r = await b2.get(url);
  assert.equal(r.status, 302);
  assert.equal(r.location, `${srv.url}/`);
  const jar = b2.jars.get(new URL(srv.url).origin);
  const me = await fetch(`${srv.url}/api/v1/me`, { headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } });
  assert.equal(me.status, 200);
  assert.equal((await me.json()).email, 'ravi.kumar@doj.gov.in');
});
