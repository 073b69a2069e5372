// directory: the organisation and position searches behind the type-ahead
// fields, and how an organisation's hierarchy is shown.
import { get } from './api.js';
import { t } from './i18n.js';
import { Combobox } from './combobox.js';

export function searchOrgs(q, signal, sector) {
  const p = new URLSearchParams({ q, limit: '20' });
  if (sector) p.set('sector', sector);
  return get(`/api/v1/orgs?${p}`, { signal }).then((r) => r.items || []);
}

export function searchPositions(q, signal) {
  return get(`/api/v1/positions?${new URLSearchParams({ q, limit: '20' })}`, { signal }).then((r) => r.items || []);
}

export const underText = (org) => (org && org.under ? t('org.under', { under: org.under }) : '');

// An organisation type-ahead; sector() gives the sector filter or ''.
export function orgCombobox(input, { sector = () => '', onChange } = {}) {
  return new Combobox(input, {
    search: (q, signal) => searchOrgs(q, signal, sector()),
    label: (o) => o.name,
    detail: underText,
    onChange,
  });
}

export function positionCombobox(input, { onChange } = {}) {
  return new Combobox(input, { search: searchPositions, label: (p) => p.name, onChange });
}
