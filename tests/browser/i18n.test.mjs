// Every problem code the server can answer (http_problem, field errors)
// has words in both languages of the pages (err.<code> in web/i18n/en.json
// and hi.json), so that an error never reaches a Hindi page as the
// server's English sentence. A static check: no browser needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function sources(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.c')) out.push(p);
  }
  return out;
}

// code -> the first file that answers it
function problemCodes() {
  const codes = new Map();
  const patterns = [
    /http_problem\(\s*\w+,\s*\d+,\s*"([a-z_]+)"/g,
    /ferr_add\(\s*[\w>-]+,\s*"[a-z_]+",\s*"([a-z_]+)"/g,
    /http_field_error\(\s*"[a-z_]+",\s*"([a-z_]+)"/g,
  ];
  for (const f of sources(path.join(root, 'src'))) {
    const text = readFileSync(f, 'utf8');
    for (const re of patterns) for (const m of text.matchAll(re)) if (!codes.has(m[1])) codes.set(m[1], path.relative(root, f));
  }
  return codes;
}

test('every problem code has words in English and Hindi', () => {
  const codes = problemCodes();
  assert.ok(codes.size > 40, `only ${codes.size} codes found: the patterns no longer match the sources`);
  for (const code of ['unauthenticated', 'csrf_failed', 'mobile_taken', 'token_invalid', 'email_unchanged', 'files_removed']) {
    assert.ok(codes.has(code), `${code} not found in the sources`);
  }
  const en = JSON.parse(readFileSync(path.join(root, 'web/i18n/en.json'), 'utf8'));
  const hi = JSON.parse(readFileSync(path.join(root, 'web/i18n/hi.json'), 'utf8'));
  const missing = [];
  for (const [code, file] of codes) {
    const k = `err.${code}`;
    if (typeof en[k] !== 'string' || !en[k].trim()) missing.push(`${k} (en; ${file})`);
    if (typeof hi[k] !== 'string' || !/[\u0900-\u097F]/.test(hi[k])) missing.push(`${k} (hi; ${file})`);
  }
  assert.deepEqual(missing, []);
});
