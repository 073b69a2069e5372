// help: the SOP's "Need help? contact us here" on the pages that carry an
// element with data-help (PRAVESH_HELP_URL, else a mailto: link to
// PRAVESH_HELP_EMAIL; hidden when neither is set), and links to the privacy
// notice and the terms in every page's footer. Renders again when the
// language changes. Include it as its own module on any page.
import { get } from './api.js';
import { t } from './i18n.js';
import { el } from './ui.js';

let site = null;

function helpHref() {
  const h = site && site.help;
  if (h && h.url && /^https?:\/\//i.test(h.url)) return h.url;
  if (h && h.email && /^[^\s@<>"]+@[^\s@<>"]+$/.test(h.email)) return 'mailto:' + h.email;
  return null;
}

function render() {
  const href = helpHref();
  for (const box of document.querySelectorAll('[data-help]')) {
    box.replaceChildren();
    if (!href) { box.hidden = true; continue; }
    box.append(t('help.need'), ' ', el('a', { href, text: t('help.contact') }));
    box.hidden = false;
  }
  const footer = document.querySelector('footer.site');
  if (!footer) return;
  let links = footer.querySelector('.footer-links');
  if (!links) {
    links = el('p', { class: 'footer-links' });
    footer.append(links);
  }
  links.replaceChildren(el('a', { href: '/privacy', text: t('footer.privacy') }), ' · ',
    el('a', { href: '/terms', text: t('footer.terms') }));
}

document.addEventListener('langchange', render);
try { site = await get('/api/v1/site'); } catch { site = null; }
if (document.documentElement.classList.contains('ready')) render();
