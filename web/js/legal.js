// legal: the terms of service and the privacy notice, as the operator's
// template files say them (GET /api/v1/legal/{doc}), in the chosen
// language. The text is a small subset of Markdown, turned into elements
// here (never HTML): "# " and "## " headings, "- " list items, paragraphs
// between blank lines, <https://...> and <mailto:...> links.
import { init, t, currentLang } from './i18n.js';
import { get } from './api.js';
import { $, el } from './ui.js';

// Text with <https://...> and <mailto:...> links, as nodes.
function inline(s) {
  const out = [];
  const re = /<((?:https?:\/\/|mailto:)[^<>\s]+)>/g;
  let last = 0;
  let m;
  while ((m = re.exec(s))) {
    if (m.index > last) out.push(s.slice(last, m.index));
    const href = m[1];
    out.push(el('a', { href, text: href.startsWith('mailto:') ? href.slice(7) : href }));
    last = re.lastIndex;
  }
  if (last < s.length) out.push(s.slice(last));
  return out;
}

export function renderText(text) {
  const nodes = [];
  let para = null;
  let list = null;
  const end = () => { para = null; list = null; };
  for (const raw of text.replace(/\r\n?/g, '\n').split('\n')) {
    const line = raw.trimEnd();
    if (!line.trim()) { end(); continue; }
    const h = line.match(/^(#{1,2}) (.*)$/);
    if (h) {
      end();
      nodes.push(el(h[1].length === 1 ? 'h2' : 'h3', {}, ...inline(h[2])));
    } else if (line.startsWith('- ')) {
      para = null;
      if (!list) { list = el('ul', { class: 'legal-list' }); nodes.push(list); }
      list.append(el('li', {}, ...inline(line.slice(2))));
    } else {
      list = null;
      if (!para) { para = el('p'); nodes.push(para); } else para.append(' ');
      para.append(...inline(line.trim()));
    }
  }
  return nodes;
}

export async function showLegal(doc) {
  await init();
  const box = $('#legal-text');
  const version = $('#legal-version');
  let seq = 0;
  const load = async () => {
    const mine = ++seq;
    box.setAttribute('aria-busy', 'true');
    try {
      const r = await get(`/api/v1/legal/${doc}?lang=${encodeURIComponent(currentLang())}`);
      if (mine !== seq) return;
      box.replaceChildren(...renderText(r.text));
      box.lang = r.lang;
      version.textContent = t('legal.version', { version: r.version });
    } catch {
      if (mine !== seq) return;
      box.replaceChildren(el('p', { class: 'form-alert error', text: t('legal.failed') }));
      version.textContent = '';
    } finally {
      if (mine === seq) box.removeAttribute('aria-busy');
    }
  };
  document.addEventListener('langchange', load);
  await load();
}
