// MDO bulk uploads over HTTP: template, CSV and XLSX uploads with good and
// bad rows, result files, refusals (415, 413, 400), access across
// organisations and an SPV acting with ?org_id=.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startServer, req, cli } from './lib/server.mjs';
import { messages } from './lib/sms.mjs';
import { xlsx, readXlsx, zip } from './lib/xlsx.mjs';

let srv, sms, mail;
const tokens = {};
const MAX = 300000;

function admin(role, username, org, mobile, email) {
  const args = ['admin', 'create', '--role', role, '--username', username, '--first-name', 'Test',
    '--last-name', 'Admin', '--email', email, '--mobile', mobile];
  if (org) args.push('--org', org);
  const r = cli(args, srv.env, 'a long enough password\n');
  assert.equal(r.status, 0, r.stderr);
}

async function login(username) {
  const r = await srv.adminLogin(username, 'a long enough password');
  assert.equal(r.status, 200, r.text);
  return r.body.token;
}

before(async () => {
  const d = mkdtempSync(path.join(tmpdir(), 'pravesh-up-'));
  sms = path.join(d, 'sms.jsonl');
  mail = path.join(d, 'mail.jsonl');
  srv = await startServer({ env: { PRAVESH_SMS: `file:${sms}`, PRAVESH_MAIL: `file:${mail}`, PRAVESH_UPLOAD_MAX_BYTES: String(MAX) } });
  admin('mdo', 'mdo.doj', 'd-doj', '6000000101', 'mdo.doj@doj.gov.in');
  admin('mdo', 'mdo.dopt', 'd-dopt', '6000000102', 'mdo.dopt@dopt.gov.in');
  admin('spv', 'spv.one', null, '6000000103', 'spv.one@nic.in');
  tokens.doj = await login('mdo.doj');
  tokens.dopt = await login('mdo.dopt');
  tokens.spv = await login('spv.one');
});
after(async () => { await srv.stop(); });

function upload(token, name, content, type = 'text/csv', query = '') {
  const fd = new FormData();
  fd.append('file', new Blob([content], { type }), name);
  return req(srv.url, 'POST', '/api/v1/mdo/uploads' + query, { body: fd, bearer: token });
}

async function download(token, p) {
  const r = await fetch(srv.url + p, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.status, headers: r.headers, buf: Buffer.from(await r.arrayBuffer()) };
}

async function waitDone(token, id, query = '') {
  const t0 = Date.now();
  for (;;) {
    const r = await req(srv.url, 'GET', `/api/v1/mdo/uploads/${id}${query}`, { bearer: token });
    assert.equal(r.status, 200, r.text);
    if (r.body.status === 'SUCCESSFUL' || r.body.status === 'FAILED') return r.body;
    assert.ok(['QUEUED', 'IN_PROGRESS'].includes(r.body.status));
    if (Date.now() - t0 > 30000) throw new Error('upload did not finish: ' + r.text);
    await new Promise((res) => setTimeout(res, 50));
  }
}

// RFC 4180 rows of a CSV text (BOM dropped).
function parseCsv(text) {
  text = text.replace(/^\uFEFF/, '');
  const rows = []; let row = []; let cell = ''; let q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') q = false; else cell += c;
    } else if (c === '"') q = true;
    else if (c === ',') { row.push(cell); cell = ''; } else if (c === '\r') continue;
    else if (c === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; } else cell += c;
  }
  if (cell || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

const GOOD_BAD = [
  'first name , Last  Name,EMAIL ID,Mobile Number,Employee Code',
  'Asha,Verma,asha.verma@doj.gov.in,+91 98765 10001,E1',
  'Ravi,Kumar,ravi.kumar@example.com,98765-10002,E2',
  ',,,,',
  'Sita,Devi,ASHA.VERMA@doj.gov.in,9876510003,E3',
  'Bad1,,not-an-email,12345,E4',
  'Mohan,Das,mohan@example.com,9876510002,E5',
  '=SUM(A1),Lal,lal@example.com,9876510006,"=HYPERLINK(""x"")"',
  'मीरा,शर्मा,meera@example.com,(987) 651-0007,E7',
].join('\r\n') + '\r\n';

let csvUpload;

test('CSV upload: 202 QUEUED, then per-row results, counts, users and welcome messages', async () => {
  const r = await upload(tokens.doj, '../../etc/Employees list.csv', GOOD_BAD);
  assert.equal(r.status, 202, r.text);
  assert.equal(r.body.status, 'QUEUED');
  assert.match(r.body.file_name, /^\d{13}_Employees_list\.csv$/);
  // the name as the administrator gave it (without the path), for the pages
  assert.equal(r.body.original_name, 'Employees list.csv');
  for (const k of ['id', 'file_name', 'original_name', 'status', 'failed_records', 'success_records', 'total_records', 'error', 'created_at', 'updated_at'])
    assert.ok(k in r.body, k);
  assert.equal(r.body.total_records, 0);
  assert.match(r.body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  const done = await waitDone(tokens.doj, r.body.id);
  csvUpload = done;
  assert.equal(done.status, 'FAILED');
  assert.equal(done.total_records, 7);
  assert.equal(done.success_records, 3);
  assert.equal(done.failed_records, 4);
  assert.equal(done.error, null);

  const res = await download(tokens.doj, `/api/v1/mdo/uploads/${done.id}/result`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /text\/csv/);
  assert.match(res.headers.get('content-disposition'), /attachment; filename="Employees_list\.result\.csv"; filename\*=UTF-8''Employees%20list\.result\.csv$/);
  const listed = await req(srv.url, 'GET', '/api/v1/mdo/uploads', { bearer: tokens.doj });
  assert.equal(listed.body.items.find((u) => u.id === done.id).original_name, 'Employees list.csv');
  const rows = parseCsv(res.buf.toString('utf8'));
  assert.deepEqual(rows[0], ['first name', 'Last  Name', 'EMAIL ID', 'Mobile Number', 'Employee Code', 'Status', 'Error Details']);
  assert.equal(rows.length, 8);
  assert.deepEqual(rows[1], ['Asha', 'Verma', 'asha.verma@doj.gov.in', "'+91 98765 10001", 'E1', 'SUCCESS', '']);
  assert.deepEqual(rows[2].slice(5), ['SUCCESS', '']);
  assert.deepEqual(rows[3].slice(5), ['FAILED', '[Duplicate Email Id in file (row 2)]']);
  assert.deepEqual(rows[4].slice(5), ['FAILED', '[Invalid First Name, Last Name is missing, Invalid Email Id, Invalid Mobile Number]']);
  assert.deepEqual(rows[5].slice(5), ['FAILED', '[Duplicate Mobile Number in file (row 3)]']);
  assert.equal(rows[6][0], "'=SUM(A1)");
  assert.equal(rows[6][4], `'=HYPERLINK("x")`);
  assert.deepEqual(rows[6].slice(5), ['FAILED', '[Invalid First Name]']);
  assert.deepEqual(rows[7].slice(0, 2), ['मीरा', 'शर्मा']);
  assert.deepEqual(rows[7].slice(5), ['SUCCESS', '']);

  // the original file, byte for byte
  const orig = await download(tokens.doj, `/api/v1/mdo/uploads/${done.id}/file`);
  assert.equal(orig.status, 200);
  assert.match(orig.headers.get('content-disposition'), /filename="Employees_list\.csv"; filename\*=UTF-8''Employees%20list\.csv$/);
  assert.equal(orig.buf.toString('utf8'), GOOD_BAD);

  // welcome SMS and e-mail for a created user
  const t0 = Date.now();
  while (!messages(sms, '9876510001').length && Date.now() - t0 < 10000) await new Promise((res) => setTimeout(res, 50));
  const m = messages(sms, '9876510001');
  assert.equal(m.length, 1);
  assert.equal(m[0].template, 'welcome_sms');
  assert.match(m[0].text, /Asha/);
  assert.match(m[0].text, /Department of Justice/);
  while (!messages(mail, 'asha.verma@doj.gov.in').length && Date.now() - t0 < 10000) await new Promise((res) => setTimeout(res, 50));
  assert.equal(messages(mail, 'asha.verma@doj.gov.in').length, 1);
  assert.equal(messages(sms, '9876510003').length, 0); // a failed row gets nothing
});

test('a result file uploaded again: apostrophes undone, Status ignored, every row already registered', async () => {
  const res = await download(tokens.doj, `/api/v1/mdo/uploads/${csvUpload.id}/result`);
  const r = await upload(tokens.doj, 'again.csv', res.buf);
  assert.equal(r.status, 202, r.text);
  const done = await waitDone(tokens.doj, r.body.id);
  assert.equal(done.status, 'FAILED');
  assert.equal(done.success_records, 0);
  const out = parseCsv((await download(tokens.doj, `/api/v1/mdo/uploads/${done.id}/result`)).buf.toString('utf8'));
  assert.deepEqual(out[0], ['first name', 'Last  Name', 'EMAIL ID', 'Mobile Number', 'Employee Code', 'Status', 'Error Details']);
  assert.deepEqual(out[1].slice(3), ["'+91 98765 10001", 'E1', 'FAILED', '[Email id already registered, Mobile number is already registered]']);
  assert.deepEqual(out[7].slice(5), ['FAILED', '[Email id already registered, Mobile number is already registered]']);
});

test('XLSX upload: numeric mobile cells, sparse cells, a sheet not named sheet1; XLSX result as text', async () => {
  const file = xlsx([
    ['First Name', 'Last Name', 'Email Id', 'Mobile Number'],
    ['Kiran', 'Rao', 'kiran.rao@nic.in', 9876520001],
    ['Lata', 'Mehta', 'lata@example.com', { n: '9.87652E9' }],
    ['Nina', 'Roy', 'nina@example.com', { n: '9876520003.0' }],
    [],
    ['Omar', '', 'omar@example.com', '+919876520004'],
  ]);
  const r = await upload(tokens.doj, 'staff.xlsx', file, 'application/octet-stream');
  assert.equal(r.status, 202, r.text);
  const done = await waitDone(tokens.doj, r.body.id);
  assert.equal(done.total_records, 4);
  assert.equal(done.success_records, 3);
  assert.equal(done.failed_records, 1);
  const res = await download(tokens.doj, `/api/v1/mdo/uploads/${done.id}/result`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /spreadsheetml/);
  assert.match(res.headers.get('content-disposition'), /staff\.result\.xlsx/);
  const rows = readXlsx(res.buf).filter(Boolean);
  assert.deepEqual(rows[0], ['First Name', 'Last Name', 'Email Id', 'Mobile Number', 'Status', 'Error Details']);
  assert.deepEqual(rows[1], ['Kiran', 'Rao', 'kiran.rao@nic.in', '9876520001', 'SUCCESS', '']);
  assert.equal(rows[2][3], '9.87652E9');
  assert.equal(rows[2][4], 'SUCCESS');
  assert.equal(rows[3][4], 'SUCCESS');
  assert.deepEqual(rows[4], ['Omar', '', 'omar@example.com', "'+919876520004", 'FAILED', '[Last Name is missing]']);
  assert.equal(rows.length, 5);
});

test('a missing column fails the whole upload; its result is refused', async () => {
  const r = await upload(tokens.doj, 'nomobile.csv', 'First Name,Last Name,Email\nA,B,a@b.in\n');
  const done = await waitDone(tokens.doj, r.body.id);
  assert.equal(done.status, 'FAILED');
  assert.equal(done.error, 'Missing column: Email Id, Mobile Number');
  assert.equal(done.total_records, 0);
  const res = await req(srv.url, 'GET', `/api/v1/mdo/uploads/${done.id}/result`, { bearer: tokens.doj });
  assert.equal(res.status, 409);
  assert.equal(res.body.code, 'no_result');
  const hdrOnly = await upload(tokens.doj, 'hdr.csv', 'First Name,Last Name,Email Id,Mobile Number\n');
  const d2 = await waitDone(tokens.doj, hdrOnly.body.id);
  assert.equal(d2.status, 'FAILED');
  assert.equal(d2.error, 'The file has no data rows');
});

test('refusals: 415 by content whatever the name, 400 empty, 413 too large, 400 without a file, 401 anonymous', async () => {
  let r = await upload(tokens.doj, 'photo.csv', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48]));
  assert.equal(r.status, 415);
  assert.equal(r.body.code, 'unsupported_file');
  assert.match(r.headers.get('content-type'), /application\/problem\+json/);
  r = await upload(tokens.doj, 'empty.csv', '');
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'empty_file');
  r = await upload(tokens.doj, 'big.csv', 'First Name,Last Name,Email Id,Mobile Number\n' + 'x'.repeat(MAX + 10));
  assert.equal(r.status, 413);
  assert.equal(r.body.code, 'file_too_large');
  r = await req(srv.url, 'POST', '/api/v1/mdo/uploads', { bearer: tokens.doj, json: { file: 'x' } });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'file_required');
  const fd = new FormData();
  fd.append('file', new Blob(['First Name\n']), 'a.csv');
  r = await req(srv.url, 'POST', '/api/v1/mdo/uploads', { body: fd });
  assert.equal(r.status, 401);
  // nothing stored by refused requests
  const list = await req(srv.url, 'GET', '/api/v1/mdo/uploads?per_page=100', { bearer: tokens.doj });
  assert.ok(!list.body.items.some((u) => /photo|empty|big/.test(u.file_name)));
});

test('a refused upload leaves no part file, even looked at the moment its answer arrives', async () => {
  const parts = () => readdirSync(path.join(srv.dir, 'uploads')).filter((f) => f.startsWith('.part'));
  const refusals = [
    ['photo.csv', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), 415],
    ['empty.csv', '', 400],
    ['big.csv', 'First Name,Last Name,Email Id,Mobile Number\n' + 'x'.repeat(MAX + 10), 413],
  ];
  // the file used to be removed only after its answer had gone: repeated to catch that
  for (let round = 0; round < 10; round++) {
    for (const [name, body, status] of refusals) {
      const r = await upload(tokens.doj, name, body);
      assert.equal(r.status, status, r.text);
      assert.deepEqual(parts(), [], `${name}, round ${round}`);
    }
  }
});

test('another organisation cannot see, read or download an upload; an SPV can with ?org_id=', async () => {
  const id = csvUpload.id;
  for (const p of [`/api/v1/mdo/uploads/${id}`, `/api/v1/mdo/uploads/${id}/file`, `/api/v1/mdo/uploads/${id}/result`]) {
    const r = await req(srv.url, 'GET', p, { bearer: tokens.dopt });
    assert.equal(r.status, 404, p);
    assert.equal(r.body.code, 'not_found');
  }
  let r = await req(srv.url, 'GET', '/api/v1/mdo/uploads', { bearer: tokens.dopt });
  assert.equal(r.status, 200);
  assert.equal(r.body.total, 0);
  r = await req(srv.url, 'GET', '/api/v1/mdo/uploads?org_id=d-doj', { bearer: tokens.dopt });
  assert.equal(r.status, 403);
  r = await req(srv.url, 'GET', `/api/v1/mdo/uploads/${id}?org_id=d-doj`, { bearer: tokens.dopt });
  assert.equal(r.status, 403);
  r = await upload(tokens.dopt, 'x.csv', GOOD_BAD, 'text/csv', '?org_id=d-doj');
  assert.equal(r.status, 403);

  r = await req(srv.url, 'GET', '/api/v1/mdo/uploads', { bearer: tokens.spv });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'org_required');
  r = await req(srv.url, 'GET', '/api/v1/mdo/uploads?org_id=d-doj&per_page=2', { bearer: tokens.spv });
  assert.equal(r.status, 200);
  assert.ok(r.body.total >= 5);
  assert.equal(r.body.items.length, 2);
  assert.equal(r.body.page, 1);
  assert.equal(r.body.per_page, 2);
  assert.ok(r.body.items[0].created_at >= r.body.items[1].created_at); // newest first
  r = await req(srv.url, 'GET', `/api/v1/mdo/uploads/${id}/result?org_id=d-doj`, { bearer: tokens.spv });
  assert.equal(r.status, 200);
  // an SPV uploading for an organisation
  r = await upload(tokens.spv, 'spv.csv', 'First Name,Last Name,Email Id,Mobile Number\nUma,Pai,uma.pai@dopt.gov.in,9876530001\n', 'text/csv', '?org_id=d-dopt');
  assert.equal(r.status, 202, r.text);
  const done = await waitDone(tokens.dopt, r.body.id);
  assert.equal(done.status, 'SUCCESSFUL');
  assert.equal(done.success_records, 1);
  r = await req(srv.url, 'GET', '/api/v1/mdo/uploads', { bearer: tokens.dopt });
  assert.equal(r.body.total, 1);
  assert.equal(r.body.items[0].id, done.id);
});

test('the template in both formats', async () => {
  let r = await download(tokens.doj, '/api/v1/mdo/uploads/template?format=csv');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-disposition'), /attachment; filename="users-template\.csv"/);
  assert.equal(r.buf.toString('utf8').replace(/^\uFEFF/, '').trim(), 'First Name,Last Name,Email Id,Mobile Number');
  r = await download(tokens.doj, '/api/v1/mdo/uploads/template?format=xlsx');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /spreadsheetml/);
  assert.deepEqual(readXlsx(r.buf)[0], ['First Name', 'Last Name', 'Email Id', 'Mobile Number']);
  r = await req(srv.url, 'GET', '/api/v1/mdo/uploads/template?format=pdf', { bearer: tokens.doj });
  assert.equal(r.status, 400);
  r = await req(srv.url, 'GET', '/api/v1/mdo/uploads/template');
  assert.equal(r.status, 401);
});

test('only the first file part of a request is read', async () => {
  const fd = new FormData();
  fd.append('file', new Blob(['First Name,Last Name,Email Id,Mobile Number\nAsha,Rao,two.parts1@example.in,9123456701\n']), 'one.csv');
  fd.append('file', new Blob(['First Name,Last Name,Email Id,Mobile Number\nBina,Rao,two.parts2@example.in,9123456702\n']), 'two.csv');
  const r = await req(srv.url, 'POST', '/api/v1/mdo/uploads', { body: fd, bearer: tokens.doj });
  assert.equal(r.status, 202, r.text);
  const done = await waitDone(tokens.doj, r.body.id);
  assert.equal(done.total_records, 1);
  assert.equal(done.success_records, 1);
  assert.match(done.file_name, /one\.csv$/);
});

test('an MDO administrator cannot change an SPV administrator of its organisation, nor itself', async () => {
  const spvMe = await req(srv.url, 'GET', '/api/v1/me', { bearer: tokens.spv });
  assert.equal(spvMe.body.org.id, 'd-dopt');
  const r = await req(srv.url, 'POST', `/api/v1/mdo/users/${spvMe.body.id}/status`, { json: { status: 'inactive' }, bearer: tokens.dopt });
  assert.equal(r.status, 404);
  const me = await req(srv.url, 'GET', '/api/v1/me', { bearer: tokens.dopt });
  const self = await req(srv.url, 'POST', `/api/v1/mdo/users/${me.body.id}/status`, { json: { status: 'inactive' }, bearer: tokens.dopt });
  assert.equal(self.status, 403);
  assert.equal((await req(srv.url, 'GET', '/api/v1/me', { bearer: tokens.spv })).status, 200);
  assert.equal((await req(srv.url, 'GET', '/api/v1/me', { bearer: tokens.dopt })).status, 200);
});

test('an anonymous body bigger than any upload is refused at its headers', async () => {
  const r = await fetch(srv.url + '/api/v1/mdo/uploads', {
    method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=x', 'content-length': String(MAX + 2 * 1024 * 1024) },
    body: Buffer.alloc(MAX + 2 * 1024 * 1024), duplex: 'half',
  }).catch((e) => e);
  // either the 413 arrives, or the connection is closed while the client still sends
  if (!(r instanceof Error)) {
    assert.equal(r.status, 413);
    assert.equal((await r.json()).code, 'file_too_large');
  }
  assert.equal((await req(srv.url, 'GET', '/healthz')).status, 200);
});

test('a ZIP archive that is not a workbook is refused as unsupported, whatever its name', async () => {
  const r = await upload(tokens.doj, 'staff.xlsx', zip([['notes.txt', 'hello'], ['photo.csv', 'a,b\n']]),
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
  assert.equal(r.status, 415);
  assert.equal(r.body.code, 'unsupported_file');
});

test('a workbook whose ZIP end record announces more parts than the limit fails as a whole with a clear message', async () => {
  const book = xlsx([['First Name', 'Last Name', 'Email Id', 'Mobile Number'], ['Asha', 'Rao', 'asha.parts@example.in', '9123456709']]);
  // the end record's two entry counts (this disk, total): 60,000 claimed
  book.writeUInt16LE(60000, book.length - 22 + 8);
  book.writeUInt16LE(60000, book.length - 22 + 10);
  const r = await upload(tokens.doj, 'parts.xlsx', book, 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
  assert.equal(r.status, 202, r.text);
  const done = await waitDone(tokens.doj, r.body.id);
  assert.equal(done.status, 'FAILED');
  assert.equal(done.error, 'The XLSX file has too many parts (limit 10000)');
  assert.equal(done.total_records, 0);
});
