// Bulk uploads survive a SIGKILL (exactly once, the same counts as an
// uninterrupted run) and two uploads racing over the same people never
// create anyone twice.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { jsonLines } from './lib/sms.mjs';
import { tmpdir } from 'node:os';
import { startServer, req, cli, sql as storeSql } from './lib/server.mjs';

const servers = [];
after(async () => { for (const s of servers) await s.stop().catch(() => {}); });

async function setup(env) {
  const srv = await startServer({ env });
  servers.push(srv);
  const r = cli(['admin', 'create', '--role', 'mdo', '--username', 'mdo.doj', '--org', 'd-doj', '--first-name', 'M',
    '--last-name', 'A', '--email', 'mdo@doj.gov.in', '--mobile', '6000000201'], srv.env, 'a long enough password\n');
  assert.equal(r.status, 0, r.stderr);
  return srv;
}

async function login(srv) {
  const r = await srv.adminLogin('mdo.doj', 'a long enough password');
  assert.equal(r.status, 200, r.text);
  return r.body.token;
}

function upload(url, token, name, content) {
  const fd = new FormData();
  fd.append('file', new Blob([content], { type: 'text/csv' }), name);
  return req(url, 'POST', '/api/v1/mdo/uploads', { body: fd, bearer: token });
}

async function poll(url, token, id, until, timeoutMs) {
  const t0 = Date.now();
  for (;;) {
    const r = await req(url, 'GET', `/api/v1/mdo/uploads/${id}`, { bearer: token });
    if (r.status === 200 && until(r.body)) return r.body;
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out: ' + r.text);
    await new Promise((res) => setTimeout(res, 25));
  }
}

const finished = (u) => u.status === 'SUCCESSFUL' || u.status === 'FAILED';
const sql = (srv, q) => storeSql(srv, q);

// N rows; every 997th has a bad mobile, every 1009th repeats the e-mail of
// the row 500 before it. Returns the file and the expected outcome.
function bigFile(n) {
  const lines = ['First Name,Last Name,Email Id,Mobile Number'];
  const failures = new Map();
  for (let i = 0; i < n; i++) {
    const row = i + 2;
    let email = `p${i}@example.in`;
    let mobile = String(7000000000 + i * 7);
    const errs = [];
    if (i % 1009 === 1008) { email = `p${i - 500}@example.in`; errs.push(`Duplicate Email Id in file (row ${row - 500})`); }
    if (i % 997 === 996) { mobile = '12345'; errs.push('Invalid Mobile Number'); }
    if (errs.length) failures.set(row, `[${errs.join(', ')}]`);
    lines.push(`Name${String.fromCharCode(97 + (i % 26))},Last,${email},${mobile}`);
  }
  return { text: lines.join('\n') + '\n', failures };
}

test('SIGKILL mid-way: after a restart the upload finishes exactly once with the uninterrupted counts', { timeout: 600000 }, async () => {
  const N = 100000;
  const d = mkdtempSync(path.join(tmpdir(), 'pravesh-dur-'));
  const env = { PRAVESH_SMS: `file:${d}/sms.jsonl`, PRAVESH_MAIL: `file:${d}/mail.jsonl`, PRAVESH_LOG: 'warn', PRAVESH_OTP_RESEND: '0' };
  const srv = await setup(env);
  const token = await login(srv);
  const { text, failures } = bigFile(N);
  const r = await upload(srv.url, token, 'big.csv', text);
  assert.equal(r.status, 202, r.text);
  const id = r.body.id;
  const mid = await poll(srv.url, token, id, (u) => finished(u) || u.success_records + u.failed_records >= N / 4, 300000);
  assert.ok(!finished(mid), 'the upload finished before it could be interrupted');
  await srv.stop({ keep: true, signal: 'SIGKILL' });
  servers.length = 0;

  const again = await startServer({ dataDir: srv.dir, env });
  servers.push(again);
  // the session made before the kill lives in the store: it still works
  const before = await poll(again.url, token, id, () => true, 5000);
  assert.ok(before.success_records + before.failed_records < N, 'progress was committed in chunks');
  const done = await poll(again.url, token, id, finished, 300000);
  assert.equal(done.status, 'FAILED');
  assert.equal(done.total_records, N);
  assert.equal(done.failed_records, failures.size);
  assert.equal(done.success_records, N - failures.size);

  const db = srv;
  assert.equal(Number(sql(db, "SELECT count(*) FROM users WHERE source = 'bulk'")), N - failures.size);
  assert.equal(sql(db, "SELECT CASE WHEN count(*) = count(DISTINCT lower(email)) AND count(*) = count(DISTINCT mobile) THEN 1 ELSE 0 END FROM users"), '1');
  assert.equal(Number(sql(db, `SELECT count(*) FROM upload_failures WHERE upload_id = '${id}'`)), failures.size);
  // the welcome messages: one SMS and one e-mail campaign, walking the
  // users the upload created
  assert.equal(Number(sql(db, `SELECT count(*) FROM campaigns WHERE upload_id = '${id}'`)), 2);
  // the failures are exactly those of an uninterrupted run
  const got = sql(db, `SELECT row_no || '|' || errors FROM upload_failures WHERE upload_id = '${id}' ORDER BY row_no`).split('\n');
  assert.deepEqual(got, [...failures].map(([row, e]) => `${row}|${e}`));

  // every created user gets one welcome SMS and one e-mail, across the
  // kill: a message under way when the server died may go twice (the
  // campaign's lease runs out, 60 s), never more, and none is lost
  const t0 = Date.now();
  while (Number(sql(db, `SELECT count(*) FROM campaigns WHERE upload_id = '${id}' AND status = 'done'`)) < 2) {
    if (Date.now() - t0 > 400000) throw new Error('campaigns not finished: ' + sql(db, 'SELECT channel, handled FROM campaigns'));
    await new Promise((res) => setTimeout(res, 500));
  }
  const mobiles = new Set(sql(db, "SELECT mobile FROM users WHERE source = 'bulk'").split('\n'));
  for (const [file, tpl] of [[`${d}/sms.jsonl`, 'welcome_sms'], [`${d}/mail.jsonl`, 'welcome_email']]) {
    const seen = new Map();
    for (const m of jsonLines(file)) {
      if (m.template === tpl) seen.set(m.to, (seen.get(m.to) || 0) + 1);
    }
    assert.equal(seen.size, N - failures.size, tpl);
    const twice = [...seen.values()].filter((n) => n > 1);
    assert.ok(twice.length <= 2 && twice.every((n) => n === 2), `${tpl}: ${twice.length} sent again`);
    if (tpl === 'welcome_sms') for (const k of seen.keys()) assert.ok(mobiles.has(k), k);
  }
  rmSync(d, { recursive: true, force: true });
});

test('two uploads racing over the same people: no duplicate, every loser row reported', { timeout: 300000 }, async () => {
  const d = mkdtempSync(path.join(tmpdir(), 'pravesh-race-'));
  const srv = await setup({ PRAVESH_SMS: `file:${d}/sms.jsonl`, PRAVESH_MAIL: `file:${d}/mail.jsonl`, PRAVESH_UPLOAD_WORKERS: '2', PRAVESH_LOG: 'warn' });
  const token = await login(srv);
  const M = 6000;
  // A: people 0..M-1; B: people M/2..M/2+M-1 (half overlap), in reverse
  // order, and in B the overlapping people are keyed by e-mail for one half
  // and by mobile for the other (the other field new).
  const person = (i) => ({ email: `q${i}@example.in`, mobile: String(8000000000 + i) });
  const a = ['First Name,Last Name,Email Id,Mobile Number'];
  for (let i = 0; i < M; i++) a.push(`Ana,Lee,${person(i).email},${person(i).mobile}`);
  const b = ['First Name,Last Name,Email Id,Mobile Number'];
  for (let i = M / 2 + M - 1; i >= M / 2; i--) {
    const p = person(i);
    if (i < M && i % 2) b.push(`Ben,Lee,${p.email},${8500000000 + i}`);
    else if (i < M) b.push(`Ben,Lee,x${i}@example.in,${p.mobile}`);
    else b.push(`Ben,Lee,${p.email},${p.mobile}`);
  }
  const [ra, rb] = await Promise.all([upload(srv.url, token, 'a.csv', a.join('\n')), upload(srv.url, token, 'b.csv', b.join('\n'))]);
  assert.equal(ra.status, 202);
  assert.equal(rb.status, 202);
  const [da, dbb] = await Promise.all([poll(srv.url, token, ra.body.id, finished, 240000), poll(srv.url, token, rb.body.id, finished, 240000)]);
  const overlap = M / 2;
  // each overlapping person was created by exactly one of the two uploads
  assert.equal(da.success_records + dbb.success_records, M + M / 2);
  assert.equal(da.failed_records + dbb.failed_records, overlap);
  const db = srv;
  assert.equal(Number(sql(db, "SELECT count(*) FROM users WHERE source = 'bulk'")), M + M / 2);
  assert.equal(sql(db, 'SELECT CASE WHEN count(*) = count(DISTINCT lower(email)) AND count(*) = count(DISTINCT mobile) THEN 1 ELSE 0 END FROM users'), '1');
  const msgs = sql(db, `SELECT DISTINCT errors FROM upload_failures WHERE upload_id IN ('${ra.body.id}', '${rb.body.id}')`).split('\n').sort();
  for (const m of msgs) assert.ok(['[Email id already registered]', '[Mobile number is already registered]'].includes(m), m);
  rmSync(d, { recursive: true, force: true });
});

test('an upload racing self-registrations of the same people: one user each, the loser told', { timeout: 300000 }, async () => {
  const d = mkdtempSync(path.join(tmpdir(), 'pravesh-race2-'));
  const smsFile = `${d}/sms.jsonl`;
  const srv = await setup({ PRAVESH_SMS: `file:${smsFile}`, PRAVESH_MAIL: `file:${d}/mail.jsonl`, PRAVESH_LOG: 'warn',
    PRAVESH_OTP_RESEND: '0', PRAVESH_OTP_PER_IP_HOUR: '100000' });
  const token = await login(srv);
  const { nextMessage, codeOf } = await import('./lib/sms.mjs');
  const M = 3000, K = 40;
  const person = (i) => ({ email: `r${i}@example.in`, mobile: String(7100000000 + i) });
  const racers = Array.from({ length: K }, (_, k) => k * 73 + 5);
  // each racer proves their number first, so that registration is ready to go
  const tokens = [];
  for (const i of racers) {
    const { message } = await nextMessage(smsFile, person(i).mobile, () =>
      req(srv.url, 'POST', '/api/v1/otp', { json: { mobile: person(i).mobile, purpose: 'register' } }));
    const v = await req(srv.url, 'POST', '/api/v1/otp/verify', { json: { mobile: person(i).mobile, purpose: 'register', code: codeOf(message) } });
    assert.equal(v.status, 200, v.text);
    tokens.push(v.body.verification_token);
  }
  const position = (await req(srv.url, 'GET', '/api/v1/positions?q=director')).body.items[0].id;
  const lines = ['First Name,Last Name,Email Id,Mobile Number'];
  for (let i = 0; i < M; i++) lines.push(`Ravi,Nair,${person(i).email},${person(i).mobile}`);
  const [up, ...regs] = await Promise.all([
    upload(srv.url, token, 'staff.csv', lines.join('\n')),
    ...racers.map((i, k) => req(srv.url, 'POST', '/api/v1/registrations', { json: {
      first_name: 'Ravi', last_name: 'Nair', email: person(i).email, mobile: person(i).mobile, position_id: position,
      org_id: 'd-doj', verification_token: tokens[k], declaration: true, terms: true } })),
  ]);
  assert.equal(up.status, 202, up.text);
  const done = await poll(srv.url, token, up.body.id, finished, 240000);
  const won = regs.filter((r) => r.status === 201).length;
  console.log(`registrations won ${won} of ${K} races`);
  for (const r of regs) assert.ok(r.status === 201 || (r.status === 409 && ['email_taken', 'mobile_taken'].includes(r.body.code)), r.text);
  assert.equal(done.success_records, M - won);
  assert.equal(done.failed_records, won);
  const db = srv;
  assert.equal(Number(sql(db, "SELECT count(*) FROM users WHERE email LIKE 'r%@example.in'")), M);
  assert.equal(sql(db, 'SELECT CASE WHEN count(*) = count(DISTINCT lower(email)) AND count(*) = count(DISTINCT mobile) THEN 1 ELSE 0 END FROM users'), '1');
  // every racer who registered made the upload's row fail with both messages
  const failedRows = sql(db, `SELECT row_no || '|' || errors FROM upload_failures WHERE upload_id = '${up.body.id}' ORDER BY row_no`);
  const expected = racers.filter((_, k) => regs[k].status === 201)
    .map((i) => `${i + 2}|[Email id already registered, Mobile number is already registered]`).join('\n');
  assert.equal(failedRows, expected);
  rmSync(d, { recursive: true, force: true });
});
