// The directory's answers stay byte for byte what they were: a generated
// directory of 20,000 organisations (names with quotes, backslashes,
// Devanagari, repeated words, four levels) and the positions are loaded,
// then each query's status, Content-Type and body are hashed and compared
// with tests/api/fixtures/search-identity.json, written by the rendering
// and search code as it was before they were made faster (positions' ids,
// new at every load, are masked).
// PRAVESH_WRITE_FIXTURES=1 writes the file again instead (only when a
// change of the answers is meant).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, cli, root } from './lib/server.mjs';

const fixture = path.join(root, 'tests/api/fixtures/search-identity.json');

// A deterministic directory (a small linear congruential generator).
function directoryCsv(n) {
  let seed = 12345;
  const rnd = (k) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % k; };
  const subjects = ['Agriculture', 'Health', 'Justice', 'Law', 'Railways', 'Posts', 'Coal', 'Textiles',
    'Rural Development', 'Water Resources', 'Science', 'Technology', 'Personnel', 'Training', 'Pensions',
    'Home Affairs', 'Tribal Affairs', 'Education', 'Power', 'Tourism', 'Sports', 'Youth Affairs'];
  const places = ['Agra', 'Pune', 'Kochi', 'Patna', 'Nagpur', 'Shimla', 'Agartala', 'Guwahati', 'Jaipur'];
  const kinds = ['Directorate of', 'Commission for', 'Board of', 'Institute of', 'Council of',
    'Regional Office of', 'National Centre for', 'Office of the Commissioner of'];
  const units = ['District Office', 'Field Unit', 'Training Centre', 'Zonal Office', 'Branch Office'];
  const odd = ['"Quoted" Cell', 'Back\\slash Unit', 'विधि एवं न्याय विभाग', 'Café Régional', 'A/B & C (Pvt.)',
    'Justice Justice', 'Law-and-Order Wing', 'राष्ट्रीय प्रशिक्षण केंद्र', 'Tab\u00a0Space Office'];
  const q = (s) => (/[",]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const rows = ['key,name,sector,type,parent_key'];
  const level = [[], [], []];
  for (let i = 0; rows.length <= n; i++) {
    const d = i < 30 ? 0 : i < 600 ? 1 : i < 4000 ? 2 : 3;
    const sector = rnd(3) ? 'center' : 'state';
    let name;
    if (d === 0) name = `Ministry of ${subjects[i % subjects.length]}${i >= subjects.length ? ' ' + i : ''}`;
    else if (d === 1) name = `Department of ${subjects[rnd(subjects.length)]} ${places[rnd(places.length)]}`;
    else if (d === 2) name = `${kinds[rnd(kinds.length)]} ${subjects[rnd(subjects.length)]}`;
    else name = `${units[rnd(units.length)]} ${places[rnd(places.length)]}`;
    if (rnd(40) === 0) name = odd[rnd(odd.length)] + (rnd(2) ? ` ${i}` : '');
    const key = `g${i}`;
    const parent = d === 0 ? '' : level[d - 1][rnd(level[d - 1].length)];
    if (d < 3) level[d].push(key);
    rows.push([key, q(name), sector, ['ministry', 'department', 'organisation', 'office'][d], parent].join(','));
  }
  return rows.join('\n') + '\n';
}

// [q, further parameters]
const url = (base, [q, rest = '']) => `${base}?q=${encodeURIComponent(q)}${rest}`;
const queries = [
  'justice', 'Justice', 'JUSTICE', 'just', 'ju', 'health', 'agri', 'depa of rail', 'ministry of fin', 'ministry',
  'directorate', 'district office agra', 'commission', 'rural', 'textiles', 'training centre', 'water res',
  'posts', 'institute science', 'welfare', 'pensions', 'co', 'regional office of coal', 'zonal', 'power',
  'field unit pune', 'sports', 'council', 'council of law', 'of', 'office of the', 'law and order',
  'law-and-order', 'quoted', '"quoted"', 'back', 'slash', 'विधि', 'न्याय विभाग', 'राष्ट्रीय', 'café', 'cafe',
  'régional', 'a/b', 'pvt', 'justice justice', 'tab space', 'g12', 'ministry of health 4', 'zz', 'xq',
  'department of law agra', 'board of power', 'national centre for youth', '12', '123 ', '  law  ',
  'j', '', 'a'.repeat(201), 'a b c d e f g h i j k l m n o p q r',
].map((q) => url('/api/v1/orgs', [q])).concat([
  ['law', '&sector=center'], ['law', '&sector=state'], ['office', '&sector=state&limit=100'],
  ['office', '&limit=1'], ['training', '&limit=7'], ['of', '&sector=center&limit=100'], ['x', '&limit=0'],
  ['law', '&limit=101'], ['law', '&sector=federal'], ['law', '&limit=abc'],
].map((q) => url('/api/v1/orgs', q)));
const positions = [['secretary'], ['sec'], ['joint'], ['director'], ['officer'], ['assistant section'], ['zz'],
  ['se', '&limit=3'], ['DIRECTOR'], ['s']].map((q) => url('/api/v1/positions', q));
const ids = ['g0', 'g1', 'g45', 'g700', 'g5000', 'g19999', 'nope', 'm-agri'].map((id) => `/api/v1/orgs/${id}`);

test('directory answers are byte-identical to the stored expectation', async () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'pravesh-ident-'));
  const srv = await startServer({ loadDefaults: false, dataDir: tmp });
  try {
    // the server opened its store: load the directory, then wait until the
    // directory's next version check (at most a second) sees it
    writeFileSync(path.join(tmp, 'orgs.csv'), directoryCsv(20000));
    for (const args of [['orgs', 'load', path.join(tmp, 'orgs.csv')], ['positions', 'load', 'data/positions.csv']]) {
      const r = cli(args, srv.env);
      assert.equal(r.status, 0, r.stderr);
    }
    for (let i = 0; ; i++) {
      const r = await fetch(srv.url + '/api/v1/orgs/g19999');
      await r.arrayBuffer();
      if (r.status === 200) break;
      assert.ok(i < 200, 'the directory was not reloaded');
      await new Promise((res) => setTimeout(res, 50));
    }
    const got = {};
    for (const p of [...queries, ...positions, ...ids]) {
      const r = await fetch(srv.url + p);
      let body = Buffer.from(await r.arrayBuffer());
      // positions get fresh ids at every load: everything else is compared
      if (p.startsWith('/api/v1/positions')) body = Buffer.from(body.toString().replace(/"id":"[^"]*"/g, '"id":"*"'));
      got[p] = `${r.status} ${r.headers.get('content-type')} ${body.length} ` +
        createHash('sha256').update(body).digest('hex');
    }
    if (process.env.PRAVESH_WRITE_FIXTURES === '1') {
      writeFileSync(fixture, JSON.stringify(got, null, 1) + '\n');
      return;
    }
    const want = JSON.parse(readFileSync(fixture, 'utf8'));
    assert.deepEqual(Object.keys(got), Object.keys(want));
    for (const p of Object.keys(want)) assert.equal(got[p], want[p], p);
  } finally {
    await srv.stop({ keep: true });
    rmSync(tmp, { recursive: true, force: true });
  }
});
