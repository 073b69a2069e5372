// Starts the real pravesh binary on a free loopback port with its own data
// directory, for black-box tests. Every test file starts its own server.
// With PRAVESH_TEST_PG_URL set (a PostgreSQL base URL such as
// postgresql://postgres@127.0.0.1:5432, see scripts/pg-cluster.sh), each
// new server gets a fresh PostgreSQL database of its own instead of an
// SQLite file; a server restarted on the same data directory finds the
// same database again.
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonLines } from './sms.mjs';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const bin = process.env.PRAVESH_BIN || path.join(root, 'build/pravesh');

// Runs a pravesh command synchronously with the given settings; returns
// {status, stdout, stderr}.
export function cli(args, env = {}, input) {
  try {
    const stdout = execFileSync(bin, args, {
      cwd: root, env: { ...process.env, ...env }, input, encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return { status: 0, stdout, stderr: '' };
  } catch (e) {
    return { status: e.status, stdout: e.stdout || '', stderr: e.stderr || '' };
  }
}

export const pgBase = process.env.PRAVESH_TEST_PG_URL || '';

// A new, empty PostgreSQL database on the test cluster; returns its URL.
export function createPgDatabase(prefix = 'pv') {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  execFileSync('psql', [`${pgBase}/postgres`, '-qAtX', '-c', `CREATE DATABASE ${name}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  return `${pgBase}/${name}`;
}

export function dropPgDatabase(url) {
  const name = url.slice(url.lastIndexOf('/') + 1);
  try {
    execFileSync('psql', [`${pgBase}/postgres`, '-qAtX', '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch { /* the cluster goes away at the end anyway */ }
}

// The store of a data directory: its own PostgreSQL database (made once,
// remembered in the directory) when testing against PostgreSQL, else an
// SQLite file in it.
export function storeUrl(dir) {
  if (!pgBase) return `sqlite:${dir}/pravesh.db`;
  const f = path.join(dir, '.test-pg-url');
  if (existsSync(f)) return readFileSync(f, 'utf8').trim();
  const url = createPgDatabase();
  writeFileSync(f, url, { mode: 0o600 });
  return url;
}

// Runs one SQL statement against a server's store (its env.PRAVESH_DB) and
// returns the rows as text, one per line, columns separated by '|'. Write
// portable SQL: it runs on SQLite and on PostgreSQL.
export function sql(srvOrEnv, statement) {
  const db = (srvOrEnv.env || srvOrEnv).PRAVESH_DB;
  if (db.startsWith('postgres')) {
    return execFileSync('psql', [db, '-qAtX', '-v', 'ON_ERROR_STOP=1', '-c', statement], { encoding: 'utf8', maxBuffer: 64 << 20 }).trim();
  }
  // The server may be writing (its outbox worker, a login): wait for its
  // lock as the server itself does, instead of sqlite3's default of failing
  // at once with "database is locked".
  return execFileSync('sqlite3', ['-cmd', '.timeout 10000', db.replace(/^sqlite:/, ''), statement], { encoding: 'utf8', maxBuffer: 64 << 20 }).trim();
}

export async function startServer({ env = {}, loadDefaults = true, dataDir } = {}) {
  const dir = dataDir || mkdtempSync(path.join(tmpdir(), 'pravesh-test-'));
  const base = {
    PRAVESH_DATA_DIR: dir,
    PRAVESH_DB: env.PRAVESH_DB || storeUrl(dir),
    PRAVESH_LISTEN: '127.0.0.1:0',
    PRAVESH_WEB_ROOT: path.join(root, 'web'),
    PRAVESH_TEMPLATES: path.join(root, 'templates'),
    PRAVESH_LOG: 'info',
    PRAVESH_SMS: `file:${dir}/sms.jsonl`,
    ...env,
  };
  if (loadDefaults && !dataDir) {
    for (const args of [['orgs', 'load', 'data/orgs.csv'], ['positions', 'load', 'data/positions.csv']]) {
      const r = cli(args, base);
      if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
    }
  }
  const child = spawn(bin, ['serve'], { cwd: root, env: { ...process.env, ...base }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs = [];
  let stdout = '';
  child.stderr.setEncoding('utf8');
  let pending = '';
  child.stderr.on('data', (d) => {
    pending += d;
    let i;
    while ((i = pending.indexOf('\n')) >= 0) { logs.push(pending.slice(0, i)); pending = pending.slice(i + 1); }
  });
  const url = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('server did not start: ' + logs.join('\n'))), 20000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = stdout.match(/serving on (http:\/\/[0-9.]+:\d+)/);
      if (m) { clearTimeout(t); resolve(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(t); reject(new Error(`server exited ${code}: ${logs.join('\n')}`)); });
  });
  child.removeAllListeners('exit');
  // 'close', not 'exit': the server's last lines (access lines, a sanitizer's
  // report at exit) are in `logs` only once its output pipes are drained
  const exited = new Promise((resolve) => child.on('close', (code, sig) => resolve({ code, sig })));
  const mm = stdout.match(/Metrics are served on (http:\/\/[0-9.]+:\d+)\/metrics/);
  return {
    url, dir, logs, child, env: base, stdoutText: () => stdout,
    metricsUrl: mm ? mm[1] : null,
    // An administrator's login in both steps (password, then the code sent
    // by SMS); answers like the one-step login did: {status, body:{token,...}}.
    adminLogin: (username, password, opts = {}) => adminLogin(url, base.PRAVESH_SMS, username, password, opts),
    // The server's log lines from index `from` on, once one matches re (its
    // standard error reaches us asynchronously); throws after timeoutMs.
    async waitLog(re, from = 0, timeoutMs = 10000) {
      const t0 = Date.now();
      for (;;) {
        const text = logs.slice(from).join('\n');
        if (re.test(text)) return text;
        if (Date.now() - t0 > timeoutMs) throw new Error(`no log line matching ${re}:\n${text}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop({ keep = false, signal = 'SIGTERM' } = {}) {
      child.kill(signal);
      const r = await exited;
      if (!keep) {
        if (base.PRAVESH_DB.startsWith('postgres') && !env.PRAVESH_DB) dropPgDatabase(base.PRAVESH_DB);
        rmSync(dir, { recursive: true, force: true });
      }
      // a sanitizer build reports on standard error without stopping
      // (ThreadSanitizer): any report fails the test that ran the server
      const i = logs.findIndex((l) => /WARNING: ThreadSanitizer|ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:/.test(l));
      if (i >= 0) throw new Error(`sanitizer report from the server:\n${logs.slice(i, i + 60).join('\n')}`);
      return r;
    },
  };
}

// fetch with JSON helpers; returns {status, headers, body (parsed JSON or text)}.
export async function req(base, method, p, { json, headers = {}, body, cookie, bearer, csrf } = {}) {
  const h = { ...headers };
  if (json !== undefined) { h['content-type'] = 'application/json'; body = JSON.stringify(json); }
  if (cookie) h.cookie = cookie;
  if (bearer) h.authorization = `Bearer ${bearer}`;
  if (csrf) h['x-csrf-token'] = csrf;
  const r = await fetch(base + p, { method, headers: h, body, redirect: 'manual' });
  const text = await r.text();
  let parsed = text;
  const ct = r.headers.get('content-type') || '';
  if (ct.includes('json') && text) parsed = JSON.parse(text);
  return { status: r.status, headers: r.headers, body: parsed, text };
}

// The SMS messages a file: transport wrote.
function smsFileMessages(smsSetting) {
  const file = smsSetting && smsSetting.startsWith('file:') ? smsSetting.slice(5) : null;
  return file ? jsonLines(file) : [];
}

// Both steps of an administrator's login. The code is read from the SMS
// file (the newest message to a number ending with the hint's digits). The
// code waits its turn in the outbox: after a large upload it may stand
// behind tens of thousands of welcome messages, hence the long wait.
export async function adminLogin(url, smsSetting, username, password, { headers = {}, timeoutMs = 90000 } = {}) {
  const before = smsFileMessages(smsSetting).length;
  const first = await req(url, 'POST', '/api/v1/auth/password', { json: { username, password }, headers });
  if (first.status !== 200 || !first.body.challenge) return first;
  const tail = first.body.mobile_hint.replace(/\*/g, '');
  const t0 = Date.now();
  // The outbox delivers asynchronously: the code of an earlier login to the
  // same number (which this one killed) may arrive after `before`, even
  // after ours. A refused code is therefore followed by the next one to
  // arrive (each wrong try costs one of the challenge's three).
  const tried = new Set();
  for (;;) {
    const m = smsFileMessages(smsSetting).slice(before).filter((x) => x.to.endsWith(tail) && x.template === 'otp_sms');
    const code = m.map((x) => x.text.match(/\b(\d{6})\b/)[1]).reverse().find((c) => !tried.has(c));
    if (code) {
      tried.add(code);
      const r = await req(url, 'POST', '/api/v1/auth/password/otp', { json: { challenge: first.body.challenge, code }, headers });
      if (r.status !== 401 || r.body.code !== 'login_failed' || !(r.body.attempts_left > 0)) return r;
      continue;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`no second-factor code for ${username}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
