// The command line as a person meets it: help on standard output, each
// command's --help with only its own options, `orgs search` to find ids,
// messages that name what they are about, `admin create --role mdo` needs
// --org, a terminal's progress line without JSON log lines between, and no
// word of welcome messages when nothing was imported.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cli, bin, root } from './lib/server.mjs';

let dir, env;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pravesh-cli-'));
  env = { PRAVESH_DATA_DIR: dir, PRAVESH_DB: `sqlite:${dir}/pravesh.db`, PRAVESH_LOG: 'info' };
  assert.equal(cli(['orgs', 'load', 'data/orgs.csv'], env).status, 0);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('pravesh help goes to standard output; no command is a mistake on standard error', () => {
  const h = spawnSync(bin, ['help'], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
  assert.equal(h.status, 0);
  assert.match(h.stdout, /^usage: pravesh COMMAND/);
  assert.match(h.stdout, /pravesh orgs search TEXT/);
  assert.match(h.stdout, /PRAVESH_LEARNING_URL/);
  assert.equal(h.stderr, '');
  const none = spawnSync(bin, [], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
  assert.equal(none.status, 2);
  assert.equal(none.stdout, '');
  assert.match(none.stderr, /^usage: pravesh COMMAND/);
});

test('import --help shows the import\'s own options only', () => {
  const r = cli(['import', '--help'], env);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^usage: pravesh import --org ID \[--result OUT\] FILE/);
  assert.match(r.stdout, /--org ID/);
  assert.match(r.stdout, /--result OUT/);
  assert.doesNotMatch(r.stdout, /PRAVESH_SSO|--otp-ttl|--listen/);
});

test('orgs search finds organisation ids', () => {
  const r = cli(['orgs', 'search', 'justice'], env);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.ok(lines.includes('d-doj\tDepartment of Justice\tunder Ministry of Law and Justice'), r.stdout);
  assert.ok(lines.some((l) => l.startsWith('m-law\tMinistry of Law and Justice')));
  assert.equal(cli(['orgs', 'search', 'justice', '--limit', '1'], env).stdout.trim().split('\n').length, 1);
  const none = cli(['orgs', 'search', 'zzzqqq'], env);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no active organisation matches 'zzzqqq'/);
  assert.equal(cli(['orgs', 'search'], env).status, 2);
});

test('admin create --role mdo without --org is an error; messages name what they are about', () => {
  const args = ['admin', 'create', '--role', 'mdo', '--username', 'mdo.x', '--first-name', 'A', '--last-name', 'B', '--email', 'a.b@doj.gov.in', '--mobile', '9876512340'];
  let r = cli(args, env, 'a long enough password\n');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /an MDO administrator needs --org ID/);
  r = cli([...args, '--org', 'no-such-org'], env, 'a long enough password\n');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /administrator mdo\.x \(organisation no-such-org\) not created/);
  r = cli(['import', '--org', 'no-such-org', path.join(root, 'data/positions.csv')], env);
  assert.match(r.stderr, /no organisation with id no-such-org/);
});

test('an import that fails as a whole says so, and nothing of welcome messages', () => {
  const f = path.join(dir, 'no mobile column.csv');
  writeFileSync(f, 'First Name,Last Name,Email Id\r\nAsha,Verma,asha@doj.gov.in\r\n');
  const r = cli(['import', '--org', 'd-doj', f], env);
  assert.equal(r.status, 1);
  assert.match(r.stdout, /FAILED/);
  assert.match(r.stdout, /no mobile column\.csv: nothing imported/);
  assert.doesNotMatch(r.stdout, /welcome/);
  const good = path.join(dir, 'staff.csv');
  writeFileSync(good, 'First Name,Last Name,Email Id,Mobile Number\r\nAsha,Verma,asha@doj.gov.in,9876512341\r\n');
  const ok = cli(['import', '--org', 'd-doj', good], env);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /welcome messages for 1 new user wait in the store/);
});

test('on a terminal the progress line has no JSON log lines between', () => {
  const f = path.join(dir, 'many.csv');
  const rows = ['First Name,Last Name,Email Id,Mobile Number'];
  for (let i = 0; i < 300; i++) rows.push(`Person,Number${String.fromCharCode(65 + (i % 26))},p${i}@doj.gov.in,97111${String(i).padStart(5, '0')}`);
  writeFileSync(f, rows.join('\r\n') + '\r\n');
  // script(1) gives the command a terminal; its output is what a person sees
  const cmd = `${bin} import --org d-doj ${f}`;
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /rows/);
  assert.doesNotMatch(r.stdout, /\{"ts":/, 'no JSON log line on the terminal');
  // off a terminal the log lines are there as before
  const plain = cli(['import', '--org', 'd-doj', f], env);
  assert.match(plain.stderr, /\{"ts":/);
});
