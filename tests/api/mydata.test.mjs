// The user's own data (issue 15, DPDP Act 2023): details, a change of
// mobile proven on the new number, a change of e-mail by a link, the
// download of everything held, closing the account; the texts and contacts
// the pages show. Erasure itself is in erasure.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startServer, req, cli } from './lib/server.mjs';
import { messages, nextMessage, codeOf } from './lib/sms.mjs';
import { startSmtpSink } from './lib/smtp.mjs';
import { post as P, get as G, verified as V, person as PERSON, loginOtp as LOGIN, directoryIds } from './lib/person.mjs';

let srv, smtp, ctx, mdoToken;
const PW = 'a long enough password';

before(async () => {
  smtp = await startSmtpSink();
  const d = mkdtempSync(path.join(tmpdir(), 'pravesh-mydata-'));
  const sms = path.join(d, 'sms.jsonl');
  srv = await startServer({
    env: {
      PRAVESH_SMS: `file:${sms}`, PRAVESH_MAIL: smtp.url, PRAVESH_MAIL_FROM: 'Pravesh <no-reply@pravesh.test>',
      PRAVESH_OTP_RESEND: '0', PRAVESH_OTP_PER_HOUR: '1000', PRAVESH_OTP_PER_DAY: '1000',
      PRAVESH_OTP_PER_IP_HOUR: '100000', PRAVESH_OTP_NUMBER_PER_HOUR: '1000', PRAVESH_OTP_NUMBER_PER_DAY: '1000',
      PRAVESH_ANON_PER_IP_HOUR: '100000', PRAVESH_PUBLIC_URL: 'https://pravesh.example.gov.in',
      PRAVESH_GRIEVANCE_EMAIL: 'grievance@pravesh.example.gov.in', PRAVESH_HELP_URL: 'https://help.example.gov.in/pravesh',
      PRAVESH_SELF_PER_HOUR: '1000',
    },
  });
  ctx = { url: srv.url, sms, smtp };
  const r = cli(['admin', 'create', '--role', 'mdo', '--username', 'doj.admin', '--org', 'd-doj', '--first-name', 'Meera',
    '--last-name', 'Iyer', '--email', 'meera.iyer@doj.gov.in', '--mobile', '9876500001'], srv.env, PW + '\n');
  assert.equal(r.status, 0, r.stderr);
  mdoToken = (await srv.adminLogin('doj.admin', PW)).body.token;
});
after(async () => { await srv.stop(); await smtp.close(); });

const post = (p, json, opts) => P(ctx, p, json, opts);
const get = (p, opts) => G(ctx, p, opts);
const patch = (p, json, opts = {}) => req(srv.url, 'PATCH', p, { json, ...opts });
const verified = (mobile, purpose, bearer) => V(ctx, mobile, purpose, bearer);
const person = (p) => PERSON(ctx, p);
const smsTo = (mobile) => messages(ctx.sms, mobile);

test('the public texts and contacts: terms and privacy notice in both languages, with versions; help and grievance', async () => {
  const site = await get('/api/v1/site');
  assert.equal(site.status, 200);
  assert.deepEqual(site.body.help, { url: 'https://help.example.gov.in/pravesh', email: null });
  assert.equal(site.body.grievance_email, 'grievance@pravesh.example.gov.in');
  assert.equal(site.body.erasure_grace_days, 30);
  assert.equal(site.body.upload_retention_days, 180);
  for (const doc of ['terms', 'privacy']) {
    const en = await get(`/api/v1/legal/${doc}?lang=en`);
    const hi = await get(`/api/v1/legal/${doc}`, { headers: { 'accept-language': 'hi-IN,hi;q=0.9' } });
    assert.equal(en.status, 200);
    assert.equal(en.body.lang, 'en');
    assert.equal(hi.body.lang, 'hi');
    assert.match(en.body.version, new RegExp(`^${doc}-en-[0-9a-f]{16}$`));
    assert.match(hi.body.version, new RegExp(`^${doc}-hi-[0-9a-f]{16}$`));
    assert.notEqual(en.body.text, hi.body.text);
    assert.doesNotMatch(en.body.text, /\{\{/);
  }
  const privacy = (await get('/api/v1/legal/privacy?lang=en')).body.text;
  assert.match(privacy, /grievance@pravesh\.example\.gov\.in/);
  assert.match(privacy, /30 days later/);
  assert.match(privacy, /180 days/);
  assert.equal((await get('/api/v1/legal/nothing')).status, 404);
});

test('registration records the versions of the terms and privacy notice shown; an outdated one is refused', async () => {
  const ids = await directoryIds(ctx);
  const terms = (await get('/api/v1/legal/terms?lang=hi')).body.version;
  const privacy = (await get('/api/v1/legal/privacy?lang=hi')).body.version;
  const tok = await verified('9811100011');
  const base = { first_name: 'Kavya', last_name: 'Menon', email: 'kavya.menon@doj.gov.in', mobile: '9811100011',
    position_id: ids.position_id, org_id: ids.org_id, declaration: true, terms: true, verification_token: tok };
  const old = await post('/api/v1/registrations', { ...base, terms_version: 'terms-en-0000000000000000' });
  assert.equal(old.status, 400);
  assert.deepEqual(old.body.errors.map((e) => [e.field, e.code]), [['terms_version', 'text_outdated']]);
  const r = await post('/api/v1/registrations', { ...base, terms_version: terms, privacy_version: privacy });
  assert.equal(r.status, 201, r.text);
  const mail = await smtp.waitFor('kavya.menon@doj.gov.in');
  await post('/api/v1/activation', { token: mail.body.match(/token=([A-Za-z0-9_-]+)/)[1] });
  const login = await LOGIN(ctx, '9811100011');
  const data = await get('/api/v1/me/data', { bearer: login.body.token });
  const consents = Object.fromEntries(data.body.consents.map((c) => [c.kind, c.text_version]));
  assert.deepEqual(consents, { declaration: 'declaration-2023-05-30', terms, privacy });
});

test('PATCH /me: names and position with the registration rules, every error at once, audited; CSRF and login needed', async () => {
  const p = await person({ first: 'Ravi', last: 'Shankar', email: 'ravi.shankar@doj.gov.in', mobile: '9811100021' });
  const ids = await directoryIds(ctx);
  assert.equal((await patch('/api/v1/me', { first_name: 'X' })).status, 401);
  // by cookie without the CSRF header: refused
  const nocsrf = await patch('/api/v1/me', { first_name: 'Ravindra' }, { cookie: p.cookie });
  assert.equal(nocsrf.status, 403);
  assert.equal(nocsrf.body.code, 'csrf_failed');
  const bad = await patch('/api/v1/me', { first_name: '  ', last_name: 'Sh\u0007ankar', position_id: 'nope' }, { bearer: p.token });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.code, 'validation_failed');
  assert.deepEqual(Object.fromEntries(bad.body.errors.map((e) => [e.field, e.code])),
    { first_name: 'required', last_name: 'invalid_name', position_id: 'unknown_position' });
  const types = await patch('/api/v1/me', { first_name: 7 }, { bearer: p.token });
  assert.equal(types.status, 400);
  const ok = await patch('/api/v1/me', { first_name: ' रवीन्द्र ', position_id: ids.other_position_id }, { cookie: p.cookie, csrf: p.csrf });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.body.first_name, 'रवीन्द्र');
  assert.equal(ok.body.last_name, 'Shankar');
  assert.equal(ok.body.position.id, ids.other_position_id);
  assert.equal(ok.body.pending_email, null);
  const me = await get('/api/v1/me', { bearer: p.token });
  assert.equal(me.body.first_name, 'रवीन्द्र');
  const data = await get('/api/v1/me/data', { bearer: p.token });
  assert.ok(data.body.audit.some((a) => a.action === 'update_profile' && a.actor === 'self'));
});

test('a change of mobile is proven on the new number; the old number is told; login moves to the new number', async () => {
  const p = await person({ first: 'Neha', last: 'Gupta', email: 'neha.gupta@doj.gov.in', mobile: '9811100031' });
  // a code for a change of mobile needs a session
  const anon = await post('/api/v1/otp', { mobile: '9811100032', purpose: 'change_mobile' });
  assert.equal(anon.status, 401);
  // to a registered number: the same answer, its owner told instead of a code
  const other = await person({ first: 'Om', last: 'Prakash', email: 'om.prakash@doj.gov.in', mobile: '9811100033' });
  const taken = await nextMessage(ctx.sms, '9811100033', () => post('/api/v1/otp', { mobile: '9811100033', purpose: 'change_mobile' }, { bearer: p.token }));
  // (its code waited for: one still on its way would pass for the next)
  const { response: free } = await nextMessage(ctx.sms, '9811100032',
    () => post('/api/v1/otp', { mobile: '9811100032', purpose: 'change_mobile' }, { bearer: p.token }));
  assert.equal(taken.response.status, 202);
  assert.equal(taken.response.text.replace('9811100033', 'N'), free.text.replace('9811100032', 'N'));
  assert.equal(taken.message.template, 'mobile_taken_sms');
  assert.doesNotMatch(taken.message.text, /\b\d{6}\b/);
  // the proof belongs to the person who asked: another session cannot use it
  const tok = await verified('9811100032', 'change_mobile', p.token);
  const stolen = await post('/api/v1/me/mobile', { mobile: '9811100032', verification_token: tok }, { bearer: other.token });
  assert.equal(stolen.status, 400);
  assert.equal(stolen.body.errors[0].code, 'verification_required');
  const tok2 = await verified('9811100032', 'change_mobile', p.token);
  const missing = await post('/api/v1/me/mobile', { mobile: '98111', verification_token: '' }, { bearer: p.token });
  assert.deepEqual(Object.fromEntries(missing.body.errors.map((e) => [e.field, e.code])),
    { mobile: 'invalid_mobile', verification_token: 'verification_required' });
  const { response: moved, message: notice } = await nextMessage(ctx.sms, '9811100031',
    () => post('/api/v1/me/mobile', { mobile: '+91 98111 00032', verification_token: tok2 }, { bearer: p.token }));
  assert.equal(moved.status, 200, moved.text);
  assert.equal(moved.body.mobile, '9811100032');
  assert.equal(notice.template, 'mobile_replaced_sms');
  assert.match(notice.text, /98xxxxxx32/);
  // the token is spent
  const again = await post('/api/v1/me/mobile', { mobile: '9811100032', verification_token: tok2 }, { bearer: p.token });
  assert.equal(again.status, 400);
  // the new number logs in; the old one is an unknown number now
  assert.equal((await LOGIN(ctx, '9811100032')).status, 200);
  const before = smsTo('9811100031').length;
  await post('/api/v1/otp', { mobile: '9811100031', purpose: 'login' });
  const fail = await post('/api/v1/auth/otp', { mobile: '9811100031', code: '123456' });
  assert.equal(fail.status, 401);
  assert.equal(smsTo('9811100031').length, before, 'no login code for an unknown number');
  const data = await get('/api/v1/me/data', { bearer: p.token });
  assert.ok(data.body.audit.some((a) => a.action === 'change_mobile'));
});

test('409 mobile_taken when the new number was registered meanwhile; the proof stays usable for its number', async () => {
  const p = await person({ first: 'Arjun', last: 'Das', email: 'arjun.das@doj.gov.in', mobile: '9811100041' });
  const tok = await verified('9811100042', 'change_mobile', p.token);
  await person({ first: 'Bela', last: 'Sen', email: 'bela.sen@doj.gov.in', mobile: '9811100042' });
  const r = await post('/api/v1/me/mobile', { mobile: '9811100042', verification_token: tok }, { bearer: p.token });
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'mobile_taken');
  assert.equal(r.body.errors[0].field, 'mobile');
});

test('a change of e-mail goes by a link to the new address and a notice to the old; nothing changes until it is used', async () => {
  const p = await person({ first: 'Isha', last: 'Rao', email: 'isha.rao@doj.gov.in', mobile: '9811100051' });
  const q = await person({ first: 'Jai', last: 'Kumar', email: 'jai.kumar@doj.gov.in', mobile: '9811100052' });
  const bad = await post('/api/v1/me/email', { email: 'not an email' }, { bearer: p.token });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.errors[0].code, 'invalid_email');
  const same = await post('/api/v1/me/email', { email: 'ISHA.RAO@doj.gov.in' }, { bearer: p.token });
  assert.equal(same.body.errors[0].code, 'email_unchanged');
  const taken = await post('/api/v1/me/email', { email: 'Jai.Kumar@doj.gov.in' }, { bearer: p.token });
  assert.equal(taken.status, 409);
  assert.equal(taken.body.code, 'email_taken');
  const r = await post('/api/v1/me/email', { email: 'isha.rao@nic.in' }, { cookie: p.cookie, csrf: p.csrf });
  assert.equal(r.status, 202, r.text);
  const link = await smtp.waitFor('isha.rao@nic.in', (m) => /confirm-email/.test(m.body));
  const token = link.body.match(/https:\/\/pravesh\.example\.gov\.in\/confirm-email\?token=([A-Za-z0-9_-]+)/)[1];
  const notice = await smtp.waitFor('isha.rao@doj.gov.in', (m) => /change/i.test(m.subject));
  assert.match(notice.body, /i\*\*\*@nic\.in/);
  assert.doesNotMatch(notice.body, /confirm-email/);
  let me = await get('/api/v1/me', { bearer: p.token });
  assert.equal(me.body.email, 'isha.rao@doj.gov.in');
  assert.equal(me.body.pending_email.email, 'isha.rao@nic.in');
  // someone else's session cannot use the link, and does not spend it
  const other = await post('/api/v1/me/email/confirm', { token }, { bearer: q.token });
  assert.equal(other.status, 400);
  assert.equal(other.body.code, 'token_invalid');
  const done = await post('/api/v1/me/email/confirm', { token }, { bearer: p.token });
  assert.equal(done.status, 200, done.text);
  assert.equal(done.body.email, 'isha.rao@nic.in');
  assert.equal(done.body.official_email, true);
  assert.equal(done.body.pending_email, null);
  const twice = await post('/api/v1/me/email/confirm', { token }, { bearer: p.token });
  assert.equal(twice.status, 400);
  assert.equal((await post('/api/v1/me/email/confirm', { token: 'x'.repeat(43) }, { bearer: p.token })).body.code, 'token_invalid');
  me = await get('/api/v1/me', { bearer: p.token });
  assert.equal(me.body.email, 'isha.rao@nic.in');
});

test('the export holds everything the store holds about the person, and nothing about anyone else', async () => {
  const p = await person({ first: 'Tara', last: 'Bhatt', email: 'tara.bhatt@doj.gov.in', mobile: '9811100061' });
  const q = await person({ first: 'Uday', last: 'Joshi', email: 'uday.joshi@doj.gov.in', mobile: '9811100062' });
  // each asks for a position, with their own verified number
  for (const [who, name] of [[p, 'Tara Bhatt'], [q, 'Uday Joshi']]) {
    const mobile = who.user.mobile;
    const tok = await verified(mobile, 'request');
    const r = await post('/api/v1/requests', { kind: 'position', full_name: name, email: who.user.email, mobile, verification_token: tok,
      name: `Data Protection Officer ${name}`, details: `asked by ${name}`, declaration: true });
    assert.equal(r.status, 201, r.text);
  }
  await post('/api/v1/me/email', { email: 'tara.new@doj.gov.in' }, { bearer: p.token });
  // an administrator deactivates and activates P: audit rows about P by someone else
  for (const status of ['inactive', 'active']) {
    const s = await post(`/api/v1/mdo/users/${p.id}/status`, { status }, { bearer: mdoToken });
    assert.equal(s.status, 200, s.text);
  }
  const again = await LOGIN(ctx, '9811100061');
  const r = await get('/api/v1/me/data', { bearer: again.body.token });
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-disposition'), /^attachment; filename="pravesh-my-data-\d{4}-\d\d-\d\d\.json"$/);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  const d = r.body;
  assert.ok(d.generated_at);
  assert.equal(d.user.id, p.id);
  assert.equal(d.user.first_name, 'Tara');
  assert.equal(d.user.email, 'tara.bhatt@doj.gov.in');
  assert.equal(d.user.mobile, '9811100061');
  assert.equal(d.user.org.id, 'd-doj');
  assert.equal(d.user.source, 'self');
  assert.equal(d.user.email_verified, true);
  assert.equal(d.pending_email.email, 'tara.new@doj.gov.in');
  assert.deepEqual(d.consents.map((c) => c.kind).sort(), ['declaration', 'privacy', 'terms']);
  for (const c of d.consents) {
    assert.equal(c.ip, '127.0.0.1');
    assert.ok(c.given_at && c.text_version);
  }
  // two logins: two sessions, each with its address, the current one said
  assert.equal(d.sessions.length, 2);
  assert.ok(d.sessions.every((s) => s.ip === '127.0.0.1' && s.created_at && s.last_seen_at));
  assert.equal(d.sessions.filter((s) => s.current).length, 1);
  assert.equal(d.requests.length, 1);
  assert.equal(d.requests[0].full_name, 'Tara Bhatt');
  assert.equal(d.requests[0].details, 'asked by Tara Bhatt');
  assert.deepEqual(d.uploads_including_me, []);
  const actions = d.audit.map((a) => `${a.action}:${a.actor}`);
  assert.ok(actions.includes('request_email_change:self'));
  assert.ok(actions.includes('deactivate:administrator'));
  assert.ok(actions.includes('activate:administrator'));
  assert.equal(d.audit_truncated, false);
  // nothing about the other person, nor the administrator who acted
  const text = r.text;
  for (const v of [q.id, 'Uday', 'Joshi', 'uday.joshi@doj.gov.in', '9811100062', 'asked by Uday', 'Meera', '9876500001', 'meera.iyer']) {
    assert.ok(!text.includes(v), `the export names ${v}`);
  }
  const adminId = (await get('/api/v1/me', { bearer: mdoToken })).body.id;
  assert.ok(!text.includes(adminId), 'the export names the administrator');
});

test('a person created by a bulk upload sees the upload that included them', async () => {
  const csv = 'First Name,Last Name,Email Id,Mobile Number\nVeer,Singh,veer.singh@doj.gov.in,9811100071\n';
  const fd = new FormData();
  fd.append('file', new Blob([csv], { type: 'text/csv' }), 'people.csv');
  const up = await fetch(srv.url + '/api/v1/mdo/uploads', { method: 'POST', body: fd, headers: { authorization: `Bearer ${mdoToken}` } });
  assert.equal(up.status, 202);
  const id = (await up.json()).id;
  for (let i = 0; i < 500; i++) {
    const s = await get(`/api/v1/mdo/uploads/${id}`, { bearer: mdoToken });
    if (s.body.status === 'SUCCESSFUL') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const login = await LOGIN(ctx, '9811100071');
  assert.equal(login.status, 200, login.text);
  const d = (await get('/api/v1/me/data', { bearer: login.body.token })).body;
  assert.equal(d.user.source, 'bulk');
  assert.deepEqual(d.uploads_including_me.map((u) => [u.upload_id, u.org_id]), [[id, 'd-doj']]);
  assert.deepEqual(d.consents, []);
  const list = await get('/api/v1/mdo/uploads', { bearer: mdoToken });
  assert.equal(list.body.items.find((u) => u.id === id).files_removed_at, null);
});

test('closing: a code to one\'s own number only; then every session ends and the account answers as unknown everywhere', async () => {
  const p = await person({ first: 'Kiran', last: 'Mehta', email: 'kiran.mehta@doj.gov.in', mobile: '9811100081' });
  const second = await LOGIN(ctx, '9811100081');
  assert.equal((await post('/api/v1/otp', { mobile: '9811100081', purpose: 'erasure' })).status, 401);
  // a code for another number: the same answer, nothing sent
  const n0 = smsTo('9811100089').length;
  const foreign = await post('/api/v1/otp', { mobile: '9811100089', purpose: 'erasure' }, { bearer: p.token });
  assert.equal(foreign.status, 202);
  const own = await verified('9811100081', 'erasure', p.token);
  assert.equal(smsTo('9811100089').length, n0);
  // a change-of-mobile proof does not close an account
  const wrongKind = await verified('9811100088', 'change_mobile', p.token);
  const refused = await post('/api/v1/me/erasure', { verification_token: wrongKind }, { bearer: p.token });
  assert.equal(refused.status, 400);
  assert.equal(refused.body.errors[0].code, 'verification_required');
  assert.equal((await post('/api/v1/me/erasure', {}, { bearer: p.token })).status, 400);
  const t0 = Date.now();
  const r = await post('/api/v1/me/erasure', { verification_token: own }, { cookie: p.cookie, csrf: p.csrf });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.body.status, 'closing');
  const days = (Date.parse(r.body.erase_after) - t0) / 86400000;
  assert.ok(days > 29.9 && days < 30.1, `erase_after ${r.body.erase_after}`);
  assert.ok(r.headers.getSetCookie().some((c) => /^pravesh_session=;.*Max-Age=0/.test(c)));
  const mail = await smtp.waitFor('kiran.mehta@doj.gov.in', (m) => /closed/.test(m.subject));
  assert.match(mail.body, /erased/);
  // every session ended
  assert.equal((await get('/api/v1/me', { bearer: p.token })).status, 401);
  assert.equal((await get('/api/v1/me', { bearer: second.body.token })).status, 401);
  // login: as an unknown number (no code sent, login_failed)
  const n1 = smsTo('9811100081').length;
  assert.equal((await post('/api/v1/otp', { mobile: '9811100081', purpose: 'login' })).status, 202);
  assert.equal((await post('/api/v1/auth/otp', { mobile: '9811100081', code: '123456' })).body.code, 'login_failed');
  // register: the number is free again, so a code (not the "already registered" notice)
  const reg = await nextMessage(ctx.sms, '9811100081', () => post('/api/v1/otp', { mobile: '9811100081', purpose: 'register' }));
  assert.equal(reg.message.template, 'otp_sms');
  assert.equal(smsTo('9811100081').length, n1 + 1, 'only the registration code');
  // the administrators see it closed, without its contact details, and cannot reopen it
  const list = await get('/api/v1/mdo/users?status=closed', { bearer: mdoToken });
  const row = list.body.items.find((u) => u.id === p.id);
  assert.equal(row.status, 'closed');
  assert.equal(row.email, '');
  assert.equal(row.mobile, '');
  assert.equal(row.erase_after, r.body.erase_after);
  const reopen = await post(`/api/v1/mdo/users/${p.id}/status`, { status: 'active' }, { bearer: mdoToken });
  assert.equal(reopen.status, 409);
  assert.equal(reopen.body.code, 'account_closed');
  // the same person registers again with the same e-mail and mobile, at once
  const ids = await directoryIds(ctx);
  const tok = await verified('9811100081');
  const back = await post('/api/v1/registrations', { first_name: 'Kiran', last_name: 'Mehta', email: 'Kiran.Mehta@doj.gov.in', mobile: '9811100081',
    position_id: ids.position_id, org_id: ids.org_id, declaration: true, terms: true, verification_token: tok });
  assert.equal(back.status, 201, back.text);
  assert.notEqual(back.body.user_id, p.id);
});

test('every /me route needs a login', async () => {
  for (const [m, p] of [['PATCH', '/api/v1/me'], ['POST', '/api/v1/me/mobile'], ['POST', '/api/v1/me/email'],
    ['POST', '/api/v1/me/email/confirm'], ['GET', '/api/v1/me/data'], ['POST', '/api/v1/me/erasure']]) {
    const r = await req(srv.url, m, p, m === 'GET' ? {} : { json: {} });
    assert.equal(r.status, 401, `${m} ${p}`);
    assert.equal(r.body.code, 'unauthenticated');
  }
});

// The token of a confirmation link sent to `email` after send().
async function emailLink(email, send) {
  const r = await send();
  assert.equal(r.status, 202, r.text);
  const m = await smtp.waitFor(email, (x) => /confirm-email/.test(x.body));
  return m.body.match(/confirm-email\?token=([A-Za-z0-9_-]+)/)[1];
}

test('review: a used e-mail link ends the others; an older link cannot undo the change the current address was told of', async () => {
  const p = await person({ first: 'Lata', last: 'Kapoor', email: 'lata.kapoor@doj.gov.in', mobile: '9811100091' });
  const first = await emailLink('lata.first@doj.gov.in', () => post('/api/v1/me/email', { email: 'lata.first@doj.gov.in' }, { bearer: p.token }));
  const second = await emailLink('lata.second@doj.gov.in', () => post('/api/v1/me/email', { email: 'lata.second@doj.gov.in' }, { bearer: p.token }));
  const done = await post('/api/v1/me/email/confirm', { token: second }, { bearer: p.token });
  assert.equal(done.status, 200, done.text);
  assert.equal(done.body.email, 'lata.second@doj.gov.in');
  assert.equal(done.body.pending_email, null, 'no other change waits once one is made');
  const old = await post('/api/v1/me/email/confirm', { token: first }, { bearer: p.token });
  assert.equal(old.status, 400, old.text);
  assert.equal(old.body.code, 'token_invalid');
  assert.equal((await get('/api/v1/me', { bearer: p.token })).body.email, 'lata.second@doj.gov.in');
});

test('review: a change of mobile or of e-mail ends the person\'s other sessions, not the one that made it', async () => {
  const p = await person({ first: 'Mohan', last: 'Pillai', email: 'mohan.pillai@doj.gov.in', mobile: '9811100093' });
  const other = (await LOGIN(ctx, '9811100093')).body.token;
  const tok = await verified('9811100094', 'change_mobile', p.token);
  const moved = await post('/api/v1/me/mobile', { mobile: '9811100094', verification_token: tok }, { cookie: p.cookie, csrf: p.csrf });
  assert.equal(moved.status, 200, moved.text);
  assert.equal((await get('/api/v1/me', { bearer: other })).status, 401, 'a session from before the change of mobile');
  assert.equal((await get('/api/v1/me', { bearer: p.token })).status, 200);
  const other2 = (await LOGIN(ctx, '9811100094')).body.token;
  const link = await emailLink('mohan.new@doj.gov.in', () => post('/api/v1/me/email', { email: 'mohan.new@doj.gov.in' }, { bearer: p.token }));
  assert.equal((await post('/api/v1/me/email/confirm', { token: link }, { bearer: p.token })).status, 200);
  assert.equal((await get('/api/v1/me', { bearer: other2 })).status, 401, 'a session from before the change of e-mail');
  assert.equal((await get('/api/v1/me', { bearer: p.token })).status, 200);
});

test('review: the export has no request of another person that only named the person\'s e-mail', async () => {
  const p = await person({ first: 'Nisha', last: 'Verma', email: 'nisha.verma@doj.gov.in', mobile: '9811100095' });
  // a stranger asks with their own verified number and, by mistake or on purpose, P's address
  const tok = await verified('9811100096', 'request');
  const r = await post('/api/v1/requests', { kind: 'position', full_name: 'Stranger Sharma', email: 'nisha.verma@doj.gov.in',
    mobile: '9811100096', verification_token: tok, name: 'Keeper Of Strangers', details: 'stranger details', declaration: true });
  assert.equal(r.status, 201, r.text);
  const d = await get('/api/v1/me/data', { bearer: p.token });
  assert.equal(d.status, 200);
  for (const v of ['Stranger Sharma', '9811100096', 'stranger details']) {
    assert.ok(!d.text.includes(v), `the export names ${v}`);
  }
});
