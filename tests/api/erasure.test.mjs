// Erasure that really erases (issue 15, DPDP Act 2023 s.12): with
// PRAVESH_ERASURE_GRACE_DAYS=0 a closed account's data is erased by the
// next sweep, after which a byte search of the database files (the SQLite
// file and its write-ahead log; on PostgreSQL every row of every table)
// finds none of the person's values, the
// audit names the person by id only, and the person registers again with
// the same e-mail and mobile. Also the per-person limit of the /me routes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startServer, req, cli, sql } from './lib/server.mjs';
import { nextMessage, codeOf } from './lib/sms.mjs';
import { startSmtpSink } from './lib/smtp.mjs';
import { directoryIds, person, verified as V } from './lib/person.mjs';

let srv, smtp, ctx, spvToken;
const PW = 'a long enough password';
// The person's values, each unusual enough that finding its bytes means
// finding the person. Their requests come from their own address.
const P = {
  first: 'Zoravarqx', last: 'Quillfeather', email: 'zoravarqx.quillfeather@doj.gov.in', mobile: '9811109901',
  ip: '198.51.100.77', requester: 'Zoravarqx Requester',
};

before(async () => {
  smtp = await startSmtpSink();
  const d = mkdtempSync(path.join(tmpdir(), 'pravesh-erasure-'));
  const sms = path.join(d, 'sms.jsonl');
  srv = await startServer({
    env: {
      PRAVESH_SMS: `file:${sms}`, PRAVESH_MAIL: smtp.url, PRAVESH_MAIL_FROM: 'Pravesh <no-reply@pravesh.test>',
      PRAVESH_OTP_RESEND: '0', PRAVESH_OTP_PER_HOUR: '1000', PRAVESH_OTP_PER_DAY: '1000',
      PRAVESH_OTP_PER_IP_HOUR: '100000', PRAVESH_OTP_NUMBER_PER_HOUR: '1000', PRAVESH_OTP_NUMBER_PER_DAY: '1000',
      PRAVESH_ANON_PER_IP_HOUR: '100000', PRAVESH_ERASURE_GRACE_DAYS: '0', PRAVESH_SWEEP_INTERVAL: '1',
      PRAVESH_TRUSTED_PROXIES: '127.0.0.1', PRAVESH_SELF_PER_HOUR: '6',
    },
  });
  ctx = { url: srv.url, sms, smtp };
  const r = cli(['admin', 'create', '--role', 'spv', '--username', 'spv', '--org', 'd-dopt', '--first-name', 'Sita',
    '--last-name', 'Ram', '--email', 'spv@dopt.gov.in', '--mobile', '9999900000'], srv.env, PW + '\n');
  assert.equal(r.status, 0, r.stderr);
  spvToken = (await srv.adminLogin('spv', PW)).body.token;
});
after(async () => { await srv.stop(); await smtp.close(); });

// Every request of the person comes from their own address.
const xff = { 'x-forwarded-for': P.ip };
const post = (p, json, opts = {}) => req(srv.url, 'POST', p, { json, ...opts, headers: { ...xff, ...(opts.headers || {}) } });
const get = (p, opts = {}) => req(srv.url, 'GET', p, { ...opts, headers: { ...xff, ...(opts.headers || {}) } });

async function verified(mobile, purpose = 'register', bearer) {
  const { message } = await nextMessage(ctx.sms, mobile, () => post('/api/v1/otp', { mobile, purpose }, { bearer }));
  const r = await post('/api/v1/otp/verify', { mobile, purpose, code: codeOf(message) }, { bearer });
  assert.equal(r.status, 200, r.text);
  return r.body.verification_token;
}

// The database files as they are on disk now.
function dbBytes() {
  const parts = [];
  for (const f of ['pravesh.db', 'pravesh.db-wal']) {
    const p = path.join(srv.dir, f);
    if (existsSync(p)) parts.push(readFileSync(p));
  }
  return Buffer.concat(parts);
}

const onPg = () => srv.env.PRAVESH_DB.startsWith('postgres');
const TABLES = ['users', 'roles', 'credentials', 'consents', 'otps', 'throttles', 'tokens', 'sessions', 'requests',
  'outbox', 'audit', 'uploads', 'upload_failures'];

// The person's values found in the store: on SQLite, a byte search of the
// database file and its write-ahead log; on PostgreSQL, where erased bytes
// stay until VACUUM (FULL) rewrites a table (docs/operations.md), a search
// of every row of every table.
function found() {
  const values = [P.first, P.last, P.email, P.email.toUpperCase(), P.mobile, P.ip, P.requester, 'zoravarqx.new@doj.gov.in'];
  if (!onPg()) {
    const bytes = dbBytes();
    return values.filter((v) => bytes.includes(Buffer.from(v, 'utf8')));
  }
  return values.filter((v) => Number(sql(srv, `SELECT ${TABLES.map((t) => `(SELECT count(*) FROM ${t} x WHERE strpos(x::text, '${v}') > 0)`).join(' + ')}`)) > 0);
}

test('an erased account leaves none of its values in the database files, and the person registers again', async () => {
  const ids = await directoryIds(ctx);
  // registration, activation and login, all from the person's address
  const tok = await verified(P.mobile);
  const reg = await post('/api/v1/registrations', { first_name: P.first, last_name: P.last, email: P.email, mobile: P.mobile,
    position_id: ids.position_id, org_id: ids.org_id, verification_token: tok, declaration: true, terms: true });
  assert.equal(reg.status, 201, reg.text);
  const id = reg.body.user_id;
  const mail = await smtp.waitFor(P.email);
  assert.equal((await post('/api/v1/activation', { token: mail.body.match(/token=([A-Za-z0-9_-]+)/)[1] })).status, 200);
  const { message } = await nextMessage(ctx.sms, P.mobile, () => post('/api/v1/otp', { mobile: P.mobile, purpose: 'login' }));
  const login = await post('/api/v1/auth/otp', { mobile: P.mobile, code: codeOf(message) });
  assert.equal(login.status, 200, login.text);
  const bearer = login.body.token;
  // a request for help, a change of details, an e-mail change waiting
  const rtok = await verified(P.mobile, 'request');
  const rq = await post('/api/v1/requests', { kind: 'position', full_name: P.requester, email: P.email, mobile: P.mobile,
    verification_token: rtok, name: 'Records Keeper Grade Two', declaration: true });
  assert.equal(rq.status, 201, rq.text);
  assert.equal((await req(srv.url, 'PATCH', '/api/v1/me', { json: { last_name: P.last }, bearer, headers: xff })).status, 200);
  assert.equal((await post('/api/v1/me/email', { email: 'zoravarqx.new@doj.gov.in' }, { bearer })).status, 202);
  const data = await get('/api/v1/me/data', { bearer });
  assert.equal(data.status, 200);
  assert.ok(data.body.sessions.every((s) => s.ip === P.ip));
  assert.ok(data.body.consents.every((c) => c.ip === P.ip));

  // the search finds the person while the account lives
  assert.deepEqual(found().sort(), [P.first, P.last, P.email, P.mobile, P.ip, P.requester, 'zoravarqx.new@doj.gov.in'].sort());

  // closing, with a code to the person's own number
  const etok = await verified(P.mobile, 'erasure', bearer);
  const from = srv.logs.length;
  const closed = await post('/api/v1/me/erasure', { verification_token: etok }, { bearer });
  assert.equal(closed.status, 202, closed.text);
  assert.ok(Date.parse(closed.body.erase_after) <= Date.now() + 1000);
  // the next sweep erases it and scrubs the store
  await srv.waitLog(/"msg":"closed account erased","user_id":"[^"]+"/, from, 20000);
  await srv.waitLog(/"msg":"swept".*"scrubbed":"yes"/, from, 20000);

  assert.deepEqual(found(), [], 'values of the erased person in the database files');

  // the audit names the person only by id; what stays is the id, the organisation, the times
  const audit = await req(srv.url, 'GET', '/api/v1/admin/audit?per_page=100', { bearer: spvToken });
  assert.equal(audit.status, 200);
  const mine = audit.body.items.filter((a) => a.target === id || a.actor_id === id);
  assert.ok(mine.some((a) => a.action === 'close_account'));
  assert.ok(mine.some((a) => a.action === 'erase_account'));
  assert.ok(mine.some((a) => a.action === 'update_profile'));
  for (const a of mine) {
    assert.ok(!JSON.stringify(a).includes(P.ip), JSON.stringify(a));
  }
  const list = await req(srv.url, 'GET', '/api/v1/mdo/users?org_id=d-doj&status=erased', { bearer: spvToken });
  const row = list.body.items.find((u) => u.id === id);
  assert.deepEqual([row.status, row.first_name, row.last_name, row.email, row.mobile, row.org_id],
    ['erased', '', '', '', '', 'd-doj']);
  assert.ok(row.created_at);

  // the same e-mail and mobile register again
  const again = await V(ctx, P.mobile);
  const back = await post('/api/v1/registrations', { first_name: P.first, last_name: P.last, email: P.email, mobile: P.mobile,
    position_id: ids.position_id, org_id: ids.org_id, verification_token: again, declaration: true, terms: true });
  assert.equal(back.status, 201, back.text);
  assert.notEqual(back.body.user_id, id);
});

test('the operator closes an account by its id (after restoring a backup); the sweeper erases it', async () => {
  const r = await person(ctx, { first: 'Restored', last: 'Backup', email: 'restored.backup@doj.gov.in', mobile: '9811109903' });
  const from = srv.logs.length;
  const out = cli(['account', 'close', r.id], srv.env);
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stdout, /^closed /);
  assert.equal(cli(['account', 'close', r.id], srv.env).status, 2, 'already closed');
  assert.equal(cli(['account', 'close', 'no-such-user'], srv.env).status, 2);
  assert.equal((await req(srv.url, 'GET', '/api/v1/me', { bearer: r.token })).status, 401);
  await srv.waitLog(new RegExp(`"msg":"closed account erased","user_id":"${r.id}"`), from, 20000);
});

test('a person\'s own requests are limited per hour (PRAVESH_SELF_PER_HOUR)', async () => {
  const r = await person(ctx, { first: 'Limit', last: 'Tester', email: 'limit.tester@doj.gov.in', mobile: '9811109902' });
  for (let i = 0; i < 6; i++) assert.equal((await req(srv.url, 'GET', '/api/v1/me/data', { bearer: r.token })).status, 200);
  const over = await req(srv.url, 'GET', '/api/v1/me/data', { bearer: r.token });
  assert.equal(over.status, 429);
  assert.equal(over.body.code, 'rate_limited');
  assert.ok(Number(over.headers.get('retry-after')) > 0);
  assert.equal((await req(srv.url, 'PATCH', '/api/v1/me', { json: { first_name: 'X' }, bearer: r.token })).status, 429);
});
