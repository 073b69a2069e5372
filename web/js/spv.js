// SPV administration: the queue of requests (approve with an editable name,
// and sector, type and parent for organisations; reject with a reason); the
// organisations and positions to browse, add, rename, move, deactivate and
// activate; the MDO administrators (add, deactivate, activate); and the
// audit log, readable and filtered.
import { init, t, has, fmtDate, fmtNum, errText, setText } from './i18n.js';
import { api, get, post, me } from './api.js';
import { $, el, tabs, busy, debounce, formAlert, clearErrors, showApiError, confirmDialog, pager, cell } from './ui.js';
import { orgCombobox, underText } from './directory.js';
import { sessionHeader } from './session.js';

await init();

const PER_PAGE = 20;
const reqState = { page: 1 };
const auditState = { page: 1 };
const orgState = { page: 1, trail: [] }; // trail: the organisations browsed into, root first
const posState = { page: 1 };
const adminState = { page: 1 };
let orgTypes = [];
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
    type = typeSelect('organisation');
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

// ---- organisation types: chosen from a list
const typeLabel = (ty) => (has('orgtype.' + ty) ? t('orgtype.' + ty) : ty);

function fillTypes(select, want) {
  const cur = want ?? select.value;
  const list = orgTypes.length ? orgTypes : ['organisation'];
  const all = list.includes(cur) || !cur ? list : [...list, cur];
  select.replaceChildren(...all.map((ty) => el('option', { value: ty, text: typeLabel(ty) })));
  select.value = cur || 'organisation';
}

function typeSelect(want) {
  const s = el('select', { class: 'org-types' });
  fillTypes(s, want);
  return s;
}

async function loadTypes() {
  try { orgTypes = (await get('/api/v1/admin/org-types')).items || []; } catch { orgTypes = []; }
  for (const s of document.querySelectorAll('select.org-types')) fillTypes(s, s.value || 'organisation');
}

// A small status line of a panel ('ok' or 'error').
function say(box, kind, key, vars, text) {
  if (key) setText(box, key, vars); else { setText(box, null); box.textContent = text || ''; }
  box.className = 'form-alert' + (key || text ? ' ' + kind : '');
}

// ---- organisations: browse, add, edit, move, deactivate
const orgParent = orgCombobox($('#org-parent'), { sector: () => $('#org-sector').value });
const editParent = orgCombobox($('#edit-parent'), { sector: () => $('#edit-sector').value });
let editing = null;

async function loadOrgs() {
  const q = $('#orgs-q').value.trim();
  const here = orgState.trail[orgState.trail.length - 1];
  const p = new URLSearchParams({ page: String(orgState.page), per_page: String(PER_PAGE), status: $('#orgs-status').value });
  if (q) p.set('q', q); else if (here) p.set('parent_id', here.id);
  try {
    orgState.data = await get(`/api/v1/admin/orgs?${p}`);
    orgState.q = q;
    renderOrgs();
  } catch (e) {
    say($('#orgs-alert'), 'error', null, null, errText(e));
  }
}

function crumbs() {
  const box = $('#orgs-crumbs');
  const items = [];
  const go = (i) => () => { orgState.trail = orgState.trail.slice(0, i); orgState.page = 1; $('#orgs-q').value = ''; loadOrgs(); };
  if (orgState.q) {
    items.push(el('span', { i18n: 'spv.search_results', i18nVars: { q: orgState.q } }));
  } else {
    const trail = orgState.trail;
    items.push(trail.length ? el('button', { type: 'button', class: 'link', on: { click: go(0) }, i18n: 'spv.all_orgs' })
      : el('span', { 'aria-current': 'location', i18n: 'spv.all_orgs' }));
    trail.forEach((o, i) => {
      items.push(el('span', { class: 'sep', 'aria-hidden': 'true', text: ' › ' }));
      items.push(i === trail.length - 1 ? el('span', { 'aria-current': 'location', text: o.name })
        : el('button', { type: 'button', class: 'link', on: { click: go(i + 1) }, text: o.name }));
    });
  }
  box.replaceChildren(...items);
}

function renderOrgs() {
  const r = orgState.data;
  if (!r) return;
  crumbs();
  const body = $('#orgs-table tbody');
  if (!r.items.length) {
    body.replaceChildren(el('tr', { class: 'empty-row' }, el('td', { colspan: '5', class: 'empty', i18n: 'spv.no_orgs' })));
  } else {
    body.replaceChildren(...r.items.map((o) => {
      const name = o.children > 0
        ? el('button', { type: 'button', class: 'link org-open', 'aria-label': t('spv.open_org', { name: o.name, n: fmtNum(o.children) }), on: { click: () => { orgState.trail.push({ id: o.id, name: o.name }); orgState.page = 1; $('#orgs-q').value = ''; loadOrgs(); } } }, o.name)
        : el('span', { text: o.name });
      const nameCell = [name];
      if (o.children > 0) nameCell.push(el('span', { class: 'hint', text: ' ' + t('spv.children', { n: fmtNum(o.children) }) }));
      if (orgState.q && o.under) nameCell.push(el('span', { class: 'hint block', text: t('org.under', { under: o.under }) }));
      const edit = el('button', { type: 'button', class: 'secondary small', 'aria-label': t('spv.edit_who', { name: o.name }), i18n: 'spv.edit' });
      edit.addEventListener('click', () => openEdit(o));
      const flip = el('button', { type: 'button', class: (o.active ? 'danger' : 'secondary') + ' small', 'aria-label': t(o.active ? 'mdo.deactivate_who' : 'mdo.activate_who', { name: o.name }) }, t(o.active ? 'mdo.deactivate' : 'mdo.activate'));
      flip.addEventListener('click', () => setOrgActive(o, !o.active, flip));
      return el('tr', { 'data-id': o.id },
        cell('col.name', { class: 'primary-cell' }, ...nameCell),
        cell('f.type', { text: typeLabel(o.type) }),
        cell('f.sector', { text: o.sector ? t('f.' + o.sector) : '' }),
        cell('col.status', {}, el('span', { class: 'badge ' + (o.active ? 'active' : 'inactive'), text: t(o.active ? 'status.active' : 'status.inactive') })),
        cell('col.action', { class: 'links' }, edit, ' ', flip));
    }));
  }
  pager($('#orgs-pager'), orgState, r.total, loadOrgs, PER_PAGE);
}

async function patchOrg(id, body) {
  return api('PATCH', `/api/v1/admin/orgs/${encodeURIComponent(id)}`, { json: body });
}

async function setOrgActive(o, active, button) {
  if (!active) {
    const ok = await confirmDialog({ title: t('spv.deactivate_org_title', { name: o.name }), text: t('spv.deactivate_org_text', { name: o.name }), confirm: t('mdo.deactivate'), danger: true });
    if (!ok) return;
  }
  busy(button, true);
  try {
    await patchOrg(o.id, { active });
    await loadOrgs();
    say($('#orgs-alert'), 'ok', active ? 'spv.org_activated' : 'spv.org_deactivated', { name: o.name });
    $('#orgs-alert').focus();
  } catch (e) {
    say($('#orgs-alert'), 'error', null, null, e.code && has('err.' + e.code) ? t('err.' + e.code) : errText(e));
    busy(button, false);
  }
}

function openEdit(o) {
  editing = o;
  const form = $('#org-edit');
  clearErrors(form);
  formAlert(form, null, null, 'ok');
  setText($('#org-edit-title'), 'spv.edit_title', { name: o.name });
  $('#edit-name').value = o.name;
  $('#edit-sector').value = o.sector || 'center';
  fillTypes($('#edit-type'), o.type);
  const parent = orgState.q ? null : orgState.trail[orgState.trail.length - 1];
  editParent.clear();
  if (o.parent_id) {
    // the current parent: known from the trail, or from the directory
    const set = (p) => { $('#edit-parent').value = p.name; editParent.value = p; };
    if (parent && parent.id === o.parent_id) set(parent);
    else get(`/api/v1/orgs/${encodeURIComponent(o.parent_id)}`).then(set).catch(() => {});
  }
  form.hidden = false;
  form.focus();
  form.scrollIntoView({ block: 'start' });
}

$('#edit-cancel').addEventListener('click', () => { $('#org-edit').hidden = true; editing = null; });
$('#org-edit').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  clearErrors(form);
  if (!editing) return;
  const body = {};
  const name = $('#edit-name').value;
  if (name.trim() !== editing.name) body.name = name;
  if ($('#edit-sector').value !== editing.sector) body.sector = $('#edit-sector').value;
  if ($('#edit-type').value !== editing.type) body.type = $('#edit-type').value;
  const typed = $('#edit-parent').value.trim();
  if (!typed) {
    if (editing.parent_id) body.parent_id = null; // emptied: a top-level organisation
  } else if (!editParent.value) {
    showApiError(form, { fields: { parent_id: { code: 'unknown_org' } } }, { parent_id: 'edit-parent' });
    return;
  } else if (editParent.value.id !== editing.parent_id) {
    body.parent_id = editParent.value.id;
  }
  const button = $('#edit-save');
  busy(button, true);
  try {
    const o = Object.keys(body).length ? await patchOrg(editing.id, body) : editing;
    form.hidden = true;
    editing = null;
    await loadOrgs();
    say($('#orgs-alert'), 'ok', 'spv.org_saved', { name: o.name });
    $('#orgs-alert').focus();
  } catch (err) {
    showApiError(form, err, { name: 'edit-name', sector: 'edit-sector', type: 'edit-type', parent_id: 'edit-parent', active: 'edit-name' });
  } finally {
    busy(button, false);
  }
});

$('#orgs-q').addEventListener('input', debounce(() => { orgState.page = 1; loadOrgs(); }, 300));
$('#orgs-status').addEventListener('change', () => { orgState.page = 1; loadOrgs(); });

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
    loadOrgs();
  } catch (err) {
    showApiError(form, err, { name: 'org-name', sector: 'org-sector', type: 'org-type', parent_id: 'org-parent' });
  } finally {
    busy(button, false);
  }
});

// ---- positions: browse, add, rename, deactivate
let editingPos = null;

async function loadPositions() {
  const p = new URLSearchParams({ page: String(posState.page), per_page: String(PER_PAGE), status: $('#pos-status').value });
  const q = $('#pos-q').value.trim();
  if (q) p.set('q', q);
  try {
    posState.data = await get(`/api/v1/admin/positions?${p}`);
    renderPositions();
  } catch (e) {
    say($('#pos-alert'), 'error', null, null, errText(e));
  }
}

function renderPositions() {
  const r = posState.data;
  if (!r) return;
  const body = $('#pos-table tbody');
  if (!r.items.length) {
    body.replaceChildren(el('tr', { class: 'empty-row' }, el('td', { colspan: '3', class: 'empty', i18n: 'spv.no_positions' })));
  } else {
    body.replaceChildren(...r.items.map((p) => {
      const edit = el('button', { type: 'button', class: 'secondary small', 'aria-label': t('spv.rename_who', { name: p.name }), i18n: 'spv.rename' });
      edit.addEventListener('click', () => {
        editingPos = p;
        const form = $('#pos-edit');
        clearErrors(form);
        setText($('#pos-edit-title'), 'spv.rename_title', { name: p.name });
        $('#pos-edit-name').value = p.name;
        form.hidden = false;
        $('#pos-edit-name').focus();
      });
      const flip = el('button', { type: 'button', class: (p.active ? 'danger' : 'secondary') + ' small', 'aria-label': t(p.active ? 'mdo.deactivate_who' : 'mdo.activate_who', { name: p.name }) }, t(p.active ? 'mdo.deactivate' : 'mdo.activate'));
      flip.addEventListener('click', () => setPosActive(p, !p.active, flip));
      return el('tr', { 'data-id': p.id },
        cell('col.name', { class: 'primary-cell', text: p.name }),
        cell('col.status', {}, el('span', { class: 'badge ' + (p.active ? 'active' : 'inactive'), text: t(p.active ? 'status.active' : 'status.inactive') })),
        cell('col.action', { class: 'links' }, edit, ' ', flip));
    }));
  }
  pager($('#pos-pager'), posState, r.total, loadPositions, PER_PAGE);
}

async function setPosActive(p, active, button) {
  if (!active) {
    const ok = await confirmDialog({ title: t('spv.deactivate_pos_title', { name: p.name }), text: t('spv.deactivate_pos_text', { name: p.name }), confirm: t('mdo.deactivate'), danger: true });
    if (!ok) return;
  }
  busy(button, true);
  try {
    await api('PATCH', `/api/v1/admin/positions/${encodeURIComponent(p.id)}`, { json: { active } });
    await loadPositions();
    say($('#pos-alert'), 'ok', active ? 'spv.org_activated' : 'spv.org_deactivated', { name: p.name });
    $('#pos-alert').focus();
  } catch (e) {
    say($('#pos-alert'), 'error', null, null, errText(e));
    busy(button, false);
  }
}

$('#pos-edit-cancel').addEventListener('click', () => { $('#pos-edit').hidden = true; editingPos = null; });
$('#pos-edit').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  clearErrors(form);
  if (!editingPos) return;
  const button = $('#pos-edit-save');
  busy(button, true);
  try {
    const p = await api('PATCH', `/api/v1/admin/positions/${encodeURIComponent(editingPos.id)}`, { json: { name: $('#pos-edit-name').value } });
    form.hidden = true;
    editingPos = null;
    await loadPositions();
    say($('#pos-alert'), 'ok', 'spv.position_saved', { name: p.name });
    $('#pos-alert').focus();
  } catch (err) {
    showApiError(form, err, { name: 'pos-edit-name', '@position_exists': 'pos-edit-name' });
  } finally {
    busy(button, false);
  }
});
$('#pos-q').addEventListener('input', debounce(() => { posState.page = 1; loadPositions(); }, 300));
$('#pos-status').addEventListener('change', () => { posState.page = 1; loadPositions(); });

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
    loadPositions();
  } catch (err) {
    showApiError(form, err, { name: 'pos-name', '@position_exists': 'pos-name' });
  } finally {
    busy(button, false);
  }
});

// ---- MDO administrators: the list with their status, and a new one
async function loadAdmins() {
  const p = new URLSearchParams({ page: String(adminState.page), per_page: String(PER_PAGE) });
  const q = $('#admins-q').value.trim();
  if (q) p.set('q', q);
  if ($('#admins-status').value) p.set('status', $('#admins-status').value);
  try {
    adminState.data = await get(`/api/v1/admin/mdo-admins?${p}`);
    renderAdmins();
  } catch (e) {
    say($('#admins-alert'), 'error', null, null, errText(e));
  }
}

function renderAdmins() {
  const r = adminState.data;
  if (!r) return;
  const body = $('#admins-table tbody');
  if (!r.items.length) {
    body.replaceChildren(el('tr', { class: 'empty-row' }, el('td', { colspan: '6', class: 'empty', i18n: 'spv.no_admins' })));
  } else {
    body.replaceChildren(...r.items.map((a) => {
      const name = `${a.first_name} ${a.last_name}`.trim();
      const to = a.status === 'active' ? 'inactive' : 'active';
      const b = el('button', { type: 'button', class: (to === 'inactive' ? 'danger' : 'secondary') + ' small', 'aria-label': t(to === 'inactive' ? 'mdo.deactivate_who' : 'mdo.activate_who', { name }) },
        t(to === 'inactive' ? 'mdo.deactivate' : 'mdo.activate'));
      b.addEventListener('click', () => setAdminStatus(a, name, to, b));
      const org = a.org ? [a.org.name, a.org.under ? el('span', { class: 'hint block', text: t('org.under', { under: a.org.under }) }) : null] : ['—'];
      return el('tr', { 'data-id': a.id },
        cell('f.organisation', {}, ...org),
        cell('col.name', { class: 'primary-cell' }, name, el('span', { class: 'hint block wrap', text: a.email })),
        cell('f.username', { class: 'wrap', text: a.username || '—' }),
        cell('col.status', {}, el('span', { class: 'badge ' + a.status, text: t('status.' + a.status) })),
        cell('col.last_login', { class: 'date', text: a.last_login_at ? fmtDate(a.last_login_at) : t('spv.never') }),
        cell('col.action', {}, b));
    }));
  }
  pager($('#admins-pager'), adminState, r.total, loadAdmins, PER_PAGE);
}

async function setAdminStatus(a, name, to, button) {
  if (to === 'inactive') {
    const ok = await confirmDialog({ title: t('mdo.deactivate_confirm_title', { name }), text: t('spv.deactivate_admin_text', { name, org: a.org ? a.org.name : '' }), confirm: t('mdo.deactivate'), danger: true });
    if (!ok) return;
  }
  busy(button, true);
  try {
    await post(`/api/v1/admin/mdo-admins/${encodeURIComponent(a.id)}/status`, { status: to });
    await loadAdmins();
    say($('#admins-alert'), 'ok', to === 'active' ? 'mdo.activated' : 'mdo.deactivated', { name });
    $('#admins-alert').focus();
  } catch (e) {
    say($('#admins-alert'), 'error', null, null, errText(e));
    busy(button, false);
  }
}
$('#admins-q').addEventListener('input', debounce(() => { adminState.page = 1; loadAdmins(); }, 300));
$('#admins-status').addEventListener('change', () => { adminState.page = 1; loadAdmins(); });

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
    loadAdmins();
  } catch (err) {
    showApiError(form, err, {
      org_id: 'admin-org', username: 'admin-username', password: 'admin-password', first_name: 'admin-first',
      last_name: 'admin-last', email: 'admin-email', mobile: 'admin-mobile',
    });
  } finally {
    busy(button, false);
  }
});

// ---- audit log: who, what, on which record, the detail as labelled fields
const ACTIONS = ['approve', 'reject', 'create_org', 'update_org', 'create_position', 'update_position', 'create_admin', 'activate', 'deactivate', 'upload',
  'update_profile', 'change_mobile', 'request_email_change', 'change_email', 'close_account', 'erase_account'];
$('#audit-action').append(...ACTIONS.map((a) => el('option', { value: a, i18n: 'audit.' + a })));

// A local date (yyyy-mm-dd) as the RFC 3339 time of its midnight here;
// `to` is the midnight after it, so that the day is included.
function dayStart(v, next) {
  if (!v) return '';
  const d = new Date(v + 'T00:00:00');
  if (next) d.setDate(d.getDate() + 1);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

async function loadAudit() {
  const p = new URLSearchParams({ page: String(auditState.page), per_page: String(PER_PAGE) });
  if ($('#audit-action').value) p.set('action', $('#audit-action').value);
  if ($('#audit-actor').value.trim()) p.set('actor', $('#audit-actor').value.trim());
  const from = dayStart($('#audit-from').value, false);
  const to = dayStart($('#audit-to').value, true);
  if (from) p.set('from', from);
  if (to) p.set('to', to);
  try {
    auditState.data = await get(`/api/v1/admin/audit?${p}`);
    say($('#audit-alert'), 'ok', null);
    renderAudit();
  } catch (e) {
    say($('#audit-alert'), 'error', null, null, errText(e));
  }
}

// A value of the detail in words: names for ids, Yes/No, translated words.
function detailValue(key, v, names) {
  if (typeof v === 'boolean') return t(v ? 'audit.yes' : 'audit.no');
  if (v === '' || v === null || v === undefined) return '—';
  if (typeof v === 'number') return key === 'bytes' ? t('audit.bytes', { n: fmtNum(v) }) : fmtNum(v);
  if (Array.isArray(v)) return v.join(', '); // the fields a person changed
  if (typeof v !== 'string') return JSON.stringify(v);
  if (key === 'erase_after') return fmtDate(v);
  if (names && names[v]) return names[v];
  if (key === 'sector' || key === 'previous_sector') return has('f.' + v) ? t('f.' + v) : v;
  if (key === 'type' || key === 'previous_type') return typeLabel(v);
  if (key === 'kind') return has('kind.' + v) ? t('kind.' + v) : v;
  if (key === 'role') return has('role.' + v) ? t('role.' + v) : v;
  if (key === 'via') return has('audit.via_' + v) ? t('audit.via_' + v) : v;
  if (key === 'from') return has('status.' + v) ? t('status.' + v) : v;
  return v;
}

function detailList(a) {
  // the stored file name, and the name the record already shows, are left out
  const shown = a.target_kind === 'upload' ? 'original_name' : '';
  const entries = Object.entries(a.detail || {}).filter(([k]) => k !== 'file_name' && k !== shown);
  if (!entries.length) return '';
  return el('dl', { class: 'detail-list' }, ...entries.flatMap(([k, v]) => [
    el('dt', { text: has('auditkey.' + k) ? t('auditkey.' + k) : k }),
    el('dd', { text: detailValue(k, v, a.names) }),
  ]));
}

function renderAudit() {
  const r = auditState.data;
  if (!r) return;
  const body = $('#audit-table tbody');
  if (!r.items.length) {
    body.replaceChildren(el('tr', { class: 'empty-row' }, el('td', { colspan: '6', class: 'empty', i18n: 'spv.no_audit' })));
  } else {
    body.replaceChildren(...r.items.map((a) => {
      const who = a.actor
        ? [a.actor.name || a.actor.id, a.actor.username ? el('span', { class: 'hint block', text: a.actor.username }) : null]
        : [t(a.detail && a.detail.via === 'cli' ? 'audit.by_cli' : 'audit.by_system')];
      const kind = a.target_kind ? t('audit.kind_' + a.target_kind) : '';
      const what = a.target_name || a.target || '';
      return el('tr', {},
        cell('col.time', { class: 'date', text: fmtDate(a.at) }),
        cell('col.actor', {}, ...who),
        cell('col.audit_action', { text: has('audit.' + a.action) ? t('audit.' + a.action) : a.action }),
        cell('col.target', { class: 'wrap' }, kind ? el('span', { class: 'hint block', text: kind }) : null, what),
        cell('col.detail', {}, detailList(a)),
        cell('col.address', { class: 'nowrap', text: a.client_ip || '—' }));
    }));
  }
  pager($('#audit-pager'), auditState, r.total, loadAudit, PER_PAGE);
}

for (const id of ['#audit-action', '#audit-from', '#audit-to']) $(id).addEventListener('change', () => { auditState.page = 1; loadAudit(); });
$('#audit-actor').addEventListener('input', debounce(() => { auditState.page = 1; loadAudit(); }, 400));
$('#audit-filters').addEventListener('submit', (e) => { e.preventDefault(); auditState.page = 1; loadAudit(); });

document.addEventListener('langchange', () => {
  // cards with an open form keep what is being typed; the rest follow the language
  if (!document.querySelector('#requests details[open]')) renderRequests();
  for (const s of document.querySelectorAll('select.org-types')) fillTypes(s, s.value);
  renderOrgs();
  renderPositions();
  renderAdmins();
  renderAudit();
});

if (user && (user.roles || []).some((r) => r.role === 'spv_admin')) {
  $('#spv-main').hidden = false;
  loadTypes();
  const ctl = tabs($('#spv-tabs'), (id) => {
    if (id === 'tab-requests') loadRequests();
    else if (id === 'tab-directory') loadOrgs();
    else if (id === 'tab-positions') loadPositions();
    else if (id === 'tab-admins') loadAdmins();
    else if (id === 'tab-audit') loadAudit();
  });
  const want = { '#directory': 'tab-directory', '#positions': 'tab-positions', '#admins': 'tab-admins', '#audit': 'tab-audit' }[location.hash] || 'tab-requests';
  ctl.select(want);
}
