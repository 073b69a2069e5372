// Home: the logged-in user's own details, the way on to the learning
// platform and to their profile; otherwise the way to register or log in.
import { init, t, fmtDate } from './i18n.js';
import { me, get } from './api.js';
import { $, el } from './ui.js';
import { underText } from './directory.js';
import { sessionHeader } from './session.js';

await init();

let user = null;
try { user = await me(); } catch { user = null; }
$('#loading').hidden = true;

function render() {
  if (!user) return;
  $('#user-title').textContent = t('home.hello', { name: `${user.first_name} ${user.last_name}`.trim() });
  const row = (key, ...value) => [el('dt', { i18n: key }), el('dd', {}, ...value)];
  const org = user.org ? [user.org.name, user.org.under ? el('span', { class: 'hint', text: ' — ' + underText(user.org) }) : ''] : ['—'];
  $('#user-details').replaceChildren(
    ...row('f.name', `${user.first_name} ${user.last_name}`),
    ...row('f.position', user.position ? user.position.name : '—'),
    ...row('f.email', user.email || '—', user.official_email ? el('span', { class: 'hint', text: ' (' + t('home.official') + ')' }) : ''),
    ...row('f.mobile', user.mobile || '—'),
    ...row('f.organisation', ...org),
    ...row('col.status', t('status.' + user.status)),
    ...row('home.since', fmtDate(user.created_at)),
  );
  const links = [];
  const roles = user.roles || [];
  if (roles.some((r) => r.role === 'mdo_admin')) links.push(el('a', { class: 'button secondary', href: '/mdo', i18n: 'home.mdo' }));
  if (roles.some((r) => r.role === 'spv_admin')) links.push(el('a', { class: 'button secondary', href: '/spv', i18n: 'home.spv' }));
  $('#home-links').replaceChildren($('#profile-link'), ...links);
}

if (user) {
  sessionHeader(user);
  render();
  $('#user').hidden = false;
  document.addEventListener('langchange', render);
  // the learning platform, when the server names it
  get('/api/v1/site').then((s) => {
    if (s && s.learning_url && /^https?:\/\//.test(s.learning_url)) {
      $('#learning-link').href = s.learning_url;
      $('#learning').hidden = false;
    }
  }).catch(() => { /* no link */ });
} else {
  $('#anon').hidden = false;
}
