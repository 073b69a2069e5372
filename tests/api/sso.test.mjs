// Single sign-on against a real OpenID provider (npm oidc-provider on
// loopback, tests/api/sso/provider.mjs), driven over HTTP like a browser:
// GET /auth/sso/parichay, the provider's login and consent, the callback,
// GET /api/v1/me. Both modes (discovery + id_token; explicit endpoints +
// user details with the e-mail under `loginId`, as Parichay sends it), and
// every refusal: each a redirect to /login?error=... and never a session.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { startServer, cli, sql as storeSql } from './lib/server.mjs';
import { startProvider, resign, makeKey, halfHash, CLIENT_SECRET } from './sso/provider.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A browser: one cookie jar per origin, redirects not followed.
class Browser {
  constructor() { this.jars = new Map(); }
  jar(origin) {
    if (!this.jars.has(origin)) this.jars.set(origin, new Map());
    return this.jars.get(origin);
  }
  async get(url, { extraCookies = {} } = {}) {
    const u = new URL(url);
    const jar = this.jar(u.origin);
    const all = { ...Object.fromEntries(jar), ...extraCookies };
    const cookie = Object.entries(all).map(([k, v]) => `${k}=${v}`).join('; ');
    const r = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    const setCookies = r.headers.getSetCookie();
    for (const c of setCookies) {
      const [kv, ...attrs] = c.split(';').map((s) => s.trim());
      const i = kv.indexOf('=');
      const name = kv.slice(0, i);
      const value = kv.slice(i + 1);
      const gone = value === '' || attrs.some((a) => /^max-age=0$/i.test(a)) ||
        attrs.some((a) => /^expires=/i.test(a) && Date.parse(a.slice(8)) < Date.now());
      if (gone) jar.delete(name); else jar.set(name, value);
    }
    const loc = r.headers.get('location');
    const text = await r.text();
    return { status: r.status, location: loc ? new URL(loc, url).href : null, headers: r.headers, setCookies, text };
  }
}

let prov, garbage, slow;
const S = {}; // the Pravesh servers
// A provider that is down: a port nothing listens on. Port 1 (tcpmux) is
// privileged and unused. A port taken from the system and let go again
// (as before) can be given to a server the suite starts later: one run got
// that server's 404 instead of a refused connection.
const downPort = 1;

function admin(srv, { username, email, mobile, role = 'mdo' }) {
  const r = cli(['admin', 'create', '--role', role, '--username', username, '--org', 'd-doj',
    '--first-name', 'Test', '--last-name', 'User', '--email', email, '--mobile', mobile],
  srv.env, 'a long enough password\n');
  assert.equal(r.status, 0, r.stderr);
}

function sql(srv, statement) {
  storeSql(srv, statement);
}

const oidcEnv = (issuer, extra = {}) => ({
  PRAVESH_SSO_MODE: 'oidc', PRAVESH_SSO_ISSUER: issuer, PRAVESH_SSO_CLIENT_ID: 'pravesh',
  PRAVESH_SSO_CLIENT_SECRET: CLIENT_SECRET, PRAVESH_LOG: 'debug', PRAVESH_SSO_PER_IP_HOUR: '100000', ...extra,
});
const oauth2Env = (issuer, extra = {}) => ({
  PRAVESH_SSO_MODE: 'oauth2', PRAVESH_SSO_CLIENT_ID: 'pravesh-post', PRAVESH_SSO_CLIENT_SECRET: CLIENT_SECRET,
  PRAVESH_SSO_TOKEN_AUTH: 'post', PRAVESH_SSO_SCOPE: 'openid user_details',
  PRAVESH_SSO_AUTHORIZE_URL: `${issuer}/auth`, PRAVESH_SSO_TOKEN_URL: `${issuer}/token`,
  PRAVESH_SSO_USERINFO_URL: `${issuer}/me`, PRAVESH_SSO_REVOKE_URL: `${issuer}/token/revocation`,
  PRAVESH_SSO_EMAIL_CLAIM: 'loginId', PRAVESH_LOG: 'debug', PRAVESH_SSO_PER_IP_HOUR: '100000', ...extra,
});

before(async () => {
  prov = await startProvider();
  garbage = http.createServer((q, r) => { r.setHeader('content-type', 'application/json'); r.end('{"issuer": [garbage'); });
  await new Promise((r) => garbage.listen(0, '127.0.0.1', r));
  const garbageUrl = `http://127.0.0.1:${garbage.address().port}`;
  // a token endpoint that takes 4 s to answer (garbage, in the end)
  slow = http.createServer((q, r) => { setTimeout(() => { r.setHeader('content-type', 'application/json'); r.end('{}'); }, 4000); });
  await new Promise((r) => slow.listen(0, '127.0.0.1', r));
  const slowUrl = `http://127.0.0.1:${slow.address().port}`;
  // The relying parties first: they contact the provider only at login,
  // and the provider must know their callback URLs.
  S.oidc = await startServer({ env: oidcEnv(prov.issuer) });
  S.oauth2 = await startServer({ env: oauth2Env(prov.issuer) });
  S.short = await startServer({ env: oidcEnv(prov.issuer, { PRAVESH_SSO_MAX_AGE: '1' }) });
  S.tokenDown = await startServer({ env: oauth2Env(prov.issuer, { PRAVESH_SSO_TOKEN_URL: `http://127.0.0.1:${downPort}/token` }) });
  S.discDown = await startServer({ env: oidcEnv(`http://127.0.0.1:${downPort}`) });
  S.discGarbage = await startServer({ env: oidcEnv(garbageUrl) });
  S.off = await startServer({});
  S.limited = await startServer({ env: oidcEnv(prov.issuer, { PRAVESH_SSO_PER_IP_HOUR: '2' }) });
  S.slow = await startServer({ env: oauth2Env(prov.issuer, { PRAVESH_SSO_TOKEN_URL: `${slowUrl}/token`, PRAVESH_SSO_CONCURRENCY: '2' }) });
  prov.configure(Object.values(S).map((s) => `${s.url}/auth/sso/parichay/callback`));
  admin(S.oidc, { username: 'ravi', email: 'ravi.kumar@doj.gov.in', mobile: '9876511001' });
  admin(S.oidc, { username: 'asha', email: 'asha.rao@gmail.com', mobile: '9876511002' });
  admin(S.oidc, { username: 'suresh', email: 'suresh@doj.gov.in', mobile: '9876511003' });
  sql(S.oidc, "UPDATE users SET status = 'inactive' WHERE email = 'suresh@doj.gov.in'");
  admin(S.oauth2, { username: 'meera', email: 'meera.iyer@nic.in', mobile: '9876511004' });
  admin(S.short, { username: 'ravi', email: 'ravi.kumar@doj.gov.in', mobile: '9876511001' });
  admin(S.tokenDown, { username: 'ravi', email: 'ravi.kumar@doj.gov.in', mobile: '9876511001' });
});

after(async () => {
  for (const s of Object.values(S)) await s.stop();
  await prov.close();
  await new Promise((r) => garbage.close(r));
  slow.closeAllConnections();
  await new Promise((r) => slow.close(r));
});

// Runs a login up to the provider's redirect back to the callback.
async function toCallback(srv, account, b = new Browser()) {
  prov.ctl.account = account;
  let r = await b.get(`${srv.url}/auth/sso/parichay`);
  assert.equal(r.status, 302, r.text);
  const authorize = r.location;
  assert.ok(authorize.startsWith(`${prov.issuer}/auth?`), authorize);
  let url = authorize;
  for (let i = 0; i < 12; i++) {
    r = await b.get(url);
    assert.ok([302, 303].includes(r.status), `provider answered ${r.status} at ${url}: ${r.text}`);
    if (r.location.startsWith(`${srv.url}/`)) return { b, authorize, callback: r.location };
    url = r.location;
  }
  throw new Error('the provider never redirected back');
}

async function me(srv, b) {
  const jar = b.jar(new URL(srv.url).origin);
  const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const r = await fetch(`${srv.url}/api/v1/me`, { headers: cookie ? { cookie } : {} });
  return { status: r.status, body: await r.json() };
}

// A refused callback: a redirect to the login page with this error, and no
// session anywhere.
async function assertRefused(srv, b, callback, error, opts) {
  const r = await b.get(callback, opts);
  assert.equal(r.status, 302, r.text);
  // the server's reason, if the error is not the one expected
  assert.equal(r.location, `${srv.url}/login?error=${error}`,
    srv.logs.filter((l) => /sso login refused/.test(l)).slice(-1)[0]);
  assert.ok(!r.setCookies.some((c) => /^pravesh_session=[^;]/.test(c)), r.setCookies.join('\n'));
  assert.equal((await me(srv, b)).status, 401);
  return r;
}


test('without PRAVESH_SSO_MODE: no button, and the SSO paths are 404 problems', async () => {
  let r = await fetch(`${S.off.url}/api/v1/sso`);
  assert.deepEqual(await r.json(), { enabled: false, name: 'Parichay' });
  for (const p of ['/auth/sso/parichay', '/auth/sso/parichay/callback?code=a&state=b']) {
    r = await fetch(S.off.url + p, { redirect: 'manual' });
    assert.equal(r.status, 404);
    assert.match(r.headers.get('content-type'), /application\/problem\+json/);
    assert.equal((await r.json()).code, 'not_found');
  }
});

test('GET /api/v1/sso tells the login page to show the button', async () => {
  const r = await fetch(`${S.oidc.url}/api/v1/sso`);
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { enabled: true, name: 'Parichay' });
});

test('OIDC with discovery: login, consent, callback, then /me; the e-mail matches whatever its case', async () => {
  const n = S.oidc.logs.length;
  const revocations = prov.ctl.counts['token/revocation'] || 0;
  const { b, authorize, callback } = await toCallback(S.oidc, 'Ravi.Kumar@DOJ.gov.in');
  const q = new URL(authorize).searchParams;
  assert.equal(q.get('response_type'), 'code');
  assert.equal(q.get('client_id'), 'pravesh');
  assert.equal(q.get('redirect_uri'), `${S.oidc.url}/auth/sso/parichay/callback`);
  assert.equal(q.get('code_challenge_method'), 'S256');
  assert.match(q.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
  assert.ok(q.get('state').length >= 43 && q.get('nonce').length >= 43);
  assert.ok(!authorize.includes(CLIENT_SECRET));
  const cb = new URL(callback);
  assert.deepEqual([...cb.searchParams.keys()].filter((k) => k !== 'iss').sort(), ['code', 'state']);
  const r = await b.get(callback);
  assert.equal(r.status, 302, r.text);
  assert.equal(r.location, `${S.oidc.url}/`);
  assert.ok(r.setCookies.some((c) => /^pravesh_session=[^;]+;.*HttpOnly/.test(c) && /SameSite=Lax/.test(c)));
  assert.ok(r.setCookies.some((c) => /^pravesh_csrf=[^;]+/.test(c)));
  assert.ok(r.setCookies.some((c) => /^pravesh_sso=;/.test(c)), 'the state cookie is cleared');
  const m = await me(S.oidc, b);
  assert.equal(m.status, 200);
  assert.equal(m.body.email, 'ravi.kumar@doj.gov.in');
  assert.equal(m.body.official_email, true);
  // the provider's tokens were revoked once the e-mail was read
  assert.ok((prov.ctl.counts['token/revocation'] || 0) > revocations);
  // the log says who logged in, and holds no code, state or secret
  const logs = await S.oidc.waitLog(/sso login/, n);
  for (const secret of [cb.searchParams.get('code'), cb.searchParams.get('state'), CLIENT_SECRET]) {
    assert.ok(!logs.includes(secret), 'a secret reached the log');
  }
});

test('OAuth2 with explicit endpoints and user details (Parichay: e-mail as loginId, client_secret_post)', async () => {
  const tokens = prov.ctl.counts.token || 0;
  const { b, authorize, callback } = await toCallback(S.oauth2, 'meera.iyer@nic.in');
  const q = new URL(authorize).searchParams;
  assert.equal(q.get('client_id'), 'pravesh-post');
  assert.equal(q.get('scope'), 'openid user_details');
  assert.equal(q.get('code_challenge_method'), 'S256');
  const r = await b.get(callback);
  assert.equal(r.status, 302, r.text);
  assert.equal(r.location, `${S.oauth2.url}/`);
  const m = await me(S.oauth2, b);
  assert.equal(m.status, 200);
  assert.equal(m.body.email, 'meera.iyer@nic.in');
  assert.equal(prov.ctl.counts.token, tokens + 1);
  // logout ends the local session
  const jar = b.jar(new URL(S.oauth2.url).origin);
  const lo = await fetch(`${S.oauth2.url}/api/v1/auth/logout`, {
    method: 'POST',
    headers: { cookie: `pravesh_session=${jar.get('pravesh_session')}; pravesh_csrf=${jar.get('pravesh_csrf')}`, 'x-csrf-token': jar.get('pravesh_csrf') },
  });
  assert.equal(lo.status, 204);
  assert.equal((await me(S.oauth2, b)).status, 401);
});

test('a wrong state, a state this browser did not start, and a replayed state are refused', async () => {
  // wrong state in the callback
  let { b, callback } = await toCallback(S.oidc, 'ravi.kumar@doj.gov.in');
  let u = new URL(callback);
  u.searchParams.set('state', 'A'.repeat(43));
  await assertRefused(S.oidc, b, u.href, 'sso_failed');
  // a real state and code, in another browser (login CSRF)
  ({ b, callback } = await toCallback(S.oidc, 'ravi.kumar@doj.gov.in'));
  await assertRefused(S.oidc, new Browser(), callback, 'sso_failed');
  // a good login, then the same callback again with its cookie
  ({ b, callback } = await toCallback(S.oidc, 'ravi.kumar@doj.gov.in'));
  const state = new URL(callback).searchParams.get('state');
  const n = S.oidc.logs.length;
  assert.equal((await b.get(callback)).location, `${S.oidc.url}/`);
  await assertRefused(S.oidc, new Browser(), callback, 'sso_failed', { extraCookies: { pravesh_sso: state } });
  await S.oidc.waitLog(/unknown or already used state/, n);
  // a state the server never issued, even with a matching cookie
  u = new URL(callback);
  u.searchParams.set('state', 'B'.repeat(43));
  await assertRefused(S.oidc, new Browser(), u.href, 'sso_failed', { extraCookies: { pravesh_sso: 'B'.repeat(43) } });
});

test('a replayed code is refused by the provider, and so by us', async () => {
  const first = await toCallback(S.oidc, 'ravi.kumar@doj.gov.in');
  assert.equal((await first.b.get(first.callback)).location, `${S.oidc.url}/`);
  const code = new URL(first.callback).searchParams.get('code');
  const second = await toCallback(S.oidc, 'ravi.kumar@doj.gov.in');
  const u = new URL(second.callback);
  u.searchParams.set('code', code);
  const n = S.oidc.logs.length;
  await assertRefused(S.oidc, second.b, u.href, 'sso_failed');
  await S.oidc.waitLog(/token endpoint refused the code \(HTTP 400, invalid_grant\)/, n);
});

test('an error from the provider spends the state and is refused', async () => {
  const { b, callback } = await toCallback(S.oidc, 'ravi.kumar@doj.gov.in');
  const state = new URL(callback).searchParams.get('state');
  await assertRefused(S.oidc, b, `${S.oidc.url}/auth/sso/parichay/callback?error=access_denied&state=${state}`, 'sso_failed');
  await assertRefused(S.oidc, new Browser(), callback, 'sso_failed', { extraCookies: { pravesh_sso: state } });
});

async function withTamper(fn, body) {
  prov.ctl.tamper = fn;
  try { await body(); } finally { prov.ctl.tamper = null; }
}

async function refusedWithIdToken(mutate, why) {
  await withTamper((t) => ({ ...t, id_token: mutate(t.id_token) }), async () => {
    const { b, callback } = await toCallback(S.oidc, 'ravi.kumar@doj.gov.in');
    const n = S.oidc.logs.length;
    await assertRefused(S.oidc, b, callback, 'sso_failed');
    await S.oidc.waitLog(why, n);
  });
}

test('a tampered id_token (bad signature) is refused', async () => {
  await refusedWithIdToken((t) => {
    const [h, p, s] = t.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url'));
    claims.email = 'someone.else@doj.gov.in';
    return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
  }, /did not verify/);
  await refusedWithIdToken((t) => `${t.slice(0, -6)}AAAAAA`, /did not verify/);
  // signed by a key of its own that the header carries: never used
  const own = makeKey('own');
  await refusedWithIdToken((t) => resign(t, (c) => c, { key: own.privateKey, kid: 'k1', header: { jwk: own.publicJwk } }),
    /carries keys/);
  await refusedWithIdToken((t) => t.split('.').slice(0, 2).join('.') + '.', /did not verify|not a JWS/);
});

test('an id_token with a wrong nonce, audience, issuer, expiry, issue time, subject or algorithm is refused', async () => {
  const key = prov.key.privateKey;
  await refusedWithIdToken((t) => resign(t, (c) => ({ ...c, nonce: 'not-the-nonce' }), { key }), /another nonce/);
  await refusedWithIdToken((t) => resign(t, (c) => ({ ...c, aud: 'another-client' }), { key }), /another client/);
  await refusedWithIdToken((t) => resign(t, (c) => ({ ...c, aud: ['another-client', 'pravesh'], azp: 'another-client' }), { key }), /another client/);
  await refusedWithIdToken((t) => resign(t, (c) => ({ ...c, iss: 'http://evil.example' }), { key }), /another issuer/);
  await refusedWithIdToken((t) => resign(t, (c) => ({ ...c, exp: Math.floor(Date.now() / 1000) - 5 }), { key }), /has expired/);
  await refusedWithIdToken((t) => resign(t, (c) => { const r = { ...c }; delete r.iat; return r; }, { key }), /no issue time/);
  await refusedWithIdToken((t) => resign(t, (c) => ({ ...c, sub: '' }), { key }), /no subject/);
  await refusedWithIdToken((t) => {
    const [, p] = t.split('.');
    return `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
  }, /refused algorithm/);
});

test('keys: an id_token signed with a new published key id is accepted (JWKS fetched again); an unpublished one is not', async () => {
  const k2 = makeKey('k2');
  const k3 = makeKey('k3');
  await sleep(2100); // unknown key ids refetch the JWKS at most every 2 s
  const jwksBefore = prov.ctl.counts.jwks || 0;
  prov.ctl.extraJwks = [k2.publicJwk];
  try {
    await withTamper((t) => ({ ...t, id_token: resign(t.id_token, (c) => c, { key: k2.privateKey, kid: 'k2' }) }), async () => {
      const { b, callback } = await toCallback(S.oidc, 'ravi.kumar@doj.gov.in');
      const r = await b.get(callback);
      assert.equal(r.location, `${S.oidc.url}/`);
      assert.equal((await me(S.oidc, b)).status, 200);
    });
    assert.equal(prov.ctl.counts.jwks, jwksBefore + 1);
    await refusedWithIdToken((t) => resign(t, (c) => c, { key: k3.privateKey, kid: 'k3' }), /no key of the provider fits/);
  } finally {
    prov.ctl.extraJwks = [];
  }
});

// Signs in with the id_token the provider answers changed by mutate(t, claims)
// (t: the token endpoint's answer) and re-signed; a session is expected.
async function acceptedWithIdToken(mutate, opts = { key: prov.key.privateKey }) {
  await withTamper((t) => ({ ...t, id_token: resign(t.id_token, (c) => mutate(t, c), opts) }), async () => {
    const { b, callback } = await toCallback(S.oidc, 'ravi.kumar@doj.gov.in');
    const r = await b.get(callback);
    assert.equal(r.location, `${S.oidc.url}/`);
    assert.equal((await me(S.oidc, b)).status, 200);
  });
}

test('a provider whose clock runs ahead: an iat up to 60 s in the future is accepted, further is not', async () => {
  const now = () => Math.floor(Date.now() / 1000);
  // iddawc's own check refused any iat ahead of time() (the kernel's
  // coarse clock): now and then a fresh token, and every one of these
  await acceptedWithIdToken((t, c) => ({ ...c, iat: now() + 1 }));
  await acceptedWithIdToken((t, c) => ({ ...c, iat: now() + 45, exp: now() + 600 }));
  await refusedWithIdToken((t) => resign(t, (c) => ({ ...c, iat: now() + 120, exp: now() + 600 }), { key: prov.key.privateKey }),
    /not yet valid \(iat\)/);
});

test('at_hash and c_hash: checked when present, with the digest of the signature (SHA-512 for RS512)', async () => {
  const key = prov.key.privateKey;
  await acceptedWithIdToken((t, c) => ({ ...c, at_hash: halfHash(t.access_token) }));
  await refusedWithIdToken((t) => resign(t, (c) => ({ ...c, at_hash: halfHash('another-token') }), { key }), /at_hash does not match/);
  await refusedWithIdToken((t) => resign(t, (c) => ({ ...c, c_hash: halfHash('another-code') }), { key }), /c_hash does not match/);
  // RS512 under a key published for it: the hash is SHA-512's left half
  // (iddawc 1.1.8 took SHA-384's and refused every such token)
  const k4 = makeKey('k4', 'RS512');
  await sleep(2100); // unknown key ids refetch the JWKS at most every 2 s
  prov.ctl.extraJwks = [k4.publicJwk];
  try {
    await acceptedWithIdToken((t, c) => ({ ...c, at_hash: halfHash(t.access_token, 512) }),
      { key: k4.privateKey, kid: 'k4', bits: 512 });
    // the right token under SHA-384 (what iddawc computed): refused
    await withTamper((t) => ({
      ...t,
      id_token: resign(t.id_token, (c) => ({ ...c, at_hash: halfHash(t.access_token, 384) }),
        { key: k4.privateKey, kid: 'k4', bits: 512 }),
    }), async () => {
      const { b, callback } = await toCallback(S.oidc, 'ravi.kumar@doj.gov.in');
      const n = S.oidc.logs.length;
      await assertRefused(S.oidc, b, callback, 'sso_failed');
      await S.oidc.waitLog(/at_hash does not match/, n);
    });
  } finally {
    prov.ctl.extraJwks = [];
  }
});

test('keys: a key id the provider publishes again with another type is picked up (JWKS fetched again when no key fits)', async () => {
  const { publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ec6 = { ...publicKey.export({ format: 'jwk' }), kid: 'k6', alg: 'ES256', use: 'sig' };
  const rsa6 = makeKey('k6');
  const signed6 = (t) => resign(t, (c) => c, { key: rsa6.privateKey, kid: 'k6' });
  try {
    // k6 is an EC key: an RS256 token naming k6 fits no key
    await sleep(2100); // unknown key ids refetch the JWKS at most every 2 s
    const jwksFirst = prov.ctl.counts.jwks || 0;
    prov.ctl.extraJwks = [ec6];
    await refusedWithIdToken(signed6, /no key of the provider fits/);
    assert.equal(prov.ctl.counts.jwks, jwksFirst + 1); // the EC k6 is cached
    // k6 is now the RSA key that signed it: the cached set still names k6,
    // but no key of it fits, so it is fetched again
    await sleep(2100);
    const jwksBefore = prov.ctl.counts.jwks || 0;
    prov.ctl.extraJwks = [rsa6.publicJwk];
    await acceptedWithIdToken((t, c) => c, { key: rsa6.privateKey, kid: 'k6' });
    assert.equal(prov.ctl.counts.jwks, jwksBefore + 1);
  } finally {
    prov.ctl.extraJwks = [];
  }
});

test('an e-mail the provider has not verified is refused', async () => {
  prov.ctl.emailVerified = false;
  try {
    const { b, callback } = await toCallback(S.oidc, 'ravi.kumar@doj.gov.in');
    const n = S.oidc.logs.length;
    await assertRefused(S.oidc, b, callback, 'sso_failed');
    await S.oidc.waitLog(/not verified/, n);
  } finally {
    prov.ctl.emailVerified = true;
  }
});

test('unknown users, users without an official e-mail and inactive users get no session', async () => {
  let { b, callback } = await toCallback(S.oidc, 'nobody@doj.gov.in');
  await assertRefused(S.oidc, b, callback, 'sso_not_registered');
  ({ b, callback } = await toCallback(S.oidc, 'asha.rao@gmail.com'));
  await assertRefused(S.oidc, b, callback, 'sso_not_registered');
  ({ b, callback } = await toCallback(S.oidc, 'SURESH@doj.gov.in'));
  await assertRefused(S.oidc, b, callback, 'sso_inactive');
  // an official e-mail never proven (a self-registration an MDO
  // administrator activated without the link) is not enough
  admin(S.oidc, { username: 'kiran', email: 'kiran.rao@doj.gov.in', mobile: '9876511005' });
  sql(S.oidc, "UPDATE users SET email_verified = 0 WHERE email = 'kiran.rao@doj.gov.in'");
  ({ b, callback } = await toCallback(S.oidc, 'kiran.rao@doj.gov.in'));
  await assertRefused(S.oidc, b, callback, 'sso_not_registered');
  sql(S.oidc, "UPDATE users SET email_verified = 1 WHERE email = 'kiran.rao@doj.gov.in'");
  ({ b, callback } = await toCallback(S.oidc, 'kiran.rao@doj.gov.in'));
  assert.equal((await b.get(callback)).location, `${S.oidc.url}/`);
  // Parichay mode too
  ({ b, callback } = await toCallback(S.oauth2, 'ravi.kumar@doj.gov.in'));
  await assertRefused(S.oauth2, b, callback, 'sso_not_registered');
});

test('an expired login attempt is refused (PRAVESH_SSO_MAX_AGE=1)', async () => {
  const { b, callback } = await toCallback(S.short, 'ravi.kumar@doj.gov.in');
  await sleep(1200);
  const n = S.short.logs.length;
  await assertRefused(S.short, b, callback, 'sso_failed');
  await S.short.waitLog(/expired/, n);
});

test('a provider that is down or answers garbage: a clean redirect, and the server lives on', async () => {
  // discovery unreachable, discovery garbage: refused at the start
  for (const [srv, why] of [[S.discDown, /could not be reached/], [S.discGarbage, /not a JSON object/]]) {
    const n = srv.logs.length;
    const r = await new Browser().get(`${srv.url}/auth/sso/parichay`);
    assert.equal(r.status, 302);
    assert.equal(r.location, `${srv.url}/login?error=sso_failed`);
    await srv.waitLog(why, n);
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
  }
  // token endpoint unreachable
  let { b, callback } = await toCallback(S.tokenDown, 'ravi.kumar@doj.gov.in');
  let n = S.tokenDown.logs.length;
  await assertRefused(S.tokenDown, b, callback, 'sso_failed');
  await S.tokenDown.waitLog(/could not be reached/, n);
  // token endpoint answering garbage
  prov.ctl.garbageToken = true;
  try {
    ({ b, callback } = await toCallback(S.oidc, 'ravi.kumar@doj.gov.in'));
    n = S.oidc.logs.length;
    await assertRefused(S.oidc, b, callback, 'sso_failed');
    await S.oidc.waitLog(/garbage/, n);
  } finally {
    prov.ctl.garbageToken = false;
  }
  // a token answer without an id_token, and one that is not an object
  await withTamper(({ id_token: _, ...rest }) => rest, async () => {
    ({ b, callback } = await toCallback(S.oidc, 'ravi.kumar@doj.gov.in'));
    await assertRefused(S.oidc, b, callback, 'sso_failed');
  });
  await withTamper(() => ['not', 'an', 'object'], async () => {
    ({ b, callback } = await toCallback(S.oidc, 'ravi.kumar@doj.gov.in'));
    await assertRefused(S.oidc, b, callback, 'sso_failed');
  });
  // still serving logins afterwards
  ({ b, callback } = await toCallback(S.oidc, 'ravi.kumar@doj.gov.in'));
  assert.equal((await b.get(callback)).location, `${S.oidc.url}/`);
});

test('a slow provider holds only its own calls: the HTTP threads keep answering', async () => {
  const runs = [];
  for (let i = 0; i < 3; i++) {
    const { b, callback } = await toCallback(S.slow, 'ravi.kumar@doj.gov.in');
    runs.push(b.get(callback));
  }
  let finished = false;
  const all = Promise.all(runs).then((x) => { finished = true; return x; });
  // while the callbacks wait on the provider, health and search answer:
  // before any callback could finish
  await sleep(300);
  const h = await fetch(`${S.slow.url}/healthz`);
  assert.equal(h.status, 200);
  const s = await fetch(`${S.slow.url}/api/v1/orgs?q=justice`);
  assert.equal(s.status, 200);
  assert.equal(finished, false, 'answered while the provider was still thinking');
  for (const r of await all) {
    assert.equal(r.status, 302);
    assert.equal(r.location, `${S.slow.url}/login?error=sso_failed`);
  }
});

test('single sign-on starts and callbacks are limited per client address', async () => {
  const b = new Browser();
  assert.equal((await b.get(`${S.limited.url}/auth/sso/parichay`)).status, 302);
  assert.equal((await b.get(`${S.limited.url}/auth/sso/parichay/callback?code=x&state=y`)).status, 302);
  const r = await b.get(`${S.limited.url}/auth/sso/parichay`);
  assert.equal(r.status, 429);
  assert.ok(Number(r.headers.get('retry-after')) > 0);
});

test('malformed callbacks are refused without a crash', async () => {
  const b = new Browser();
  for (const q of ['', '?code=x', '?state=', `?code=${'x'.repeat(5000)}&state=abc`, '?code=a%00b&state=a%0ab']) {
    const r = await b.get(`${S.oidc.url}/auth/sso/parichay/callback${q}`, { extraCookies: { pravesh_sso: 'abc' } });
    assert.equal(r.status, 302);
    assert.equal(r.location, `${S.oidc.url}/login?error=sso_failed`);
  }
});

test('pravesh serve --help lists the SSO settings', () => {
  const r = cli(['serve', '--help']);
  assert.equal(r.status, 0);
  for (const v of ['PRAVESH_SSO_MODE', 'PRAVESH_SSO_ISSUER', 'PRAVESH_SSO_CLIENT_ID', 'PRAVESH_SSO_CLIENT_SECRET',
    'PRAVESH_SSO_SCOPE', 'PRAVESH_SSO_AUTHORIZE_URL', 'PRAVESH_SSO_TOKEN_URL', 'PRAVESH_SSO_USERINFO_URL',
    'PRAVESH_SSO_REVOKE_URL', 'PRAVESH_SSO_EMAIL_CLAIM', 'PRAVESH_SSO_MAX_AGE', 'PRAVESH_SSO_NAME']) {
    assert.ok(r.stdout.includes(v), v);
  }
});

test('an incomplete SSO configuration stops the server at start-up with a reason', () => {
  const r = cli(['serve'], { PRAVESH_SSO_MODE: 'oauth2', PRAVESH_SSO_CLIENT_ID: 'x', PRAVESH_LISTEN: '127.0.0.1:0', PRAVESH_DATA_DIR: S.off.dir, PRAVESH_DB: `sqlite:${S.off.dir}/pravesh.db` });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /PRAVESH_SSO_AUTHORIZE_URL/);
});
