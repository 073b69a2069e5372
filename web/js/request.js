// The SOP's "Request to add position" and "Request to add organisation"
// screens: one form (web/partials/request-form.html) and this script for
// both, the kind given by the page (<main data-kind>): full name, e-mail,
// mobile with OTP, the name asked for, details and the declaration; for an
// organisation also Center/State and its parent. Starts with what was
// typed on the Register page.
import { init, currentLang } from './i18n.js';
import { post } from './api.js';
import { $, showApiError, clearErrors, busy, getParam } from './ui.js';
import { Otp } from './otp.js';
import { orgCombobox } from './directory.js';

const kind = $('main').dataset.kind === 'organisation' ? 'organisation' : 'position';
const form = $('#req-form');
$('#name').dataset.msg = kind === 'organisation' ? 'org_name' : 'position_name';

await init();

const otp = new Otp({ mobile: $('#mobile'), sendButton: $('#mobile-send'), purpose: 'request' });
const sector = () => (form.querySelector('input[name=sector]:checked') || {}).value || '';
const parent = kind === 'organisation' ? orgCombobox($('#parent'), { sector }) : null;

try {
  const d = JSON.parse(sessionStorage.getItem('pravesh.register.draft') || 'null');
  if (d) {
    const full = [d.first_name, d.last_name].filter((x) => x && x.trim()).join(' ');
    if (full) $('#full_name').value = full;
    if (d.email) $('#email').value = d.email;
    if (d.mobile) $('#mobile').value = d.mobile;
    if (kind === 'organisation' && d.sector) {
      const r = form.querySelector(`input[name=sector][value=${d.sector}]`);
      if (r) r.checked = true;
    }
  }
} catch { /* no draft */ }
const name = getParam('name');
if (name) $('#name').value = name.slice(0, 300);

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearErrors(form);
  const body = {
    kind, full_name: $('#full_name').value, email: $('#email').value, mobile: $('#mobile').value,
    verification_token: otp.token || '', name: $('#name').value, details: $('#details').value,
    declaration: $('#declaration').checked, lang: currentLang(),
  };
  if (kind === 'organisation') {
    if (sector()) body.sector = sector();
    if (parent.value) body.parent_id = parent.value.id;
  }
  const button = $('#req-submit');
  busy(button, true);
  try {
    await post('/api/v1/requests', body);
    $('#req-view').hidden = true;
    form.hidden = true;
    const done = $('#req-done');
    done.hidden = false;
    done.focus();
  } catch (err) {
    const v = err.fields && err.fields.verification_token;
    if (v && !err.fields.mobile) v.code = otp.problem() || v.code;
    showApiError(form, err, { verification_token: 'mobile', parent_id: 'parent', sector: 'sector-center' });
  } finally {
    busy(button, false);
  }
});
