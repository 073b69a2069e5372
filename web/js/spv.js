// SPV administration: the queue of requests (approve with an editable name,
// and sector, type and parent for organisations; reject with a reason), new
// organisations, positions and MDO administrators, and the audit log.
import { init, t, fmtDate, errText } from './i18n.js';
import { get, post, me } from './api.js';
import { $, el, tabs, busy, formAlert, clearErrors, showApiError, confirmDialog, pager, cell } from './ui.js';
import { orgCombobox, underText } from './directory.js';
import { sessionHeader } from './session.js';

await init();

const PER_PAGE = 20;
const reqState = { page: 1 };
const auditState = { page: 1 };
let seq = 0;

function pageAlert(text, kind = 'error') {
  const a = kind === 'error' ? $('#spv-alert') : $('#spv-status');
  const other = kind === 'error' ? $('#spv-status') : $('#spv-alert');
  other.textContent = '';
  other.className = 'form-alert';
  a.textContent = text || '';
  a.className = 'form-alert' + (text ? ' ' + kind : '');
}

let user = null;
let meError = null;
try { user = await me(); } catch (e) { meError = e; }
if (meError) pageAlert(errText(meError));
else if (!user) location.replace('/admin-login?next=/spv');
else if (!(user.roles || []).some((r) => r.role === 'spv_admin')) pageAlert(t('err.forbidden'));
sessionHeader(user);

// A labelled field for the forms built here.
function field(id, key, input, { req = false, hint } = {}) {
  input.id = id;
  if (req) input.setAttribute('aria-required', 'true');
  const parts = [el('label', { for: id, class: req ? 'req' : null, i18n: key }), input];
  if (hint) {
    parts.push(el('p', { class: 'hint', id: `${id}-hint`, i18n: hint }));
    input.setAttribute('aria-describedby', `${id}-hint`);
  }
  parts.push(el('p', { class: 'field-error', id: `${id}-error`, 'aria-live': 'polite' }));
  return el('div', { class: 'field' }, ...parts);
}

// ---- requests
async function loadRequests() {
  const p = new URLSearchParams({ status: $('#req-status').value, page: String(reqState.page), per_page: String(PER_PAGE) });
  if ($('#req-kind').value) p.set('kind', $('#req-kind').value);
  try {
    const r = await get(`/api/v1/admin/requests?${p}`);
    reqState.data = r;
    await renderRequests();
  } catch (e) {
    pageAlert(errText(e));
  }
}

const orgNames = new Map();
async function orgName(id) {
  if (!id) return '';
  if (!orgNames.has(id)) {
    orgNames.set(id, get(`/api/v1/orgs/${encodeURIComponent(id)}`).then((o) => o).catch(() => null));
  }
  return orgNames.get(id);
}

async function renderRequests() {
  const r = reqState.data;
  if (!r) return;
  const box = $('#requests');
  if (!r.items.length) {
    box.replaceChildren(el('p', { class: 'card empty', i18n: 'spv.no_requests' }));
  } else {
    const cards = [];
    for (const q of r.items) cards.push(await requestCard(q));
    box.replaceChildren(...cards);
  }
  pager($('#requests-pager'), reqState, r.total, loadRequests, PER_PAGE);
}

async function requestCard(q) {
  const n = ++seq;
  const titleId = `rq${n}-title`;
  const meta = t('spv.requested_by', { name: q.full_name, email: q.email, mobile: q.mobile, date: fmtDate(q.created_at) });
  const parent = q.parent_id ? await orgName(q.parent_id) : null;
  const facts = [];
  if (q.kind === 'organisation') {
    if (q.sector) facts.push(el('p', { class: 'meta', text: `${t('f.sector')}: ${t('f.' + q.sector)}` }));
    if (q.parent_id) facts.push(el('p', { class: 'meta', text: `${t('f.parent')}: ${parent ? parent.name : q.parent_id}` }));
  }
  const card = el('article', { class: 'card request', 'aria-labelledby': titleId, 'data-id': q.id },
    el('h2', { id: titleId }, q.name, ' ', el('span', { class: 'badge', text: t('kind.' + q.kind) }), ' ',
      el('span', { class: 'badge ' + q.status, text: t('status.' + q.status) })),
    el('p', { class: 'meta', text: meta }),
    ...facts,
    q.details ? el('p', { text: q.details }) : null,
    q.reason ? el('p', { class: 'meta', text: `${t('spv.reason')}: ${q.reason}` }) : null,
    q.decided_at ? el('p', { class: 'meta', text: `${t('spv.decided')}: ${fmtDate(q.decided_at)}` }) : null);
  if (q.status === 'pending') card.append(approveForm(q, n, parent), rejectForm(q, n));
  return card;
}

function approveForm(q, n, parent) {
  const form = el('form', { novalidate: true, class: 'approve-form' });
  const name = el('input', { type: 'text', value: q.name });
  form.append(el('p', { class: 'form-alert', role: 'status' }), field(`ap${n}-name`, 'f.name', name, { req: true }));
  let sector, type, par;
  if (q.kind === 'organisation') {
    sector = el('select', {},
      el('option', { value: 'center', i18n: 'f.center' }), el('option', { value: 'state', i18n: 'f.state' }));
    sector.value = q.sector || 'center';
    type = el('input', { type: 'text', value: 'organisation' });
    const parInput = el('input', { type: 'text', value: parent ? parent.name : '' });
    form.append(el('div', { class: 'grid2' },
      field(`ap${n}-sector`, 'f.sector', sector, { req: true }),
      field(`ap${n}-type`, 'f.type', type, { req: true, hint: 'f.type_hint' })),
    field(`ap${n}-parent`, 'f.parent', parInput, { hint: 'f.parent_hint' }));
    par = orgCombobox(parInput, { sector: () => sector.value });
    if (parent) par.value = parent;
  }
  const button = el('button', { type: 'submit', class: 'small', i18n: 'spv.approve' });
  form.append(button);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = { name: name.value };
    if (q.kind === 'organisation') {
      body.sector = sector.value;
      body.type = type.value;
      if (par.value) body.parent_id = par.value.id;
    }
    const ok = await confirmDialog({
      title: t('spv.approve_confirm_title', { name: body.name }),
      text: t(q.kind === 'organisation' ? 'spv.approve_confirm_org' : 'spv.approve_confirm_position', { name: body.name }),
      confirm: t('spv.approve'),
    });
    if (!ok) return;
    busy(button, true);
    try {
      const r = await post(`/api/v1/admin/requests/${encodeURIComponent(q.id)}/approve`, body);
      await loadRequests();
      pageAlert(t('spv.approved', { name: body.name, id: r.created_id || '' }), 'ok');
    } catch (err) {
      showApiError(form, err, { '@position_exists': `ap${n}-name`, name: `ap${n}-name`, sector: `ap${n}-sector`, type: `ap${n}-type`, parent_id: `ap${n}-parent` });
      busy(button, false);
    }
  });
  return el('details', {}, el('summary', { text: t('spv.approve_open', { name: q.name }) }), form);
}

function rejectForm(q, n) {
  const form = el('form', { novalidate: true, class: 'reject-form' });
  const reason = el('textarea', { maxlength: '1000' });
  const button = el('button', { type: 'submit', class: 'danger small', i18n: 'spv.reject' });
  form.append(el('p', { class: 'form-alert', role: 'status' }), field(`rj${n}-reason`, 'spv.reason', reason, { req: true }), button);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    if (!reason.value.trim()) {
      showApiError(form, { fields: { reason: { code: 'required' } } }, { reason: `rj${n}-reason` });
      return;
    }
    const ok = await confirmDialog({
      title: t('spv.reject_confirm_title', { name: q.name }),
      text: t('spv.reject_confirm_text', { name: q.name }),
      confirm: t('spv.reject'),
      danger: true,
    });
    if (!ok) return;
    busy(button, true);
    try {
      await post(`/api/v1/admin/requests/${encodeURIComponent(q.id)}/reject`, { reason: reason.value });
      await loadRequests();
      pageAlert(t('spv.rejected', { name: q.name }), 'ok');
    } catch (err) {
      showApiError(form, err, { reason: `rj${n}-reason` });
      busy(button, false);
    }
  });
  return el('details', {}, el('summary', { text: t('spv.reject_open', { name: q.name }) }), form);
}

$('#req-status').addEventListener('change', () => { reqState.page = 1; loadRequests(); });
$('#req-kind').addEventListener('change', () => { reqState.page = 1; loadRequests(); });

// ---- directory: organisations and positions
const orgParent = orgCombobox($('#org-parent'), { sector: () => $('#org-sector').value });
$('#org-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  clearErrors(form);
  const body = { name: $('#org-name').value, sector: $('#org-sector').value, type: $('#org-type').value };
  if (orgParent.value) body.parent_id = orgParent.value.id;
  const button = $('#org-submit');
  busy(button, true);
  try {
    const o = await post('/api/v1/admin/orgs', body);
    formAlert(form, t('spv.org_added', { name: o.name, under: o.under ? underText(o) : '' }), null, 'ok');
    $('#org-name').value = '';
  } catch (err) {
    showApiError(form, err, { name: 'org-name', sector: 'org-sector', type: 'org-type', parent_id: 'org-parent' });
  } finally {
    busy(button, false);
  }
});

$('#pos-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  clearErrors(form);
  const button = $('#pos-submit');
  busy(button, true);
  try {
    const p = await post('/api/v1/admin/positions', { name: $('#pos-name').value });
    formAlert(form, t('spv.position_added', { name: p.name }), null, 'ok');
    $('#pos-name').value = '';
  } catch (err) {
    showApiError(form, err, { name: 'pos-name', '@position_exists': 'pos-name' });
  } finally {
    busy(button, false);
  }
});

// ---- MDO administrators
const adminOrg = orgCombobox($('#admin-org'));
$('#admin-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  clearErrors(form);
  const body = {
    org_id: adminOrg.value ? adminOrg.value.id : '', username: $('#admin-username').value, password: $('#admin-password').value,
    first_name: $('#admin-first').value, last_name: $('#admin-last').value, email: $('#admin-email').value, mobile: $('#admin-mobile').value,
  };
  const button = $('#admin-submit');
  busy(button, true);
  try {
    const u = await post('/api/v1/admin/mdo-admins', body);
    formAlert(form, t('spv.admin_added', { name: `${u.first_name} ${u.last_name}`, username: body.username, org: u.org ? u.org.name : '' }), null, 'ok');
    for (const id of ['admin-username', 'admin-password', 'admin-first', 'admin-last', 'admin-email', 'admin-mobile']) $('#' + id).value = '';
  } catch (err) {
    showApiError(form, err, {
      org_id: 'admin-org', username: 'admin-username', password: 'admin-password', first_name: 'admin-first',
      last_name: 'admin-last', email: 'admin-email', mobile: 'admin-mobile',
    });
  } finally {
    busy(button, false);
  }
});

// ---- audit log
async function loadAudit() {
  try {
    const r = await get(`/api/v1/admin/audit?${new URLSearchParams({ page: String(auditState.page), per_page: String(PER_PAGE) })}`);
    auditState.data = r;
    renderAudit();
  } catch (e) {
    pageAlert(errText(e));
  }
}

function renderAudit() {
  const r = auditState.data;
  if (!r) return;
  const body = $('#audit-table tbody');
  if (!r.items.length) {
    body.replaceChildren(el('tr', { class: 'empty-row' }, el('td', { colspan: '6', class: 'empty', i18n: 'spv.no_audit' })));
  } else {
    body.replaceChildren(...r.items.map((a) => el('tr', {},
      cell('col.time', { text: fmtDate(a.at) }),
      cell('col.actor', { class: 'id', text: a.actor_id || '' }),
      cell('col.audit_action', { text: t('audit.' + a.action) }),
      cell('col.target', { class: 'id', text: a.target || '' }),
      cell('col.address', { text: a.client_ip || '' }),
      cell('col.detail', {}, el('pre', { class: 'detail', text: a.detail && Object.keys(a.detail).length ? JSON.stringify(a.detail) : '' })))));
  }
  pager($('#audit-pager'), auditState, r.total, loadAudit, PER_PAGE);
}

document.addEventListener('langchange', () => {
  // cards with an open form keep what is being typed; the rest follow the language
  if (!document.querySelector('#requests details[open]')) renderRequests();
  renderAudit();
});

if (user && (user.roles || []).some((r) => r.role === 'spv_admin')) {
  $('#spv-main').hidden = false;
  const ctl = tabs($('#spv-tabs'), (id) => {
    if (id === 'tab-requests') loadRequests();
    else if (id === 'tab-audit') loadAudit();
  });
  const want = { '#directory': 'tab-directory', '#admins': 'tab-admins', '#audit': 'tab-audit' }[location.hash] || 'tab-requests';
  ctl.select(want);
}
