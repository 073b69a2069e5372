// otp: "Send OTP" next to a mobile number, then an inline code field with a
// resend timer. In verify mode the code is checked at once with
// /api/v1/otp/verify and this.token holds the verification token; in login
// mode the page posts the code itself (this.codeInput).
import { post, ApiError } from './api.js';
import { t, errText, fieldText, fmtNum } from './i18n.js';
import { el, setFieldError, busy } from './ui.js';

export class Otp {
  constructor({ mobile, sendButton, purpose, verify = true, onChange = () => {} }) {
    this.mobile = mobile;
    this.sendButton = sendButton;
    this.purpose = purpose;
    this.verifyMode = verify;
    this.onChange = onChange;
    this.token = null;
    this.verifiedMobile = null;
    this.timer = null;
    this.left = 0;
    const id = mobile.id;
    this.codeInput = el('input', { id: `${id}-otp`, name: 'otp', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: '6', pattern: '[0-9]*', class: 'otp-input' });
    this.codeLabel = el('label', { for: this.codeInput.id, i18n: 'otp.code_label' });
    this.verifyButton = verify ? el('button', { type: 'button', id: `${id}-verify`, class: 'secondary', i18n: 'otp.verify' }) : null;
    this.resendButton = el('button', { type: 'button', class: 'link', i18n: 'otp.resend', disabled: true });
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
    document.addEventListener('langchange', () => this.renderTimer());
  }

  reset() {
    this.token = null;
    this.verifiedMobile = null;
    this.status.textContent = '';
    delete this.status.dataset.i18n;
    this.status.className = 'otp-status';
    this.box.hidden = true;
    this.codeInput.value = '';
    this.sendButton.hidden = false;
    this.onChange(null);
  }

  renderTimer() {
    if (this.left > 0) {
      this.timerText.textContent = t('otp.resend_in', { seconds: fmtNum(this.left) });
      this.resendButton.disabled = true;
    } else {
      this.timerText.textContent = '';
      this.resendButton.disabled = false;
    }
  }

  startTimer(seconds) {
    clearInterval(this.timer);
    this.left = Math.max(0, Math.ceil(seconds || 0));
    this.renderTimer();
    if (this.left > 0) {
      this.timer = setInterval(() => {
        this.left -= 1;
        if (this.left <= 0) clearInterval(this.timer);
        this.renderTimer();
      }, 1000);
    }
  }

  async send() {
    setFieldError(this.mobile, '');
    setFieldError(this.codeInput, '');
    if (!this.mobile.value.trim()) {
      setFieldError(this.mobile, t('err.required'), 'err.required');
      this.mobile.focus();
      return;
    }
    busy(this.sendButton, true);
    this.resendButton.disabled = true;
    try {
      const r = await post('/api/v1/otp', { mobile: this.mobile.value, purpose: this.purpose });
      this.box.hidden = false;
      this.status.className = 'otp-status';
      delete this.status.dataset.i18n;
      this.status.textContent = t('otp.sent', { mobile: r.mobile });
      this.startTimer(r.resend_in);
      this.codeInput.value = '';
      this.codeInput.focus();
    } catch (e) {
      const fe = e instanceof ApiError ? e.fields.mobile : null;
      setFieldError(this.mobile, fe ? fieldText(fe) : errText(e));
      if (e instanceof ApiError && e.retryAfter && !this.box.hidden) this.startTimer(e.retryAfter);
      else this.renderTimer();
      this.mobile.focus();
    } finally {
      busy(this.sendButton, false);
    }
  }

  async verify() {
    setFieldError(this.codeInput, '');
    const code = this.codeInput.value.trim();
    if (!/^\d{6}$/.test(code)) {
      setFieldError(this.codeInput, t('otp.code_format'), 'otp.code_format');
      this.codeInput.focus();
      return;
    }
    busy(this.verifyButton, true);
    try {
      const r = await post('/api/v1/otp/verify', { mobile: this.mobile.value, purpose: this.purpose, code });
      this.token = r.verification_token;
      this.verifiedMobile = this.mobile.value.trim();
      clearInterval(this.timer);
      this.left = 0;
      this.box.hidden = true;
      this.sendButton.hidden = true;
      setFieldError(this.mobile, '');
      this.status.className = 'otp-status ok';
      this.status.textContent = t('otp.verified');
      this.status.dataset.i18n = 'otp.verified';
      this.onChange(this.token);
    } catch (e) {
      let msg = errText(e);
      if (e instanceof ApiError && e.code === 'otp_invalid' && e.problem.attempts_left !== undefined) {
        msg = t('otp.attempts_left', { n: fmtNum(e.problem.attempts_left) });
      }
      setFieldError(this.codeInput, msg);
      if (e instanceof ApiError && (e.code === 'otp_locked' || e.code === 'otp_expired')) this.startTimer(e.retryAfter || 0);
      this.codeInput.focus();
    } finally {
      if (this.verifyButton) busy(this.verifyButton, false);
    }
  }
}
