// Login: mobile number and OTP by default; "Login with Parichay" when single
// sign-on is configured; ?error= from the SSO callback shown; a quiet link
// to the administrators' password login.
import { init, t } from './i18n.js';
import { get, post, ApiError } from './api.js';
import { $, showApiError, clearErrors, formAlert, setFieldError, busy, getParam } from './ui.js';
import { Otp } from './otp.js';

await init();

const form = $('#login-form');
const otp = new Otp({ mobile: $('#mobile'), sendButton: $('#mobile-send'), purpose: 'login', verify: false });

const error = getParam('error');
if (error && /^[a-z_]{1,40}$/.test(error)) {
  const key = ['sso_not_registered', 'sso_inactive', 'sso_failed'].includes(error) ? 'err.' + error : 'err.sso_failed';
  formAlert(form, null, key);
}

get('/api/v1/sso').then((s) => {
  if (s && s.enabled) {
    const name = s.name || 'Parichay';
    const link = $('#sso-link');
    const render = () => { link.textContent = t('login.sso', { name }); };
    delete link.dataset.i18n;
    render();
    document.addEventListener('langchange', render);
    $('#sso').hidden = false;
  }
}).catch(() => { /* no SSO button */ });

function next() {
  const n = getParam('next');
  return n && /^\/[A-Za-z0-9_\-/]*$/.test(n) && !n.startsWith('//') ? n : '/';
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearErrors(form);
  if (otp.box.hidden) {
    // no code asked for yet: the first press sends it
    await otp.send();
    return;
  }
  const code = otp.codeInput.value.trim();
  if (!/^\d{6}$/.test(code)) {
    setFieldError(otp.codeInput, 'otp.code_format');
    otp.codeInput.focus();
    return;
  }
  const button = $('#login-submit');
  busy(button, true);
  try {
    await post('/api/v1/auth/otp', { mobile: $('#mobile').value, code });
    location.assign(next());
  } catch (err) {
    if (err instanceof ApiError && ['login_failed', 'otp_locked', 'otp_expired'].includes(err.code)) {
      otp.codeError_(err);
    } else {
      showApiError(form, err, { code: otp.codeInput.id });
    }
  } finally {
    busy(button, false);
  }
});
