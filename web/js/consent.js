// consent: the versions of the terms and the privacy notice in the chosen
// language, as the page shows them, for the registration to record
// (refreshed on a change of language; refresh() again after a
// text_outdated answer).
import { get } from './api.js';
import { currentLang } from './i18n.js';

let versions = {};

export async function refresh() {
  const lang = encodeURIComponent(currentLang());
  try {
    const [terms, privacy] = await Promise.all([get(`/api/v1/legal/terms?lang=${lang}`),
      get(`/api/v1/legal/privacy?lang=${lang}`)]);
    versions = { terms_version: terms.version, privacy_version: privacy.version };
  } catch {
    versions = {}; /* the server records its current texts */
  }
  return versions;
}

export const textVersions = () => ({ ...versions });

document.addEventListener('langchange', refresh);
