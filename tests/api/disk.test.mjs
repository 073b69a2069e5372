// A full disk, for real: the data folder is a small tmpfs, filled by a
// filler file to the point each case needs. While an upload streams in,
// while a result file is written and while the database grows, the server
// answers 507 insufficient_storage (or fails the upload with a message
// saying the disk is full), leaves no half-written file behind, keeps
// serving reads, and works again the moment room is made.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statfsSync, openSync, writeSync, closeSync, unlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startServer, req, cli } from './lib/server.mjs';

const isRoot = process.getuid && process.getuid() === 0;
let mnt, side, srv, mdo, spv;
const filler = () => path.join(mnt, 'filler');

// Leaves about `room` bytes free on the tmpfs (0: none at all).
function fill(room) {
  if (existsSync(filler())) unlinkSync(filler());
  const st = statfsSync(mnt);
  let want = Number(st.bavail) * Number(st.bsize) - room;
  const fd = openSync(filler(), 'w');
  const chunk = Buffer.alloc(1 << 20, 0x61);
  try {
    while (want > 0) {
      const n = Math.min(want, chunk.length);
      writeSync(fd, chunk, 0, n);
      want -= n;
    }
    if (room === 0) for (;;) writeSync(fd, chunk, 0, 4096); // to the last block
  } catch (e) {
    if (e.code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
}

function makeRoom() {
  if (existsSync(filler())) unlinkSync(filler());
}

const leftovers = () => readdirSync(path.join(mnt, 'uploads')).filter((f) => f.includes('.part') || f.startsWith('.template'));

function upload(name, content) {
  const fd = new FormData();
  fd.append('file', new Blob([content], { type: 'text/csv' }), name);
  return req(srv.url, 'POST', '/api/v1/mdo/uploads', { body: fd, bearer: mdo });
}

async function poll(id, until, timeoutMs = 120000) {
  const t0 = Date.now();
  for (;;) {
    const r = await req(srv.url, 'GET', `/api/v1/mdo/uploads/${id}`, { bearer: mdo });
    assert.equal(r.status, 200, r.text);
    if (until(r.body)) return r.body;
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out: ' + r.text);
    await new Promise((res) => setTimeout(res, 50));
  }
}

const finished = (u) => u.status === 'SUCCESSFUL' || u.status === 'FAILED';

function rows(n, from = 0) {
  const lines = ['First Name,Last Name,Email Id,Mobile Number'];
  for (let i = from; i < from + n; i++) lines.push(`Disk,Person,disk${i}@example.in,${7100000000 + i}`);
  return lines.join('\n') + '\n';
}

// Reads still work while the disk is full.
async function stillServing() {
  assert.equal((await req(srv.url, 'GET', '/healthz')).status, 200);
  const s = await req(srv.url, 'GET', '/api/v1/orgs?q=justice');
  assert.equal(s.status, 200, s.text);
  assert.ok(s.body.items.length > 0);
  assert.equal((await req(srv.url, 'GET', '/api/v1/mdo/uploads', { bearer: mdo })).status, 200);
}

function assert507(r) {
  assert.equal(r.status, 507, r.text);
  assert.equal(r.headers.get('content-type'), 'application/problem+json');
  assert.equal(r.body.code, 'insufficient_storage');
}

before(async () => {
  if (!isRoot) return;
  mnt = mkdtempSync(path.join(tmpdir(), 'pravesh-disk-'));
  side = mkdtempSync(path.join(tmpdir(), 'pravesh-disk-sms-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=0700', 'tmpfs', mnt]);
  // the messages go beside the full disk, not onto it
  const env = { PRAVESH_DATA_DIR: mnt, PRAVESH_DB: `sqlite:${mnt}/pravesh.db`, PRAVESH_LOG: 'warn',
    PRAVESH_SMS: `file:${side}/sms.jsonl` };
  for (const args of [['orgs', 'load', 'data/orgs.csv'], ['positions', 'load', 'data/positions.csv']]) {
    const r = cli(args, env);
    assert.equal(r.status, 0, r.stderr);
  }
  srv = await startServer({ dataDir: mnt, env });
  const admin = (role, user, org, mobile) => {
    const args = ['admin', 'create', '--role', role, '--username', user, '--first-name', 'Disk', '--last-name', 'Admin',
      '--email', `${user}@doj.gov.in`, '--mobile', mobile];
    if (org) args.push('--org', org);
    const r = cli(args, srv.env, 'a long enough password\n');
    assert.equal(r.status, 0, r.stderr);
  };
  admin('mdo', 'mdo.disk', 'd-doj', '6000000301');
  admin('spv', 'spv.disk', null, '6000000302');
  const login = async (u) => {
    const r = await srv.adminLogin(u, 'a long enough password');
    assert.equal(r.status, 200, r.text);
    return r.body.token;
  };
  mdo = await login('mdo.disk');
  spv = await login('spv.disk');
});

after(async () => {
  if (!isRoot) return;
  if (srv) await srv.stop({ keep: true });
  try { execFileSync('umount', [mnt]); } catch { /* reported by the tests */ }
  rmSync(mnt, { recursive: true, force: true });
  rmSync(side, { recursive: true, force: true });
});

test('an upload streaming onto a full disk: 507, no part file left, the server serves on', { skip: !isRoot && 'needs root to mount a tmpfs' }, async () => {
  makeRoom();
  assert.equal((await upload('first.csv', rows(10))).status, 202); // the uploads folder exists
  fill(256 * 1024);
  const big = rows(60000, 1000); // about 2.6 MB
  const r = await upload('big.csv', big);
  assert507(r);
  assert.deepEqual(leftovers(), []);
  await stillServing();
  makeRoom();
  const again = await upload('after.csv', rows(20, 90000));
  assert.equal(again.status, 202, again.text);
  const done = await poll(again.body.id, finished);
  assert.equal(done.status, 'SUCCESSFUL', JSON.stringify(done));
});

test('a result file written onto a full disk: 507, nothing half-written left, then served once there is room', { skip: !isRoot && 'needs root to mount a tmpfs' }, async () => {
  makeRoom();
  const r = await upload('result.csv', rows(3000, 100000));
  assert.equal(r.status, 202, r.text);
  const done = await poll(r.body.id, finished);
  assert.equal(done.status, 'SUCCESSFUL');
  fill(0);
  const res = await req(srv.url, 'GET', `/api/v1/mdo/uploads/${r.body.id}/result`, { bearer: mdo });
  assert507(res);
  const files = readdirSync(path.join(mnt, 'uploads'));
  assert.deepEqual(files.filter((f) => f.includes('.result')), [], 'no result file, whole or half');
  await stillServing();
  makeRoom();
  const ok = await req(srv.url, 'GET', `/api/v1/mdo/uploads/${r.body.id}/result`, { bearer: mdo });
  assert.equal(ok.status, 200);
  assert.equal(ok.text.trim().split('\n').length, 3001);
});

test('the database growing onto a full disk: 507 for writes, reads go on, writes work again with room', { skip: !isRoot && 'needs root to mount a tmpfs' }, async () => {
  makeRoom();
  fill(0);
  let r;
  let k = 0;
  for (; k < 5000; k++) {
    r = await req(srv.url, 'POST', '/api/v1/admin/positions', { json: { name: `Full Disk Position ${k}` }, bearer: spv });
    if (r.status !== 201) break;
  }
  assert507(r);
  await stillServing();
  makeRoom();
  r = await req(srv.url, 'POST', '/api/v1/admin/positions', { json: { name: `Full Disk Position ${k}` }, bearer: spv });
  assert.equal(r.status, 201, r.text);
});

test('an upload whose rows do not fit in the database: FAILED with a message saying the disk is full, what was committed consistent', { skip: !isRoot && 'needs root to mount a tmpfs' }, async () => {
  makeRoom();
  const before = (await req(srv.url, 'GET', '/api/v1/mdo/users?per_page=1', { bearer: mdo })).body.total;
  const from = srv.logs.length;
  const r = await upload('huge.csv', rows(60000, 200000)); // far more rows than the disk holds
  assert.equal(r.status, 202, r.text);
  fill(3 * 1024 * 1024); // the file is in: leave the database a little room
  // The chunk that does not fit is rolled back. When the disk is then so
  // full that not even the upload's failure can be written, the upload
  // waits, leased, until there is room for that (and reads go on).
  await srv.waitLog(/"msg":"upload failed: the disk is full"/, from, 120000);
  await stillServing();
  // room again (all of it: a few megabytes were not enough on a busy
  // machine, where the welcome messages of the committed chunks and the
  // write-ahead log took them before the failure could be written)
  makeRoom();
  const done = await poll(r.body.id, finished, 120000);
  assert.equal(done.status, 'FAILED');
  assert.equal(done.error, "The server's disk is full; upload the file again later");
  const after = (await req(srv.url, 'GET', '/api/v1/mdo/users?per_page=1', { bearer: mdo })).body.total;
  assert.equal(after - before, done.success_records, 'every committed chunk counted, no half chunk');
  makeRoom();
  const again = await upload('small.csv', rows(5, 300000));
  assert.equal(again.status, 202);
  assert.equal((await poll(again.body.id, finished)).status, 'SUCCESSFUL');
});

test('the database is whole after all this', { skip: !isRoot && 'needs root to mount a tmpfs' }, async () => {
  makeRoom();
  const out = execFileSync('sqlite3', ['-cmd', '.timeout 10000', path.join(mnt, 'pravesh.db'), 'PRAGMA integrity_check'], { encoding: 'utf8' }).trim();
  assert.equal(out, 'ok');
});
