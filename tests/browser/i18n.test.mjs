// The words of the pages: English and Hindi have the same keys, every key a
// page or script names exists, and every problem code the server can send
// has words (err.<code>) in both languages. The codes are read from the C
// sources: every http_problem*() call, http_field_error() and ferr_add().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { root } from '../api/lib/server.mjs';

const dict = (l) => JSON.parse(readFileSync(path.join(root, `web/i18n/${l}.json`), 'utf8'));
const en = dict('en');
const hi = dict('hi');

function files(dir, ext) {
  const out = [];
  for (const f of readdirSync(dir)) {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) out.push(...files(p, ext));
    else if (p.endsWith(ext)) out.push(p);
  }
  return out;
}

// Every problem and field-error code written in the C sources.
export function serverCodes() {
  const codes = new Map();
  const patterns = [
    // the answer may be any expression: resp, &req->resp...
    /http_problem(?:_ext)?\s*\(\s*[^,()]+\s*,\s*\d+\s*,\s*"([a-z0-9_]+)"/g,
    /http_field_error\s*\(\s*(?:"[^"]*"|\w+)\s*,\s*"([a-z0-9_]+)"/g,
    /ferr_add\s*\(\s*[^,]+,\s*(?:"[^"]*"|\w+)\s*,\s*"([a-z0-9_]+)"/g,
    // a problem whose code is a field error's, else a default:
    // http_problem(resp, 409, fe.n ? fe.e[0].code : "conflict", ...)
    /http_problem(?:_ext)?\s*\(\s*[^,()]+\s*,\s*\d+\s*,\s*[^,"?]+\?\s*[^,:"]+:\s*"([a-z0-9_]+)"/g,
    // a ternary choosing between two codes
    /ferr_add\s*\(\s*[^,]+,\s*(?:"[^"]*"|\w+)\s*,\s*[^,?]+\?\s*"([a-z0-9_]+)"\s*:\s*"([a-z0-9_]+)"/g,
    // codes kept in tables: {"code", ...} rows of a problem table
    /PROBLEM\s*\(\s*\w+\s*,\s*\d+\s*,\s*"([a-z0-9_]+)"/g,
  ];
  for (const f of files(path.join(root, 'src'), '.c')) {
    const s = readFileSync(f, 'utf8');
    for (const re of patterns) {
      for (const m of s.matchAll(re)) for (const c of m.slice(1)) if (c) codes.set(c, path.relative(root, f));
    }
  }
  return codes;
}

test('English and Hindi have the same keys, and no empty text', () => {
  assert.deepEqual(Object.keys(hi).sort(), Object.keys(en).sort());
  for (const [k, v] of Object.entries(en)) assert.ok(v.trim() || k.endsWith('_unused'), `en ${k} empty`);
  for (const [k, v] of Object.entries(hi)) assert.ok(v.trim(), `hi ${k} empty`);
  for (const [k, v] of Object.entries(hi)) {
    const ph = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    assert.deepEqual(ph(v), ph(en[k]), `placeholders of ${k}`);
  }
});

test('every key the pages and scripts name exists', () => {
  const missing = [];
  for (const f of files(path.join(root, 'web'), '.html')) {
    const s = readFileSync(f, 'utf8');
    for (const m of s.matchAll(/data-i18n(?:-kind)?="([^"]+)"/g)) {
      for (const k of m[1].split('|')) if (!(k in en)) missing.push(`${path.basename(f)}: ${k}`);
    }
    for (const m of s.matchAll(/data-i18n-attr="([^"]+)"/g)) {
      for (const pair of m[1].split(';')) { const k = pair.split(':')[1]; if (k && !(k.trim() in en)) missing.push(`${path.basename(f)}: ${k}`); }
    }
  }
  for (const f of files(path.join(root, 'web/js'), '.js')) {
    const s = readFileSync(f, 'utf8');
    // t('key'), tn('key'), i18n: 'key', setText(x, 'key'), key: 'key'
    for (const m of s.matchAll(/(?:\bt|\btn|i18n:|setText\([^,]+,|\bkey:|\berrKey\()\s*\(?\s*'([a-z_]+\.[a-z_.]+)'(?!\s*\+)/g)) {
      const k = m[1];
      if (!(k in en) && !(`${k}.other` in en)) missing.push(`${path.basename(f)}: ${k}`);
    }
  }
  assert.deepEqual(missing, []);
});

test('every problem code the server can send has words in English and Hindi', () => {
  const codes = serverCodes();
  // the scan must find the codes (a change of style would make it find none)
  assert.ok(codes.size >= 60, `only ${codes.size} codes found`);
  for (const c of ['file_required', 'invalid_status', 'login_failed', 'validation_failed', 'not_found', 'overloaded', 'conflict', 'invalid_cursor', 'otp_locked', 'org_cycle', 'org_has_children', 'invalid_action', 'invalid_time',
    'unauthenticated', 'csrf_failed', 'mobile_taken', 'token_invalid', 'email_unchanged', 'files_removed']) assert.ok(codes.has(c), c);
  // words in each language: English text, and Hindi in Devanagari (not a copy of the English)
  const untranslated = [...codes].filter(([c]) => typeof en[`err.${c}`] !== 'string' || !en[`err.${c}`].trim() ||
    typeof hi[`err.${c}`] !== 'string' || !/[\u0900-\u097F]/.test(hi[`err.${c}`])).map(([c, f]) => `${c} (${f})`);
  assert.deepEqual(untranslated, []);
});

test('no key is written twice in a language file (JSON.parse would keep the last silently)', () => {
  for (const lang of ['en', 'hi']) {
    const text = readFileSync(path.join(root, `web/i18n/${lang}.json`), 'utf8');
    const keys = [...text.matchAll(/^\s*"([^"]+)":/gm)].map((m) => m[1]);
    const twice = keys.filter((k, i) => keys.indexOf(k) !== i);
    assert.deepEqual(twice, [], lang);
  }
});
