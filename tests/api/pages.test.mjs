// What the server does for the pages: the site settings they read, unknown
// pages as HTML in the chosen language, static files prepared once
// (compressed, cached by content) and the header shared by every page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, req } from './lib/server.mjs';

let srv, other;
before(async () => {
  srv = await startServer({ env: { PRAVESH_LEARNING_URL: 'https://learning.example.gov.in/start' } });
});
after(async () => { await srv?.stop(); await other?.stop(); });

test('GET /api/v1/site names the learning platform; only an http(s) URL', async () => {
  const r = await req(srv.url, 'GET', '/api/v1/site');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { learning_url: 'https://learning.example.gov.in/start' });
  other = await startServer({ env: { PRAVESH_LEARNING_URL: 'javascript:alert(1)' } });
  const bad = await req(other.url, 'GET', '/api/v1/site');
  assert.deepEqual(bad.body, { learning_url: null });
  await other.stop();
  other = null;
});
