// Activation: the link from the e-mail (/activate?token=...). Posts the
// token once, shows the outcome and offers to send a new link.
import { init, currentLang, setText } from './i18n.js';
import { post } from './api.js';
import { $, showApiError, showErrors, clearErrors, formAlert, busy, getParam, errKey } from './ui.js';

await init();

const status = $('#act-status');
// the shape docs/rules.md asks of an e-mail address, roughly: the server
// has the exact rule
const EMAIL = /^[^\s@]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}$/;
const form = $('#resend-form');
function say(key, kind) {
  setText(status, key);
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
  const input = $('#resend_email');
  const email = input.value.trim();
  // the server answers 202 to anything (no enumeration): the page says
  // what is wrong with an address before sending it
  const bad = !email ? 'required' : !EMAIL.test(email) ? 'invalid_email' : null;
  if (bad) {
    showErrors(form, [{ input, key: errKey(bad, input) }]);
    return;
  }
  const button = $('#resend-submit');
  busy(button, true);
  try {
    await post('/api/v1/activation/resend', { email, lang: currentLang() });
    formAlert(form, null, 'act.resent', 'ok');
  } catch (err) {
    showApiError(form, err, { email: 'resend_email' });
  } finally {
    busy(button, false);
  }
});
