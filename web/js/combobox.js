// combobox: a type-ahead search field following the ARIA combobox pattern
// (input role=combobox + listbox). Searches are debounced (250 ms) and a
// newer search aborts an older one. Keyboard: Down/Up move, Enter picks,
// Escape closes; the choice is this.value (the item) or null.
import { el, debounce } from './ui.js';
import { t, errText } from './i18n.js';

let seq = 0;

export class Combobox {
  // input: the text input; search(q, signal) -> items; label(item) -> text;
  // detail(item) -> second line or ''; onChange(item|null).
  constructor(input, { search, label, detail = () => '', onChange = () => {}, minChars = 2 }) {
    this.input = input;
    this.search = search;
    this.label = label;
    this.detail = detail;
    this.onChange = onChange;
    this.minChars = minChars;
    this.items = [];
    this.active = -1;
    this.value = null;
    this.ctrl = null;
    const id = input.id || `cb${++seq}`;
    this.list = el('ul', { id: `${id}-listbox`, role: 'listbox', class: 'listbox', hidden: true });
    this.list.setAttribute('aria-label', input.labels && input.labels[0] ? input.labels[0].textContent : id);
    this.status = el('p', { class: 'sr-only', id: `${id}-status`, role: 'status' });
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-expanded', 'false');
    input.setAttribute('aria-controls', this.list.id);
    input.setAttribute('autocomplete', 'off');
    const wrap = el('div', { class: 'combo' });
    input.replaceWith(wrap);
    wrap.append(input, this.list, this.status);
    this.run = debounce(() => this.query(), 250);
    input.addEventListener('input', () => {
      if (this.value) this.choose(null, false);
      this.run();
    });
    input.addEventListener('keydown', (e) => this.key(e));
    input.addEventListener('blur', () => setTimeout(() => this.close(), 120));
    document.addEventListener('langchange', () => {
      if (input.labels && input.labels[0]) this.list.setAttribute('aria-label', input.labels[0].textContent);
    });
  }

  async query() {
    const q = this.input.value.trim();
    if (this.ctrl) this.ctrl.abort();
    if ([...q.replace(/\s+/g, '')].length < this.minChars) {
      this.close();
      return;
    }
    this.ctrl = new AbortController();
    try {
      const items = await this.search(q, this.ctrl.signal);
      this.show(items);
    } catch (e) {
      if (e && e.name === 'AbortError') return;
      this.items = [];
      this.list.classList.add('listbox-empty');
      this.list.replaceChildren(el('li', { class: 'option-empty', role: 'option', 'aria-disabled': 'true', 'aria-selected': 'false', text: errText(e) }));
      this.open();
    }
  }

  show(items) {
    this.items = items;
    this.active = -1;
    this.input.removeAttribute('aria-activedescendant');
    const base = this.list.id;
    // "no matches" stays in the flow so the help link below stays in reach
    this.list.classList.toggle('listbox-empty', !items.length);
    if (!items.length) {
      this.list.replaceChildren(el('li', { class: 'option-empty', role: 'option', 'aria-disabled': 'true', 'aria-selected': 'false', text: t('search.none') }));
    } else {
      this.list.replaceChildren(...items.map((it, i) => {
        const d = this.detail(it);
        const li = el('li', { id: `${base}-${i}`, role: 'option', class: 'option', 'aria-selected': 'false' },
          el('span', { class: 'option-name', text: this.label(it) }),
          d ? el('span', { class: 'option-detail', text: d }) : null);
        li.addEventListener('mousedown', (e) => e.preventDefault());
        li.addEventListener('click', () => this.choose(it, true));
        return li;
      }));
    }
    this.status.textContent = items.length ? t('search.count', { n: items.length }) : t('search.none');
    this.open();
  }

  open() {
    this.list.hidden = false;
    this.input.setAttribute('aria-expanded', 'true');
  }

  close() {
    this.list.hidden = true;
    this.input.setAttribute('aria-expanded', 'false');
    this.input.removeAttribute('aria-activedescendant');
    this.active = -1;
  }

  move(delta) {
    if (!this.items.length) return;
    if (this.list.hidden) this.open();
    const n = this.items.length;
    this.active = this.active < 0 ? (delta > 0 ? 0 : n - 1) : (this.active + delta + n) % n;
    [...this.list.children].forEach((li, i) => li.setAttribute('aria-selected', i === this.active ? 'true' : 'false'));
    const li = this.list.children[this.active];
    this.input.setAttribute('aria-activedescendant', li.id);
    li.scrollIntoView({ block: 'nearest' });
  }

  key(e) {
    if (e.key === 'ArrowDown') { e.preventDefault(); if (this.list.hidden && !this.items.length) this.query(); else this.move(1); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); this.move(-1); }
    else if (e.key === 'Enter') {
      if (!this.list.hidden && this.active >= 0) { e.preventDefault(); this.choose(this.items[this.active], true); }
    } else if (e.key === 'Escape') {
      if (!this.list.hidden) { e.preventDefault(); this.close(); }
    }
  }

  // Sets the choice (item or null); with fill, puts its name in the input.
  choose(item, fill) {
    this.value = item;
    if (item && fill) this.input.value = this.label(item);
    if (item) {
      this.close();
      this.status.textContent = t('search.chosen', { name: this.label(item) });
    }
    this.onChange(item);
  }

  clear() {
    this.value = null;
    this.input.value = '';
    this.close();
  }
}
