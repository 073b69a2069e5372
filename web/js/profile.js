// The person's own profile (issue 15): see and correct the details, change
// the mobile number (an OTP to the new number), change the e-mail (a link
// to the new address), download everything held, close the account (an
// OTP to one's own number, after a clear statement of what happens).
import { init, t, locale, fmtDate } from './i18n.js';
import { get, post, api, me } from './api.js';
import { $, el, showApiError, clearErrors, formAlert, setFieldError, busy } from './ui.js';
import { Otp } from './otp.js';
import { positionCombobox, underText } from './directory.js';
import { sessionHeader } from './session.js';

await init();

let user = null;
let site = { erasure_grace_days: 30 };
try { user = await me(); } catch { user = null; }
sessionHeader(user); // who is logged in, their role, log out
try { site = await get('/api/v1/site'); } catch { /* the defaults */ }
$('#loading').hidden = true;

const fmtDay = (iso) => new Intl.DateTimeFormat(locale(), { dateStyle: 'long' }).format(new Date(iso));

// The string of key with {name} replaced by nodes (a value in bold), so
// that each language puts the value where its grammar wants it.
function sentence(key, name, ...nodes) {
  const [before, after = ''] = t(key).split(`{${name}}`);
  return [before, ...nodes, after];
}

function renderDetails() {
  const org = user.org ? [user.org.name, user.org.under ? el('span', { class: 'hint', text: ' — ' + underText(user.org) }) : ''] : ['—'];
  $('#org-value').replaceChildren(...org);
  $('#status-value').textContent = t('status.' + user.status);
  $('#since-value').textContent = fmtDate(user.created_at);
}

function renderMobile() {
  $('#mobile-current').replaceChildren(...sentence('prof.mobile_current', 'mobile', el('strong', { text: user.mobile })));
  $('#close-mobile').value = user.mobile;
}

function renderEmail() {
  $('#email-current').replaceChildren(...sentence('prof.email_current', 'email', el('strong', { text: user.email }),
    user.official_email ? ` (${t('home.official')})` : ''));
  const pend = $('#email-pending');
  if (user.pending_email) {
    pend.textContent = t('prof.email_pending', { email: user.pending_email.email, until: fmtDate(user.pending_email.expires_at) });
    pend.hidden = false;
  } else {
    pend.textContent = '';
    pend.hidden = true;
  }
}

function renderClose() {
  const days = Number(site.erasure_grace_days) || 0;
  const keys = ['prof.close_logout', days > 0 ? 'prof.close_erase' : 'prof.close_erase_now', 'prof.close_keep',
    'prof.close_again'];
  $('#close-what').replaceChildren(...keys.map((k) => el('li', { text: t(k, { days }) })));
}

function renderAll() {
  if (!user) return;
  renderDetails();
  renderMobile();
  renderEmail();
  renderClose();
}

if (!user) {
  $('#anon').hidden = false;
} else {
  $('#profile').hidden = false;
  $('#first_name').value = user.first_name;
  $('#last_name').value = user.last_name;
  renderAll();
  document.addEventListener('langchange', renderAll);
}

// ---- details
const position = positionCombobox($('#position'), { onChange: () => setFieldError($('#position'), '') });
if (user && user.position) {
  $('#position').value = user.position.name;
  position.value = user.position;
}

$('#details-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = $('#details-form');
  clearErrors(form);
  const body = { first_name: $('#first_name').value, last_name: $('#last_name').value };
  const typed = $('#position').value.trim();
  if (position.value) body.position_id = position.value.id;
  else if (user.position) body.position_id = ''; /* cleared: the rules say it is required */
  const button = $('#details-save');
  busy(button, true);
  try {
    if (typed && !position.value) {
      showApiError(form, { fields: { position: { code: 'unknown_position' } } });
      return;
    }
    user = await api('PATCH', '/api/v1/me', { json: body });
    renderAll();
    formAlert(form, t('prof.saved'), 'prof.saved', 'ok');
  } catch (err) {
    showApiError(form, err, { position_id: 'position' });
  } finally {
    busy(button, false);
  }
});

// ---- mobile
const mobileOtp = new Otp({ mobile: $('#new-mobile'), sendButton: $('#new-mobile-send'), purpose: 'change_mobile' });

$('#mobile-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = $('#mobile-form');
  clearErrors(form);
  if (!$('#new-mobile').value.trim()) {
    showApiError(form, { fields: { 'new-mobile': { code: 'required' } } });
    return;
  }
  if (!mobileOtp.token) {
    showApiError(form, { fields: { 'new-mobile': { code: 'verification_required' } } });
    return;
  }
  const button = $('#mobile-save');
  busy(button, true);
  try {
    user = await post('/api/v1/me/mobile', { mobile: $('#new-mobile').value, verification_token: mobileOtp.token });
    mobileOtp.reset();
    $('#new-mobile').value = '';
    renderAll();
    formAlert(form, t('prof.mobile_saved', { mobile: user.mobile }), null, 'ok');
  } catch (err) {
    if (err.code === 'mobile_taken' || (err.fields && err.fields.verification_token)) mobileOtp.reset();
    showApiError(form, err, { mobile: 'new-mobile', verification_token: 'new-mobile' });
  } finally {
    busy(button, false);
  }
});

// ---- e-mail
$('#email-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = $('#email-form');
  clearErrors(form);
  const email = $('#new-email').value.trim();
  const button = $('#email-send');
  busy(button, true);
  try {
    await post('/api/v1/me/email', { email });
    user = (await me()) || user;
    renderAll();
    $('#new-email').value = '';
    formAlert(form, t('prof.email_sent', { email }), null, 'ok');
  } catch (err) {
    showApiError(form, err, { email: 'new-email', '@email_taken': 'new-email' });
  } finally {
    busy(button, false);
  }
});

// ---- closing the account
const closeOtp = new Otp({ mobile: $('#close-mobile'), sendButton: $('#close-mobile-send'), purpose: 'erasure' });

$('#close-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = $('#close-form');
  clearErrors(form);
  const fields = {};
  if (!closeOtp.token) fields['close-mobile'] = { code: 'verification_required' };
  if (!$('#close-understand').checked) fields['close-understand'] = { code: 'close_understand' };
  if (Object.keys(fields).length) {
    showApiError(form, { fields });
    return;
  }
  const button = $('#close-submit');
  busy(button, true);
  try {
    const r = await post('/api/v1/me/erasure', { verification_token: closeOtp.token });
    $('#profile').hidden = true;
    const done = $('#closed');
    const text = () => { $('#closed-text').textContent = t('prof.closed_text', { date: fmtDay(r.erase_after) }); };
    text();
    document.addEventListener('langchange', text);
    done.hidden = false;
    done.focus();
  } catch (err) {
    if (err.fields && err.fields.verification_token) closeOtp.reset();
    showApiError(form, err, { verification_token: 'close-mobile' });
  } finally {
    busy(button, false);
  }
});
