// Activation: the link from the e-mail (/activate?token=...). Posts the
// token once, shows the outcome and offers to send a new link.
import { init, t } from './i18n.js';
import { post } from './api.js';
import { $, showApiError, clearErrors, formAlert, busy, getParam } from './ui.js';

await init();

const status = $('#act-status');
const form = $('#resend-form');
function say(key, kind) {
  status.dataset.i18n = key;
  status.textContent = t(key);
  status.className = 'form-alert ' + kind;
}

const token = getParam('token');
if (token) {
  // the token is single use: keep it out of the history and the address bar
  history.replaceState(null, '', '/activate');
  say('act.working', 'info');
  try {
    await post('/api/v1/activation', { token });
    say('act.ok', 'ok');
    $('#act-login').hidden = false;
  } catch (err) {
    say(err.code === 'activation_invalid' ? 'err.activation_invalid' : 'act.failed', 'error');
    form.hidden = false;
  }
} else {
  say('act.no_token', 'info');
  form.hidden = false;
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  clearErrors(form);
  const button = $('#resend-submit');
  busy(button, true);
  try {
    await post('/api/v1/activation/resend', { email: $('#resend_email').value });
    formAlert(form, t('act.resent'), 'act.resent', 'ok');
  } catch (err) {
    showApiError(form, err, { email: 'resend_email' });
  } finally {
    busy(button, false);
  }
});
