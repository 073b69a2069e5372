// api: a small fetch wrapper for the Pravesh API. JSON in and out;
// problem+json answers become ApiError with the field errors by field;
// unsafe requests carry X-CSRF-Token from the pravesh_csrf cookie.

export class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.code = (problem && problem.code) || (status === 0 ? 'network_error' : 'http_' + status);
    this.problem = problem || {};
    this.retryAfter = retryAfter;
    // {field: {code, message}}: the first error of each field
    this.fields = {};
    for (const e of (problem && Array.isArray(problem.errors) ? problem.errors : [])) {
      if (e && e.field && !this.fields[e.field]) this.fields[e.field] = { code: e.code, message: e.message };
    }
  }
}

export function cookie(name) {
  for (const part of document.cookie.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return decodeURIComponent(part.slice(i + 1).trim());
  }
  return '';
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

// api(method, path, {json, form, signal}) -> parsed JSON body (or null when
// empty); throws ApiError for any non-2xx answer or a network failure.
export async function api(method, path, { json, form, signal } = {}) {
  const headers = { accept: 'application/json, application/problem+json' };
  let body;
  if (json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form; // FormData: the browser writes the multipart header
  }
  if (UNSAFE.has(method)) {
    const csrf = cookie('pravesh_csrf');
    if (csrf) headers['x-csrf-token'] = csrf;
  }
  let r;
  try {
    r = await fetch(path, { method, headers, body, signal, credentials: 'same-origin' });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, null);
  }
  const text = await r.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!r.ok) {
    const ra = Number(r.headers.get('retry-after'));
    throw new ApiError(r.status, data, Number.isFinite(ra) && ra > 0 ? ra : undefined);
  }
  return data;
}

export const get = (path, opts) => api('GET', path, opts);
export const post = (path, json, opts = {}) => api('POST', path, { ...opts, json });

// The logged-in user, or null when there is no session.
export async function me() {
  try {
    return await get('/api/v1/me');
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}
