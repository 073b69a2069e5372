// SIGTERM: while the requests in flight drain, a new connection is refused
// at once (ECONNREFUSED: nothing was sent, a client or load balancer may
// safely send it elsewhere) instead of being taken into the listening
// socket's backlog, never served, and reset when the process exits (the
// client then cannot tell whether its request was carried out).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer } from './lib/server.mjs';

function connectOutcome(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let connected = false;
    s.on('connect', () => {
      connected = true;
      // a connection the kernel took: send a request and see what becomes of it
      s.write('GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      let got = '';
      s.on('data', (d) => { got += d; });
      s.on('close', () => resolve(got ? 'answered' : 'accepted, then closed without an answer'));
    });
    s.on('error', (e) => resolve(connected ? `accepted, then ${e.code}` : e.code));
  });
}

test('a connection made during the drain is refused, not left in the backlog', { timeout: 120000 }, async () => {
  const srv = await startServer({ env: { PRAVESH_BODY_TIMEOUT: '30' } });
  const port = Number(new URL(srv.url).port);
  // a request in flight: its body still coming, so the drain lasts
  const slow = net.connect({ host: '127.0.0.1', port });
  await new Promise((r) => slow.on('connect', r));
  slow.on('error', () => {});
  slow.write('POST /api/v1/otp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"mo');
  await new Promise((r) => setTimeout(r, 300));
  const from = srv.logs.length;
  srv.child.kill('SIGTERM');
  await srv.waitLog(/"stopping"/, from);
  await new Promise((r) => setTimeout(r, 200));
  const outcome = await connectOutcome(port);
  slow.destroy();
  const r = await srv.stop();
  assert.equal(outcome, 'ECONNREFUSED');
  assert.equal(r.code, 0);
});
