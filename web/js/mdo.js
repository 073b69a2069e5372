// MDO administration, as the SOP's "Users" screen: Active / Inactive / File
// uploads tabs; search, activate and deactivate users (deactivation asks
// first; nobody deactivates themselves); upload a CSV or XLSX, follow its
// progress (a bar that moves while the rows are processed) and download the
// template, the file and the result.
import { init, t, tn, fmtDate, fmtNum, errText, setText } from './i18n.js';
import { api, get, post, me } from './api.js';
import { $, el, tabs, debounce, busy, formAlert, clearErrors, showApiError, setFieldError, confirmDialog, pager, cell } from './ui.js';
import { orgCombobox, underText } from './directory.js';
import { sessionHeader } from './session.js';

await init();

const PER_PAGE = 20;
let user = null;
let meFailed = null;
try { user = await me(); } catch (e) { meFailed = e; }
if (meFailed) alert(errText(meFailed));
else if (!user) location.replace('/admin-login?next=/mdo');
sessionHeader(user);

const roles = (user && user.roles) || [];
const mdoOrgs = roles.filter((r) => r.role === 'mdo_admin').map((r) => r.org_id);
const isSpv = roles.some((r) => r.role === 'spv_admin');
let orgId = mdoOrgs[0] || null;
let current = 'tab-active';
const state = { active: { page: 1 }, inactive: { page: 1 }, uploads: { page: 1 } };
let pollTimer = null;
let justUploaded = null; // the id of the upload this page sent, while it runs

const q = (extra = {}) => {
  const p = new URLSearchParams(extra);
  if (orgId && (isSpv || mdoOrgs.length > 1)) p.set('org_id', orgId);
  return p;
};

function alert(text, key) {
  const a = $('#mdo-alert');
  if (key) setText(a, key); else { setText(a, null); a.textContent = text || ''; }
  a.className = 'form-alert' + (text || key ? ' error' : '');
}

function boxSay(box, kind, key, vars, text) {
  if (key) setText(box, key, vars); else { setText(box, null); box.textContent = text || ''; }
  box.className = 'form-alert' + (key || text ? ' ' + kind : '');
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
    if (box.classList.contains('error')) boxSay(box, 'ok', null);
    renderUsers(which);
  } catch (e) {
    boxSay(box, 'error', null, null, errText(e));
    body.replaceChildren();
  }
}

function renderUsers(which) {
  const st = state[which];
  const r = st.data;
  if (!r) return;
  const body = $(`#${which}-table tbody`);
  if (!r.items.length) {
    body.replaceChildren(el('tr', { class: 'empty-row' }, el('td', { colspan: '6', class: 'empty', i18n: 'mdo.no_users' })));
  } else {
    body.replaceChildren(...r.items.map((u) => {
      const name = `${u.first_name} ${u.last_name}`.trim() || t('mdo.erased_name');
      // a closed or erased account is its owner's decision: no action
      if (u.status === 'closed' || u.status === 'erased') {
        return el('tr', {},
          cell('col.name', { class: 'primary-cell', text: name }),
          cell('col.email', { class: 'wrap', text: u.email || '—' }),
          cell('col.mobile', { text: u.mobile || '—' }),
          cell('col.status', {}, el('span', { class: 'badge ' + u.status, text: t('status.' + u.status) })),
          cell('col.created', { text: fmtDate(u.created_at) }),
          cell('col.action', { text: u.erase_after && u.status === 'closed' ? t('mdo.erase_after', { date: fmtDate(u.erase_after) }) : '—' }));
      }
      const to = u.status === 'active' ? 'inactive' : 'active';
      let action;
      if (user && u.id === user.id) {
        action = el('span', { class: 'hint', i18n: 'mdo.you' });
      } else {
        action = el('button', { type: 'button', class: (to === 'inactive' ? 'danger' : 'secondary') + ' small', 'aria-label': t(to === 'inactive' ? 'mdo.deactivate_who' : 'mdo.activate_who', { name }) },
          t(to === 'inactive' ? 'mdo.deactivate' : 'mdo.activate'));
        action.addEventListener('click', () => setStatus(u, to, action, which));
      }
      return el('tr', {},
        cell('col.name', { class: 'primary-cell', text: name }),
        cell('col.email', { class: 'wrap', text: u.email }),
        cell('col.mobile', { text: u.mobile }),
        cell('col.status', {}, el('span', { class: 'badge ' + u.status, text: t('status.' + u.status) })),
        cell('col.created', { text: fmtDate(u.created_at) }),
        cell('col.action', {}, action));
    }));
  }
  pager($(`#${which}-pager`), st, r.total, () => loadUsers(which), PER_PAGE);
}

async function setStatus(u, to, button, which) {
  const name = `${u.first_name} ${u.last_name}`;
  if (to === 'inactive') {
    const ok = await confirmDialog({
      title: t('mdo.deactivate_confirm_title', { name }),
      text: t('mdo.deactivate_confirm_text', { name }),
      confirm: t('mdo.deactivate'),
      danger: true,
    });
    if (!ok) return;
  }
  busy(button, true);
  const box = $(`#${which}-alert`);
  try {
    await post(`/api/v1/mdo/users/${encodeURIComponent(u.id)}/status?${q()}`, { status: to });
    await loadUsers(which);
    boxSay(box, 'ok', to === 'active' ? 'mdo.activated' : 'mdo.deactivated', { name });
    box.focus();
  } catch (e) {
    boxSay(box, 'error', null, null, errText(e));
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

// The name the administrator gave the file (api.md's original_name; older
// servers: the stored name without its "<ms>_" prefix).
const fileName = (u) => u.original_name || (u.file_name || '').replace(/^\d+_/, '');

async function loadUploads() {
  clearTimeout(pollTimer);
  const st = state.uploads;
  const box = $('#uploads-alert');
  try {
    const r = await get(`/api/v1/mdo/uploads?${q({ page: String(st.page), per_page: String(PER_PAGE) })}`);
    st.data = r;
    if (box.classList.contains('error')) boxSay(box, 'ok', null);
    renderUploads();
    const items = r.items || [];
    if (justUploaded && !items.some((u) => u.id === justUploaded && RUNNING.has(u.status))) {
      // the upload sent from this page has ended: "being processed" goes
      justUploaded = null;
      formAlert(uploadForm, null, null, 'ok');
    }
    if (items.some((u) => RUNNING.has(u.status)) && current === 'tab-uploads') {
      pollTimer = setTimeout(loadUploads, 1000);
    }
  } catch (e) {
    boxSay(box, 'error', null, null, errText(e));
  }
}

// The status cell: the badge; while rows are processed a progress bar
// (rows done of total); after a partly or wholly failed upload, how many
// rows were not created.
function statusCell(u) {
  const parts = [el('span', { class: 'badge ' + u.status, text: t('upload.' + u.status) })];
  if (RUNNING.has(u.status)) {
    const done = (u.success_records || 0) + (u.failed_records || 0);
    const total = u.total_records || 0;
    const textId = `progress-${u.id}`;
    const bar = el('progress', { class: 'upload-progress', max: String(Math.max(total, 1)), 'aria-labelledby': textId });
    if (total > 0) bar.value = Math.min(done, total);
    parts.push(bar, el('span', {
      class: 'hint progress-text', id: textId,
      text: total > 0 ? t('mdo.progress', { done: fmtNum(done), total: fmtNum(total) }) : t('mdo.progress_waiting'),
    }));
  } else if (u.error) {
    parts.push(el('span', { class: 'hint upload-error', text: u.error }));
  } else if (u.status === 'FAILED' && u.failed_records > 0) {
    parts.push(el('span', { class: 'hint not-created', text: tn('mdo.not_created', u.failed_records, { total: fmtNum(u.total_records) }) }));
  }
  return cell('col.status', { class: 'status-cell' }, ...parts);
}

function renderUploads() {
  const r = state.uploads.data;
  if (!r) return;
  const body = $('#uploads-table tbody');
  const items = r.items || [];
  if (!items.length) {
    body.replaceChildren(el('tr', { class: 'empty-row' }, el('td', { colspan: '9', class: 'empty', i18n: 'mdo.no_uploads' })));
  } else {
    body.replaceChildren(...items.map((u) => {
      const base = `/api/v1/mdo/uploads/${encodeURIComponent(u.id)}`;
      const extra = q().size ? '?' + q() : '';
      const name = fileName(u);
      const links = [el('a', { href: `${base}/file${extra}`, download: name, class: 'file-link', 'aria-label': t('mdo.download_file_of', { name }) }, t('mdo.download_file'))];
      // past PRAVESH_UPLOAD_RETENTION_DAYS the files are gone
      if (u.files_removed_at) links.splice(0, 1, el('span', { class: 'hint files-removed', text: t('mdo.files_removed') }));
      else if (!RUNNING.has(u.status) && !u.error && (u.total_records > 0 || u.status === 'SUCCESSFUL')) {
        links.push(' ', el('a', { href: `${base}/result${extra}`, download: '', class: 'result-link', 'aria-label': t('mdo.download_result_of', { name }) }, t('mdo.download_result')));
      }
      return el('tr', { 'data-id': u.id },
        cell('col.id', { class: 'id', title: u.id, text: u.id.slice(0, 8) }),
        cell('col.file_name', { class: 'primary-cell wrap file-name', text: name }),
        statusCell(u),
        cell('col.failed', { class: 'num', text: fmtNum(u.failed_records) }),
        cell('col.success', { class: 'num', text: fmtNum(u.success_records) }),
        cell('col.total', { class: 'num', text: fmtNum(u.total_records) }),
        cell('col.created', { class: 'date', text: fmtDate(u.created_at) }),
        cell('col.updated', { class: 'date', text: fmtDate(u.updated_at) }),
        cell('col.downloads', { class: 'links' }, ...links));
    }));
  }
  pager($('#uploads-pager'), state.uploads, r.total ?? items.length, loadUploads, PER_PAGE);
}

const uploadForm = $('#upload-form');
uploadForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearErrors(uploadForm);
  const input = $('#file');
  if (!input.files.length) {
    showApiError(uploadForm, { fields: { file: { code: 'file_required' } } });
    return;
  }
  const fd = new FormData();
  fd.append('file', input.files[0], input.files[0].name);
  const button = $('#upload-submit');
  busy(button, true);
  try {
    const r = await api('POST', `/api/v1/mdo/uploads${q().size ? '?' + q() : ''}`, { form: fd });
    justUploaded = r.id;
    formAlert(uploadForm, null, 'mdo.uploaded', 'info', { name: r.original_name || input.files[0].name });
    input.value = '';
    state.uploads.page = 1;
    await loadUploads();
  } catch (err) {
    if (err && !Object.keys(err.fields || {}).length && err.status) err.fields = { file: { code: err.code, message: err.message } };
    showApiError(uploadForm, err);
  } finally {
    busy(button, false);
  }
});
$('#file').addEventListener('change', () => setFieldError($('#file'), null));

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
    alert(null, 'err.forbidden');
  }
}
