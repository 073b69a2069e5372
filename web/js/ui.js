// ui: small DOM helpers shared by the pages: building elements, field
// errors tied to their inputs, form alerts, busy buttons, debouncing.
import { t, has, errText, fieldText } from './i18n.js';

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

// el('tag', {class, text, i18n, attrs..., on: {event: fn}}, ...children)
export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.className = v;
    else if (k === 'i18n') { e.dataset.i18n = v; e.textContent = t(v); }
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

export function debounce(fn, ms = 250) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

function describedBy(input, id, on) {
  const ids = new Set((input.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean));
  if (on) ids.add(id); else ids.delete(id);
  if (ids.size) input.setAttribute('aria-describedby', [...ids].join(' '));
  else input.removeAttribute('aria-describedby');
}

// Shows text (already translated) as the error of input, in the element
// #<input id>-error (created when missing), linked by aria-describedby.
export function setFieldError(input, text, key) {
  const id = input.id + '-error';
  let box = document.getElementById(id);
  if (!box) {
    box = el('p', { class: 'field-error', id, 'aria-live': 'polite' });
    (input.closest('.field') || input.parentElement).append(box);
  }
  box.textContent = text || '';
  if (key) box.dataset.i18n = key; else delete box.dataset.i18n;
  if (text) {
    input.setAttribute('aria-invalid', 'true');
    describedBy(input, id, true);
  } else {
    input.removeAttribute('aria-invalid');
    describedBy(input, id, false);
  }
}

// The form's alert region (role=alert), for errors that belong to no field
// and for the summary.
export function formAlert(form, text, key, kind = 'error') {
  const box = form.querySelector('.form-alert');
  if (!box) return;
  box.textContent = text || '';
  box.className = 'form-alert' + (text ? ' ' + kind : '');
  if (key) box.dataset.i18n = key; else delete box.dataset.i18n;
}

export function clearErrors(form) {
  for (const i of form.querySelectorAll('[aria-invalid]')) setFieldError(i, '');
  formAlert(form, '');
}

// Shows an API error on the form: every field error next to its input
// (fieldMap maps API field names, or '@<code>', to input ids), the rest
// in the alert;
// focuses the first field in error. Nothing typed is cleared.
export function showApiError(form, err, fieldMap = {}) {
  clearErrors(form);
  let first = null;
  let fields = (err && err.fields) || {};
  // an error without field errors that still concerns one field:
  // fieldMap['@<code>'] names its input
  if (!Object.keys(fields).length && err && fieldMap['@' + err.code]) {
    fields = { ['@' + err.code]: { code: err.code, message: err.message } };
  }
  const unplaced = [];
  for (const [field, fe] of Object.entries(fields)) {
    const id = fieldMap[field] || field;
    const input = document.getElementById(id);
    if (input && form.contains(input)) {
      setFieldError(input, fieldText(fe), `err.${fe.code}`);
      if (!first) first = input;
    } else {
      unplaced.push(fieldText(fe));
    }
  }
  if (first) {
    if (unplaced.length) formAlert(form, [t('form.fix_errors'), ...unplaced].join(' '));
    else formAlert(form, t('form.fix_errors'), 'form.fix_errors');
    first.focus();
  } else if (unplaced.length) {
    formAlert(form, unplaced.join(' '));
  } else {
    const key = err && err.code && has('err.' + err.code) && !err.retryAfter ? 'err.' + err.code : null;
    formAlert(form, errText(err), key);
  }
}

export function busy(button, on) {
  button.disabled = !!on;
  if (on) button.setAttribute('aria-busy', 'true'); else button.removeAttribute('aria-busy');
}

export function getParam(name) {
  return new URLSearchParams(location.search).get(name);
}

// Keyboard-operable tabs (ARIA tabs pattern): buttons with role=tab inside
// a role=tablist, each aria-controls its panel. onSelect(tabId) on change.
export function tabs(list, onSelect) {
  const all = $$('[role=tab]', list);
  const select = (tab, focus) => {
    for (const x of all) {
      const on = x === tab;
      x.setAttribute('aria-selected', on ? 'true' : 'false');
      x.tabIndex = on ? 0 : -1;
      document.getElementById(x.getAttribute('aria-controls')).hidden = !on;
    }
    if (focus) tab.focus();
    onSelect && onSelect(tab.id);
  };
  for (const x of all) {
    x.addEventListener('click', () => select(x, false));
    x.addEventListener('keydown', (e) => {
      const i = all.indexOf(x);
      let n = null;
      if (e.key === 'ArrowRight') n = all[(i + 1) % all.length];
      else if (e.key === 'ArrowLeft') n = all[(i - 1 + all.length) % all.length];
      else if (e.key === 'Home') n = all[0];
      else if (e.key === 'End') n = all[all.length - 1];
      if (n) { e.preventDefault(); select(n, true); }
    });
  }
  return { select: (id) => select(document.getElementById(id), false) };
}
