// The foundation: health, metrics, OpenAPI, the directory, static files and
// the problem+json answers to bad input, against the real binary.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, req, cli, root } from './lib/server.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv.stop(); });

function assertProblem(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get('content-type'), /^application\/problem\+json/);
  assert.equal(r.body.status, status);
  assert.equal(r.body.code, code);
  assert.equal(r.body.type, `/errors/${code}`);
  assert.ok(r.body.title);
}

test('healthz answers ok with a request id', async () => {
  const r = await req(srv.url, 'GET', '/healthz');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { status: 'ok' });
  assert.ok(r.headers.get('x-request-id').length >= 8);
  const r2 = await req(srv.url, 'GET', '/healthz', { headers: { 'x-request-id': 'trace-abc-123' } });
  assert.equal(r2.headers.get('x-request-id'), 'trace-abc-123');
});

test('searching "justice" answers as the SOP shows', async () => {
  const r = await req(srv.url, 'GET', '/api/v1/orgs?q=justice');
  assert.equal(r.status, 200);
  const names = r.body.items.map((o) => o.name);
  for (const want of ['Ministry of Law and Justice', 'Department of Justice',
    'Juvenile Justice Selection Committee']) assert.ok(names.includes(want), `${want} in ${names}`);
  const doj = r.body.items.find((o) => o.id === 'd-doj');
  assert.equal(doj.under, 'Ministry of Law and Justice');
  assert.deepEqual(doj.path, [{ id: 'm-law', name: 'Ministry of Law and Justice' }]);
  assert.equal(doj.parent_id, 'm-law');
  const jj = r.body.items.find((o) => o.id === 's-up-jjsc');
  assert.equal(jj.under, 'UTTAR PRADESH > Department Uttar Pradesh');
  assert.equal(jj.sector, 'state');
  const law = r.body.items.find((o) => o.id === 'm-law');
  assert.equal(law.under, '');
  assert.equal(law.parent_id, null);
  // shallower before deeper
  const depth = (o) => o.path.length;
  for (let i = 1; i < r.body.items.length; i++) {
    assert.ok(depth(r.body.items[i - 1]) <= depth(r.body.items[i]), 'depth order');
  }
  // every state justice department is there
  assert.ok(r.body.items.filter((o) => o.sector === 'state').length >= 2);
});

test('search filters by sector, limits, and ranks exact names first', async () => {
  const st = await req(srv.url, 'GET', '/api/v1/orgs?q=justice&sector=state');
  assert.ok(st.body.items.length > 0);
  assert.ok(st.body.items.every((o) => o.sector === 'state'));
  const lim = await req(srv.url, 'GET', '/api/v1/orgs?q=department&limit=3');
  assert.equal(lim.body.items.length, 3);
  const ex = await req(srv.url, 'GET', '/api/v1/orgs?q=' + encodeURIComponent('Department of Justice'));
  assert.equal(ex.body.items[0].id, 'd-doj');
  const multi = await req(srv.url, 'GET', '/api/v1/orgs?q=jus%20law');
  assert.ok(multi.body.items.some((o) => o.id === 'm-law'));
  assert.ok(!multi.body.items.some((o) => o.id === 'd-doj'));
});

test('one organisation, with its children', async () => {
  const r = await req(srv.url, 'GET', '/api/v1/orgs/m-law');
  assert.equal(r.status, 200);
  assert.equal(r.body.name, 'Ministry of Law and Justice');
  assert.ok(r.body.children >= 1);
  assertProblem(await req(srv.url, 'GET', '/api/v1/orgs/no-such-org'), 404, 'org_not_found');
  const long = 'x'.repeat(5000);
  const r2 = await req(srv.url, 'GET', '/api/v1/orgs/' + long);
  assertProblem(r2, 404, 'not_found');
});

test('positions search', async () => {
  const r = await req(srv.url, 'GET', '/api/v1/positions?q=dir');
  assert.equal(r.status, 200);
  assert.ok(r.body.items.length > 0);
  assert.ok(r.body.items.every((p) => /(^|\s)dir/i.test(p.name) && p.id));
});

test('bad queries answer problem+json', async () => {
  assertProblem(await req(srv.url, 'GET', '/api/v1/orgs?q=j'), 400, 'query_too_short');
  assertProblem(await req(srv.url, 'GET', '/api/v1/orgs'), 400, 'query_too_short');
  assertProblem(await req(srv.url, 'GET', '/api/v1/orgs?q=%FF%FEab'), 400, 'invalid_query');
  assertProblem(await req(srv.url, 'GET', '/api/v1/orgs?q=justice&sector=moon'), 400, 'invalid_sector');
  assertProblem(await req(srv.url, 'GET', '/api/v1/orgs?q=justice&limit=0'), 400, 'invalid_limit');
  assertProblem(await req(srv.url, 'GET', '/api/v1/orgs?q=justice&limit=abc'), 400, 'invalid_limit');
  assertProblem(await req(srv.url, 'GET', '/api/v1/orgs?q=' + 'a'.repeat(300)), 400, 'query_too_long');
  assertProblem(await req(srv.url, 'GET', '/api/v1/positions?q=x'), 400, 'query_too_short');
});

test('unknown API paths, wrong methods and huge bodies answer problem+json; other unknown paths a page', async () => {
  assertProblem(await req(srv.url, 'GET', '/api/v1/nothing'), 404, 'not_found');
  const m = await req(srv.url, 'DELETE', '/api/v1/orgs');
  assertProblem(m, 405, 'method_not_allowed');
  assert.equal(m.headers.get('allow'), 'GET');
  const big = await req(srv.url, 'POST', '/api/v1/orgs', { body: 'x'.repeat(10 * 1024 * 1024), headers: { 'content-type': 'application/json' } });
  assertProblem(big, 413, 'payload_too_large');
  // JSON problems only under /api/: a person gets the HTML 404 page
  for (const [m, p] of [['GET', '/no-such-page.html'], ['POST', '/no-such-page']]) {
    const r = await req(srv.url, m, p, m === 'POST' ? { json: {} } : {});
    assert.equal(r.status, 404);
    assert.match(r.headers.get('content-type'), /^text\/html/);
    assert.match(r.text, /<h1[^>]*>Page not found<\/h1>/);
  }
  assertProblem(await req(srv.url, 'POST', '/api/no-such-thing', { json: {} }), 404, 'not_found');
  // the server is still healthy after all of it
  assert.equal((await req(srv.url, 'GET', '/healthz')).status, 200);
});

test('static files: index, MIME type, ETag, no traversal', async () => {
  const r = await req(srv.url, 'GET', '/');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  const etag = r.headers.get('etag');
  assert.ok(etag);
  const again = await fetch(srv.url + '/', { headers: { 'if-none-match': etag } });
  assert.equal(again.status, 304);
  for (const p of ['/../Makefile', '/%2e%2e/Makefile', '/..%2fMakefile', '/.git/config', '//etc/passwd', '/index.html%00.txt']) {
    const t = await req(srv.url, 'GET', p);
    assert.equal(t.status, 404, p);
  }
});

test('/metrics is not served on the public listener', async () => {
  const r = await req(srv.url, 'GET', '/metrics');
  assert.equal(r.status, 404);
  assert.equal(r.body.code, 'not_found');
});

test('the OpenAPI document describes every route', async () => {
  const r = await req(srv.url, 'GET', '/api/openapi.json');
  assert.equal(r.status, 200);
  assert.equal(r.body.openapi, '3.1.0');
  const src = readFileSync(path.join(root, 'src/http/routes.c'), 'utf8');
  const routes = [...src.matchAll(/\{"(GET|POST|PUT|PATCH|DELETE)", "([^"]+)"/g)];
  assert.ok(routes.length >= 6);
  for (const [, method, p] of routes) {
    assert.ok(r.body.paths[p], `path ${p} documented`);
    assert.ok(r.body.paths[p][method.toLowerCase()], `${method} ${p} documented`);
  }
});

test('docs/openapi.json is what scripts/gen-openapi.py writes (an edit by hand would be lost at the next run)', () => {
  const d = mkdtempSync(path.join(tmpdir(), 'pravesh-openapi-'));
  try {
    execFileSync('python3', [path.join(root, 'scripts/gen-openapi.py'), path.join(d, 'o.json')]);
    assert.equal(readFileSync(path.join(d, 'o.json'), 'utf8'), readFileSync(path.join(root, 'docs/openapi.json'), 'utf8'));
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('access logs are JSON lines with the request id and no query string', async () => {
  await req(srv.url, 'GET', '/api/v1/orgs?q=secretvalue', { headers: { 'x-request-id': 'logcheck-12345' } });
  await srv.waitLog(/logcheck-12345/);
  const line = srv.logs.find((l) => l.includes('logcheck-12345'));
  assert.ok(line, 'logged');
  const rec = JSON.parse(line);
  assert.equal(rec.request_id, 'logcheck-12345');
  assert.equal(rec.path, '/api/v1/orgs');
  assert.ok(!srv.logs.some((l) => l.includes('secretvalue')));
});

test('orgs load refuses a bad file and writes nothing', async () => {
  const { writeFileSync, mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const d = mkdtempSync(path.join(tmpdir(), 'pravesh-load-'));
  const env = { PRAVESH_DATA_DIR: d, PRAVESH_DB: `sqlite:${d}/p.db` };
  writeFileSync(`${d}/bad.csv`, 'key,name,sector,type,parent_key\nok-1,Good Org,center,ministry,\nbad,Bad Org,moon,ministry,\nchild,Child,center,department,missing\n');
  const r = cli(['orgs', 'load', `${d}/bad.csv`], env);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /line 3: sector must be center or state/);
  assert.match(r.stderr, /line 4: parent_key 'missing' is unknown/);
  writeFileSync(`${d}/cycle.csv`, 'key,name,sector,type,parent_key\na,A,center,x,b\nb,B,center,x,a\n');
  assert.equal(cli(['orgs', 'load', `${d}/cycle.csv`], env).status, 2);
  writeFileSync(`${d}/good.csv`, 'name,key,sector,type,parent_key\n"Child, Two",c2,center,department,ok-1\nGood Org,ok-1,center,ministry,\n');
  const g = cli(['orgs', 'load', `${d}/good.csv`], env);
  assert.equal(g.status, 0, g.stderr);
  assert.match(g.stdout, /2 added, 0 updated, 0 unchanged/);
  const again = cli(['orgs', 'load', `${d}/good.csv`], env);
  assert.match(again.stdout, /0 added, 0 updated, 2 unchanged/);
});
