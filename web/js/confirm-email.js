// The link of an e-mail change: /confirm-email?token=... . The change is
// confirmed in the session of the person who asked for it; without one the
// token waits in this tab (sessionStorage, never the URL) while they log in
// and come back here.
import { init, t } from './i18n.js';
import { post, me } from './api.js';
import { $, getParam } from './ui.js';

const KEY = 'pravesh.confirm-email.token';
await init();

const status = $('#ce-status');
function say(key, kind, vars) {
  status.className = 'form-alert ' + kind;
  const render = () => { status.textContent = t(key, vars); };
  delete status.dataset.i18n;
  render();
  document.addEventListener('langchange', render);
}

let token = getParam('token');
if (token) {
  try { sessionStorage.setItem(KEY, token); } catch { /* private mode */ }
  history.replaceState(null, '', '/confirm-email');
} else {
  try { token = sessionStorage.getItem(KEY); } catch { token = null; }
}

if (!token || !/^[A-Za-z0-9_-]{10,64}$/.test(token)) {
  say('ce.no_token', 'info');
} else if (!(await me().catch(() => null))) {
  say('ce.login_text', 'info');
  $('#ce-login').hidden = false;
} else {
  try {
    const user = await post('/api/v1/me/email/confirm', { token });
    say('ce.ok', 'ok', { email: user.email });
  } catch (err) {
    say(err.code === 'email_taken' ? 'err.email_taken' : 'ce.failed', 'error');
  }
  try { sessionStorage.removeItem(KEY); } catch { /* ignore */ }
  $('#ce-profile').hidden = false;
}
