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
const post = (srv, p, json, from) => req(srv.url, 'POST', p, { json, headers: from ? { 'x-forwarded-for': from } : {} });

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

test('1,000 guesses never log in: the number locks after 100 failures (the last line, past the per-address limit)', async () => {
  await withServer({ PRAVESH_OTP_RESEND: '0', PRAVESH_OTP_PER_HOUR: '100000', PRAVESH_OTP_PER_DAY: '100000',
    PRAVESH_OTP_NUMBER_PER_HOUR: '100000', PRAVESH_OTP_NUMBER_PER_DAY: '100000',
    PRAVESH_OTP_PER_IP_HOUR: '100000', PRAVESH_LOGIN_FAIL_PER_IP_HOUR: '100000' }, async (srv, sms) => {
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
  await withServer({ PRAVESH_OTP_TTL: '1', PRAVESH_OTP_RESEND: '0', PRAVESH_SESSION_IDLE: '3', PRAVESH_ADMIN_SECOND_FACTOR: 'off' }, async (srv, sms) => {
    const mobile = '9876500002';
    const { message } = await nextMessage(sms, mobile, () => post(srv, '/api/v1/otp', { mobile, purpose: 'request' }));
    await new Promise((r) => setTimeout(r, 1200));
    const v = await post(srv, '/api/v1/otp/verify', { mobile, purpose: 'request', code: codeOf(message) });
    assert.equal(v.status, 400);
    assert.equal(v.body.code, 'otp_expired');
    const login = await srv.adminLogin('spv1', PW);
    assert.equal(login.status, 200);
    assert.equal((await req(srv.url, 'GET', '/api/v1/me', { bearer: login.body.token })).status, 200);
    await new Promise((r) => setTimeout(r, 3200)); // idle limit 3 s: room for a slow machine before it
    const me = await req(srv.url, 'GET', '/api/v1/me', { bearer: login.body.token });
    assert.equal(me.status, 401);
  });
  await withServer({ PRAVESH_SESSION_ABSOLUTE: '1', PRAVESH_ADMIN_SECOND_FACTOR: 'off' }, async (srv) => {
    const login = await srv.adminLogin('spv1', PW);
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await req(srv.url, 'GET', '/api/v1/me', { bearer: login.body.token })).status, 401);
  });
});

test('wrong codes are counted per address first: one address cannot lock a number out', async () => {
  await withServer({ PRAVESH_TRUSTED_PROXIES: '127.0.0.1', PRAVESH_OTP_RESEND: '0', PRAVESH_LOGIN_FAIL_PER_IP_HOUR: '10',
    PRAVESH_LOGIN_FAIL_LOCK: '25' }, async (srv, sms) => {
    const mobile = '9876500002';
    const attacker = '203.0.113.66';
    let refused = 0, answered = 0;
    for (let i = 0; i < 60; i++) {
      const r = await post(srv, '/api/v1/auth/otp', { mobile, code: String(100000 + i) }, attacker);
      if (r.status === 429 && r.body.code === 'rate_limited' && /address/.test(r.body.detail)) refused++;
      else answered++;
    }
    assert.equal(answered, 10, 'ten tries from one address');
    assert.equal(refused, 50);
    // the owner, from elsewhere, logs in: the number is not locked
    const { message } = await nextMessage(sms, mobile, () => post(srv, '/api/v1/otp', { mobile, purpose: 'login' }, '198.51.100.7'));
    const ok = await post(srv, '/api/v1/auth/otp', { mobile, code: codeOf(message) }, '198.51.100.7');
    assert.equal(ok.status, 200, ok.text);
    // many addresses together still reach the number's own lock (the last line)
    for (let i = 0; i < 30; i++) await post(srv, '/api/v1/auth/otp', { mobile, code: '000000' }, `192.0.2.${i}`);
    const locked = await post(srv, '/api/v1/auth/otp', { mobile, code: '000000' }, '192.0.2.200');
    assert.equal(locked.status, 429);
    assert.ok(Number(locked.headers.get('retry-after')) > 60);
  });
});

test('password guessing: one address is stopped first, and cannot lock the administrator out', async () => {
  await withServer({ PRAVESH_TRUSTED_PROXIES: '127.0.0.1', PRAVESH_PASSWORD_FAIL_PER_IP_HOUR: '5',
    PRAVESH_PASSWORD_FAIL_LOCK: '8' }, async (srv) => {
    const attacker = '203.0.113.5';
    let last;
    for (let i = 0; i < 5; i++) last = await post(srv, '/api/v1/auth/password', { username: 'spv1', password: `wrong password ${i}` }, attacker);
    assert.equal(last.status, 401);
    // the sixth attempt from this address is refused, right or wrong
    const t = await post(srv, '/api/v1/auth/password', { username: 'spv1', password: PW }, attacker);
    assert.equal(t.status, 429);
    assert.ok(Number(t.headers.get('retry-after')) > 0);
    // the administrator, from elsewhere, signs in
    const ok = await srv.adminLogin('spv1', PW, { headers: { 'x-forwarded-for': '198.51.100.9' } });
    assert.equal(ok.status, 200, ok.text);
    // eight failures from several addresses lock the username (the last line)
    for (let i = 0; i < 8; i++) await post(srv, '/api/v1/auth/password', { username: 'spv1', password: 'nope nope nope' }, `192.0.2.${i}`);
    const locked = await post(srv, '/api/v1/auth/password', { username: 'spv1', password: PW }, '192.0.2.100');
    assert.equal(locked.status, 429);
  });
});
