// What the server does for the pages: the site settings they read, unknown
// pages as HTML in the chosen language, static files prepared once
// (compressed, cached by content) and the header shared by every page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, req } from './lib/server.mjs';

let srv, other;
before(async () => {
  srv = await startServer({ env: { PRAVESH_LEARNING_URL: 'https://learning.example.gov.in/start' } });
});
after(async () => { await srv?.stop(); await other?.stop(); });

test('GET /api/v1/site names the learning platform; only an http(s) URL', async () => {
  const r = await req(srv.url, 'GET', '/api/v1/site');
  assert.equal(r.status, 200);
  assert.equal(r.body.learning_url, 'https://learning.example.gov.in/start');
  // with the person's data's contacts and retention periods (mydata.test.mjs)
  for (const k of ['help', 'grievance_email', 'erasure_grace_days', 'upload_retention_days']) assert.ok(k in r.body, k);
  other = await startServer({ env: { PRAVESH_LEARNING_URL: 'javascript:alert(1)' } });
  const bad = await req(other.url, 'GET', '/api/v1/site');
  assert.equal(bad.body.learning_url, null);
  await other.stop();
  other = null;
});

test('unknown pages: an HTML 404 page in the chosen language with a way home; /api/ keeps JSON', async () => {
  let r = await req(srv.url, 'GET', '/no-such-page');
  assert.equal(r.status, 404);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  assert.match(r.text, /<html lang="en">/);
  assert.match(r.text, /<h1 data-i18n="nf.title">Page not found<\/h1>/);
  assert.match(r.text, /<a class="button" href="\/" data-i18n="nf.home">Go to the home page<\/a>/);
  assert.equal(r.headers.get('cache-control'), 'no-cache');
  // Hindi by the cookie the pages set, or by Accept-Language
  r = await req(srv.url, 'GET', '/no-such-page', { headers: { cookie: 'pravesh_lang=hi' } });
  assert.match(r.text, /<html lang="hi">/);
  assert.match(r.text, /<h1 data-i18n="nf.title">पेज नहीं मिला<\/h1>/);
  r = await req(srv.url, 'GET', '/js/missing.js', { headers: { 'accept-language': 'hi-IN,hi;q=0.9,en;q=0.8' } });
  assert.equal(r.status, 404);
  assert.match(r.text, /मुखपृष्ठ पर जाएँ/);
  r = await req(srv.url, 'GET', '/api/v1/no-such-thing');
  assert.equal(r.status, 404);
  assert.match(r.headers.get('content-type'), /^application\/problem\+json/);
  assert.equal(r.body.code, 'not_found');
  // the partials are parts of pages, not pages
  assert.equal((await req(srv.url, 'GET', '/partials/header.html')).status, 404);
});

test('pages are prepared once: text in the language, one header, inline styles, versioned modules, a policy with hashes', async () => {
  const en = await req(srv.url, 'GET', '/register');
  const hi = await req(srv.url, 'GET', '/register', { headers: { cookie: 'pravesh_lang=hi' } });
  assert.match(en.text, /<h1 data-i18n="reg.title">Register<\/h1>/);
  assert.match(hi.text, /<h1 data-i18n="reg.title">पंजीकरण<\/h1>/);
  assert.match(hi.text, /<title data-i18n="title.register">पंजीकरण — प्रवेश<\/title>/);
  assert.match(hi.text, /<option value="hi" lang="hi" selected>/);
  assert.notEqual(en.headers.get('etag'), hi.headers.get('etag'));
  assert.match(en.headers.get('vary'), /Accept-Language/);
  // the shared header, footer and noscript, from one place, on every page
  for (const p of ['/', '/register', '/login', '/admin-login', '/activate', '/mdo', '/spv', '/request-position', '/request-organisation']) {
    const r = await req(srv.url, 'GET', p);
    assert.equal(r.status, 200, p);
    assert.match(r.text, /<header class="site">\n<a class="brand" href="\/" data-i18n="app.name">Pravesh<\/a>\n<div id="session"/, p);
    assert.match(r.text, /<noscript><div class="card noscript"><p data-i18n="app.noscript">Pravesh needs JavaScript/, p);
    assert.match(r.text, /<footer class="site">/, p);
    assert.doesNotMatch(r.text, /#include/, p);
    assert.doesNotMatch(r.text, /<link rel="stylesheet"/, p);
  }
  // styles inline, modules versioned, all of the page's modules preloaded
  assert.match(en.text, /<style>[^]*?\.error-summary[^]*?<\/style>/);
  const mod = en.text.match(/<script type="module" src="\/js\/register\.js\?v=([0-9a-f]{16})"><\/script>/);
  assert.ok(mod, 'the entry module is versioned');
  for (const m of ['i18n', 'api', 'ui', 'otp', 'directory', 'combobox']) assert.match(en.text, new RegExp(`<link rel="modulepreload" href="/js/${m}\\.js\\?v=[0-9a-f]{16}">`), m);
  const map = JSON.parse(en.text.match(/<script type="importmap">(.*?)<\/script>/)[1]);
  assert.match(map.imports['/js/ui.js'], /^\/js\/ui\.js\?v=[0-9a-f]{16}$/);
  assert.match(en.text, /<link rel="preload" href="\/i18n\/en\.json\?v=[0-9a-f]{16}" as="fetch" crossorigin>/);
  assert.match(hi.text, /<link rel="preload" href="\/i18n\/hi\.json\?v=[0-9a-f]{16}" as="fetch" crossorigin>/);
  // the policy allows exactly the inline parts the page has
  const csp = en.headers.get('content-security-policy');
  const { createHash } = await import('node:crypto');
  const sha = (s) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
  assert.ok(csp.includes(sha(en.text.match(/<script type="importmap">(.*?)<\/script>/)[1])), csp);
  assert.ok(csp.includes(sha(en.text.match(/<style>([^]*?)<\/style>/)[1])), csp);
  assert.doesNotMatch(csp, /unsafe-inline/);
});

test('files: gzip once prepared, ETags and 304, immutable when the URL names the version', async () => {
  const page = await req(srv.url, 'GET', '/register');
  const url = page.text.match(/src="(\/js\/register\.js\?v=[0-9a-f]{16})"/)[1];
  const raw = await fetch(srv.url + url, { headers: { 'accept-encoding': 'identity' } });
  assert.equal(raw.headers.get('content-encoding'), null);
  assert.equal(raw.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  const body = Buffer.from(await raw.arrayBuffer());
  // node's fetch decodes gzip: ask with a raw socket-like client instead
  const http = await import('node:http');
  const gz = await new Promise((resolve, reject) => {
    http.get(srv.url + url, { headers: { 'accept-encoding': 'gzip, deflate, br' } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.ok(gz.body.length < body.length / 2, `${gz.body.length} of ${body.length} bytes`);
  const { gunzipSync } = await import('node:zlib');
  assert.deepEqual(gunzipSync(gz.body), body);
  assert.notEqual(gz.headers.etag, raw.headers.get('etag'));
  // the same file without its version, or with another: revalidated
  const plain = await req(srv.url, 'GET', '/js/register.js');
  assert.equal(plain.headers.get('cache-control'), 'no-cache');
  const stale = await req(srv.url, 'GET', '/js/register.js?v=0000000000000000');
  assert.equal(stale.headers.get('cache-control'), 'no-cache');
  // If-None-Match: 304 without a body
  const etag = raw.headers.get('etag');
  const again = await fetch(srv.url + url, { headers: { 'if-none-match': etag, 'accept-encoding': 'identity' } });
  assert.equal(again.status, 304);
  assert.equal((await again.text()).length, 0);
  // the version is the content's: it is the same after a restart
  assert.match(etag, /^"[0-9a-f]{16}"$/);
  assert.equal(url.split('v=')[1], etag.slice(1, -1));
});

// A request line whose target is not an absolute path ("GET x", "GET *")
// reaches the pages (it is not under /api/): it must be a 404, not a crash
// of the server (the folder of such a path was looked up with strrchr).
test('a request target without a leading slash is a 404 page; the server stays up', async () => {
  const { port, hostname } = new URL(srv.url);
  const raw = (target) => new Promise((resolve, reject) => {
    const s = net.connect(Number(port), hostname, () =>
      s.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let d = '';
    s.setEncoding('latin1');
    s.on('data', (x) => { d += x; });
    s.on('end', () => resolve(d));
    s.on('error', reject);
  });
  for (const target of ['x', 'register', '*']) {
    const text = await raw(target);
    const status = Number((text.match(/^HTTP\/1\.1 (\d{3})/) || [])[1]);
    assert.ok(status >= 400 && status < 500, `GET ${target}: ${text.slice(0, 80) || '(no answer)'}`);
  }
  assert.equal((await req(srv.url, 'GET', '/healthz')).status, 200, 'still serving');
});
