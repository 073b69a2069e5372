// MDO administration, as the SOP's "Users" screen: Active / Inactive / File
// uploads tabs; search, activate and deactivate users; upload a CSV or
// XLSX, follow its progress (the table refreshes while work runs) and
// download the template, the file and the result.
import { init, t, fmtDate, fmtNum, errText } from './i18n.js';
import { api, get, post, me } from './api.js';
import { $, el, tabs, debounce, busy, formAlert, clearErrors, showApiError, setFieldError } from './ui.js';
import { orgCombobox, underText } from './directory.js';

await init();

const PER_PAGE = 20;
let user = null;
let meFailed = null;
try { user = await me(); } catch (e) { meFailed = e; }
if (meFailed) alert(errText(meFailed));
else if (!user) location.replace('/admin-login?next=/mdo');

const roles = (user && user.roles) || [];
const mdoOrgs = roles.filter((r) => r.role === 'mdo_admin').map((r) => r.org_id);
const isSpv = roles.some((r) => r.role === 'spv_admin');
let orgId = mdoOrgs[0] || null;
let current = 'tab-active';
const state = { active: { page: 1 }, inactive: { page: 1 }, uploads: { page: 1 } };
let pollTimer = null;

const q = (extra = {}) => {
  const p = new URLSearchParams(extra);
  if (orgId && (isSpv || mdoOrgs.length > 1)) p.set('org_id', orgId);
  return p;
};

function alert(text, key) {
  const a = $('#mdo-alert');
  a.textContent = text || '';
  a.className = 'form-alert' + (text ? ' error' : '');
  if (key) a.dataset.i18n = key; else delete a.dataset.i18n;
}

async function showOrg() {
  if (!orgId) return;
  try {
    const o = await get(`/api/v1/orgs/${encodeURIComponent(orgId)}`);
    const render = () => { $('#mdo-org').textContent = o.name + (o.under ? ' — ' + underText(o) : ''); };
    render();
    document.addEventListener('langchange', render);
  } catch { $('#mdo-org').textContent = orgId; }
}

function pager(box, st, total, reload) {
  const pages = Math.max(1, Math.ceil((total || 0) / PER_PAGE));
  const prev = el('button', { type: 'button', class: 'secondary small', i18n: 'pager.prev', disabled: st.page <= 1 });
  const nextB = el('button', { type: 'button', class: 'secondary small', i18n: 'pager.next', disabled: st.page >= pages });
  prev.addEventListener('click', () => { st.page -= 1; reload(); });
  nextB.addEventListener('click', () => { st.page += 1; reload(); });
  box.replaceChildren(el('span', { text: t('pager.status', { page: fmtNum(st.page), pages: fmtNum(pages), total: fmtNum(total || 0) }) }), prev, nextB);
}

// ---- users
async function loadUsers(which) {
  const st = state[which];
  const status = which === 'active' ? 'active' : $('#inactive-status').value;
  const params = q({ status, page: String(st.page), per_page: String(PER_PAGE) });
  const text = $(`#${which}-q`).value.trim();
  if (text) params.set('q', text);
  const body = $(`#${which}-table tbody`);
  const box = $(`#${which}-alert`);
  try {
    const r = await get(`/api/v1/mdo/users?${params}`);
    st.data = r;
    box.textContent = '';
    box.className = 'form-alert';
    renderUsers(which);
  } catch (e) {
    box.textContent = errText(e);
    box.className = 'form-alert error';
    body.replaceChildren();
  }
}

function renderUsers(which) {
  const st = state[which];
  const r = st.data;
  if (!r) return;
  const body = $(`#${which}-table tbody`);
  if (!r.items.length) {
    body.replaceChildren(el('tr', {}, el('td', { colspan: '6', class: 'empty', i18n: 'mdo.no_users' })));
  } else {
    body.replaceChildren(...r.items.map((u) => {
      const name = `${u.first_name} ${u.last_name}`.trim() || t('mdo.erased_name');
      // a closed or erased account is its owner's decision: no action
      if (u.status === 'closed' || u.status === 'erased') {
        return el('tr', {},
          el('td', { text: name }), el('td', { text: u.email || '—' }), el('td', { text: u.mobile || '—' }),
          el('td', {}, el('span', { class: 'badge ' + u.status, text: t('status.' + u.status) })),
          el('td', { text: fmtDate(u.created_at) }),
          el('td', { text: u.erase_after && u.status === 'closed' ? t('mdo.erase_after', { date: fmtDate(u.erase_after) }) : '—' }));
      }
      const to = u.status === 'active' ? 'inactive' : 'active';
      const b = el('button', { type: 'button', class: (to === 'inactive' ? 'danger' : 'secondary') + ' small', 'aria-label': t(to === 'inactive' ? 'mdo.deactivate_who' : 'mdo.activate_who', { name }) },
        t(to === 'inactive' ? 'mdo.deactivate' : 'mdo.activate'));
      b.addEventListener('click', () => setStatus(u, to, b, which));
      return el('tr', {},
        el('td', { text: name }), el('td', { text: u.email }), el('td', { text: u.mobile }),
        el('td', {}, el('span', { class: 'badge ' + u.status, text: t('status.' + u.status) })),
        el('td', { text: fmtDate(u.created_at) }), el('td', {}, b));
    }));
  }
  pager($(`#${which}-pager`), st, r.total, () => loadUsers(which));
}

async function setStatus(u, to, button, which) {
  busy(button, true);
  try {
    await post(`/api/v1/mdo/users/${encodeURIComponent(u.id)}/status?${q()}`, { status: to });
    const box = $(`#${which}-alert`);
    box.textContent = t(to === 'active' ? 'mdo.activated' : 'mdo.deactivated', { name: `${u.first_name} ${u.last_name}` });
    box.className = 'form-alert ok';
    await loadUsers(which);
    box.textContent = t(to === 'active' ? 'mdo.activated' : 'mdo.deactivated', { name: `${u.first_name} ${u.last_name}` });
    box.className = 'form-alert ok';
  } catch (e) {
    const box = $(`#${which}-alert`);
    box.textContent = errText(e);
    box.className = 'form-alert error';
    busy(button, false);
  }
}

for (const which of ['active', 'inactive']) {
  const run = debounce(() => { state[which].page = 1; loadUsers(which); }, 250);
  $(`#${which}-q`).addEventListener('input', run);
}
$('#inactive-status').addEventListener('change', () => { state.inactive.page = 1; loadUsers('inactive'); });

// ---- uploads
const RUNNING = new Set(['QUEUED', 'IN_PROGRESS']);

async function loadUploads() {
  clearTimeout(pollTimer);
  const st = state.uploads;
  const box = $('#uploads-alert');
  try {
    const r = await get(`/api/v1/mdo/uploads?${q({ page: String(st.page), per_page: String(PER_PAGE) })}`);
    st.data = r;
    box.textContent = '';
    box.className = 'form-alert';
    renderUploads();
    if ((r.items || []).some((u) => RUNNING.has(u.status)) && current === 'tab-uploads') {
      pollTimer = setTimeout(loadUploads, 1500);
    }
  } catch (e) {
    box.textContent = errText(e);
    box.className = 'form-alert error';
  }
}

function renderUploads() {
  const r = state.uploads.data;
  if (!r) return;
  const body = $('#uploads-table tbody');
  const items = r.items || [];
  if (!items.length) {
    body.replaceChildren(el('tr', {}, el('td', { colspan: '9', class: 'empty', i18n: 'mdo.no_uploads' })));
  } else {
    body.replaceChildren(...items.map((u) => {
      const base = `/api/v1/mdo/uploads/${encodeURIComponent(u.id)}`;
      const extra = q().size ? '?' + q() : '';
      const links = [el('a', { href: `${base}/file${extra}`, download: u.file_name || '', 'aria-label': t('mdo.download_file_of', { name: u.file_name }) }, t('mdo.download_file'))];
      // past PRAVESH_UPLOAD_RETENTION_DAYS the files are gone
      if (u.files_removed_at) links.splice(0, 1, el('span', { class: 'hint', text: t('mdo.files_removed') }));
      else if (!RUNNING.has(u.status) && (u.total_records > 0 || u.status === 'SUCCESSFUL')) {
        links.push(' ', el('a', { href: `${base}/result${extra}`, download: '', class: 'result-link', 'aria-label': t('mdo.download_result_of', { name: u.file_name }) }, t('mdo.download_result')));
      }
      const status = el('span', { class: 'badge ' + u.status, text: t('upload.' + u.status) });
      return el('tr', { 'data-id': u.id },
        el('td', { class: 'id', text: u.id }),
        el('td', {}, u.file_name, u.error ? el('span', { class: 'hint', text: ' — ' + u.error }) : ''),
        el('td', {}, status),
        el('td', { class: 'num', text: fmtNum(u.failed_records) }),
        el('td', { class: 'num', text: fmtNum(u.success_records) }),
        el('td', { class: 'num', text: fmtNum(u.total_records) }),
        el('td', { text: fmtDate(u.created_at) }),
        el('td', { text: fmtDate(u.updated_at) }),
        el('td', {}, ...links));
    }));
  }
  pager($('#uploads-pager'), state.uploads, r.total ?? items.length, loadUploads);
}

const uploadForm = $('#upload-form');
uploadForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearErrors(uploadForm);
  const input = $('#file');
  if (!input.files.length) {
    setFieldError(input, t('mdo.no_file'), 'mdo.no_file');
    input.focus();
    return;
  }
  const fd = new FormData();
  fd.append('file', input.files[0], input.files[0].name);
  const button = $('#upload-submit');
  busy(button, true);
  try {
    const r = await api('POST', `/api/v1/mdo/uploads${q().size ? '?' + q() : ''}`, { form: fd });
    formAlert(uploadForm, t('mdo.uploaded', { name: r.file_name || input.files[0].name }), null, 'ok');
    input.value = '';
    state.uploads.page = 1;
    await loadUploads();
  } catch (err) {
    showApiError(uploadForm, err);
    if (!Object.keys(err.fields || {}).length && err.status) setFieldError(input, errText(err));
  } finally {
    busy(button, false);
  }
});

// ---- start
function templateLinks() {
  const extra = q().size ? '&' + q() : '';
  $('#template-xlsx').href = `/api/v1/mdo/uploads/template?format=xlsx${extra}`;
  $('#template-csv').href = `/api/v1/mdo/uploads/template?format=csv${extra}`;
}

const tabCtl = tabs($('#mdo-tabs'), (id) => {
  current = id;
  clearTimeout(pollTimer);
  if (id === 'tab-active') loadUsers('active');
  else if (id === 'tab-inactive') loadUsers('inactive');
  else loadUploads();
});

function start() {
  $('#mdo-main').hidden = false;
  templateLinks();
  showOrg();
  const want = location.hash === '#uploads' ? 'tab-uploads' : location.hash === '#inactive' ? 'tab-inactive' : 'tab-active';
  tabCtl.select(want);
}

document.addEventListener('langchange', () => {
  renderUsers('active');
  renderUsers('inactive');
  renderUploads();
});

if (user) {
  if (orgId) {
    start();
  } else if (isSpv) {
    // an SPV administrator picks the organisation to look after
    $('#org-picker').hidden = false;
    orgCombobox($('#mdo-org-search'), {
      onChange: (o) => {
        if (!o) return;
        orgId = o.id;
        start();
      },
    });
  } else {
    alert(t('err.forbidden'), 'err.forbidden');
  }
}
