// Self-registration, activation by e-mail over real SMTP, requests for help,
// SPV and MDO administration, audit; end to end against the real binary.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startServer, req, cli } from './lib/server.mjs';
import { nextMessage, codeOf, messages } from './lib/sms.mjs';
import { startSmtpSink } from './lib/smtp.mjs';

let srv, sms, smtp, spvToken;
const PW = 'a long enough password';

before(async () => {
  smtp = await startSmtpSink();
  const d = mkdtempSync(path.join(tmpdir(), 'pravesh-reg-'));
  sms = path.join(d, 'sms.jsonl');
  srv = await startServer({
    env: {
      PRAVESH_SMS: `file:${sms}`, PRAVESH_MAIL: smtp.url, PRAVESH_MAIL_FROM: 'Pravesh <no-reply@pravesh.test>',
      PRAVESH_OTP_RESEND: '0', PRAVESH_OTP_PER_HOUR: '1000', PRAVESH_OTP_PER_DAY: '1000',
      PRAVESH_OTP_PER_IP_HOUR: '100000', PRAVESH_PUBLIC_URL: 'https://pravesh.example.gov.in/',
      PRAVESH_OTP_NUMBER_PER_HOUR: '1000', PRAVESH_OTP_NUMBER_PER_DAY: '1000', PRAVESH_ANON_PER_IP_HOUR: '100000',
    },
  });
  const r = cli(['admin', 'create', '--role', 'spv', '--username', 'spv', '--org', 'd-dopt', '--first-name', 'Sita',
    '--last-name', 'Ram', '--email', 'spv@dopt.gov.in', '--mobile', '9999900000'], srv.env, PW + '\n');
  assert.equal(r.status, 0, r.stderr);
  spvToken = (await srv.adminLogin('spv', PW)).body.token;
});
after(async () => { await srv.stop(); await smtp.close(); });

const post = (p, json, opts = {}) => req(srv.url, 'POST', p, { json, ...opts });
const get = (p, opts = {}) => req(srv.url, 'GET', p, opts);
const spv = { bearer: () => spvToken };

async function verified(mobile, purpose = 'register') {
  const { message } = await nextMessage(sms, mobile, () => post('/api/v1/otp', { mobile, purpose }));
  const r = await post('/api/v1/otp/verify', { mobile, purpose, code: codeOf(message) });
  assert.equal(r.status, 200, r.text);
  return r.body.verification_token;
}

async function ids() {
  const pos = await get('/api/v1/positions?q=director');
  const org = await get('/api/v1/orgs?q=justice');
  return { position_id: pos.body.items[0].id, org_id: org.body.items.find((o) => o.id === 'd-doj').id };
}

function form(over = {}) {
  return { first_name: 'सुरेश', last_name: 'Kumar', email: 'suresh.kumar@doj.gov.in', mobile: '+91 98111 22233', declaration: true, terms: true, ...over };
}

test('register, activate by e-mail, then log in with OTP', async () => {
  const base = await ids();
  const token = await verified('9811122233');
  const r = await post('/api/v1/registrations', { ...form(), ...base, verification_token: token });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.status, 'pending_activation');
  assert.equal(r.body.official_email, true);

  const mail = await smtp.waitFor('suresh.kumar@doj.gov.in');
  assert.match(mail.subject, /Activate/);
  const link = mail.body.match(/https:\/\/pravesh\.example\.gov\.in\/activate\?token=([A-Za-z0-9_-]+)/);
  assert.ok(link, mail.body);

  // not yet activated: a right code gives 403 not_activated
  const { message } = await nextMessage(sms, '9811122233', () => post('/api/v1/otp', { mobile: '9811122233', purpose: 'login' }));
  const early = await post('/api/v1/auth/otp', { mobile: '9811122233', code: codeOf(message) });
  assert.equal(early.status, 403);
  assert.equal(early.body.code, 'not_activated');

  assert.equal((await post('/api/v1/activation', { token: link[1] })).status, 200);
  const twice = await post('/api/v1/activation', { token: link[1] });
  assert.equal(twice.status, 400);
  assert.equal(twice.body.code, 'activation_invalid');

  const again = await nextMessage(sms, '9811122233', () => post('/api/v1/otp', { mobile: '9811122233', purpose: 'login' }));
  const ok = await post('/api/v1/auth/otp', { mobile: '9811122233', code: codeOf(again.message) });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.user.first_name, 'सुरेश');
  assert.equal(ok.body.user.org.under, 'Ministry of Law and Justice');
  assert.equal(ok.body.user.position.id, base.position_id);
  assert.equal(ok.body.user.status, 'active');
});

test('every field error at once, with the spec codes', async () => {
  const r = await post('/api/v1/registrations', {});
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'validation_failed');
  const by = Object.fromEntries(r.body.errors.map((e) => [e.field, e.code]));
  assert.deepEqual(by, {
    first_name: 'required', last_name: 'required', email: 'required', mobile: 'required',
    position_id: 'required', org_id: 'required', declaration: 'declaration_required', terms: 'terms_required',
    verification_token: 'verification_required',
  });
  const bad = await post('/api/v1/registrations', form({
    first_name: 'x'.repeat(10000), last_name: 'Ku\u0007mar', email: 'not-an-email', mobile: '12345',
    position_id: 'nope', org_id: 'nope', declaration: 'yes', terms: false, verification_token: 'abc',
  }));
  const codes = Object.fromEntries(bad.body.errors.map((e) => [e.field, e.code]));
  assert.equal(codes.first_name, 'invalid_name');
  assert.equal(codes.last_name, 'invalid_name');
  assert.equal(codes.email, 'invalid_email');
  assert.equal(codes.mobile, 'invalid_mobile');
  assert.equal(codes.position_id, 'unknown_position');
  assert.equal(codes.org_id, 'unknown_org');
  assert.equal(codes.declaration, 'declaration_required');
  assert.equal(codes.terms, 'terms_required');
  assert.equal(bad.body.errors.find((e) => e.field === 'mobile').message, 'Please add a valid mobile number');
  const types = await post('/api/v1/registrations', form({ first_name: 42, email: ['a'] }));
  assert.equal(types.status, 400);
  assert.deepEqual(types.body.errors.map((e) => e.field).sort(), ['email', 'first_name']);
  // invalid UTF-8 in the body
  const raw = await req(srv.url, 'POST', '/api/v1/registrations', {
    body: Buffer.concat([Buffer.from('{"first_name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(raw.status, 400);
  assert.equal(raw.body.code, 'malformed_json');
});

test('verification tokens: reused, for another number, for another purpose', async () => {
  const base = await ids();
  const token = await verified('9822200001');
  const stolen = await post('/api/v1/registrations', { ...form({ email: 'a1@example.com', mobile: '9822200002' }), ...base, verification_token: token });
  assert.equal(stolen.status, 400);
  assert.equal(stolen.body.errors[0].code, 'verification_required');
  // the refused attempt wrote nothing: the token still proves its own number
  const own = await post('/api/v1/registrations', { ...form({ email: 'a1@example.com', mobile: '9822200001' }), ...base, verification_token: token });
  assert.equal(own.status, 201, own.text);
  const reqToken = await verified('9822200003', 'request');
  const wrongPurpose = await post('/api/v1/registrations', { ...form({ email: 'a3@example.com', mobile: '9822200003' }), ...base, verification_token: reqToken });
  assert.equal(wrongPurpose.body.errors[0].code, 'verification_required');
  const good = await verified('9822200004');
  const ok = await post('/api/v1/registrations', { ...form({ email: 'Personal.Mail@Example.com', mobile: '9822200004' }), ...base, verification_token: good });
  assert.equal(ok.status, 201);
  assert.equal(ok.body.official_email, false);
  const reuse = await post('/api/v1/registrations', { ...form({ email: 'a5@example.com', mobile: '9822200004' }), ...base, verification_token: good });
  assert.equal(reuse.status, 400);
});

test('duplicates: 409 email_taken (any case) and mobile_taken; 50 racing registrations make one user', async () => {
  const base = await ids();
  const t1 = await verified('9833300001');
  assert.equal((await post('/api/v1/registrations', { ...form({ email: 'race@example.com', mobile: '9833300001' }), ...base, verification_token: t1 })).status, 201);
  const t2 = await verified('9833300002');
  const dupMail = await post('/api/v1/registrations', { ...form({ email: 'RACE@example.com', mobile: '9833300002' }), ...base, verification_token: t2 });
  assert.equal(dupMail.status, 409);
  assert.equal(dupMail.body.code, 'email_taken');
  // the token survives a refused registration (nothing was written)
  const other = await post('/api/v1/registrations', { ...form({ email: 'fresh@example.com', mobile: '9833300002' }), ...base, verification_token: t2 });
  assert.equal(other.status, 201, other.text);
  // a verification token answers at most three taken e-mails: then it is spent
  const t3 = await verified('9833300003');
  for (let i = 0; i < 3; i++) {
    const probe = await post('/api/v1/registrations', { ...form({ email: i === 1 ? 'fresh@example.com' : 'race@example.com', mobile: '9833300003' }), ...base, verification_token: t3 });
    assert.equal(probe.status, 409);
    assert.equal(probe.body.code, 'email_taken');
  }
  const spent = await post('/api/v1/registrations', { ...form({ email: 'race@example.com', mobile: '9833300003' }), ...base, verification_token: t3 });
  assert.equal(spent.status, 400);
  assert.deepEqual(spent.body.errors.map((e) => e.code), ['verification_required']);
  const evenNew = await post('/api/v1/registrations', { ...form({ email: 'not.taken.yet@example.com', mobile: '9833300003' }), ...base, verification_token: t3 });
  assert.equal(evenNew.status, 400);

  const tokens = [];
  for (let i = 0; i < 50; i++) tokens.push(await verified(`97000000${String(i).padStart(2, '0')}`));
  const results = await Promise.all(tokens.map((t, i) => post('/api/v1/registrations', {
    ...form({ email: 'same.person@example.com', mobile: `97000000${String(i).padStart(2, '0')}` }), ...base, verification_token: t,
  })));
  const statuses = results.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 201).length, 1, statuses.join(','));
  assert.equal(statuses.filter((s) => s === 409).length, 49);
  assert.ok(results.filter((r) => r.status === 409).every((r) => r.body.code === 'email_taken'));
});

test('activation resend answers 202 for anyone, and mails only pending users', async () => {
  const before = smtp.mails.length;
  assert.equal((await post('/api/v1/activation/resend', { email: 'nobody@nowhere.example' })).status, 202);
  assert.equal((await post('/api/v1/activation/resend', { email: 'fresh@example.com' })).status, 202);
  await smtp.waitFor('fresh@example.com', (m) => smtp.mails.indexOf(m) >= before);
  assert.ok(!smtp.mails.slice(before).some((m) => m.to.includes('nobody@nowhere.example')));
  assert.equal((await post('/api/v1/activation', { token: 'x'.repeat(43) })).body.code, 'activation_invalid');
});

test('a position request approved by the SPV becomes searchable; the requester is told', async () => {
  const tok = await verified('9844400001', 'request');
  const body = { kind: 'position', full_name: 'Anil Verma', email: 'anil@example.com', mobile: '9844400001', verification_token: tok, name: 'Chief Data Steward', details: 'New role in our division', declaration: true };
  const r = await post('/api/v1/requests', body);
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.status, 'pending');
  const tok2 = await verified('9844400001', 'request');
  const dup = await post('/api/v1/requests', { ...body, name: 'chief data STEWARD', verification_token: tok2 });
  assert.equal(dup.status, 200);
  assert.equal(dup.body.id, r.body.id);

  assert.equal((await get('/api/v1/admin/requests')).status, 401);
  const list = await get('/api/v1/admin/requests?status=pending&kind=position', { bearer: spvToken });
  assert.equal(list.status, 200);
  assert.ok(list.body.items.some((x) => x.id === r.body.id));
  assert.equal((await get('/api/v1/positions?q=data%20steward')).body.items.length, 0);

  const ap = await post(`/api/v1/admin/requests/${r.body.id}/approve`, { name: 'Chief Data Steward' }, { bearer: spvToken });
  assert.equal(ap.status, 200, ap.text);
  assert.equal(ap.body.status, 'approved');
  assert.ok(ap.body.created_id);
  const found = await get('/api/v1/positions?q=data%20steward');
  assert.equal(found.body.items[0].id, ap.body.created_id);
  const again = await post(`/api/v1/admin/requests/${r.body.id}/approve`, {}, { bearer: spvToken });
  assert.equal(again.status, 409);
  assert.equal(again.body.code, 'already_decided');
  await smtp.waitFor('anil@example.com', (m) => /approved/.test(m.subject));
  const sent = await (async () => { for (let i = 0; i < 200; i++) { const m = messages(sms, '9844400001').filter((x) => x.template === 'request_approved_sms'); if (m.length) return m; await new Promise((res) => setTimeout(res, 25)); } return []; })();
  assert.equal(sent.length, 1);
});

test('an organisation request: approve with sector and parent; a rejection carries its reason', async () => {
  const tok = await verified('9844400002', 'request');
  const r = await post('/api/v1/requests', { kind: 'organisation', full_name: 'Rita Das', email: 'rita@example.com', mobile: '9844400002', verification_token: tok, name: 'National Judicial Data Grid Cell', declaration: true });
  assert.equal(r.status, 201);
  const noSector = await post(`/api/v1/admin/requests/${r.body.id}/approve`, {}, { bearer: spvToken });
  assert.equal(noSector.status, 400);
  assert.equal(noSector.body.errors[0].field, 'sector');
  // every free-text field an administrator sends follows the text rule
  for (const type of ['Cell\r\nX-Injected: 1', 'bell\u0007', 'tab\there', '']) {
    const bad = await post(`/api/v1/admin/requests/${r.body.id}/approve`, { sector: 'center', type, parent_id: 'd-doj' }, { bearer: spvToken });
    assert.equal(bad.status, 400, JSON.stringify(type));
    assert.ok(bad.body.errors.some((e) => e.field === 'type'), bad.text);
  }
  const badOrg = await post('/api/v1/admin/orgs', { name: 'Cell of Tests', sector: 'center', type: 'x\ny' }, { bearer: spvToken });
  assert.equal(badOrg.status, 400);
  const ap = await post(`/api/v1/admin/requests/${r.body.id}/approve`, { sector: 'center', type: 'organisation', parent_id: 'd-doj' }, { bearer: spvToken });
  assert.equal(ap.status, 200, ap.text);
  const org = await get(`/api/v1/orgs/${ap.body.created_id}`);
  assert.equal(org.body.under, 'Ministry of Law and Justice > Department of Justice');
  assert.ok((await get('/api/v1/orgs?q=judicial%20grid')).body.items.some((o) => o.id === ap.body.created_id));

  const tok2 = await verified('9844400003', 'request');
  const r2 = await post('/api/v1/requests', { kind: 'position', full_name: 'Mohan Lal', email: 'mohan@example.com', mobile: '9844400003', verification_token: tok2, name: 'Assistant Section Officer', declaration: true });
  const noReason = await post(`/api/v1/admin/requests/${r2.body.id}/reject`, {}, { bearer: spvToken });
  assert.equal(noReason.status, 400);
  const rej = await post(`/api/v1/admin/requests/${r2.body.id}/reject`, { reason: 'This position already exists as "Section Officer"' }, { bearer: spvToken });
  assert.equal(rej.status, 200);
  assert.equal(rej.body.status, 'rejected');
  const mail = await smtp.waitFor('mohan@example.com');
  assert.match(mail.body, /already exists as "Section Officer"/);
  assert.equal((await post('/api/v1/admin/requests/no-such-id/reject', { reason: 'x' }, { bearer: spvToken })).status, 404);
});

test('SPV adds organisations, positions and MDO administrators; MDO administers only its own users', async () => {
  const o = await post('/api/v1/admin/orgs', { name: 'Directorate of Prosecution', sector: 'state', type: 'directorate', parent_id: 's-up-dept' }, { bearer: spvToken });
  assert.equal(o.status, 201, o.text);
  assert.equal((await post('/api/v1/admin/orgs', { name: '', sector: 'moon' }, { bearer: spvToken })).status, 400);
  const p1 = await post('/api/v1/admin/positions', { name: 'Prosecution Officer' }, { bearer: spvToken });
  assert.equal(p1.status, 201);
  const p2 = await post('/api/v1/admin/positions', { name: 'prosecution officer' }, { bearer: spvToken });
  assert.equal(p2.status, 409);
  assert.equal(p2.body.code, 'position_exists');

  const weak = await post('/api/v1/admin/mdo-admins', { org_id: 'd-doj', username: 'doj.admin', password: 'short', first_name: 'Kiran', last_name: 'Bedi', email: 'kiran@doj.gov.in', mobile: '9855500001' }, { bearer: spvToken });
  assert.equal(weak.status, 400);
  const mk = await post('/api/v1/admin/mdo-admins', { org_id: 'd-doj', username: 'doj.admin', password: PW, first_name: 'Kiran', last_name: 'Bedi', email: 'kiran@doj.gov.in', mobile: '9855500001' }, { bearer: spvToken });
  assert.equal(mk.status, 201, mk.text);
  assert.deepEqual(mk.body.roles, [{ role: 'mdo_admin', org_id: 'd-doj' }]);
  const mk2 = await post('/api/v1/admin/mdo-admins', { org_id: o.body.id, username: 'up.admin', password: PW, first_name: 'Usha', last_name: 'Pal', email: 'usha@up.gov.in', mobile: '9855500002' }, { bearer: spvToken });
  assert.equal(mk2.status, 201);

  const doj = (await srv.adminLogin('doj.admin', PW)).body.token;
  const up = (await srv.adminLogin('up.admin', PW)).body.token;
  assert.equal((await get('/api/v1/admin/requests', { bearer: doj })).status, 403, 'an MDO admin is not SPV');

  const users = await get('/api/v1/mdo/users?status=active', { bearer: doj });
  assert.equal(users.status, 200);
  const suresh = users.body.items.find((u) => u.email === 'suresh.kumar@doj.gov.in');
  assert.ok(suresh, JSON.stringify(users.body));
  assert.ok(users.body.items.every((u) => u.org_id === 'd-doj'));
  const search = await get('/api/v1/mdo/users?q=9811122233', { bearer: doj });
  assert.equal(search.body.total, 1);

  // another organisation's administrator sees nothing of it
  assert.equal((await post(`/api/v1/mdo/users/${suresh.id}/status`, { status: 'inactive' }, { bearer: up })).status, 404);
  assert.equal((await get('/api/v1/mdo/users?org_id=d-doj', { bearer: up })).status, 403);
  assert.ok(!(await get('/api/v1/mdo/users', { bearer: up })).body.items.some((u) => u.id === suresh.id));
  // the SPV names an organisation
  assert.equal((await get('/api/v1/mdo/users', { bearer: spvToken })).status, 400);
  assert.equal((await get('/api/v1/mdo/users?org_id=d-doj', { bearer: spvToken })).status, 200);

  // a login of Suresh, then deactivation ends it at once
  const { message } = await nextMessage(sms, '9811122233', () => post('/api/v1/otp', { mobile: '9811122233', purpose: 'login' }));
  const s = (await post('/api/v1/auth/otp', { mobile: '9811122233', code: codeOf(message) })).body.token;
  assert.equal((await get('/api/v1/me', { bearer: s })).status, 200);
  const de = await post(`/api/v1/mdo/users/${suresh.id}/status`, { status: 'inactive' }, { bearer: doj });
  assert.equal(de.status, 200);
  assert.equal(de.body.status, 'inactive');
  assert.equal((await get('/api/v1/me', { bearer: s })).status, 401);
  const m2 = await nextMessage(sms, '9811122233', () => post('/api/v1/otp', { mobile: '9811122233', purpose: 'login' }));
  const blocked = await post('/api/v1/auth/otp', { mobile: '9811122233', code: codeOf(m2.message) });
  assert.equal(blocked.status, 403);
  assert.equal(blocked.body.code, 'account_inactive');
  assert.equal((await get('/api/v1/mdo/users?status=inactive', { bearer: doj })).body.items[0].id, suresh.id);
  assert.equal((await post(`/api/v1/mdo/users/${suresh.id}/status`, { status: 'active' }, { bearer: doj })).body.status, 'active');
  assert.equal((await post(`/api/v1/mdo/users/${suresh.id}/status`, { status: 'gone' }, { bearer: doj })).status, 400);

  // an administrator's status is the SPV's alone: a colleague MDO
  // administrator whom the SPV deactivated stays deactivated
  const mk3 = await post('/api/v1/admin/mdo-admins', { org_id: 'd-doj', username: 'doj.admin2', password: PW, first_name: 'Anil', last_name: 'Rao', email: 'anil@doj.gov.in', mobile: '9855500003' }, { bearer: spvToken });
  assert.equal(mk3.status, 201, mk3.text);
  const off = await post(`/api/v1/mdo/users/${mk3.body.id}/status?org_id=d-doj`, { status: 'inactive' }, { bearer: spvToken });
  assert.equal(off.status, 200, off.text);
  const back = await post(`/api/v1/mdo/users/${mk3.body.id}/status`, { status: 'active' }, { bearer: doj });
  assert.equal(back.status, 403);
  assert.match(back.body.detail, /SPV administrator/);
  assert.equal((await post(`/api/v1/mdo/users/${mk3.body.id}/status?org_id=d-doj`, { status: 'active' }, { bearer: spvToken })).body.status, 'active');
  assert.equal((await post(`/api/v1/mdo/users/${mk3.body.id}/status`, { status: 'inactive' }, { bearer: doj })).status, 403);

  // every administrative action is in the audit log
  const audit = await get('/api/v1/admin/audit?per_page=100', { bearer: spvToken });
  assert.equal(audit.status, 200);
  const actions = audit.body.items.map((a) => a.action);
  for (const a of ['approve', 'reject', 'create_org', 'create_position', 'create_admin', 'activate', 'deactivate']) {
    assert.ok(actions.includes(a), `${a} in ${actions}`);
  }
  const deact = audit.body.items.find((a) => a.action === 'deactivate' && a.target === suresh.id);
  assert.equal(deact.target, suresh.id);
  assert.ok(deact.client_ip);
  assert.equal((await get('/api/v1/admin/audit', { bearer: doj })).status, 403);
});
