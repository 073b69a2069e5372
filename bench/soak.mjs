// Soak driver (bench/soak.sh): mixed traffic against a running Pravesh.
//   node bench/soak.mjs URL SMS_FILE SERVER_PID OUT_TSV MINUTES [RATE]
// First, without RATE, 30 s of closed-loop traffic at 24 concurrent flows
// measures the capacity (flows per second); then MINUTES of open-loop
// traffic at half of it (or RATE flows per second): a flow starts on a fixed
// schedule whatever the previous ones do, so a slowing server shows as
// latency, not as less load. Flows, by weight (per mille): organisation
// (400) and position (100) searches, OTP logins of existing users (code,
// login, /me: 200), self-registrations (code, verification, registration:
// 80), requests for help approved or rejected by the SPV administrator
// (30), MDO user lists and upload polls (187), small bulk uploads (3). Every minute one line goes to OUT_TSV: minute,
// RSS (KiB) and open files of SERVER_PID, flows started, errors (network
// errors, 5xx and any status a flow did not expect), then p50 and p99 (ms)
// of each step in STEPS order (SOAK_REJECT_ALL=1: the SPV rejects every
// request, so that the directory does not grow), then (when SOAK_METRICS names the server's
// metrics URL) SQLite's memory in use and the C heap in use and free-held
// (KiB), read from /metrics: resident memory growing with the heap's in-use
// figure while SQLite's stays under its limit would be a leak.
import { readFileSync, readdirSync, writeFileSync, appendFileSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import http from 'node:http';

const [url, smsFile, pidArg, outFile, minutesArg, rateArg] = process.argv.slice(2);
const pid = Number(pidArg);
const minutes = Number(minutesArg);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const STEPS = ['orgs_search', 'positions_search', 'otp_send', 'auth_otp', 'me', 'otp_verify', 'registrations',
  'requests_submit', 'admin_requests', 'admin_decide', 'mdo_users', 'uploads_create', 'uploads_get'];

// ---- HTTP ----
function call(method, path, { json, body, headers = {}, token } = {}) {
  return new Promise((resolve) => {
    const h = { ...headers };
    let data = body;
    if (json !== undefined) { data = JSON.stringify(json); h['content-type'] = 'application/json'; }
    if (token) h.authorization = `Bearer ${token}`;
    if (data) h['content-length'] = Buffer.byteLength(data);
    const u = new URL(path, url);
    const t0 = process.hrtime.bigint();
    const q = http.request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers: h, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed = null;
        try { parsed = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, body: parsed, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
      });
      res.on('error', () => resolve({ status: 0, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    });
    q.on('error', () => resolve({ status: 0, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    if (data) q.write(data);
    q.end();
  });
}

// ---- per-minute figures ----
let lat = new Map(); // step -> [ms]
let errors = 0;
let started = 0;
let errSamples = [];
function record(step, r, ok) {
  if (!lat.has(step)) lat.set(step, []);
  lat.get(step).push(r.ms);
  if (!ok.includes(r.status)) {
    errors++;
    if (errSamples.length < 5) errSamples.push(`${step}:${r.status}`);
  }
  return ok.includes(r.status);
}
async function step(name, ok, method, path, opts) {
  const r = await call(method, path, opts);
  return record(name, r, ok) ? r : null;
}

// ---- the SMS file: codes by number ----
const codes = new Map();
let smsOff = 0;
function readCodes() {
  let size;
  try { size = statSync(smsFile).size; } catch { return; }
  if (size <= smsOff) return;
  const fd = openSync(smsFile, 'r');
  const buf = Buffer.alloc(size - smsOff);
  readSync(fd, buf, 0, buf.length, smsOff);
  closeSync(fd);
  const text = buf.toString('utf8');
  const last = text.lastIndexOf('\n');
  if (last < 0) return;
  smsOff += Buffer.byteLength(text.slice(0, last + 1));
  for (const line of text.slice(0, last).split('\n')) {
    if (!line) continue;
    try {
      const m = JSON.parse(line);
      const c = m.text && m.text.match(/\b(\d{6})\b/);
      if (c) codes.set(m.to, c[1]);
    } catch { /* a line being written */ }
  }
}
setInterval(readCodes, 20).unref();
async function codeFor(mobile, before) {
  for (let i = 0; i < 500; i++) {
    const c = codes.get(mobile);
    if (c && c !== before) return c;
    await new Promise((r) => setTimeout(r, 10));
  }
  errors++;
  if (errSamples.length < 5) errSamples.push(`no code for ${mobile}`);
  return null;
}

// ---- the flows ----
const pick = (a) => a[Math.floor(Math.random() * a.length)];
const words = ['justice', 'law', 'home', 'finance', 'health', 'railway', 'police', 'ministry of', 'department', 'kerala', 'education'];
const posWords = ['officer', 'assistant', 'section', 'clerk', 'director', 'secretary'];
let positionId = null;
let spv = null;
let mdo = null;
let seq = 0;
const LOGIN_USERS = Number(process.env.SOAK_USERS || 5000);

async function flowSearch() {
  await step('orgs_search', [200], 'GET', `/api/v1/orgs?q=${encodeURIComponent(pick(words))}&limit=10`);
}
async function flowPositions() {
  await step('positions_search', [200], 'GET', `/api/v1/positions?q=${pick(posWords)}`);
}
const busy = new Set(); // numbers in a login now: a second code would kill the first
async function flowLogin() {
  let mobile;
  do mobile = `9${String(Math.floor(Math.random() * LOGIN_USERS)).padStart(9, '0')}`; while (busy.has(mobile));
  busy.add(mobile);
  try {
    const before = codes.get(mobile);
    if (!await step('otp_send', [202], 'POST', '/api/v1/otp', { json: { mobile, purpose: 'login' } })) return;
    const code = await codeFor(mobile, before);
    if (!code) return;
    const r = await step('auth_otp', [200], 'POST', '/api/v1/auth/otp', { json: { mobile, code } });
    if (r) await step('me', [200], 'GET', '/api/v1/me', { token: r.body.token });
  } finally {
    busy.delete(mobile);
  }
}
async function verified(purpose, mobile) {
  const before = codes.get(mobile);
  if (!await step('otp_send', [202], 'POST', '/api/v1/otp', { json: { mobile, purpose } })) return null;
  const code = await codeFor(mobile, before);
  if (!code) return null;
  const r = await step('otp_verify', [200], 'POST', '/api/v1/otp/verify', { json: { mobile, purpose, code } });
  return r ? r.body.verification_token : null;
}
async function flowRegister() {
  const n = ++seq;
  const mobile = `8${String(100000000 + (process.pid % 1000) * 100000 + n).slice(-9)}`;
  const token = await verified('register', mobile);
  if (!token) return;
  await step('registrations', [201], 'POST', '/api/v1/registrations', { json: {
    first_name: 'Soak', last_name: 'Person', position_id: positionId, org_id: 'd-doj', email: `soak${process.pid}.${n}@example.in`,
    mobile, verification_token: token, declaration: true, terms: true,
  } });
}
async function flowRequest() {
  const n = ++seq;
  const mobile = `7${String(100000000 + (process.pid % 1000) * 100000 + n).slice(-9)}`;
  const token = await verified('request', mobile);
  if (!token) return;
  await step('requests_submit', [200, 201], 'POST', '/api/v1/requests', { json: {
    kind: 'position', full_name: 'Soak Requester', email: `req${process.pid}.${n}@example.in`, mobile,
    verification_token: token, name: `Soak Position ${process.pid} ${n}`, declaration: true,
  } });
  const list = await step('admin_requests', [200], 'GET', '/api/v1/admin/requests?status=pending&per_page=5', { token: spv });
  if (list && list.body.items.length) {
    const it = pick(list.body.items);
    const approve = !process.env.SOAK_REJECT_ALL && Math.random() < 0.5;
    await step('admin_decide', [200, 409], 'POST', `/api/v1/admin/requests/${it.id}/${approve ? 'approve' : 'reject'}`,
      { json: approve ? {} : { reason: 'Soak test rejection' }, token: spv });
  }
}
let uploads = [];
async function flowMdo() {
  await step('mdo_users', [200], 'GET', `/api/v1/mdo/users?per_page=20&q=${pick(['soak', 'bulk', 'a', ''])}`, { token: mdo });
  if (uploads.length) await step('uploads_get', [200], 'GET', `/api/v1/mdo/uploads/${pick(uploads)}`, { token: mdo });
}
async function flowUpload() {
  const n = ++seq;
  const b = '----soakBoundary';
  const rows = ['First Name,Last Name,Email Id,Mobile Number'];
  for (let i = 0; i < 50; i++) rows.push(`Bulk,Soak,bulk${process.pid}.${n}.${i}@example.in,6${String(200000000 + ((n * 50 + i) % 700000000)).slice(-9)}`);
  const body = `--${b}\r\nContent-Disposition: form-data; name="file"; filename="soak.csv"\r\nContent-Type: text/csv\r\n\r\n${rows.join('\r\n')}\r\n\r\n--${b}--\r\n`;
  const r = await step('uploads_create', [202], 'POST', '/api/v1/mdo/uploads', { body, headers: { 'content-type': `multipart/form-data; boundary=${b}` }, token: mdo });
  if (r) { uploads.push(r.body.id); if (uploads.length > 50) uploads.shift(); }
}
// a small bulk upload (50 rows, 100 welcome messages) about every 1 in 300 flows
const FLOWS = [[flowSearch, 400], [flowPositions, 100], [flowLogin, 200], [flowRegister, 80], [flowRequest, 30],
  [flowMdo, 187], [flowUpload, 3]];
const total = FLOWS.reduce((s, [, w]) => s + w, 0);
function anyFlow() {
  let x = Math.random() * total;
  for (const [f, w] of FLOWS) { if ((x -= w) < 0) return f; }
  return flowSearch;
}

// ---- administrators ----
async function adminLogin(username, password) {
  const first = await call('POST', '/api/v1/auth/password', { json: { username, password } });
  if (first.status !== 200) throw new Error(`login ${username}: ${first.status}`);
  if (first.body.token) return first.body.token;
  const tail = first.body.mobile_hint.replace(/\*/g, '');
  for (let i = 0; i < 1000; i++) {
    readCodes();
    for (const [to, c] of codes) if (to.endsWith(tail)) {
      const r = await call('POST', '/api/v1/auth/password/otp', { json: { challenge: first.body.challenge, code: c } });
      if (r.status === 200) return r.body.token;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no second factor for ${username}`);
}

const metricsUrl = process.env.SOAK_METRICS || '';
async function memFigures() {
  const m = { sqlite: -1, inUse: -1, freeHeld: -1 };
  if (!metricsUrl) return m;
  const text = await new Promise((resolve) => {
    http.get(metricsUrl, { timeout: 5000 }, (res) => {
      let t = '';
      res.on('data', (c) => { t += c; });
      res.on('end', () => resolve(t));
      res.on('error', () => resolve(''));
    }).on('timeout', function () { this.destroy(); }).on('error', () => resolve(''));
  });
  const num = (re) => { const x = text.match(re); return x ? Math.round(Number(x[1]) / 1024) : -1; };
  m.sqlite = num(/^pravesh_sqlite_memory_bytes\{kind="used"\} (\d+)/m);
  m.inUse = num(/^pravesh_malloc_bytes\{state="in_use"\} (\d+)/m);
  m.freeHeld = num(/^pravesh_malloc_bytes\{state="free_held"\} (\d+)/m);
  return m;
}

function procFigures() {
  let rss = 0;
  let fds = -1;
  try { rss = Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]); } catch { /* gone */ }
  try { fds = readdirSync(`/proc/${pid}/fd`).length; } catch { /* gone */ }
  return { rss, fds };
}

const q = (a, p) => (a.length ? a[Math.min(a.length - 1, Math.floor(p * a.length))] : 0);
// the minute's figures are taken and reset at once; the memory figures
// (an HTTP request) are added when they come
async function flushMinute(minute) {
  const { rss, fds } = procFigures();
  const cols = [minute, rss, fds, started, errors];
  for (const s of STEPS) {
    const a = (lat.get(s) || []).sort((x, y) => x - y);
    cols.push(q(a, 0.5).toFixed(2), q(a, 0.99).toFixed(2));
  }
  const samples = errSamples;
  lat = new Map();
  errors = 0;
  started = 0;
  errSamples = [];
  const mem = await memFigures();
  cols.push(mem.sqlite, mem.inUse, mem.freeHeld);
  appendFileSync(outFile, cols.join('\t') + '\n');
  console.log(`minute ${minute}: rss ${(rss / 1024).toFixed(1)} MiB` +
    (mem.inUse >= 0 ? ` (heap in use ${(mem.inUse / 1024).toFixed(1)}, free held ${(mem.freeHeld / 1024).toFixed(1)}, sqlite ${(mem.sqlite / 1024).toFixed(1)})` : '') +
    `, fds ${fds}, flows ${cols[3]}, errors ${cols[4]}` +
    (samples.length ? ` (${samples.join(', ')})` : '') +
    `, search p50/p99 ${cols[5]}/${cols[6]} ms`);
}

// ---- main ----
const pos = await call('GET', '/api/v1/positions?q=officer');
positionId = pos.body.items[0].id;
spv = await adminLogin('soak.spv', 'a long enough password');
mdo = await adminLogin('soak.mdo', 'a long enough password');

let rate = Number(rateArg || 0);
if (!rate) {
  // capacity: closed loop, 24 concurrent flows, 30 s
  let done = 0;
  const until = Date.now() + 30000;
  await Promise.all(Array.from({ length: 24 }, async () => {
    while (Date.now() < until) { await anyFlow()(); done++; }
  }));
  rate = done / 30 / 2;
  console.log(`capacity: ${(done / 30).toFixed(1)} flows/s; soaking at ${rate.toFixed(1)} flows/s (half)`);
  lat = new Map(); errors = 0; errSamples = [];
}
writeFileSync(outFile, ['minute', 'rss_kib', 'fds', 'flows', 'errors', ...STEPS.flatMap((s) => [`${s}_p50`, `${s}_p99`]),
  'sqlite_kib', 'heap_in_use_kib', 'heap_free_kib'].join('\t') + '\n');
const t0 = Date.now();
const end = t0 + minutes * 60000;
let minute = 0;
let inflight = 0;
const period = 1000 / rate;
let next = Date.now();
while (Date.now() < end) {
  const now = Date.now();
  while (next <= now) {
    next += period;
    started++;
    inflight++;
    anyFlow()().finally(() => { inflight--; });
  }
  if (now - t0 >= (minute + 1) * 60000) flushMinute(++minute);
  await new Promise((r) => setTimeout(r, Math.max(1, Math.min(50, next - Date.now()))));
}
while (inflight > 0) await new Promise((r) => setTimeout(r, 50));
if (started || lat.size) await flushMinute(++minute);
agent.destroy();
