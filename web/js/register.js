// The SOP's Register screen: names, position (type-ahead), e-mail, mobile
// with OTP verification, Center/State, organisation (type-ahead with the
// hierarchy), declaration and terms, SIGN UP. What is typed is kept in
// sessionStorage, so a visit to a "Request for help" page loses nothing.
import { init, t } from './i18n.js';
import { post } from './api.js';
import { $, showApiError, clearErrors, setFieldError, busy } from './ui.js';
import { Otp } from './otp.js';
import { orgCombobox, positionCombobox } from './directory.js';
import { refresh as refreshVersions, textVersions } from './consent.js';

const DRAFT = 'pravesh.register.draft';
await init();

const form = $('#reg-form');
const sector = () => (form.querySelector('input[name=sector]:checked') || {}).value || '';
const otp = new Otp({ mobile: $('#mobile'), sendButton: $('#mobile-send'), purpose: 'register', onChange: save });
const position = positionCombobox($('#position'), { onChange: () => { setFieldError($('#position'), ''); save(); } });
const org = orgCombobox($('#org'), { sector, onChange: () => { setFieldError($('#org'), ''); save(); } });

function save() {
  const d = {
    first_name: $('#first_name').value, last_name: $('#last_name').value, email: $('#email').value,
    mobile: $('#mobile').value, sector: sector(), position: position.value, position_text: $('#position').value,
    org: org.value, org_text: $('#org').value, declaration: $('#declaration').checked, terms: $('#terms').checked,
  };
  try { sessionStorage.setItem(DRAFT, JSON.stringify(d)); } catch { /* storage full or off */ }
  updateHelpLinks();
}

function restore() {
  let d;
  try { d = JSON.parse(sessionStorage.getItem(DRAFT) || 'null'); } catch { d = null; }
  if (!d) return;
  for (const k of ['first_name', 'last_name', 'email', 'mobile']) if (d[k]) $('#' + k).value = d[k];
  if (d.sector) { const r = form.querySelector(`input[name=sector][value=${d.sector}]`); if (r) r.checked = true; }
  $('#position').value = d.position_text || '';
  if (d.position && d.position.name === d.position_text) position.value = d.position;
  $('#org').value = d.org_text || '';
  if (d.org && d.org.name === d.org_text) org.value = d.org;
  $('#declaration').checked = !!d.declaration;
  $('#terms').checked = !!d.terms;
}

// "Request for help" carries what was typed, so the request form starts
// with it.
function updateHelpLinks() {
  const p = new URLSearchParams();
  const pos = $('#position').value.trim();
  if (pos && !position.value) p.set('name', pos);
  $('#request-position-link').href = '/request-position' + (p.size ? '?' + p : '');
  const o = new URLSearchParams();
  const on = $('#org').value.trim();
  if (on && !org.value) o.set('name', on);
  $('#request-org-link').href = '/request-organisation' + (o.size ? '?' + o : '');
}

restore();
updateHelpLinks();
refreshVersions();
form.addEventListener('input', save);
form.addEventListener('change', (e) => {
  if (e.target.name === 'sector' && org.value && org.value.sector !== sector()) {
    org.clear();
  }
  save();
});

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearErrors(form);
  const local = [];
  if ($('#position').value.trim() && !position.value) local.push(['position', 'err.unknown_position']);
  if ($('#org').value.trim() && !org.value) local.push(['org', 'err.unknown_org']);
  if (!otp.token && $('#mobile').value.trim()) local.push(['mobile', 'err.verification_required']);
  const body = {
    first_name: $('#first_name').value, last_name: $('#last_name').value,
    position_id: position.value ? position.value.id : '', email: $('#email').value,
    mobile: $('#mobile').value, verification_token: otp.token || '',
    org_id: org.value ? org.value.id : '', declaration: $('#declaration').checked, terms: $('#terms').checked,
    ...textVersions(),
  };
  const button = $('#signup');
  busy(button, true);
  try {
    await post('/api/v1/registrations', body);
    try { sessionStorage.removeItem(DRAFT); } catch { /* ignore */ }
    $('#reg-view').hidden = true;
    const done = $('#reg-done');
    done.hidden = false;
    done.focus();
  } catch (err) {
    // the server's field errors, plus what only the page knows (a typed
    // but unchosen position or organisation, an unverified number)
    for (const [field, key] of local) {
      const api = field === 'position' ? 'position_id' : field === 'org' ? 'org_id' : 'verification_token';
      if (err.fields && (err.fields[api] || err.fields[field])) err.fields[api] = { code: key.slice(4), message: t(key) };
    }
    if (err.fields && (err.fields.terms_version || err.fields.privacy_version)) refreshVersions();
    showApiError(form, err, { position_id: 'position', org_id: 'org', verification_token: 'mobile',
      terms_version: 'terms', privacy_version: 'terms' });
  } finally {
    busy(button, false);
  }
});

