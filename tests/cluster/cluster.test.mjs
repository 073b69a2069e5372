// Several instances on one PostgreSQL database behind a load balancer:
// nginx (round-robin) before two `pravesh serve`, each with its own data
// folder and the same PRAVESH_SECRET_KEY. Requests go through nginx and
// straight to each instance. Needs PRAVESH_TEST_PG_URL (make test starts a
// cluster) and nginx; skipped without them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, req, cli, sql, pgBase, createPgDatabase, bin, root, adminLogin } from '../api/lib/server.mjs';
import { nextMessage, codeOf, messages } from '../api/lib/sms.mjs';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
const skip = !pgBase ? 'PRAVESH_TEST_PG_URL is not set' : !NGINX ? 'nginx is not installed' : false;
const PW = 'a long enough password';

let dir, dbUrl, A, B, lb, nginx, env, sms, mail;
const servers = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

// nginx of its own, unprivileged-style: every path in a temporary folder.
async function startNginx(upstreams) {
  const d = path.join(dir, 'nginx');
  mkdirSync(d, { recursive: true });
  chmodSync(d, 0o755);
  for (const t of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) {
    mkdirSync(path.join(d, t), { recursive: true });
    chmodSync(path.join(d, t), 0o777); /* workers may run as nobody */
  }
  const port = await freePort();
  const conf = path.join(d, 'nginx.conf');
  writeFileSync(conf, `
pid ${d}/nginx.pid;
error_log ${d}/error.log warn;
worker_processes 1;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${d}/client_body;
  proxy_temp_path ${d}/proxy;
  fastcgi_temp_path ${d}/fastcgi;
  uwsgi_temp_path ${d}/uwsgi;
  scgi_temp_path ${d}/scgi;
  client_max_body_size 101m;
  upstream pravesh { ${upstreams.map((u) => `server ${u};`).join(' ')} }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://pravesh;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_request_buffering off;
    }
  }
}
`);
  const child = spawn(NGINX, ['-e', `${d}/error.log`, '-c', conf, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (x) => { err += x; });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try { await fetch(url + '/healthz'); break; } catch (e) {
      if (i > 200 || child.exitCode !== null) throw new Error('nginx did not start: ' + err);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return { url, child, stop: () => new Promise((res) => { child.on('exit', res); child.kill('SIGTERM'); }) };
}

const post = (base, p, json, opts = {}) => req(base, 'POST', p, { json, ...opts });
const get = (base, p, opts = {}) => req(base, 'GET', p, opts);

before(async () => {
  if (skip) return;
  dir = mkdtempSync(path.join(tmpdir(), 'pravesh-cluster-'));
  sms = path.join(dir, 'sms.jsonl');
  mail = path.join(dir, 'mail.jsonl');
  dbUrl = createPgDatabase('pv_cluster');
  env = {
    PRAVESH_DB: dbUrl, PRAVESH_SECRET_KEY: randomBytes(32).toString('hex'),
    PRAVESH_SMS: `file:${sms}`, PRAVESH_MAIL: `file:${mail}`, PRAVESH_LOG: 'info',
    PRAVESH_OTP_RESEND: '0', PRAVESH_OTP_PER_HOUR: '4', PRAVESH_OTP_PER_DAY: '1000',
    PRAVESH_OTP_NUMBER_PER_HOUR: '1000', PRAVESH_OTP_NUMBER_PER_DAY: '1000',
    PRAVESH_OTP_PER_IP_HOUR: '100000', PRAVESH_ANON_PER_IP_HOUR: '100000',
    PRAVESH_LOGIN_FAIL_PER_IP_HOUR: '100000', PRAVESH_PUBLIC_URL: 'https://pravesh.example.gov.in',
  };
});

after(async () => {
  if (skip) return;
  if (nginx) await nginx.stop();
  for (const s of servers) await s.stop({ keep: true }).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

test('three `pravesh migrate` at once on an empty database: each step applied once', { skip }, async () => {
  const runs = [0, 1, 2].map((i) => new Promise((resolve) => {
    const d = path.join(dir, `migrate-${i}`);
    mkdirSync(d);
    const c = spawn(bin, ['migrate'], { cwd: root, env: { ...process.env, ...env, PRAVESH_DATA_DIR: d }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (x) => { out += x; });
    c.stderr.on('data', (x) => { out += x; });
    c.on('exit', (code) => resolve({ code, out }));
  }));
  for (const r of await Promise.all(runs)) assert.equal(r.code, 0, r.out);
  assert.equal(sql(env, 'SELECT CASE WHEN count(*) = max(version) AND min(version) = 1 THEN 1 ELSE 0 END FROM pravesh_schema'), '1');
  // a fourth finds nothing to do
  const r = cli(['migrate'], { ...env, PRAVESH_DATA_DIR: path.join(dir, 'migrate-0') });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!r.stdout.includes(dbUrl) && !r.stderr.includes(dbUrl), 'the URL is not printed');
});

test('two instances behind nginx start on the same database', { skip }, async () => {
  for (const args of [['orgs', 'load', 'data/orgs.csv'], ['positions', 'load', 'data/positions.csv']]) {
    const r = cli(args, { ...env, PRAVESH_DATA_DIR: path.join(dir, 'migrate-0') });
    assert.equal(r.status, 0, r.stderr);
  }
  A = await startServer({ env, loadDefaults: false });
  servers.push(A);
  B = await startServer({ env, loadDefaults: false });
  servers.push(B);
  nginx = await startNginx([A.url.replace('http://', ''), B.url.replace('http://', '')]);
  lb = nginx.url;
  // round-robin: consecutive requests through nginx reach both
  const before = [A.logs.length, B.logs.length];
  for (let i = 0; i < 6; i++) assert.equal((await get(lb, '/healthz')).status, 200);
  await A.waitLog(/"path":"\/healthz"/, before[0]);
  await B.waitLog(/"path":"\/healthz"/, before[1]);
});

async function verified(base, mobile, purpose = 'register') {
  const { message } = await nextMessage(sms, mobile, () => post(base, '/api/v1/otp', { mobile, purpose }));
  const r = await post(base, '/api/v1/otp/verify', { mobile, purpose, code: codeOf(message) });
  assert.equal(r.status, 200, r.text);
  return r.body.verification_token;
}

async function mailTo(to, timeoutMs = 15000) {
  const t0 = Date.now();
  for (;;) {
    const m = messages(mail, to);
    if (m.length) return m[m.length - 1];
    if (Date.now() - t0 > timeoutMs) throw new Error('no mail to ' + to);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('registration, activation and login spread over both instances; a session works on both, logout ends it on both', { skip }, async () => {
  const mobile = '9811100001', email = 'asha.rao@doj.gov.in';
  // the code is asked for on A and checked on B
  const { message } = await nextMessage(sms, mobile, () => post(A.url, '/api/v1/otp', { mobile, purpose: 'register' }));
  const v = await post(B.url, '/api/v1/otp/verify', { mobile, purpose: 'register', code: codeOf(message) });
  assert.equal(v.status, 200, v.text);
  const position = (await get(lb, '/api/v1/positions?q=director')).body.items[0].id;
  // the verification token made by B is spent on A
  const r = await post(A.url, '/api/v1/registrations', {
    first_name: 'Asha', last_name: 'Rao', email, mobile, position_id: position, org_id: 'd-doj',
    verification_token: v.body.verification_token, declaration: true, terms: true,
  });
  assert.equal(r.status, 201, r.text);
  // the same token is spent: refused on B
  const again = await post(B.url, '/api/v1/registrations', {
    first_name: 'Asha', last_name: 'Rao', email: 'other@doj.gov.in', mobile, position_id: position, org_id: 'd-doj',
    verification_token: v.body.verification_token, declaration: true, terms: true,
  });
  assert.notEqual(again.status, 201);
  // activation link (mailed by whichever instance delivered it) used through nginx
  const link = (await mailTo(email)).text.match(/activate\?token=([A-Za-z0-9_-]+)/);
  assert.ok(link);
  assert.equal((await post(lb, '/api/v1/activation', { token: link[1] })).status, 200);
  assert.equal((await post(B.url, '/api/v1/activation', { token: link[1] })).status, 400);
  // login: code asked for through nginx, checked on A
  const code = await nextMessage(sms, mobile, () => post(lb, '/api/v1/otp', { mobile, purpose: 'login' }));
  const login = await post(A.url, '/api/v1/auth/otp', { mobile, code: codeOf(code.message) });
  assert.equal(login.status, 200, login.text);
  const token = login.body.token;
  for (const base of [A.url, B.url, lb, lb]) {
    const me = await get(base, '/api/v1/me', { bearer: token });
    assert.equal(me.status, 200, me.text);
    assert.equal(me.body.mobile, mobile);
  }
  // a used code does not work on the other instance
  assert.equal((await post(B.url, '/api/v1/auth/otp', { mobile, code: codeOf(code.message) })).status, 401);
  // logout on B ends the session on A and through nginx
  assert.equal((await post(B.url, '/api/v1/auth/logout', {}, { bearer: token })).status, 204);
  assert.equal((await get(A.url, '/api/v1/me', { bearer: token })).status, 401);
  assert.equal((await get(lb, '/api/v1/me', { bearer: token })).status, 401);
});

test('a limit counts across both instances: they never together exceed it', { skip }, async () => {
  // PRAVESH_OTP_PER_HOUR=4 per number: alternate instances, then all refuse
  const mobile = '9811100002';
  const statuses = [];
  for (let i = 0; i < 8; i++) statuses.push((await post(i % 2 ? A.url : B.url, '/api/v1/otp', { mobile, purpose: 'register' })).status);
  assert.deepEqual(statuses, [202, 202, 202, 202, 429, 429, 429, 429]);
  // and at once, from both sides: exactly 4 of 12 accepted
  const m2 = '9811100003';
  const all = await Promise.all(Array.from({ length: 12 }, (_, i) => post([A.url, B.url, lb][i % 3], '/api/v1/otp', { mobile: m2, purpose: 'register' })));
  assert.equal(all.filter((r) => r.status === 202).length, 4);
  assert.equal(all.filter((r) => r.status === 429).length, 8);
});

test('an SPV approval on one instance is seen in search on the other', { skip }, async () => {
  let r = cli(['admin', 'create', '--role', 'spv', '--username', 'spv.cluster', '--org', 'd-dopt', '--first-name', 'Sita',
    '--last-name', 'Ram', '--email', 'spv.cluster@dopt.gov.in', '--mobile', '9999900011'], { ...env, PRAVESH_DATA_DIR: A.dir }, PW + '\n');
  assert.equal(r.status, 0, r.stderr);
  // the password on B, its second factor (the SMS code) on B too
  const login = await adminLogin(B.url, env.PRAVESH_SMS, 'spv.cluster', PW);
  assert.equal(login.status, 200, login.text);
  const spv = login.body.token;
  const tok = await verified(lb, '9844400021', 'request');
  r = await post(lb, '/api/v1/requests', { kind: 'organisation', full_name: 'Rita Das', email: 'rita.das@example.com', mobile: '9844400021', verification_token: tok, name: 'Cluster Judicial Grid Cell', declaration: true });
  assert.equal(r.status, 201, r.text);
  // B has the directory cached (searched once) before the approval on A
  assert.equal((await get(B.url, '/api/v1/orgs?q=cluster%20judicial')).body.items.length, 0);
  const ap = await post(A.url, `/api/v1/admin/requests/${r.body.id}/approve`, { sector: 'center', type: 'organisation', parent_id: 'd-doj' }, { bearer: spv });
  assert.equal(ap.status, 200, ap.text);
  const t0 = Date.now();
  let seen = false;
  while (!seen && Date.now() - t0 < 20000) {
    seen = (await get(B.url, '/api/v1/orgs?q=cluster%20judicial')).body.items.some((o) => o.id === ap.body.created_id);
    if (!seen) await new Promise((res) => setTimeout(res, 20));
  }
  assert.ok(seen, 'the new organisation never appeared in search on the other instance');
  // the directory cache checks the store's version at most once a second
  console.log(`# approval on A searchable on B after ${Date.now() - t0} ms`);
});

// MDO administrator of d-doj; a token from the given instance.
async function mdoToken(base) {
  if (!existsSync(path.join(dir, '.mdo'))) {
    const r = cli(['admin', 'create', '--role', 'mdo', '--username', 'mdo.cluster', '--org', 'd-doj', '--first-name', 'Meera',
      '--last-name', 'Iyer', '--email', 'mdo.cluster@doj.gov.in', '--mobile', '9999900012'], { ...env, PRAVESH_DATA_DIR: A.dir }, PW + '\n');
    assert.equal(r.status, 0, r.stderr);
    writeFileSync(path.join(dir, '.mdo'), '');
  }
  const r = await adminLogin(base, env.PRAVESH_SMS, 'mdo.cluster', PW);
  assert.equal(r.status, 200, r.text);
  return r.body.token;
}

function upload(base, token, name, content) {
  const fd = new FormData();
  fd.append('file', new Blob([content], { type: 'text/csv' }), name);
  return req(base, 'POST', '/api/v1/mdo/uploads', { body: fd, bearer: token });
}

async function poll(base, token, id, until, timeoutMs) {
  const t0 = Date.now();
  for (;;) {
    const r = await get(base, `/api/v1/mdo/uploads/${id}`, { bearer: token });
    if (r.status === 200 && until(r.body)) return r.body;
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out: ' + r.text);
    await new Promise((res) => setTimeout(res, 50));
  }
}
const finished = (u) => u.status === 'SUCCESSFUL' || u.status === 'FAILED';

test('an upload received by one instance is served by the other: its file and its result', { skip }, async () => {
  const token = await mdoToken(lb);
  const text = 'First Name,Last Name,Email Id,Mobile Number\nRavi,Nair,ravi.nair@example.in,9811100010\nBad,Row,not-an-email,12\n';
  const r = await upload(A.url, token, 'staff list.csv', text);
  assert.equal(r.status, 202, r.text);
  const done = await poll(B.url, token, r.body.id, finished, 30000);
  assert.equal(done.success_records, 1);
  assert.equal(done.failed_records, 1);
  const file = await fetch(`${B.url}/api/v1/mdo/uploads/${r.body.id}/file`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(file.status, 200);
  assert.equal(await file.text(), text);
  const results = [];
  for (const base of [B.url, A.url]) {
    const res = await fetch(`${base}/api/v1/mdo/uploads/${r.body.id}/result`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    results.push(await res.text());
  }
  assert.equal(results[0], results[1]);
  assert.match(results[0], /ravi\.nair@example\.in,9811100010,SUCCESS/);
  assert.match(results[0], /Invalid Email Id/);
});

// N rows; every 997th has a bad mobile, every 1009th repeats the e-mail of
// the row 500 before it.
function bigFile(n) {
  const lines = ['First Name,Last Name,Email Id,Mobile Number'];
  const failures = new Map();
  for (let i = 0; i < n; i++) {
    const row = i + 2;
    let email = `c${i}@example.in`;
    let mobile = String(6100000000 + i * 7);
    const errs = [];
    if (i % 1009 === 1008) { email = `c${i - 500}@example.in`; errs.push(`Duplicate Email Id in file (row ${row - 500})`); }
    if (i % 997 === 996) { mobile = '12345'; errs.push('Invalid Mobile Number'); }
    if (errs.length) failures.set(row, `[${errs.join(', ')}]`);
    lines.push(`Name${String.fromCharCode(97 + (i % 26))},Last,${email},${mobile}`);
  }
  return { text: lines.join('\n') + '\n', failures };
}

test('a 100,000-row upload whose instance is killed mid-way is finished by the other, exactly once', { skip, timeout: 900000 }, async () => {
  const N = 100000;
  const token = await mdoToken(lb);
  const { text, failures } = bigFile(N);
  const r = await upload(lb, token, 'big.csv', text);
  assert.equal(r.status, 202, r.text);
  const id = r.body.id;
  // whichever instance claimed it says so in its log
  const holder = await new Promise((resolve, reject) => {
    const t0 = Date.now();
    const look = () => {
      for (const s of [A, B]) if (s.logs.some((l) => l.includes('upload started') && l.includes(id))) return resolve(s);
      if (Date.now() - t0 > 30000) return reject(new Error('no instance started the upload'));
      setTimeout(look, 20);
    };
    look();
  });
  const other = holder === A ? B : A;
  const mid = await poll(other.url, token, id, (u) => finished(u) || u.success_records + u.failed_records >= N / 4, 600000);
  assert.ok(!finished(mid), 'the upload finished before it could be interrupted');
  await holder.stop({ keep: true, signal: 'SIGKILL' });
  servers.splice(servers.indexOf(holder), 1);
  // nginx now sends everything to the survivor (the dead one is skipped)
  const before = await poll(other.url, token, id, () => true, 5000);
  assert.ok(before.success_records + before.failed_records < N, 'progress was committed in chunks');
  const done = await poll(lb, token, id, finished, 600000);
  assert.ok(other.logs.some((l) => l.includes('upload started') && l.includes(id)), 'the survivor took it over');
  assert.equal(done.status, 'FAILED');
  assert.equal(done.total_records, N);
  assert.equal(done.failed_records, failures.size);
  assert.equal(done.success_records, N - failures.size);
  assert.equal(Number(sql(env, "SELECT count(*) FROM users WHERE email LIKE 'c%@example.in' AND source = 'bulk'")), N - failures.size);
  assert.equal(sql(env, 'SELECT CASE WHEN count(*) = count(DISTINCT lower(email)) AND count(*) = count(DISTINCT mobile) THEN 1 ELSE 0 END FROM users'), '1');
  assert.equal(Number(sql(env, `SELECT count(*) FROM upload_failures WHERE upload_id = '${id}'`)), failures.size);
  // the welcome messages: one SMS and one e-mail campaign of the upload,
  // whichever instance made them (each instance sends at its pace)
  assert.equal(Number(sql(env, `SELECT count(*) FROM campaigns WHERE upload_id = '${id}'`)), 2);
  const got = sql(env, `SELECT row_no || '|' || errors FROM upload_failures WHERE upload_id = '${id}' ORDER BY row_no`).split('\n');
  assert.deepEqual(got, [...failures].map(([row, e]) => `${row}|${e}`));
  // the survivor serves its result, made from the file the dead one received
  const res = await fetch(`${other.url}/api/v1/mdo/uploads/${id}/result`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  assert.equal((await res.text()).split('\n').filter(Boolean).length, N + 1);
});
