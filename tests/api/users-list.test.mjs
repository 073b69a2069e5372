// GET /api/v1/mdo/users for an organisation's administrator: the kinds of
// q (an exact mobile number, an exact e-mail, word prefixes of names),
// pages by number and by cursor, kept totals that follow status changes,
// and the refusals.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startServer, req, cli } from './lib/server.mjs';

let srv, token;
const FIRST = ['Ram', 'Sita', 'Kumari', 'Anil'];
const LAST = ['Kumar', 'Sharma-Singh', 'Rao', 'Das'];
const N = 45;

const get = (p) => req(srv.url, 'GET', p, { bearer: token });

before(async () => {
  srv = await startServer({ env: { PRAVESH_ADMIN_SECOND_FACTOR: 'off' } });
  const r = cli(['admin', 'create', '--role', 'mdo', '--username', 'mdo.list', '--org', 'd-doj', '--first-name', 'List',
    '--last-name', 'Admin', '--email', 'mdo.list@doj.gov.in', '--mobile', '6000000201'], srv.env, 'a long enough password\n');
  assert.equal(r.status, 0, r.stderr);
  // N users through the bulk import, in file order: user i is the i-th added
  const d = mkdtempSync(path.join(tmpdir(), 'pravesh-list-'));
  const rows = ['First Name,Last Name,Email Id,Mobile Number'];
  for (let i = 0; i < N; i++) {
    rows.push(`${FIRST[i % 4]},${LAST[Math.floor(i / 4) % 4]},person${i}@doj.gov.in,97000${String(i).padStart(5, '0')}`);
  }
  writeFileSync(path.join(d, 'users.csv'), rows.join('\n') + '\n');
  const imp = cli(['import', '--org', 'd-doj', path.join(d, 'users.csv')], srv.env);
  assert.equal(imp.status, 0, imp.stderr);
  const login = await req(srv.url, 'POST', '/api/v1/auth/password', { json: { username: 'mdo.list', password: 'a long enough password' } });
  assert.equal(login.status, 200, login.text);
  token = login.body.token;
});

after(async () => { await srv.stop(); });

test('the whole list: newest first, by page and by cursor alike', async () => {
  const all = await get('/api/v1/mdo/users?per_page=100');
  assert.equal(all.status, 200);
  assert.equal(all.body.total, N + 1); // and the administrator
  assert.equal(all.body.total_exact, true);
  assert.equal(all.body.next, null);
  assert.equal(all.body.items[0].email, 'person44@doj.gov.in');
  assert.equal(all.body.items[N - 1].email, 'person0@doj.gov.in');
  const byPage = [], byCursor = [];
  for (let p = 1; p <= 5; p++) byPage.push(...(await get(`/api/v1/mdo/users?per_page=10&page=${p}`)).body.items);
  let next = null;
  do {
    const r = await get(`/api/v1/mdo/users?per_page=10${next ? `&after=${next}` : ''}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.page, next ? null : 1);
    byCursor.push(...r.body.items);
    next = r.body.next;
  } while (next);
  assert.deepEqual(byCursor.map((u) => u.id), all.body.items.map((u) => u.id));
  assert.deepEqual(byPage.map((u) => u.id), all.body.items.map((u) => u.id));
});

test('q: an exact mobile number (as typed), an exact e-mail, never a part of one', async () => {
  for (const q of ['9700000007', '+91 97000 00007', '097000-00007']) {
    const r = await get(`/api/v1/mdo/users?q=${encodeURIComponent(q)}`);
    assert.equal(r.body.total, 1, q);
    assert.equal(r.body.items[0].email, 'person7@doj.gov.in');
  }
  const e = await get(`/api/v1/mdo/users?q=${encodeURIComponent('PERSON12@DOJ.gov.in')}`);
  assert.equal(e.body.total, 1);
  assert.equal(e.body.items[0].mobile, '9700000012');
  for (const q of ['97000000', 'person12', 'person12@doj', 'nobody@doj.gov.in']) {
    const r = await get(`/api/v1/mdo/users?q=${encodeURIComponent(q)}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.total, 0, q);
  }
});

test('q: words that start name words, any case; punctuation separates words', async () => {
  const names = async (q) => (await get(`/api/v1/mdo/users?per_page=100&q=${encodeURIComponent(q)}`)).body;
  const ram = await names('RAM');
  assert.ok(ram.items.length > 0);
  assert.ok(ram.items.every((u) => u.first_name === 'Ram'));
  const kum = await names('kum');
  assert.ok(kum.items.every((u) => u.first_name === 'Kumari' || u.last_name === 'Kumar'));
  assert.equal(kum.total, kum.items.length);
  const both = await names('ram singh');
  assert.ok(both.items.length > 0 && both.items.every((u) => u.first_name === 'Ram' && u.last_name === 'Sharma-Singh'));
  assert.equal((await names('sharma-singh')).total, (await names('singh')).total);
  assert.equal((await names('%')).total, 0);
  assert.equal((await names('zzz')).total, 0);
  // bytes that are no UTF-8: refused as such (PostgreSQL would refuse
  // them, told as too many words), never searched
  for (const q of ['%FF', 'ram%C3', '%C3%28kum']) {
    const bad = await get(`/api/v1/mdo/users?q=${q}`);
    assert.equal(bad.status, 400, q);
    assert.equal(bad.body.code, 'invalid_query', q);
  }
  const tooMany = await get('/api/v1/mdo/users?q=a%20b%20c%20d%20e%20f%20g%20h%20i');
  assert.equal(tooMany.status, 400);
  assert.equal(tooMany.body.code, 'query_too_long');
});

test('status: kept totals follow changes; cursors and pages refused when wrong', async () => {
  const before = (await get('/api/v1/mdo/users?status=active')).body.total;
  const one = (await get('/api/v1/mdo/users?q=9700000003')).body.items[0];
  const ch = await req(srv.url, 'POST', `/api/v1/mdo/users/${one.id}/status`, { json: { status: 'inactive' }, bearer: token });
  assert.equal(ch.status, 200);
  assert.equal((await get('/api/v1/mdo/users?status=active')).body.total, before - 1);
  assert.equal((await get('/api/v1/mdo/users?status=inactive')).body.total, 1);
  assert.equal((await get('/api/v1/mdo/users')).body.total, N + 1);
  for (const bad of ['after=xyz', 'after=c', 'after=c1&page=2', 'after=czzzzzzzzzz']) {
    const r = await get(`/api/v1/mdo/users?${bad}`);
    assert.equal(r.status, 400, bad);
    assert.equal(r.body.code, 'invalid_cursor');
  }
});
