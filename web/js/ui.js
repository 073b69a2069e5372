// ui: small DOM helpers shared by the pages: building elements, field
// errors tied to their inputs and gathered in an error summary (GOV.UK
// pattern), form alerts, confirmation dialogs, busy buttons, tabs, pagers.
import { t, has, errText, fmtNum, setText, titleState } from './i18n.js';

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

// el('tag', {class, text, i18n, i18nVars, attrs..., on: {event: fn}}, ...children)
export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.className = v;
    else if (k === 'i18n') setText(e, v, props.i18nVars);
    else if (k === 'i18nVars') continue;
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

// The message key for an error code on an input: err.<code>.<field> (the
// field named by the input's data-msg, else its id) when there is one, so
// that each field says what is wrong with it, else err.<code>.
export function errKey(code, input) {
  const field = input ? input.dataset.msg || input.id : '';
  if (field && has(`err.${code}.${field}`)) return `err.${code}.${field}`;
  return has(`err.${code}`) ? `err.${code}` : null;
}

// Shows an error next to input, in the element #<input id>-error (created
// when missing), linked by aria-describedby. key (with vars) is translated
// again when the language changes; text is used when there is no key.
// An empty key and text clears it.
export function setFieldError(input, key, vars, text) {
  const id = input.id + '-error';
  let box = document.getElementById(id);
  if (!box) {
    box = el('p', { class: 'field-error', id, 'aria-live': 'polite' });
    (input.closest('.field') || input.parentElement).append(box);
  }
  if (key) setText(box, key, vars);
  else { setText(box, null); box.textContent = text || ''; }
  if (key || text) {
    input.setAttribute('aria-invalid', 'true');
    describedBy(input, id, true);
  } else {
    input.removeAttribute('aria-invalid');
    describedBy(input, id, false);
  }
}

function summaryOf(form) {
  let box = form.querySelector(':scope > .error-summary');
  if (!box) {
    const n = $$('.error-summary').length + 1;
    box = el('div', { class: 'error-summary', tabindex: '-1', hidden: true, 'aria-labelledby': `error-summary-${n}` },
      el('div', { role: 'alert' },
        el('h2', { id: `error-summary-${n}`, i18n: 'form.problem' }),
        el('ul', {})));
    form.prepend(box);
  }
  return box;
}

// Shows errors on a form the GOV.UK way: each next to its field, all of
// them in a summary at the top of the form (each a link to its field, in
// the order of the page), "Error: " before the page title, and the focus
// on the summary. errors: [{input?, key?, vars?, text?}]. Nothing typed is
// cleared.
export function showErrors(form, errors, { focus = true } = {}) {
  clearErrors(form);
  if (!errors.length) return;
  const sorted = [...errors].sort((a, b) => {
    if (!a.input || !b.input) return a.input ? -1 : b.input ? 1 : 0;
    return a.input.compareDocumentPosition(b.input) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1;
  });
  const box = summaryOf(form);
  const items = [];
  for (const e of sorted) {
    if (e.input) setFieldError(e.input, e.key, e.vars, e.text);
    const item = e.input
      ? el('a', { href: '#' + e.input.id, on: { click: (ev) => { ev.preventDefault(); goTo(e.input); } } })
      : el('span');
    if (e.key) setText(item, e.key, e.vars); else item.textContent = e.text || '';
    items.push(el('li', {}, item));
  }
  box.querySelector('ul').replaceChildren(...items);
  box.hidden = false;
  titleState();
  if (focus) {
    box.focus();
    box.scrollIntoView({ block: 'start' });
  }
}

// Focuses an input and brings its label into view (the summary's links).
function goTo(input) {
  const label = input.closest('fieldset')?.querySelector('legend') || (input.labels && input.labels[0]);
  input.focus({ preventScroll: true });
  (label || input).scrollIntoView({ block: 'start' });
}

// The form's message region (.form-alert) for what went right or is
// information ('ok', 'info'); kind 'error' shows text in the error summary.
export function formAlert(form, text, key, kind = 'error', vars) {
  if (kind === 'error') {
    if (text || key) showErrors(form, [{ key, vars, text }]);
    else clearErrors(form);
    return;
  }
  const box = form.querySelector('.form-alert');
  if (!box) return;
  if (key) setText(box, key, vars); else { setText(box, null); box.textContent = text || ''; }
  box.className = 'form-alert' + (text || key ? ' ' + kind : '');
}

export function clearErrors(form) {
  for (const i of form.querySelectorAll('[aria-invalid]')) setFieldError(i, null);
  const box = form.querySelector(':scope > .error-summary');
  if (box) {
    box.hidden = true;
    box.querySelector('ul').replaceChildren();
  }
  const alert = form.querySelector('.form-alert');
  if (alert && alert.classList.contains('error')) formAlert(form, '', null, 'ok');
  titleState();
}

// An API error on a form: every field error next to its input (fieldMap
// maps API field names, or '@<code>' for an error without fields, to
// input ids) and in the summary; the rest in the summary alone. codeKeys
// maps codes to other message keys ({login_failed: 'err.password_login_failed'}).
export function showApiError(form, err, fieldMap = {}, codeKeys = {}) {
  let fields = (err && err.fields) || {};
  if (!Object.keys(fields).length && err && fieldMap['@' + err.code]) {
    fields = { ['@' + err.code]: { code: err.code, message: err.message } };
  }
  const errors = [];
  for (const [field, fe] of Object.entries(fields)) {
    const id = fieldMap[field] || field;
    const input = document.getElementById(id);
    const inside = input && form.contains(input) ? input : null;
    const key = codeKeys[fe.code] || errKey(fe.code, inside);
    errors.push({ input: inside, key, text: key ? null : fe.message || t('err.invalid_request') });
  }
  if (!errors.length) errors.push(apiMessage(err, codeKeys));
  showErrors(form, errors);
}

// The words of an API error that names no field: {key, vars} or {text}.
function apiMessage(err, codeKeys = {}) {
  const key = err && codeKeys[err.code] ? codeKeys[err.code] : null;
  if (key) return { key };
  if (err && err.code && has('err.' + err.code)) return { key: 'err.' + err.code, vars: err.retryAfter ? { '@wait': err.retryAfter } : undefined };
  return { text: errText(err) };
}

// An API error about the form as a whole (the service, not what was
// typed) added to the form's summary, beside the field errors already
// shown, which stay; name marks it for dropSummaryItem. The focus goes to
// the summary.
export function summaryItem(form, name, err) {
  dropSummaryItem(form, name);
  const m = apiMessage(err);
  const box = summaryOf(form);
  const item = el('span');
  if (m.key) setText(item, m.key, m.vars); else item.textContent = m.text || '';
  box.querySelector('ul').append(el('li', { dataset: { item: name } }, item));
  box.hidden = false;
  titleState();
  box.focus();
  box.scrollIntoView({ block: 'start' });
}

// Takes the summary's item name away (the summary goes when it is empty).
export function dropSummaryItem(form, name) {
  const box = form.querySelector(':scope > .error-summary');
  if (!box) return;
  for (const li of box.querySelectorAll('li[data-item]')) if (li.dataset.item === name) li.remove();
  if (!box.querySelector('li')) box.hidden = true;
  titleState();
}

export function busy(button, on) {
  button.disabled = !!on;
  if (on) button.setAttribute('aria-busy', 'true'); else button.removeAttribute('aria-busy');
}

export function getParam(name) {
  return new URLSearchParams(location.search).get(name);
}

// Asks before an action that matters (approve, reject, deactivate): a modal
// dialog with the question, what will happen, and two buttons; Cancel has
// the focus. Resolves to true when confirmed. Texts are translated already.
export function confirmDialog({ title, text, confirm, danger = false }) {
  const opener = document.activeElement;
  return new Promise((resolve) => {
    const yes = el('button', { type: 'button', class: danger ? 'danger' : '', 'data-confirm': 'yes', text: confirm });
    const no = el('button', { type: 'button', class: 'secondary', 'data-confirm': 'no', i18n: 'confirm.cancel' });
    const d = el('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-title', 'aria-describedby': 'confirm-text' },
      el('h2', { id: 'confirm-title', text: title }),
      el('p', { id: 'confirm-text', text }),
      el('div', { class: 'actions' }, yes, no));
    let answer = false;
    yes.addEventListener('click', () => { answer = true; d.close(); });
    no.addEventListener('click', () => d.close());
    d.addEventListener('close', () => {
      d.remove();
      if (opener && opener.isConnected && !answer) opener.focus();
      resolve(answer);
    });
    document.body.append(d);
    d.showModal();
    no.focus();
  });
}

// Previous / Next and "Page 1 of 3 (45 in all)" for a list of st.page.
export function pager(box, st, total, reload, perPage = 20) {
  const pages = Math.max(1, Math.ceil((total || 0) / perPage));
  const prev = el('button', { type: 'button', class: 'secondary small', i18n: 'pager.prev', disabled: st.page <= 1 });
  const next = el('button', { type: 'button', class: 'secondary small', i18n: 'pager.next', disabled: st.page >= pages });
  prev.addEventListener('click', () => { st.page -= 1; reload(); });
  next.addEventListener('click', () => { st.page += 1; reload(); });
  const status = el('span', { i18n: 'pager.status', i18nVars: { page: fmtNum(st.page), pages: fmtNum(pages), total: fmtNum(total || 0) } });
  box.replaceChildren(status, ...(pages > 1 ? [prev, next] : []));
}

// A table cell that carries its column's name, shown beside the value when
// the table is stacked on a narrow screen.
export function cell(labelKey, props = {}, ...children) {
  const { text, ...rest } = props;
  return el('td', { ...rest, 'data-label': t(labelKey) }, el('div', { class: 'cell-value', text }, ...children));
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
