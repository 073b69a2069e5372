// The SPV administrator's tools over HTTP: the MDO administrators with
// their organisation, username, status and last login, and their status
// changed by an SPV only; the directory browsed, organisations renamed,
// moved (never under themselves) and deactivated (never over an active
// child), positions renamed and deactivated; the organisation types; and
// the audit log readable (names, usernames, filters), command-line
// imports included.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startServer, req, cli } from './lib/server.mjs';

let srv;
const tokens = {};
const PW = 'a long enough password';

function admin(role, username, org, mobile, email, first = 'Test', last = 'Admin') {
  const args = ['admin', 'create', '--role', role, '--username', username, '--first-name', first,
    '--last-name', last, '--email', email, '--mobile', mobile];
  if (org) args.push('--org', org);
  const r = cli(args, srv.env, PW + '\n');
  assert.equal(r.status, 0, r.stderr);
}

async function login(username) {
  const r = await srv.adminLogin(username, PW);
  assert.equal(r.status, 200, r.text);
  return r.body.token;
}

const get = (p, who = 'spv') => req(srv.url, 'GET', p, { bearer: tokens[who] });
const send = (method, p, json, who = 'spv') => req(srv.url, method, p, { json, bearer: tokens[who] });

before(async () => {
  const d = mkdtempSync(path.join(tmpdir(), 'pravesh-spv-'));
  // logins one after another: no resend wait for the second-factor codes
  srv = await startServer({ env: { PRAVESH_SMS: `file:${path.join(d, 'sms.jsonl')}`, PRAVESH_OTP_RESEND: '0' } });
  admin('spv', 'spv.one', null, '6000000201', 'spv.one@nic.in', 'Sita', 'Ram');
  admin('mdo', 'mdo.doj', 'd-doj', '6000000202', 'mdo.doj@doj.gov.in', 'Meera', 'Iyer');
  admin('mdo', 'mdo.dopt', 'd-dopt', '6000000203', 'mdo.dopt@dopt.gov.in', 'Arjun', 'Das');
  tokens.spv = await login('spv.one');
  tokens.doj = await login('mdo.doj');
});
after(async () => { await srv.stop(); });

test('the MDO administrators: organisation, name, username, status, last login; filters', async () => {
  const r = await get('/api/v1/admin/mdo-admins');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.total, 2);
  // ordered by organisation name: Department of Justice before ... Personnel and Training
  assert.deepEqual(r.body.items.map((a) => a.username), ['mdo.doj', 'mdo.dopt']);
  const doj = r.body.items[0];
  assert.equal(doj.first_name, 'Meera');
  assert.equal(doj.last_name, 'Iyer');
  assert.equal(doj.status, 'active');
  assert.equal(doj.org.id, 'd-doj');
  assert.equal(doj.org.name, 'Department of Justice');
  assert.equal(doj.org.under, 'Ministry of Law and Justice');
  assert.match(doj.last_login_at, /^\d{4}-\d\d-\d\dT/, 'logged in above');
  assert.equal(r.body.items[1].last_login_at, null, 'never logged in');
  assert.equal((await get('/api/v1/admin/mdo-admins?q=ARJUN')).body.items[0].username, 'mdo.dopt');
  assert.equal((await get('/api/v1/admin/mdo-admins?org_id=d-doj')).body.total, 1);
  assert.equal((await get('/api/v1/admin/mdo-admins?status=inactive')).body.total, 0);
  assert.equal((await get('/api/v1/admin/mdo-admins?status=asleep')).status, 400);
  // an MDO administrator may not see the list
  assert.equal((await get('/api/v1/admin/mdo-admins', 'doj')).status, 403);
});

test('only an SPV administrator changes an MDO administrator\'s status; deactivation ends their sessions', async () => {
  const list = (await get('/api/v1/admin/mdo-admins?org_id=d-doj')).body.items;
  const id = list[0].id;
  // an MDO administrator cannot, through either endpoint, even in their own organisation
  assert.equal((await send('POST', `/api/v1/admin/mdo-admins/${id}/status`, { status: 'inactive' }, 'doj')).status, 403);
  admin('mdo', 'mdo.doj2', 'd-doj', '6000000204', 'mdo.doj2@doj.gov.in', 'Ravi', 'Kumar');
  tokens.doj2 = await login('mdo.doj2');
  const other = await send('POST', `/api/v1/mdo/users/${id}/status`, { status: 'inactive' }, 'doj2');
  assert.equal(other.status, 403);
  assert.equal(other.body.code, 'admin_status_spv_only');
  assert.equal((await send('POST', `/api/v1/mdo/users/${id}/status`, { status: 'inactive' }, 'doj')).body.code, 'forbidden', 'oneself');
  let r = await send('POST', `/api/v1/admin/mdo-admins/${id}/status`, { status: 'inactive' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'inactive');
  assert.equal(r.body.username, 'mdo.doj');
  assert.equal((await get('/api/v1/me', 'doj')).status, 401, 'the session ended');
  assert.equal((await get('/api/v1/admin/mdo-admins?status=inactive')).body.items[0].id, id);
  r = await send('POST', `/api/v1/admin/mdo-admins/${id}/status`, { status: 'active' });
  assert.equal(r.body.status, 'active');
  tokens.doj = await login('mdo.doj');
  // not an MDO administrator: 404; a bad status: 400
  const me = (await get('/api/v1/me')).body;
  assert.equal((await send('POST', `/api/v1/admin/mdo-admins/${me.id}/status`, { status: 'inactive' })).status, 403, 'not oneself');
  assert.equal((await send('POST', '/api/v1/admin/mdo-admins/no-such-user/status', { status: 'inactive' })).status, 404);
  assert.equal((await send('POST', `/api/v1/admin/mdo-admins/${id}/status`, { status: 'asleep' })).status, 400);
});

test('browse the directory: roots, children, search, inactive ones too', async () => {
  let r = await get('/api/v1/admin/orgs?per_page=100');
  assert.equal(r.status, 200, r.text);
  assert.ok(r.body.items.every((o) => o.parent_id === null), 'roots');
  assert.equal(r.body.parent, null);
  const law = r.body.items.find((o) => o.id === 'm-law');
  assert.ok(law.children >= 1);
  assert.equal(law.active, true);
  r = await get('/api/v1/admin/orgs?parent_id=m-law');
  assert.ok(r.body.items.some((o) => o.id === 'd-doj'));
  assert.equal(r.body.parent.name, 'Ministry of Law and Justice');
  const names = r.body.items.map((o) => o.name);
  assert.deepEqual(names, [...names].sort((a, b) => a.localeCompare(b, 'en', { sensitivity: 'base' })), 'by name');
  r = await get('/api/v1/admin/orgs?q=JUSTICE');
  assert.ok(r.body.items.some((o) => o.id === 'd-doj' && o.under === 'Ministry of Law and Justice'));
  assert.equal((await get('/api/v1/admin/orgs?parent_id=no-such-org')).status, 404);
  r = await get('/api/v1/admin/positions?q=secretary');
  assert.ok(r.body.total >= 2);
  assert.ok(r.body.items.every((p) => /secretary/i.test(p.name) && p.active === true));
  const types = (await get('/api/v1/admin/org-types')).body.items;
  for (const t of ['ministry', 'department', 'organisation', 'state', 'union-territory']) assert.ok(types.includes(t), t);
  assert.equal(new Set(types).size, types.length, 'each once');
});

test('rename, move and deactivate an organisation; the refusals; all audited', async () => {
  let r = await send('POST', '/api/v1/admin/orgs', { name: 'Directorate of Testing', sector: 'center', type: 'organisation', parent_id: 'd-doj' });
  assert.equal(r.status, 201, r.text);
  const id = r.body.id;
  r = await send('POST', '/api/v1/admin/orgs', { name: 'Testing Cell', sector: 'center', type: 'organisation', parent_id: id });
  const cell = r.body.id;

  r = await send('PATCH', `/api/v1/admin/orgs/${id}`, { name: 'Directorate of Quality', type: 'department' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.name, 'Directorate of Quality');
  assert.equal(r.body.type, 'department');
  assert.equal(r.body.parent_id, 'd-doj');
  // searchable at once under the new name, not the old
  assert.ok((await req(srv.url, 'GET', '/api/v1/orgs?q=quality')).body.items.some((o) => o.id === id));
  assert.ok(!(await req(srv.url, 'GET', '/api/v1/orgs?q=directorate%20testing')).body.items.some((o) => o.id === id));

  // a move under the Ministry, and the cycle refused
  r = await send('PATCH', `/api/v1/admin/orgs/${id}`, { parent_id: 'm-law' });
  assert.equal(r.body.under, 'Ministry of Law and Justice');
  r = await send('PATCH', `/api/v1/admin/orgs/${id}`, { parent_id: cell });
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'org_cycle');
  assert.equal(r.body.errors[0].field, 'parent_id');
  r = await send('PATCH', `/api/v1/admin/orgs/${id}`, { parent_id: 'no-such-org' });
  assert.equal(r.status, 400);
  assert.equal(r.body.errors[0].code, 'unknown_org');

  // deactivation over an active child refused; the child first
  r = await send('PATCH', `/api/v1/admin/orgs/${id}`, { active: false });
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'org_has_children');
  assert.equal((await send('PATCH', `/api/v1/admin/orgs/${cell}`, { active: false })).status, 200);
  r = await send('PATCH', `/api/v1/admin/orgs/${id}`, { active: false });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.active, false);
  assert.equal((await req(srv.url, 'GET', `/api/v1/orgs/${id}`)).status, 404, 'gone from the public directory');
  assert.ok((await get(`/api/v1/admin/orgs?parent_id=m-law&status=inactive`)).body.items.some((o) => o.id === id));
  r = await send('PATCH', `/api/v1/admin/orgs/${id}`, { active: true, parent_id: null });
  assert.equal(r.body.parent_id, null, 'a root now');
  assert.equal((await send('PATCH', `/api/v1/admin/orgs/${id}`, { active: 'no' })).status, 400);
  assert.equal((await send('PATCH', `/api/v1/admin/orgs/${id}`, { sector: 'moon' })).body.errors[0].code, 'invalid_sector');
  assert.equal((await send('PATCH', '/api/v1/admin/orgs/no-such-org', { name: 'X Y' })).status, 404);
  assert.equal((await send('PATCH', `/api/v1/admin/orgs/${id}`, { name: 'Z' }, 'doj')).status, 403);

  // the audit log: who by name and username, what by name, the changes
  const a = await get('/api/v1/admin/audit?action=update_org');
  const moved = a.body.items.find((x) => x.detail.previous_parent_id === 'd-doj');
  assert.ok(moved, JSON.stringify(a.body.items));
  assert.deepEqual(moved.actor, { id: moved.actor.id, name: 'Sita Ram', username: 'spv.one' });
  assert.deepEqual([moved.target, moved.target_kind, moved.target_name], [id, 'organisation', 'Directorate of Quality']);
  assert.equal(moved.actor_id, moved.actor.id);
  assert.equal(moved.names['d-doj'], 'Department of Justice');
  assert.equal(moved.names['m-law'], 'Ministry of Law and Justice');
  const renamed = a.body.items.find((x) => x.detail.previous_name === 'Directorate of Testing');
  assert.equal(renamed.detail.name, 'Directorate of Quality');
});

test('rename and deactivate a position', async () => {
  let r = await send('POST', '/api/v1/admin/positions', { name: 'Data Steward' });
  const id = r.body.id;
  r = await send('PATCH', `/api/v1/admin/positions/${id}`, { name: 'Chief Data Steward' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.name, 'Chief Data Steward');
  assert.equal((await send('PATCH', `/api/v1/admin/positions/${id}`, { name: 'Deputy Secretary' })).body.code, 'position_exists');
  r = await send('PATCH', `/api/v1/admin/positions/${id}`, { active: false });
  assert.equal(r.body.active, false);
  assert.ok(!(await req(srv.url, 'GET', '/api/v1/positions?q=data%20steward')).body.items.some((p) => p.id === id));
  assert.ok((await get('/api/v1/admin/positions?q=data%20steward&status=inactive')).body.items.some((p) => p.id === id));
  assert.equal((await send('PATCH', '/api/v1/admin/positions/no-such', { active: false })).status, 404);
  const a = await get('/api/v1/admin/audit?action=update_position');
  assert.ok(a.body.items.some((x) => x.target_name === 'Chief Data Steward' && x.detail.active === false));
});

test('the audit log: filters by action, actor and time; imports from the command line appear', async () => {
  const d = mkdtempSync(path.join(tmpdir(), 'pravesh-cli-'));
  const file = path.join(d, 'staff list.csv');
  writeFileSync(file, 'First Name,Last Name,Email Id,Mobile Number\r\nAsha,Verma,asha.v@doj.gov.in,9876512345\r\n');
  const r = cli(['import', '--org', 'd-doj', file], srv.env);
  assert.equal(r.status, 0, r.stderr);

  let a = await get('/api/v1/admin/audit?action=upload');
  const imp = a.body.items.find((x) => x.detail.via === 'cli');
  assert.ok(imp, JSON.stringify(a.body.items));
  assert.equal(imp.actor, null, 'the command line has no actor');
  assert.equal(imp.target_kind, 'upload');
  assert.equal(imp.target_name, 'staff list.csv');
  assert.equal(imp.actor_id, '');
  assert.equal(imp.names['d-doj'], 'Department of Justice');

  a = await get('/api/v1/admin/audit?actor=SPV.ONE');
  assert.ok(a.body.total >= 4);
  assert.ok(a.body.items.every((x) => x.actor && x.actor.username === 'spv.one'));
  assert.equal((await get('/api/v1/admin/audit?actor=nobody')).body.total, 0);
  // time: nothing in the future, everything since the start of the run
  assert.equal((await get(`/api/v1/admin/audit?from=${encodeURIComponent(new Date(Date.now() + 3600e3).toISOString())}`)).body.total, 0);
  const all = (await get('/api/v1/admin/audit')).body.total;
  assert.equal((await get(`/api/v1/admin/audit?from=${encodeURIComponent('2020-01-01T00:00:00+05:30')}`)).body.total, all);
  assert.equal((await get('/api/v1/admin/audit?to=2020-01-01T00:00:00Z')).body.total, 0);
  assert.equal((await get('/api/v1/admin/audit?from=yesterday')).body.code, 'invalid_time');
  assert.equal((await get('/api/v1/admin/audit?action=dance')).body.code, 'invalid_action');
  // activate/deactivate name the user
  a = await get('/api/v1/admin/audit?action=deactivate');
  assert.equal(a.body.items[0].target_name, 'Meera Iyer');
  assert.equal(a.body.items[0].target_kind, 'user');
});

test('nothing active under an inactive organisation: reactivation waits for the parent', async () => {
  let r = await send('POST', '/api/v1/admin/orgs', { name: 'Bureau of Sleep', sector: 'center', type: 'organisation' });
  assert.equal(r.status, 201, r.text);
  const top = r.body.id;
  r = await send('POST', '/api/v1/admin/orgs', { name: 'Sleep Cell', sector: 'center', type: 'organisation', parent_id: top });
  const cell = r.body.id;
  assert.equal((await send('PATCH', `/api/v1/admin/orgs/${cell}`, { active: false })).status, 200);
  assert.equal((await send('PATCH', `/api/v1/admin/orgs/${top}`, { active: false })).status, 200);
  r = await send('PATCH', `/api/v1/admin/orgs/${cell}`, { active: true });
  assert.equal(r.status, 409, r.text);
  assert.equal(r.body.code, 'org_parent_inactive');
  assert.equal(r.body.errors[0].field, 'active');
  assert.equal((await req(srv.url, 'GET', `/api/v1/orgs/${cell}`)).status, 404, 'still out of the public directory');
  // the parent first, then the child
  assert.equal((await send('PATCH', `/api/v1/admin/orgs/${top}`, { active: true })).status, 200);
  r = await send('PATCH', `/api/v1/admin/orgs/${cell}`, { active: true });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.active, true);
});
