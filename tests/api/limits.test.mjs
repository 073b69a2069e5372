// Rate limits, brute force, expiries: each with short limits set by
// configuration, against its own server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startServer, req, cli } from './lib/server.mjs';
import { nextMessage, codeOf } from './lib/sms.mjs';

const PW = 'correct horse battery';

async function withServer(env, fn) {
  const d = mkdtempSync(path.join(tmpdir(), 'pravesh-lim-'));
  const sms = path.join(d, 'sms.jsonl');
  const srv = await startServer({ env: { PRAVESH_SMS: `file:${sms}`, PRAVESH_MAIL: 'log', ...env } });
  const r = cli(['admin', 'create', '--role', 'spv', '--username', 'spv1', '--first-name', 'Asha',
    '--last-name', 'Rao', '--email', 'asha@example.org', '--mobile', '9876500002'], srv.env, PW + '\n');
  assert.equal(r.status, 0, r.stderr);
  try { await fn(srv, sms); } finally { await srv.stop(); }
}
const post = (srv, p, json) => req(srv.url, 'POST', p, { json });

test('resend window, hourly cap and per-address cap answer 429 with Retry-After', async () => {
  await withServer({ PRAVESH_OTP_PER_HOUR: '3', PRAVESH_OTP_PER_IP_HOUR: '5' }, async (srv) => {
    assert.equal((await post(srv, '/api/v1/otp', { mobile: '9111100001', purpose: 'register' })).status, 202);
    const again = await post(srv, '/api/v1/otp', { mobile: '9111100001', purpose: 'register' });
    assert.equal(again.status, 429);
    assert.equal(again.body.code, 'rate_limited');
    const ra = Number(again.headers.get('retry-after'));
    assert.ok(ra >= 1 && ra <= 30, `retry-after ${ra}`);
    // other purposes of the same number count towards the hourly cap
    assert.equal((await post(srv, '/api/v1/otp', { mobile: '9111100001', purpose: 'request' })).status, 202);
    assert.equal((await post(srv, '/api/v1/otp', { mobile: '9111100001', purpose: 'login' })).status, 202);
    assert.equal((await post(srv, '/api/v1/otp', { mobile: '9111100001', purpose: 'login' })).status, 429);
    // the address: 3 so far, 2 more allowed for other numbers
    assert.equal((await post(srv, '/api/v1/otp', { mobile: '9111100002', purpose: 'register' })).status, 202);
    assert.equal((await post(srv, '/api/v1/otp', { mobile: '9111100003', purpose: 'register' })).status, 202);
    const ip = await post(srv, '/api/v1/otp', { mobile: '9111100004', purpose: 'register' });
    assert.equal(ip.status, 429);
    assert.ok(ip.headers.get('retry-after'));
  });
});

test('1,000 guesses never log in: the number locks after 100 consecutive failures', async () => {
  await withServer({ PRAVESH_OTP_RESEND: '0', PRAVESH_OTP_PER_HOUR: '100000', PRAVESH_OTP_PER_DAY: '100000',
    PRAVESH_OTP_PER_IP_HOUR: '100000' }, async (srv, sms) => {
    const mobile = '9876500002';
    let code = null, guesses = 0, numberLocked = 0, dead = 0, n = 0, need = true;
    while (guesses < 1000) {
      if (need && !numberLocked) {
        const { message } = await nextMessage(sms, mobile, () => post(srv, '/api/v1/otp', { mobile, purpose: 'login' }));
        code = codeOf(message);
        need = false;
      }
      n = (n + 1) % 1000000;
      let guess = String(n).padStart(6, '0');
      if (guess === code) guess = String((n + 1) % 1000000).padStart(6, '0');
      const r = await post(srv, '/api/v1/auth/otp', { mobile, code: guess });
      assert.notEqual(r.status, 200);
      if (r.status === 429 && Number(r.headers.get('retry-after')) > 3000) {
        numberLocked++;
      } else if (r.status === 429) {
        dead++; // the third wrong try kills the code: a new one is needed
        need = true;
      } else {
        assert.equal(r.status, 401);
      }
      guesses++;
    }
    assert.equal(dead, 33, 'codes killed by wrong tries before the lock');
    assert.equal(numberLocked, 900, 'the 100th consecutive failure locks the number');
    // while locked, even the right code does not log in, and no code is sent
    const r = await post(srv, '/api/v1/otp', { mobile, purpose: 'login' });
    assert.equal(r.status, 429);
  });
});

test('codes expire; sessions end after the idle and the absolute limits', async () => {
  await withServer({ PRAVESH_OTP_TTL: '1', PRAVESH_OTP_RESEND: '0', PRAVESH_SESSION_IDLE: '3' }, async (srv, sms) => {
    const mobile = '9876500002';
    const { message } = await nextMessage(sms, mobile, () => post(srv, '/api/v1/otp', { mobile, purpose: 'request' }));
    await new Promise((r) => setTimeout(r, 1200));
    const v = await post(srv, '/api/v1/otp/verify', { mobile, purpose: 'request', code: codeOf(message) });
    assert.equal(v.status, 400);
    assert.equal(v.body.code, 'otp_expired');
    const login = await post(srv, '/api/v1/auth/password', { username: 'spv1', password: PW });
    assert.equal(login.status, 200);
    assert.equal((await req(srv.url, 'GET', '/api/v1/me', { bearer: login.body.token })).status, 200);
    await new Promise((r) => setTimeout(r, 3200)); // idle limit 3 s: room for a slow machine before it
    const me = await req(srv.url, 'GET', '/api/v1/me', { bearer: login.body.token });
    assert.equal(me.status, 401);
  });
  await withServer({ PRAVESH_SESSION_ABSOLUTE: '1' }, async (srv) => {
    const login = await post(srv, '/api/v1/auth/password', { username: 'spv1', password: PW });
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await req(srv.url, 'GET', '/api/v1/me', { bearer: login.body.token })).status, 401);
  });
});

test('password guessing is throttled per username', async () => {
  await withServer({}, async (srv) => {
    let last;
    for (let i = 0; i < 10; i++) last = await post(srv, '/api/v1/auth/password', { username: 'spv1', password: `wrong password ${i}` });
    assert.equal(last.status, 401);
    const t = await post(srv, '/api/v1/auth/password', { username: 'spv1', password: PW });
    assert.equal(t.status, 429);
    assert.ok(Number(t.headers.get('retry-after')) > 0);
  });
});
