// `pravesh backup FILE` while the server runs a bulk upload; the copy,
// restored into a new data folder as docs/operations.md says (the copy as
// pravesh.db, its FILE.blobs/ as pravesh.db.blobs/, server.key), is whole
// and holds exactly one instant: the upload part done, and every row its
// counts say committed (users, failures, the welcome campaigns) and none
// other. Started there, the server resumes the upload (its file read from
// the copied blobs) and ends it as the original did.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, copyFileSync, cpSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startServer, req, cli, pgBase } from './lib/server.mjs';

const N = 60000;
const sql = (db, q) => execFileSync('sqlite3', ['-cmd', '.timeout 10000', db, q], { encoding: 'utf8' }).trim();

async function poll(url, token, id, until, timeoutMs = 300000) {
  const t0 = Date.now();
  for (;;) {
    const r = await req(url, 'GET', `/api/v1/mdo/uploads/${id}`, { bearer: token });
    assert.equal(r.status, 200, r.text);
    if (until(r.body)) return r.body;
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out: ' + r.text);
    await new Promise((res) => setTimeout(res, 25));
  }
}

const finished = (u) => u.status === 'SUCCESSFUL' || u.status === 'FAILED';

test('on PostgreSQL, pravesh backup points to pg_dump and writes nothing', { skip: !pgBase }, async () => {
  const srv = await startServer({ env: { PRAVESH_LOG: 'warn' } });
  try {
    const file = path.join(srv.dir, 'pravesh-backup.db');
    const b = cli(['backup', file], srv.env);
    assert.equal(b.status, 2, b.stderr);
    assert.match(b.stderr, /pg_dump/);
    assert.ok(!existsSync(file), 'nothing written');
  } finally {
    await srv.stop();
  }
});

test('a backup taken during an upload restores to one consistent instant, and the upload then finishes', { timeout: 600000, skip: !!pgBase && 'SQLite only (PostgreSQL: pg_dump)' }, async () => {
  const side = mkdtempSync(path.join(tmpdir(), 'pravesh-backup-'));
  const srv = await startServer({ env: { PRAVESH_LOG: 'warn' } });
  let restored;
  try {
    const a = cli(['admin', 'create', '--role', 'mdo', '--username', 'mdo.bk', '--org', 'd-doj', '--first-name', 'M',
      '--last-name', 'B', '--email', 'mdo.bk@doj.gov.in', '--mobile', '6000000601'], srv.env, 'a long enough password\n');
    assert.equal(a.status, 0, a.stderr);
    const login = await srv.adminLogin('mdo.bk', 'a long enough password');
    assert.equal(login.status, 200, login.text);
    const token = login.body.token;
    const lines = ['First Name,Last Name,Email Id,Mobile Number'];
    for (let i = 0; i < N; i++) lines.push(`Back,Up,bk${i}@example.in,${7500000000 + i}`);
    const fd = new FormData();
    fd.append('file', new Blob([lines.join('\n') + '\n'], { type: 'text/csv' }), 'bulk.csv');
    const up = await req(srv.url, 'POST', '/api/v1/mdo/uploads', { body: fd, bearer: token });
    assert.equal(up.status, 202, up.text);
    await poll(srv.url, token, up.body.id, (u) => u.success_records > 0);

    // the copy, while the upload runs
    const file = path.join(side, 'pravesh-backup.db');
    const b = cli(['backup', file], srv.env);
    assert.equal(b.status, 0, b.stderr);
    assert.match(b.stdout, /backup written/);
    assert.equal(statSync(file).mode & 0o077, 0, 'the copy is private');
    assert.equal(statSync(file + '.blobs').mode & 0o077, 0, 'its blobs are private');
    assert.ok(existsSync(path.join(file + '.blobs', up.body.id)), 'the uploaded file is in the copy');

    const original = await poll(srv.url, token, up.body.id, finished);
    assert.equal(original.status, 'SUCCESSFUL');
    await srv.stop({ keep: true });

    // restore: the copy, its blobs and the server key
    const dir = mkdtempSync(path.join(tmpdir(), 'pravesh-restored-'));
    copyFileSync(file, path.join(dir, 'pravesh.db'));
    cpSync(file + '.blobs', path.join(dir, 'pravesh.db.blobs'), { recursive: true });
    copyFileSync(path.join(srv.dir, 'server.key'), path.join(dir, 'server.key'));
    const db = path.join(dir, 'pravesh.db');
    assert.equal(sql(db, 'PRAGMA integrity_check'), 'ok');
    const [status, cursor, ok, bad] = sql(db, `SELECT status, cursor_pos, success_records, failed_records FROM uploads WHERE id = '${up.body.id}'`).split('|').map((x, i) => (i ? Number(x) : x));
    assert.equal(status, 'IN_PROGRESS', 'copied while the upload ran');
    assert.ok(ok > 0 && ok < N, `part done at the copy (${ok} of ${N})`);
    assert.equal(cursor, ok + bad + 1, 'the cursor is the last committed row');
    // exactly what the counts say was committed, nothing of a later chunk
    assert.equal(Number(sql(db, "SELECT count(*) FROM users WHERE source = 'bulk'")), ok);
    assert.equal(Number(sql(db, `SELECT count(*) FROM upload_failures WHERE upload_id = '${up.body.id}'`)), bad);
    // the welcome messages: the upload's two campaigns, made with its first chunk
    assert.equal(Number(sql(db, `SELECT count(*) FROM campaigns WHERE upload_id = '${up.body.id}'`)), 2);

    // started there, the upload resumes and ends as the original did
    restored = await startServer({ dataDir: dir, env: { PRAVESH_LOG: 'warn' } });
    const done = await poll(restored.url, token, up.body.id, finished);
    assert.equal(done.status, original.status);
    assert.equal(done.total_records, original.total_records);
    assert.equal(done.success_records, original.success_records);
    assert.equal(done.failed_records, original.failed_records);
    assert.equal(Number(sql(db, "SELECT count(*) FROM users WHERE source = 'bulk'")), N);
  } finally {
    if (restored) await restored.stop();
    rmSync(srv.dir, { recursive: true, force: true });
    rmSync(side, { recursive: true, force: true });
  }
});
