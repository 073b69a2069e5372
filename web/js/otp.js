// otp: "Send OTP" next to a mobile number, then an inline code field with a
// resend timer. In verify mode the code is checked at once with
// /api/v1/otp/verify and this.token holds the verification token; in login
// mode the page posts the code itself (this.codeInput). Every wait the
// server asks for is shown by one countdown, so that the timer and the
// message always say the same.
import { post, ApiError } from './api.js';
import { currentLang, setText } from './i18n.js';
import { el, setFieldError, busy, errKey, summaryItem, dropSummaryItem } from './ui.js';

// A failure that says nothing about what was typed (the service busy or
// restarting, a server error, no network): said for the whole form, in its
// error summary, not next to the number or the code as if they were wrong.
function serviceFailure(e) {
  return !(e instanceof ApiError) || e.status === 0 || e.status >= 500 || e.code === 'overloaded' || e.code === 'stopping';
}

const FOCUSABLE = 'input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), button:not([disabled]), a[href]';

export class Otp {
  // onChange(token|null) when the verification changes; in verify mode,
  // after a good code the focus goes to the form's next field.
  constructor({ mobile, sendButton, purpose, verify = true, onChange = () => {} }) {
    this.mobile = mobile;
    this.sendButton = sendButton;
    this.purpose = purpose;
    this.verifyMode = verify;
    this.onChange = onChange;
    this.token = null;
    this.tokenUntil = 0;
    this.verifiedMobile = null;
    this.sentTo = null;   // the number a code was last sent to
    this.taken = null;    // a number the server said is registered already
    this.timer = null;
    this.left = 0;
    this.waitOn = null;   // 'mobile' or 'code': which error shows the countdown
    const id = mobile.id;
    this.codeInput = el('input', { id: `${id}-otp`, name: 'otp', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '6', pattern: '[0-9]*', class: 'otp-input' });
    this.codeLabel = el('label', { for: this.codeInput.id, i18n: 'otp.code_label' });
    this.verifyButton = verify ? el('button', { type: 'button', id: `${id}-verify`, class: 'secondary', i18n: 'otp.verify' }) : null;
    this.resendButton = el('button', { type: 'button', class: 'link', id: `${id}-resend`, i18n: 'otp.resend', disabled: true });
    this.timerText = el('span', { class: 'hint', id: `${id}-otp-timer` });
    this.codeError = el('p', { class: 'field-error', id: `${this.codeInput.id}-error`, 'aria-live': 'polite' });
    this.box = el('div', { class: 'otp-box', hidden: true },
      this.codeLabel,
      el('div', { class: 'inline' }, this.codeInput, this.verifyButton),
      this.codeError,
      el('p', { class: 'otp-resend' }, this.resendButton, ' ', this.timerText));
    this.status = el('p', { class: 'otp-status', id: `${id}-otp-status`, role: 'status' });
    const field = mobile.closest('.field');
    field.append(this.box, this.status);

    sendButton.addEventListener('click', () => this.send());
    this.resendButton.addEventListener('click', () => this.send());
    if (this.verifyButton) this.verifyButton.addEventListener('click', () => this.verify());
    this.codeInput.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && this.verifyMode) { e.preventDefault(); this.verify(); }
    });
    mobile.addEventListener('input', () => {
      if (this.token && this.mobile.value.trim() !== this.verifiedMobile) this.reset();
    });
  }

  reset() {
    this.token = null;
    this.verifiedMobile = null;
    setText(this.status, null);
    this.status.className = 'otp-status';
    this.box.hidden = true;
    this.codeInput.value = '';
    this.sendButton.hidden = false;
    this.onChange(null);
  }

  // What is wrong with the number as far as the page knows: nothing typed
  // ('required'), a number the server said is registered ('mobile_taken'),
  // a code sent but not verified ('otp_not_verified'), no code asked for
  // ('verification_required'); null when verified.
  problem() {
    const m = this.mobile.value.trim();
    if (!m) return 'required';
    if (this.taken === m) return 'mobile_taken';
    if (this.token && this.verifiedMobile === m) return null;
    return this.sentTo && !this.box.hidden ? 'otp_not_verified' : 'verification_required';
  }

  // What a page keeps to restore the verification later (a visit to
  // "Request for help" and back), or null.
  saved() {
    if (!this.token || Date.now() >= this.tokenUntil) return null;
    return { mobile: this.verifiedMobile, token: this.token, until: this.tokenUntil };
  }

  restore(s) {
    if (!s || !s.token || !(s.until > Date.now()) || s.mobile !== this.mobile.value.trim()) return;
    this.token = s.token;
    this.tokenUntil = s.until;
    this.verifiedMobile = s.mobile;
    this.showVerified();
  }

  showVerified() {
    this.box.hidden = true;
    this.sendButton.hidden = true;
    setFieldError(this.mobile, null);
    this.status.className = 'otp-status ok';
    setText(this.status, 'otp.verified');
  }

  // The countdown: the timer beside Resend and, while a wait error is
  // shown, that error, from the same number of seconds.
  renderTimer() {
    if (this.left > 0) {
      setText(this.timerText, 'otp.resend_in', { '@wait': this.left });
      this.resendButton.disabled = true;
    } else {
      setText(this.timerText, null);
      this.resendButton.disabled = false;
    }
    if (this.waitOn) {
      const input = this.waitOn === 'mobile' ? this.mobile : this.codeInput;
      const box = document.getElementById(input.id + '-error');
      if (this.left > 0) {
        if (box) box.setAttribute('aria-live', 'off'); // announced once, not every second
        setFieldError(input, this.waitOn === 'mobile' ? 'otp.wait' : 'otp.locked_wait', { '@wait': this.left });
      } else {
        if (box) box.setAttribute('aria-live', 'polite');
        setFieldError(input, this.waitOn === 'mobile' ? null : 'otp.locked', null);
        this.waitOn = null;
      }
    }
  }

  startTimer(seconds, waitOn = null) {
    clearInterval(this.timer);
    this.left = Math.max(0, Math.ceil(seconds || 0));
    this.waitOn = this.left > 0 ? waitOn : null;
    if (this.waitOn) {
      const box = document.getElementById((this.waitOn === 'mobile' ? this.mobile : this.codeInput).id + '-error');
      if (box) box.setAttribute('aria-live', 'polite');
    }
    this.renderTimer();
    if (this.left > 0) {
      this.timer = setInterval(() => {
        this.left -= 1;
        if (this.left <= 0) clearInterval(this.timer);
        this.renderTimer();
      }, 1000);
    }
  }

  // Shows an error of the send step next to the mobile number; a wait
  // (429 with Retry-After) counts down. Answers true when the error went to
  // the form's summary (which then has the focus).
  sendError(e) {
    if (e instanceof ApiError && e.status === 429 && e.retryAfter) {
      this.startTimer(e.retryAfter, 'mobile');
      return false;
    }
    if (serviceFailure(e) && this.mobile.form) {
      this.serviceError_(this.mobile.form, e);
      return true;
    }
    const fe = e instanceof ApiError ? e.fields.mobile : null;
    const code = fe ? fe.code : e instanceof ApiError ? e.code : 'network_error';
    if (code === 'mobile_taken') this.taken = this.mobile.value.trim();
    const key = errKey(code, this.mobile);
    setFieldError(this.mobile, key, null, key ? null : (fe && fe.message) || e.message);
    return false;
  }

  // A service failure in the form's summary, beside the field errors
  // shown (which stay), taken away again at the next try.
  serviceError_(form, e) {
    summaryItem(form, 'otp-service', e);
  }

  clearServiceError_() {
    for (const f of new Set([this.mobile.form, this.codeInput.form])) if (f) dropSummaryItem(f, 'otp-service');
  }

  async send() {
    this.clearServiceError_();
    setFieldError(this.mobile, null);
    setFieldError(this.codeInput, null);
    const mobile = this.mobile.value.trim();
    if (!mobile) {
      setFieldError(this.mobile, errKey('required', this.mobile));
      this.mobile.focus();
      return;
    }
    busy(this.sendButton, true);
    this.resendButton.disabled = true;
    try {
      const r = await post('/api/v1/otp', { mobile, purpose: this.purpose, lang: currentLang() });
      this.sentTo = r.mobile;
      this.taken = null;
      this.box.hidden = false;
      this.status.className = 'otp-status';
      // login and register answer the same for registered and new
      // numbers: the words say what the SMS may carry instead of a code
      const sent = { login: 'otp.sent_login', register: 'otp.sent_register' }[this.purpose] || 'otp.sent';
      setText(this.status, sent, { mobile: r.mobile });
      this.startTimer(r.resend_in);
      this.codeInput.value = '';
      this.codeInput.focus();
    } catch (e) {
      const inSummary = this.sendError(e);
      if (!this.waitOn) this.renderTimer();
      if (!inSummary) this.mobile.focus();
    } finally {
      busy(this.sendButton, false);
    }
  }

  // A wrong code: how many tries are left, or that this code is dead and a
  // new one is needed (and when it may be asked for).
  codeError_(e) {
    if (e instanceof ApiError && (e.code === 'otp_invalid' || e.code === 'login_failed') && Number.isInteger(e.problem.attempts_left)) {
      setFieldError(this.codeInput, 'otp.attempts_left', { '@n': e.problem.attempts_left });
    } else if (e instanceof ApiError && e.code === 'otp_locked') {
      if (e.retryAfter) this.startTimer(e.retryAfter, 'code');
      else { this.startTimer(0); setFieldError(this.codeInput, 'otp.locked'); }
    } else if (e instanceof ApiError && e.code === 'otp_expired') {
      this.startTimer(0);
      setFieldError(this.codeInput, 'err.otp_expired');
    } else if (serviceFailure(e) && this.codeInput.form) {
      this.serviceError_(this.codeInput.form, e);
      return; /* the summary has the focus */
    } else {
      const key = e instanceof ApiError ? errKey(e.code, this.codeInput) : 'err.network_error';
      setFieldError(this.codeInput, key, e instanceof ApiError && e.retryAfter ? { '@wait': e.retryAfter } : null, key ? null : e.message);
    }
    this.codeInput.focus();
  }

  async verify() {
    this.clearServiceError_();
    setFieldError(this.codeInput, null);
    const code = this.codeInput.value.trim();
    if (!/^\d{6}$/.test(code)) {
      setFieldError(this.codeInput, 'otp.code_format');
      this.codeInput.focus();
      return;
    }
    busy(this.verifyButton, true);
    try {
      const r = await post('/api/v1/otp/verify', { mobile: this.mobile.value, purpose: this.purpose, code });
      this.token = r.verification_token;
      this.tokenUntil = Date.now() + Math.max(0, (r.expires_in || 0) - 5) * 1000;
      this.verifiedMobile = this.mobile.value.trim();
      clearInterval(this.timer);
      this.left = 0;
      this.waitOn = null;
      this.showVerified();
      this.onChange(this.token);
      this.focusNext();
    } catch (e) {
      this.codeError_(e);
    } finally {
      if (this.verifyButton) busy(this.verifyButton, false);
    }
  }

  // After a good code the next step of the form gets the focus (the
  // buttons that had it are gone).
  focusNext() {
    const field = this.mobile.closest('.field');
    const form = this.mobile.form || field.parentElement;
    const next = [...form.querySelectorAll(FOCUSABLE)].find((x) =>
      !field.contains(x) && (field.compareDocumentPosition(x) & Node.DOCUMENT_POSITION_FOLLOWING) &&
      x.offsetParent !== null && !(x.type === 'radio' && !x.checked && form.querySelector(`input[name="${x.name}"]:checked`)));
    if (next) next.focus();
  }
}
