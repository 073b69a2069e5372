// help: the SOP's "Need help? contact us here" on the pages that carry an
// element with data-help (PRAVESH_HELP_URL, else a mailto: link to
// PRAVESH_HELP_EMAIL; hidden when neither is set). Renders again when the
// language changes. Include it as its own module on any page. (The links
// to the privacy notice and the terms are in every page's footer:
// web/partials/footer.html.)
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
}

document.addEventListener('langchange', render);
try { site = await get('/api/v1/site'); } catch { site = null; }
if (document.documentElement.classList.contains('ready')) render();
