// SIGTERM under load: mixed traffic (searches, health checks, OTP requests,
// upload polls), an upload whose body is still streaming in and a bulk
// upload being processed. Every request the server had begun is answered
// whole (no access line marked aborted, no client left with a cut answer;
// a request the server never saw may be refused), the streaming upload is
// accepted, the server exits 0, and on the next start the bulk upload
// resumes and finishes with exactly the counts of an uninterrupted run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, req, cli, sql as storeSql } from './lib/server.mjs';

const N = 200000; // rows of the bulk upload: long enough to be running at the signal (60,000 were
// not: a clean-clone run found them all written, cursor N + 1, at the signal)

// One request on a fresh connection (no keep-alive: a connection is either
// refused, or carries its request and its whole answer). Resolves
// {rid, status, error} and never rejects.
function one(url, method, path, { body, headers = {}, rid }) {
  return new Promise((resolve) => {
    const u = new URL(path, url);
    const h = { ...headers, 'x-request-id': rid, connection: 'close' };
    if (body) h['content-length'] = Buffer.byteLength(body);
    const q = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers: h, agent: false }, (res) => {
      let got = 0;
      res.on('data', (d) => { got += d.length; });
      res.on('end', () => {
        const len = Number(res.headers['content-length']);
        resolve({ rid, status: res.statusCode, whole: Number.isNaN(len) || len === got });
      });
      res.on('error', (e) => resolve({ rid, error: e.code || e.message, partial: true }));
    });
    q.on('error', (e) => resolve({ rid, error: e.code || e.message }));
    if (body) q.write(body);
    q.end();
  });
}

test('SIGTERM during mixed traffic and a running upload: in-flight requests finish, the upload resumes', { timeout: 600000 }, async () => {
  // shutdown, not shedding, is under test here: no queue timeout
  const env = { PRAVESH_OTP_PER_IP_HOUR: '100000', PRAVESH_OTP_RESEND: '0', PRAVESH_LOG: 'info',
    PRAVESH_QUEUE_TIMEOUT_MS: '0' };
  const srv = await startServer({ env });
  const a = cli(['admin', 'create', '--role', 'mdo', '--username', 'mdo.stop', '--org', 'd-doj', '--first-name', 'M',
    '--last-name', 'S', '--email', 'mdo.stop@doj.gov.in', '--mobile', '6000000501'], srv.env, 'a long enough password\n');
  assert.equal(a.status, 0, a.stderr);
  const login = await srv.adminLogin('mdo.stop', 'a long enough password');
  assert.equal(login.status, 200, login.text);
  const auth = { authorization: `Bearer ${login.body.token}` };

  // the bulk upload, running
  const lines = ['First Name,Last Name,Email Id,Mobile Number'];
  for (let i = 0; i < N; i++) lines.push(`Stop,Person,stop${i}@example.in,${7300000000 + i}`);
  const fd = new FormData();
  fd.append('file', new Blob([lines.join('\n') + '\n'], { type: 'text/csv' }), 'bulk.csv');
  const up = await req(srv.url, 'POST', '/api/v1/mdo/uploads', { body: fd, bearer: login.body.token });
  assert.equal(up.status, 202, up.text);
  for (;;) {
    const r = await req(srv.url, 'GET', `/api/v1/mdo/uploads/${up.body.id}`, { bearer: login.body.token });
    if (r.body.success_records > 0) { assert.equal(r.body.status, 'IN_PROGRESS'); break; }
    await new Promise((res) => setTimeout(res, 20));
  }

  // an upload streaming in slowly: its body takes about two seconds
  const boundary = '----stopTestBoundary';
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.csv"\r\nContent-Type: text/csv\r\n\r\nFirst Name,Last Name,Email Id,Mobile Number\r\n`;
  const rows = [];
  for (let i = 0; i < 4000; i++) rows.push(`Slow,Person,slow${i}@example.in,${7400000000 + i}\r\n`);
  const tail = `\r\n--${boundary}--\r\n`;
  const bodyLen = Buffer.byteLength(head) + Buffer.byteLength(rows.join('')) + Buffer.byteLength(tail);
  let slowDone;
  const slow = new Promise((resolve) => { slowDone = resolve; });
  const sq = http.request({ host: '127.0.0.1', port: new URL(srv.url).port, path: '/api/v1/mdo/uploads', method: 'POST', agent: false,
    headers: { ...auth, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': bodyLen, 'x-request-id': 'slow-upload-0001' } },
  (res) => { let t = ''; res.on('data', (d) => { t += d; }); res.on('end', () => slowDone({ status: res.statusCode, text: t })); });
  sq.on('error', (e) => slowDone({ error: e.code || e.message }));
  sq.write(head);
  const writing = (async () => {
    for (let i = 0; i < rows.length; i += 100) {
      sq.write(rows.slice(i, i + 100).join(''));
      await new Promise((res) => setTimeout(res, 60));
    }
    sq.end(tail);
  })();

  // mixed traffic from eight clients until the server stops listening
  const results = [];
  let stopSent = false;
  let seq = 0;
  const client = async (k) => {
    for (let i = 0; ; i++) {
      const rid = `mix-${k}-${String(seq++).padStart(6, '0')}`;
      const kind = (i + k) % 8 === 0 ? 2 : (i + k) % 3 === 2 ? 3 : (i + k) % 3;
      let r;
      if (kind === 0) r = await one(srv.url, 'GET', '/api/v1/orgs?q=justice', { rid });
      else if (kind === 1) r = await one(srv.url, 'GET', '/api/v1/site', { rid });
      else if (kind === 2) {
        const mobile = `97${String(k).padStart(2, '0')}${String(i).padStart(6, '0')}`;
        r = await one(srv.url, 'POST', '/api/v1/otp', { rid, body: JSON.stringify({ mobile, purpose: 'register' }), headers: { 'content-type': 'application/json' } });
      } else r = await one(srv.url, 'GET', `/api/v1/mdo/uploads/${up.body.id}`, { rid, headers: auth });
      r.afterStop = stopSent;
      results.push(r);
      if (r.error === 'ECONNREFUSED') return;
    }
  };
  const clients = Array.from({ length: 8 }, (_, k) => client(k));
  await new Promise((res) => setTimeout(res, 400)); // traffic flowing, the slow body not all sent
  stopSent = true;
  const logFrom = srv.logs.length;
  srv.child.kill('SIGTERM');
  const exit = await new Promise((res) => srv.child.on('close', (code, sig) => res({ code, sig })));
  await Promise.all(clients);
  await writing;
  const slowAnswer = await slow;

  assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}`);
  assert.ok(srv.logs.slice(logFrom).some((l) => /"msg":"stopping"/.test(l)));
  // the upload that was streaming in was taken whole
  assert.equal(slowAnswer.status, 202, JSON.stringify(slowAnswer));
  // nothing the server began was cut: no aborted access line...
  const access = srv.logs.filter((l) => /"msg":"request"/.test(l)).map((l) => JSON.parse(l));
  const aborted = access.filter((l) => l.aborted);
  assert.deepEqual(aborted, [], 'no request was aborted');
  // ...every answer a client got was whole, and a client left without an
  // answer asked something the server never began
  const seen = new Set(access.map((l) => l.request_id));
  const answered = results.filter((r) => r.status);
  assert.ok(answered.length > 10, `traffic flowed (${answered.length} answers)`);
  assert.ok(answered.filter((r) => r.afterStop).length > 0, 'requests were in flight at the signal');
  for (const r of answered) assert.ok(r.whole, `a cut answer: ${JSON.stringify(r)}`);
  for (const r of results.filter((x) => x.error)) {
    assert.ok(!r.partial, `an answer cut mid-way: ${JSON.stringify(r)}`);
    assert.ok(!seen.has(r.rid), `the server began ${r.rid} but the client got ${r.error}`);
  }
  for (const r of answered) assert.ok([200, 202].includes(r.status), JSON.stringify(r));
  // the running upload was handed back between two chunks, part done
  const [status, cursor] = storeSql(srv, `SELECT status, cursor_pos FROM uploads WHERE id = '${up.body.id}'`).split('|');
  assert.equal(status, 'QUEUED', 'handed back at the stop');
  assert.ok(Number(cursor) > 1 && Number(cursor) < N + 1, `part done (cursor ${cursor})`);

  // the next start resumes the bulk upload and finishes it exactly
  const again = await startServer({ dataDir: srv.dir, env });
  try {
    // the session outlives the process (it is in the store): a new login
    // would wait for its code behind the welcome messages already queued
    const l2 = { body: { token: login.body.token } };
    let done;
    for (;;) {
      done = (await req(again.url, 'GET', `/api/v1/mdo/uploads/${up.body.id}`, { bearer: l2.body.token })).body;
      if (done.status === 'SUCCESSFUL' || done.status === 'FAILED') break;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(done.status, 'SUCCESSFUL', JSON.stringify(done));
    assert.equal(done.total_records, N);
    assert.equal(done.success_records, N);
    // each row once (a name search counts at most 1,000: the store is asked)
    const stored = storeSql(again, "SELECT count(*) FROM users WHERE first_name = 'Stop' AND last_name = 'Person'");
    assert.equal(Number(stored), N, 'each row once');
  } finally {
    await again.stop();
  }
});

// A connection kept alive from before the signal carries a new request
// while a request begun before it still holds the stop (its body comes
// slowly): the new one is served, with Connection: close (the client goes
// elsewhere for the next), the one in flight is answered in full and its
// connection closed too, and the server exits 0.
test('a request begun on a kept-alive connection after SIGTERM: served, then the connection closed; the one in flight answered', { timeout: 60000 }, async () => {
  const srv = await startServer({ env: { PRAVESH_LOG: 'info', PRAVESH_METRICS_LISTEN: '127.0.0.1:0' } });
  assert.equal((await req(srv.metricsUrl, 'GET', '/healthz')).status, 200);
  const port = new URL(srv.url).port;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const sockets = new Set();
  const get = (p = '/api/v1/site', a = agent) => new Promise((resolve) => {
    const q = http.request({ host: '127.0.0.1', port, path: p, agent: a }, (res) => {
      let t = '';
      res.on('data', (d) => { t += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: t }));
    });
    if (a === agent) q.on('socket', (s) => sockets.add(s));
    q.on('error', (e) => resolve({ error: e.code || e.message }));
    q.end();
  });
  const first = await get();
  assert.equal(first.status, 200);
  // a readiness probe on its own kept-alive connection
  const probeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  assert.equal((await get('/healthz', probeAgent)).status, 200);

  const body = JSON.stringify({ mobile: '9876500001', purpose: 'register' });
  let slowDone;
  const slow = new Promise((resolve) => { slowDone = resolve; });
  const slowAgent = new http.Agent({ keepAlive: true, maxSockets: 1 }); // keep-alive asked
  const sq = http.request({ host: '127.0.0.1', port, path: '/api/v1/otp', method: 'POST', agent: slowAgent,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
    let t = '';
    res.on('data', (d) => { t += d; });
    res.on('end', () => slowDone({ status: res.statusCode, text: t, connection: res.headers.connection }));
  });
  sq.on('error', (e) => slowDone({ error: e.code || e.message }));
  sq.write(body.slice(0, 10));
  await new Promise((r) => setTimeout(r, 300)); // begun by the server

  const exited = new Promise((res) => srv.child.on('close', (code, sig) => res({ code, sig })));
  srv.child.kill('SIGTERM');
  for (let i = 0; i < 200 && !srv.logs.some((l) => /"msg":"stopping"/.test(l)); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(srv.logs.some((l) => /"msg":"stopping"/.test(l)), 'the server is stopping');
  // the server is stopping once its listener is closed (set before)
  for (let i = 0; i < 500; i++) {
    const probe = await new Promise((resolve) => {
      const q = http.request({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => { res.resume(); res.on('end', () => resolve('answered')); });
      q.on('error', (e) => resolve(e.code));
      q.end();
    });
    if (probe === 'ECONNREFUSED') break;
    await new Promise((r) => setTimeout(r, 10));
  }

  const late = await get();
  assert.equal(late.status, 200, JSON.stringify(late));
  assert.equal(late.headers.connection, 'close');
  assert.equal(sockets.size, 1, 'the kept-alive connection carried it');
  // the probes say the instance is going: 503 stopping, connection closed;
  // on the internal listener too (its metrics are still served)
  const inner = await req(srv.metricsUrl, 'GET', '/healthz');
  assert.equal(inner.status, 503, inner.text);
  assert.equal(inner.body.code, 'stopping');
  assert.equal(inner.headers.get('retry-after'), '1');
  assert.equal((await req(srv.metricsUrl, 'GET', '/metrics')).status, 200);
  const health = await get('/healthz', probeAgent);
  assert.equal(health.status, 503, JSON.stringify(health));
  assert.equal(JSON.parse(health.text).code, 'stopping');
  assert.equal(health.headers['retry-after'], '1');
  assert.equal(health.headers.connection, 'close');
  probeAgent.destroy();
  const after = await get(); // a new connection: the listener is closed
  assert.equal(after.error, 'ECONNREFUSED', JSON.stringify(after));

  sq.end(body.slice(10));
  const answer = await slow;
  assert.ok([200, 202].includes(answer.status), JSON.stringify(answer));
  assert.equal(answer.connection, 'close', 'begun before the signal, closed after its answer');
  slowAgent.destroy();
  const exit = await exited;
  assert.equal(exit.code, 0, JSON.stringify(exit));
  agent.destroy();
});

// Past the grace (10 s, held by a body that never ends), nothing more is
// served: a request on a connection kept alive from before gets 503
// `stopping` with Retry-After and Connection: close while the server lets
// the last answers go out; then it exits 0.
test('past the stop grace: 503 stopping, Connection: close, then exit 0', { timeout: 60000 }, async () => {
  // idle connections and the silent body outlive the grace (the idle
  // timeout follows the header timeout, 10 s by default)
  const srv = await startServer({ env: { PRAVESH_LOG: 'info', PRAVESH_HEADER_TIMEOUT: '30' } });
  const port = new URL(srv.url).port;
  // idle kept-alive connections, each carried one request before the signal
  const agents = [];
  for (let i = 0; i < 40; i++) agents.push(new http.Agent({ keepAlive: true, maxSockets: 1 }));
  const get = (agent) => new Promise((resolve) => {
    const q = http.request({ host: '127.0.0.1', port, path: '/api/v1/site', agent }, (res) => {
      let t = '';
      res.on('data', (d) => { t += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: t }));
    });
    q.on('error', (e) => resolve({ error: e.code || e.message }));
    q.end();
  });
  for (const a of agents) assert.equal((await get(a)).status, 200);
  // a body that never ends holds the grace to its end
  const sq = http.request({ host: '127.0.0.1', port, path: '/api/v1/otp', method: 'POST', agent: false,
    headers: { 'content-type': 'application/json', 'content-length': 1000 } });
  sq.on('error', () => {});
  sq.write('{"mobile":');
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  const exited = new Promise((res) => srv.child.on('close', (code, sig) => res({ code, sig })));
  srv.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 9000));
  const seen = [];
  for (const a of agents) {
    const r = await get(a);
    seen.push({ at: Date.now() - t0, ...r });
    if (r.status === 503 || r.error) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  const refused = seen.find((r) => r.status === 503);
  assert.ok(refused, `a 503 after the grace: ${JSON.stringify(seen.map((r) => [r.at, r.status || r.error]))}`);
  assert.equal(JSON.parse(refused.text).code, 'stopping');
  assert.equal(refused.headers['retry-after'], '1');
  assert.equal(refused.headers.connection, 'close');
  assert.ok(refused.at >= 9500, `only after the grace (${refused.at} ms)`);
  for (const r of seen.filter((x) => x.status === 200)) assert.equal(r.headers.connection, 'close');
  const exit = await exited;
  assert.equal(exit.code, 0, JSON.stringify(exit));
  sq.destroy();
  for (const a of agents) a.destroy();
});
