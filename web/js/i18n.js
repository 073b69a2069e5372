// i18n: English and Hindi strings from /i18n/<lang>.json. Elements carry
// data-i18n="key" (text) and data-i18n-attr="attr:key;attr:key"; the chosen
// language is remembered in localStorage and applied on every page.
import { ApiError } from './api.js';

export const LANGS = { en: { locale: 'en-IN' }, hi: { locale: 'hi-IN' } };
const STORE_KEY = 'pravesh.lang';
const dicts = {};
let lang = 'en';

function stored() {
  try {
    const l = localStorage.getItem(STORE_KEY);
    return LANGS[l] ? l : null;
  } catch { return null; }
}

async function loadDict(l) {
  if (!dicts[l]) {
    const r = await fetch(`/i18n/${l}.json`, { credentials: 'same-origin' });
    dicts[l] = r.ok ? await r.json() : {};
  }
  return dicts[l];
}

export function currentLang() { return lang; }
export function locale() { return LANGS[lang].locale; }

export function has(key) {
  return (dicts[lang] && key in dicts[lang]) || (dicts.en && key in dicts.en);
}

// t('key', {name: 'x'}): the string in the current language (English when
// missing), with {name} placeholders filled in.
export function t(key, vars) {
  let s = (dicts[lang] && dicts[lang][key]) ?? (dicts.en && dicts.en[key]) ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

export function apply(root = document) {
  for (const e of root.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
  for (const e of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of e.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':').map((s) => s.trim());
      if (attr && key) e.setAttribute(attr, t(key));
    }
  }
}

export async function setLang(l) {
  if (!LANGS[l]) l = 'en';
  await Promise.all([loadDict('en'), loadDict(l)]);
  lang = l;
  try { localStorage.setItem(STORE_KEY, l); } catch { /* private mode */ }
  document.documentElement.lang = l;
  apply();
  const sel = document.getElementById('lang');
  if (sel) sel.value = l;
  document.dispatchEvent(new CustomEvent('langchange', { detail: { lang: l } }));
}

// Loads the remembered language, translates the page, binds the switch and
// shows the page (it is hidden until translated so that nothing jumps).
export async function init() {
  await setLang(stored() || 'en');
  const sel = document.getElementById('lang');
  if (sel) sel.addEventListener('change', () => setLang(sel.value));
  document.documentElement.classList.add('ready');
}

export function fmtDate(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

export function fmtNum(n) {
  return new Intl.NumberFormat(locale()).format(Number(n) || 0);
}

// The text of an API error in the chosen language: err.<code> when it is
// translated, else the server's own message.
export function errText(err) {
  if (err instanceof ApiError) {
    if (has('err.' + err.code)) return t('err.' + err.code, { seconds: err.retryAfter ?? '' });
    return err.message;
  }
  return t('err.network_error');
}

export function fieldText(fe) {
  if (fe && has('err.' + fe.code)) return t('err.' + fe.code);
  return (fe && fe.message) || t('err.invalid_request');
}
