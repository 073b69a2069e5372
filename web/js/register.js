// The SOP's Register screen: names, position (type-ahead), e-mail, mobile
// with OTP verification, Center/State, organisation (type-ahead with the
// hierarchy), declaration and terms, SIGN UP. What is typed, and a
// verification of the mobile number, are kept in sessionStorage, so a visit
// to a "Request for help" page loses nothing.
import { init, currentLang } from './i18n.js';
import { post } from './api.js';
import { $, showErrors, clearErrors, setFieldError, busy, errKey } from './ui.js';
import { Otp } from './otp.js';
import { orgCombobox, positionCombobox } from './directory.js';
import { refresh as refreshVersions, textVersions } from './consent.js';

const DRAFT = 'pravesh.register.draft';
await init();

const form = $('#reg-form');
const sector = () => (form.querySelector('input[name=sector]:checked') || {}).value || '';
const otp = new Otp({ mobile: $('#mobile'), sendButton: $('#mobile-send'), purpose: 'register', onChange: save });
const position = positionCombobox($('#position'), { onChange: () => { setFieldError($('#position'), null); save(); } });
const org = orgCombobox($('#org'), { sector, onChange: () => { setFieldError($('#org'), null); save(); } });

function save() {
  const d = {
    first_name: $('#first_name').value, last_name: $('#last_name').value, email: $('#email').value,
    mobile: $('#mobile').value, sector: sector(), position: position.value, position_text: $('#position').value,
    org: org.value, org_text: $('#org').value, declaration: $('#declaration').checked, terms: $('#terms').checked,
    verified: otp.saved(),
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
  otp.restore(d.verified);
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

const API_FIELDS = { position_id: 'position', org_id: 'org', verification_token: 'mobile',
  terms_version: 'terms', privacy_version: 'terms' };

// The server's field errors by input id, with what only the page knows
// put in (a typed but unchosen position or organisation, the state of
// the mobile verification).
function fieldErrors(err) {
  const codes = {};
  for (const [field, fe] of Object.entries((err && err.fields) || {})) {
    const id = API_FIELDS[field] || field;
    // a real problem of the number beats "not verified"
    if (!codes[id] || field !== 'verification_token') codes[id] = fe.code;
  }
  if (codes.position && $('#position').value.trim() && !position.value) codes.position = 'unknown_position';
  if (codes.org && $('#org').value.trim() && !org.value) codes.org = 'unknown_org';
  if (codes.mobile === 'verification_required' || codes.mobile === 'required') codes.mobile = otp.problem() || codes.mobile;
  return codes;
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearErrors(form);
  const body = {
    first_name: $('#first_name').value, last_name: $('#last_name').value,
    position_id: position.value ? position.value.id : '', email: $('#email').value,
    mobile: $('#mobile').value, verification_token: otp.token || '',
    org_id: org.value ? org.value.id : '', declaration: $('#declaration').checked, terms: $('#terms').checked,
    lang: currentLang(),
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
    // texts changed meanwhile: the versions the page sends again
    if (err.fields && (err.fields.terms_version || err.fields.privacy_version)) refreshVersions();
    const codes = fieldErrors(err);
    const list = Object.entries(codes).map(([id, code]) => {
      const input = document.getElementById(id);
      const key = errKey(code, input);
      return { input: input && form.contains(input) ? input : null, key, text: key ? null : err.message };
    });
    if (!list.length) list.push({ key: errKey(err.code, null), text: err.message });
    showErrors(form, list);
  } finally {
    busy(button, false);
  }
});
