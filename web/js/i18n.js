// i18n: English and Hindi strings from /i18n/<lang>.json. Elements carry
// data-i18n="key" (text, with data-i18n-vars='{"n":2}' for placeholders)
// and data-i18n-attr="attr:key;attr:key"; the chosen language is
// remembered in localStorage and in the pravesh_lang cookie (so that the
// server can answer in it too) and applied on every page.
import { ApiError } from './api.js';

export const LANGS = { en: { locale: 'en-IN' }, hi: { locale: 'hi-IN' } };
const STORE_KEY = 'pravesh.lang';
const dicts = {};
let lang = 'en';

function stored() {
  try {
    const l = localStorage.getItem(STORE_KEY);
    if (LANGS[l]) return l;
  } catch { /* private mode */ }
  const m = document.cookie.match(/(?:^|;\s*)pravesh_lang=(\w+)/);
  if (m && LANGS[m[1]]) return m[1];
  return LANGS[document.documentElement.lang] ? document.documentElement.lang : null;
}

// The dictionary's address: the versioned one the server wrote into the
// page (<meta name="pravesh-i18n" data-hi="/i18n/hi.json?v=...">, cached
// for good and preloaded), else the plain one.
function dictUrl(l) {
  const m = document.querySelector('meta[name=pravesh-i18n]');
  return (m && m.dataset[l]) || `/i18n/${l}.json`;
}

async function loadDict(l) {
  if (!dicts[l]) {
    const r = await fetch(dictUrl(l), { credentials: 'same-origin' });
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

// The plural form of key for the number n: key.one, key.other... by the
// language's plural rules ({n} is filled in, formatted).
export function tn(key, n, vars = {}) {
  const cat = new Intl.PluralRules(locale()).select(Number(n));
  const k = has(`${key}.${cat}`) ? `${key}.${cat}` : `${key}.other`;
  return t(k, { ...vars, n: fmtNum(n) });
}

// Text of an element from its data-i18n key and data-i18n-vars; a var
// written as {"@n": 5} is a plural count (tn).
function textOf(e) {
  let vars = null;
  if (e.dataset.i18nVars) {
    try { vars = JSON.parse(e.dataset.i18nVars); } catch { vars = null; }
  }
  if (vars && '@n' in vars) return tn(e.dataset.i18n, vars['@n'], vars);
  if (vars && '@wait' in vars) return t(e.dataset.i18n, { ...vars, wait: fmtWait(vars['@wait']) });
  return t(e.dataset.i18n, vars || undefined);
}

// Sets e's text to key (with vars) and remembers them, so that a language
// change translates it again.
export function setText(e, key, vars) {
  if (!key) {
    e.textContent = '';
    delete e.dataset.i18n;
    delete e.dataset.i18nVars;
    return;
  }
  e.dataset.i18n = key;
  if (vars) e.dataset.i18nVars = JSON.stringify(vars); else delete e.dataset.i18nVars;
  e.textContent = textOf(e);
}

export function apply(root = document) {
  for (const e of root.querySelectorAll('[data-i18n]')) e.textContent = textOf(e);
  for (const e of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of e.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':').map((s) => s.trim());
      if (attr && key) e.setAttribute(attr, t(key));
    }
  }
  titleState();
}

// The page title says "Error: " first while a form shows errors (GOV.UK
// error summary pattern).
export function titleState() {
  const title = document.querySelector('title');
  if (!title) return;
  const base = title.dataset.i18n ? t(title.dataset.i18n) : title.textContent.replace(/^[^:]*:\s*/, '');
  const err = document.querySelector('.error-summary:not([hidden])');
  document.title = err ? t('form.error_title', { title: base }) : base;
}

export async function setLang(l) {
  if (!LANGS[l]) l = 'en';
  // every language has every key (tests/browser/i18n.test.mjs): one file
  await loadDict(l);
  lang = l;
  try { localStorage.setItem(STORE_KEY, l); } catch { /* private mode */ }
  document.cookie = `pravesh_lang=${l}; Path=/; Max-Age=31536000; SameSite=Lax`;
  document.documentElement.lang = l;
  apply();
  const sel = document.getElementById('lang');
  if (sel) sel.value = l;
  document.dispatchEvent(new CustomEvent('langchange', { detail: { lang: l } }));
}

// Loads the remembered language, translates the page and binds the switch.
export async function init() {
  await setLang(stored() || 'en');
  const sel = document.getElementById('lang');
  if (sel) sel.addEventListener('change', () => setLang(sel.value));
  document.documentElement.classList.add('ready');
}

// "10 May 2026, 4:59 pm"; in Hindi "10 मई 2026, 4:59 अपराह्न" (the
// locale data writes am/pm in Latin letters even for Hindi).
export function fmtDate(iso, { time = true } = {}) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const f = new Intl.DateTimeFormat(locale(), time ? { dateStyle: 'medium', timeStyle: 'short' } : { dateStyle: 'medium' });
  return f.formatToParts(d).map((p) => {
    if (p.type !== 'dayPeriod') return p.value;
    const pm = d.getHours() >= 12;
    return t(pm ? 'time.pm' : 'time.am');
  }).join('');
}

export function fmtNum(n) {
  return new Intl.NumberFormat(locale()).format(Number(n) || 0);
}

// A wait in words: "25 seconds", "1 minute", "3 minutes" (rounded up).
export function fmtWait(seconds) {
  const s = Math.max(0, Math.ceil(Number(seconds) || 0));
  if (s < 120) return tn('time.seconds', s);
  return tn('time.minutes', Math.ceil(s / 60));
}

// The text of an API error in the chosen language: err.<code> when it is
// translated, else the server's own message.
export function errText(err) {
  if (err instanceof ApiError) {
    if (has('err.' + err.code)) return t('err.' + err.code, { wait: fmtWait(err.retryAfter ?? 0) });
    return err.message;
  }
  return t('err.network_error');
}

export function fieldText(fe) {
  if (fe && has('err.' + fe.code)) return t('err.' + fe.code);
  return (fe && fe.message) || t('err.invalid_request');
}
