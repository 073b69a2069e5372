// session: the header of a logged-in page says who is logged in, in which
// role, and offers to log out.
import { post } from './api.js';
import { $, el, busy } from './ui.js';

export function roleKey(user) {
  const roles = (user && user.roles) || [];
  if (roles.some((r) => r.role === 'spv_admin')) return 'role.spv_admin';
  if (roles.some((r) => r.role === 'mdo_admin')) return 'role.mdo_admin';
  return 'role.user';
}

export async function logout(button) {
  if (button) busy(button, true);
  try {
    await post('/api/v1/auth/logout');
  } catch { /* the session is gone either way */ }
  location.assign('/login');
}

// Fills the header's #session area for user (nothing when null).
export function sessionHeader(user) {
  const box = $('#session');
  if (!box || !user) return;
  const name = `${user.first_name} ${user.last_name}`.trim();
  const out = el('button', { type: 'button', class: 'link session-logout', id: 'session-logout', i18n: 'home.logout' });
  out.addEventListener('click', () => logout(out));
  box.replaceChildren(
    el('span', { class: 'session-who' },
      el('span', { class: 'sr-only', i18n: 'session.logged_in_as' }), ' ',
      el('a', { href: '/profile', class: 'session-name', id: 'session-name', text: name }), ' ',
      el('span', { class: 'session-role', i18n: roleKey(user) })),
    out);
  box.hidden = false;
}
