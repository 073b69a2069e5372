// Administrators' login with username and password; then to the SPV or
// MDO page (or ?next=).
import { init } from './i18n.js';
import { post } from './api.js';
import { $, showApiError, showErrors, clearErrors, busy, getParam, errKey } from './ui.js';

await init();

const form = $('#alogin-form');

function target(user) {
  const n = getParam('next');
  if (n && /^\/[A-Za-z0-9_\-/]*$/.test(n) && !n.startsWith('//')) return n;
  const roles = (user && user.roles) || [];
  if (roles.some((r) => r.role === 'spv_admin')) return '/spv';
  if (roles.some((r) => r.role === 'mdo_admin')) return '/mdo';
  return '/';
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearErrors(form);
  const missing = ['username', 'password'].map((id) => $('#' + id)).filter((i) => !i.value.trim());
  if (missing.length) {
    showErrors(form, missing.map((input) => ({ input, key: errKey('required', input) })));
    return;
  }
  const button = $('#alogin-submit');
  busy(button, true);
  try {
    const r = await post('/api/v1/auth/password', { username: $('#username').value, password: $('#password').value });
    location.assign(target(r.user));
  } catch (err) {
    showApiError(form, err, {}, { login_failed: 'err.password_login_failed' });
  } finally {
    busy(button, false);
  }
});
