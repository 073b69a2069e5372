// One-time passwords, OTP and password logins, sessions, CSRF, limits.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startServer, req, cli } from './lib/server.mjs';
import { messages, nextMessage, codeOf } from './lib/sms.mjs';

let srv, sms;
const ADMIN = { username: 'mdo.law', password: 'correct horse battery', mobile: '9876500001' };

before(async () => {
  const d = mkdtempSync(path.join(tmpdir(), 'pravesh-auth-'));
  sms = path.join(d, 'sms.jsonl');
  srv = await startServer({
    env: {
      PRAVESH_SMS: `file:${sms}`, PRAVESH_MAIL: `file:${d}/mail.jsonl`,
      PRAVESH_OTP_RESEND: '0', PRAVESH_OTP_PER_HOUR: '100000', PRAVESH_OTP_PER_DAY: '100000',
      PRAVESH_OTP_PER_IP_HOUR: '100000', PRAVESH_LOG: 'debug',
    },
  });
  const r = cli(['admin', 'create', '--role', 'mdo', '--username', ADMIN.username, '--org', 'd-doj',
    '--first-name', 'Meera', '--last-name', 'Iyer', '--email', 'meera.iyer@doj.gov.in',
    '--mobile', '+91 98765-00001'], srv.env, ADMIN.password + '\n');
  assert.equal(r.status, 0, r.stderr);
});
after(async () => { await srv.stop(); });

const post = (p, json, opts = {}) => req(srv.url, 'POST', p, { json, ...opts });

async function loginOtp(mobile) {
  const { message } = await nextMessage(sms, mobile, () => post('/api/v1/otp', { mobile, purpose: 'login' }));
  return post('/api/v1/auth/otp', { mobile, code: codeOf(message) });
}

function cookiesOf(r) {
  const jar = {};
  for (const c of r.headers.getSetCookie()) {
    const [kv] = c.split(';');
    const i = kv.indexOf('=');
    jar[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return jar;
}

test('login OTP answers are identical for known and unknown numbers; SMS only to the known', async () => {
  const before = messages(sms).length;
  const known = await post('/api/v1/otp', { mobile: ADMIN.mobile, purpose: 'login' });
  const unknown = await post('/api/v1/otp', { mobile: '9123400000', purpose: 'login' });
  assert.equal(known.status, 202);
  assert.equal(known.status, unknown.status);
  assert.equal(known.text.replace(ADMIN.mobile, 'N'), unknown.text.replace('9123400000', 'N'));
  for (let i = 0; i < 500 && !messages(sms).slice(before).some((m) => m.to === ADMIN.mobile); i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const sent = messages(sms).slice(before);
  assert.ok(sent.some((m) => m.to === ADMIN.mobile));
  assert.ok(!sent.some((m) => m.to === '9123400000'));
  // wrong codes: the same answer for both
  const a = await post('/api/v1/auth/otp', { mobile: ADMIN.mobile, code: '000000' });
  const b = await post('/api/v1/auth/otp', { mobile: '9123400000', code: '000000' });
  assert.equal(a.status, 401);
  assert.equal(a.body.code, 'login_failed');
  assert.equal(a.body.attempts_left, 2, 'the tries the code has left');
  assert.equal(a.text, b.text);
  const a2 = await post('/api/v1/auth/otp', { mobile: ADMIN.mobile, code: '000000' });
  const b2 = await post('/api/v1/auth/otp', { mobile: '9123400000', code: '000000' });
  assert.equal(a2.body.attempts_left, 1);
  assert.equal(a2.text, b2.text);
  // the third kills the code: otp_locked, as /otp/verify says it
  const a3 = await post('/api/v1/auth/otp', { mobile: ADMIN.mobile, code: '000000' });
  const b3 = await post('/api/v1/auth/otp', { mobile: '9123400000', code: '000000' });
  assert.equal(a3.status, 429);
  assert.equal(a3.body.code, 'otp_locked');
  assert.ok(Number(a3.headers.get('retry-after')) >= 1);
  assert.equal(a3.text, b3.text);
  assert.equal(a3.headers.get('retry-after'), b3.headers.get('retry-after'));
  // no live code: nothing to count
  const none = await post('/api/v1/auth/otp', { mobile: '9123400001', code: '000000' });
  assert.equal(none.status, 401);
  assert.equal(none.body.attempts_left, undefined);
});

test('OTP login, /me by bearer and by cookie, CSRF on logout, then the session is gone', async () => {
  const r = await loginOtp(ADMIN.mobile);
  assert.equal(r.status, 200, r.text);
  assert.ok(r.body.token.length >= 43);
  assert.equal(r.body.user.mobile, ADMIN.mobile);
  assert.equal(r.body.user.org.id, 'd-doj');
  assert.equal(r.body.user.org.under, 'Ministry of Law and Justice');
  // an administrator logging in with the mobile code is an ordinary user
  assert.deepEqual(r.body.user.roles, []);
  assert.equal(r.body.user.official_email, true);
  const setc = r.headers.getSetCookie();
  assert.ok(setc.some((c) => /^pravesh_session=[^;]+;.*HttpOnly/.test(c) && /SameSite=Lax/.test(c)));
  assert.ok(setc.some((c) => /^pravesh_csrf=/.test(c) && !/HttpOnly/.test(c)));
  const jar = cookiesOf(r);
  const cookie = `pravesh_session=${jar.pravesh_session}; pravesh_csrf=${jar.pravesh_csrf}`;

  const me1 = await req(srv.url, 'GET', '/api/v1/me', { bearer: r.body.token });
  assert.equal(me1.status, 200);
  assert.equal(me1.body.first_name, 'Meera');
  const me2 = await req(srv.url, 'GET', '/api/v1/me', { cookie });
  assert.equal(me2.status, 200);

  const noCsrf = await req(srv.url, 'POST', '/api/v1/auth/logout', { cookie });
  assert.equal(noCsrf.status, 403);
  assert.equal(noCsrf.body.code, 'csrf_failed');
  const wrongCsrf = await req(srv.url, 'POST', '/api/v1/auth/logout', { cookie, csrf: 'x'.repeat(43) });
  assert.equal(wrongCsrf.body.code, 'csrf_failed');
  const out = await req(srv.url, 'POST', '/api/v1/auth/logout', { cookie, csrf: jar.pravesh_csrf });
  assert.equal(out.status, 204);
  assert.equal((await req(srv.url, 'GET', '/api/v1/me', { cookie })).status, 401);
  assert.equal((await req(srv.url, 'GET', '/api/v1/me', { bearer: r.body.token })).status, 401);
});

test('session cookies: their exact attributes; found among other cookies; cleared at logout', async () => {
  const r = await loginOtp(ADMIN.mobile);
  assert.equal(r.status, 200, r.text);
  const { token, csrf_token: csrf } = r.body;
  assert.deepEqual(r.headers.getSetCookie(), [
    `pravesh_session=${token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=43200`,
    `pravesh_csrf=${csrf}; Path=/; SameSite=Lax; Max-Age=43200`,
  ]);
  // the session and CSRF cookies in the middle of others, one a name that
  // ends like ours, one quoted, one without a value
  const cookie = `theme="dark"; xpravesh_session=bogus; pravesh_lang=hi; pravesh_session=${token};` +
    ` flag; pravesh_csrf=${csrf}; last=1`;
  const me = await req(srv.url, 'GET', '/api/v1/me', { cookie });
  assert.equal(me.status, 200, me.text);
  assert.equal(me.body.mobile, ADMIN.mobile);
  // a cookie that only ends like ours is not ours
  const other = await req(srv.url, 'GET', '/api/v1/me', { cookie: `xpravesh_session=${token}` });
  assert.equal(other.status, 401);
  const out = await req(srv.url, 'POST', '/api/v1/auth/logout', { cookie, csrf });
  assert.equal(out.status, 204);
  assert.deepEqual(out.headers.getSetCookie(), [
    'pravesh_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0',
    'pravesh_csrf=; Path=/; SameSite=Lax; Max-Age=0',
  ]);
  assert.equal((await req(srv.url, 'GET', '/api/v1/me', { cookie })).status, 401);
});

test('every login gets a new token; bearer logout needs no CSRF', async () => {
  const a = await loginOtp(ADMIN.mobile);
  const b = await loginOtp(ADMIN.mobile);
  assert.notEqual(a.body.token, b.body.token);
  assert.equal((await req(srv.url, 'POST', '/api/v1/auth/logout', { bearer: a.body.token })).status, 204);
  assert.equal((await req(srv.url, 'GET', '/api/v1/me', { bearer: a.body.token })).status, 401);
  assert.equal((await req(srv.url, 'GET', '/api/v1/me', { bearer: b.body.token })).status, 200);
});

test('unauthenticated and malformed requests', async () => {
  const r = await req(srv.url, 'GET', '/api/v1/me');
  assert.equal(r.status, 401);
  assert.equal(r.body.code, 'unauthenticated');
  assert.equal((await req(srv.url, 'GET', '/api/v1/me', { bearer: 'nonsense' })).status, 401);
  const bad = await req(srv.url, 'POST', '/api/v1/otp', { body: '{"mobile":', headers: { 'content-type': 'application/json' } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.code, 'malformed_json');
  const inv = await post('/api/v1/otp', { mobile: '12345', purpose: 'login' });
  assert.equal(inv.status, 400);
  assert.equal(inv.body.code, 'invalid_mobile');
  assert.equal(inv.body.errors[0].message, 'Please add a valid mobile number');
  const pur = await post('/api/v1/otp', { mobile: '9876543210', purpose: 'dance' });
  assert.equal(pur.body.code, 'invalid_purpose');
  const types = await post('/api/v1/otp', { mobile: 9876543210, purpose: ['login'] });
  assert.equal(types.status, 400);
});

test('a register code for a registered number: the same 202 as for any number; its owner is told, no code is sent', async () => {
  const before = messages(sms).length;
  const taken = await post('/api/v1/otp', { mobile: ADMIN.mobile, purpose: 'register' });
  const fresh = await post('/api/v1/otp', { mobile: '9000022222', purpose: 'register' });
  assert.equal(taken.status, 202);
  assert.equal(taken.text.replace(ADMIN.mobile, 'N'), fresh.text.replace('9000022222', 'N'));
  for (let i = 0; i < 500 && messages(sms).slice(before).length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  const sent = messages(sms).slice(before);
  const owner = sent.find((m) => m.to === ADMIN.mobile);
  assert.equal(owner.template, 'otp_registered_sms');
  assert.match(owner.text, /already registered/);
  assert.doesNotMatch(owner.text, /\b\d{6}\b/);
  assert.equal(sent.find((m) => m.to === '9000022222').template, 'otp_sms');
  // and no code the asker could know verifies it
  const v = await post('/api/v1/otp/verify', { mobile: ADMIN.mobile, purpose: 'register', code: '123456' });
  assert.equal(v.status, 400);
});

test('verification: wrong codes count down, then the code dies; a right code gives a single token', async () => {
  const mobile = '9000011111';
  const { message } = await nextMessage(sms, mobile, () => post('/api/v1/otp', { mobile, purpose: 'register' }));
  const code = codeOf(message);
  const wrong = code === '111111' ? '222222' : '111111';
  let r = await post('/api/v1/otp/verify', { mobile, purpose: 'register', code: wrong });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'otp_invalid');
  assert.equal(r.body.attempts_left, 2);
  r = await post('/api/v1/otp/verify', { mobile, purpose: 'request', code });
  assert.equal(r.body.code, 'otp_invalid', 'a register code does not verify a request');
  r = await post('/api/v1/otp/verify', { mobile, purpose: 'register', code: wrong });
  assert.equal(r.body.attempts_left, 1);
  r = await post('/api/v1/otp/verify', { mobile, purpose: 'register', code: wrong });
  assert.equal(r.status, 429);
  assert.equal(r.body.code, 'otp_locked');
  assert.ok(r.headers.get('retry-after'));
  r = await post('/api/v1/otp/verify', { mobile, purpose: 'register', code });
  assert.equal(r.status, 429, 'a dead code stays dead, even when right');

  const again = await nextMessage(sms, mobile, () => post('/api/v1/otp', { mobile, purpose: 'register' }));
  r = await post('/api/v1/otp/verify', { mobile, purpose: 'register', code: codeOf(again.message) });
  assert.equal(r.status, 200);
  assert.ok(r.body.verification_token.length >= 43);
  assert.equal(r.body.expires_in, 900);
  r = await post('/api/v1/otp/verify', { mobile, purpose: 'register', code: codeOf(again.message) });
  assert.equal(r.body.code, 'otp_invalid', 'single use');
});

test('a login code cannot be used to verify, nor a register code to log in', async () => {
  const { message } = await nextMessage(sms, ADMIN.mobile, () => post('/api/v1/otp', { mobile: ADMIN.mobile, purpose: 'request' }));
  const r = await post('/api/v1/auth/otp', { mobile: ADMIN.mobile, code: codeOf(message) });
  assert.equal(r.status, 401);
  const v = await post('/api/v1/otp/verify', { mobile: ADMIN.mobile, purpose: 'login', code: '123456' });
  assert.equal(v.body.code, 'invalid_purpose');
});

test('password login: same answer for unknown user and wrong password; success needs the SMS second factor', async () => {
  const a = await post('/api/v1/auth/password', { username: 'nobody-here', password: 'whatever whatever' });
  const b = await post('/api/v1/auth/password', { username: ADMIN.username, password: 'wrong password!!' });
  assert.equal(a.status, 401);
  assert.equal(a.text, b.text);
  // the right pair alone is no session: a challenge, a code by SMS
  const first = await post('/api/v1/auth/password', { username: ADMIN.username.toUpperCase(), password: ADMIN.password });
  assert.equal(first.status, 200, first.text);
  assert.equal(first.body.second_factor, 'sms');
  assert.equal(first.body.mobile_hint, '******0001');
  assert.ok(first.body.challenge && !first.body.token);
  assert.ok(!first.headers.getSetCookie().length, 'no session cookie before the second factor');
  const ok = await srv.adminLogin(ADMIN.username.toUpperCase(), ADMIN.password);
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.user.roles[0].role, 'mdo_admin');
  const missing = await post('/api/v1/auth/password', {});
  assert.equal(missing.status, 401);
});

test('second factor: wrong codes count down, the third ends the challenge; a challenge is single use', async () => {
  const { message, response } = await nextMessage(sms, ADMIN.mobile, () =>
    post('/api/v1/auth/password', { username: ADMIN.username, password: ADMIN.password }));
  const challenge = response.body.challenge;
  const code = codeOf(message);
  const wrong = String((Number(code) + 1) % 1000000).padStart(6, '0');
  const w1 = await post('/api/v1/auth/password/otp', { challenge, code: wrong });
  assert.equal(w1.status, 401);
  assert.equal(w1.body.code, 'login_failed');
  assert.equal(w1.body.attempts_left, 2);
  const w2 = await post('/api/v1/auth/password/otp', { challenge, code: wrong });
  assert.equal(w2.body.attempts_left, 1);
  const w3 = await post('/api/v1/auth/password/otp', { challenge, code: wrong });
  assert.equal(w3.status, 401);
  assert.equal(w3.body.attempts_left, 0);
  assert.equal(w3.body.restart, true);
  // the right code no longer helps: the password step must be done again
  const late = await post('/api/v1/auth/password/otp', { challenge, code });
  assert.equal(late.status, 401);
  assert.equal(late.body.restart, true);
  // a good run; then the same challenge again is refused
  const again = await nextMessage(sms, ADMIN.mobile, () =>
    post('/api/v1/auth/password', { username: ADMIN.username, password: ADMIN.password }));
  const good = await post('/api/v1/auth/password/otp', { challenge: again.response.body.challenge, code: codeOf(again.message) });
  assert.equal(good.status, 200, good.text);
  const replay = await post('/api/v1/auth/password/otp', { challenge: again.response.body.challenge, code: codeOf(again.message) });
  assert.equal(replay.status, 401);
  const junk = await post('/api/v1/auth/password/otp', { challenge: 'x'.repeat(500), code: '123456' });
  assert.equal(junk.status, 401);
});

test('an SMS code alone gives no administrator roles: the OTP login of an administrator is an ordinary session', async () => {
  const r = await loginOtp(ADMIN.mobile);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.user.roles, []);
  const me = await req(srv.url, 'GET', '/api/v1/me', { bearer: r.body.token });
  assert.deepEqual(me.body.roles, []);
  const users = await req(srv.url, 'GET', '/api/v1/mdo/users', { bearer: r.body.token });
  assert.equal(users.status, 403);
  // the same person through both factors holds the role
  const adm = await srv.adminLogin(ADMIN.username, ADMIN.password);
  const users2 = await req(srv.url, 'GET', '/api/v1/mdo/users', { bearer: adm.body.token });
  assert.equal(users2.status, 200);
});

test('no code, token or password in any log line', async () => {
  await new Promise((r) => setTimeout(r, 300));
  // every value of every log line, except the durations (digits that could
  // look like a code by chance)
  const values = srv.logs.map((l) => JSON.parse(l)).flatMap((rec) =>
    Object.entries(rec).filter(([k]) => k !== 'ms' && k !== 'ts').map(([, v]) => String(v)));
  for (const m of messages(sms).filter((x) => /\b\d{6}\b/.test(x.text))) {
    const code = codeOf(m);
    assert.ok(!values.some((v) => v.includes(code)), `code ${code} in a log line`);
  }
  assert.ok(!values.some((v) => v.includes(ADMIN.password)));
});
