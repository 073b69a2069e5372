// Administrators' login in two steps: username and password, then the
// 6-digit code sent by SMS to the administrator's registered mobile (the
// second factor; api.md). Then to the SPV or MDO page (or ?next=).
import { init, t } from './i18n.js';
import { post } from './api.js';
import { $, showApiError, clearErrors, busy, getParam, formAlert, setFieldError } from './ui.js';

await init();

const form = $('#alogin-form');
const codeForm = $('#alogin-code-form');
let challenge = null;

function target(user) {
  const n = getParam('next');
  if (n && /^\/[A-Za-z0-9_\-/]*$/.test(n) && !n.startsWith('//')) return n;
  const roles = (user && user.roles) || [];
  if (roles.some((r) => r.role === 'spv_admin')) return '/spv';
  if (roles.some((r) => r.role === 'mdo_admin')) return '/mdo';
  return '/';
}

// Back to the first step (after a third wrong code, an expired challenge,
// or at the person's wish): the password is asked for again.
function restart(messageKey) {
  challenge = null;
  codeForm.hidden = true;
  form.hidden = false;
  $('#admin-code').value = '';
  $('#password').value = '';
  clearErrors(codeForm);
  if (messageKey) formAlert(form, t(messageKey), messageKey);
  $('#password').focus();
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearErrors(form);
  const button = $('#alogin-submit');
  busy(button, true);
  try {
    const r = await post('/api/v1/auth/password', { username: $('#username').value, password: $('#password').value });
    if (!r.second_factor) {
      location.assign(target(r.user));
      return;
    }
    challenge = r.challenge;
    form.hidden = true;
    codeForm.hidden = false;
    clearErrors(codeForm);
    $('#alogin-mobile-hint').textContent = r.mobile_hint;
    $('#admin-code').focus();
  } catch (err) {
    showApiError(form, err);
    $('#password').focus();
  } finally {
    busy(button, false);
  }
});

codeForm.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearErrors(codeForm);
  const input = $('#admin-code');
  const code = input.value.trim();
  if (!/^[0-9]{6}$/.test(code)) {
    setFieldError(input, t('alogin.code_format'), 'alogin.code_format');
    formAlert(codeForm, t('form.fix_errors'), 'form.fix_errors');
    input.focus();
    return;
  }
  const button = $('#alogin-code-submit');
  busy(button, true);
  try {
    const r = await post('/api/v1/auth/password/otp', { challenge, code });
    location.assign(target(r.user));
  } catch (err) {
    const p = err.problem || {};
    if (p.restart) {
      restart('alogin.restarted');
    } else if (err.code === 'login_failed' && p.attempts_left > 0) {
      const key = p.attempts_left === 1 ? 'alogin.code_wrong_one' : 'alogin.code_wrong';
      setFieldError(input, t(key, { n: p.attempts_left }));
      formAlert(codeForm, t('form.fix_errors'), 'form.fix_errors');
      input.select();
      input.focus();
    } else {
      showApiError(codeForm, err);
    }
  } finally {
    busy(button, false);
  }
});

$('#alogin-restart').addEventListener('click', () => restart(null));
