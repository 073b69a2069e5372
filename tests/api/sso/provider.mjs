// A real OpenID provider (npm oidc-provider) on loopback for the single
// sign-on tests, with programmatic login and consent instead of forms: the
// account that logs in is whatever `ctl.account` says when the browser
// reaches the login interaction. Claims: sub, email, email_verified and
// loginId (Parichay's name for the e-mail, under the scope user_details).
//
// The test controls it through `ctl`:
//   ctl.account            e-mail of the next login
//   ctl.emailVerified      email_verified claim (default true)
//   ctl.tamper             function(tokenResponseBody) -> body, applied to
//                          successful answers of the token endpoint
//   ctl.garbageToken       the token endpoint answers HTML instead of JSON
//   ctl.extraJwks          public keys added to the published JWKS
//   ctl.counts             requests seen per path (token, revocation, jwks...)
// and `resign(jwt, mutate, {key, kid, bits})` re-signs an id_token with
// changed claims (the provider's own key, so only the claims are wrong).
//
// Standalone: `node tests/api/sso/provider.mjs REDIRECT_URI...` prints the
// issuer URL and serves clients `pravesh` (client_secret_basic) and
// `pravesh-post` (client_secret_post), both with secret `pravesh-secret`.
import http from 'node:http';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Provider from 'oidc-provider';

export const CLIENT_SECRET = 'pravesh-secret';

export function makeKey(kid, alg = 'RS256') {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  const { d, p, q, dp, dq, qi, ...pub } = jwk; // eslint-disable-line no-unused-vars
  return { kid, privateKey, jwk: { ...jwk, kid, alg, use: 'sig' }, publicJwk: { ...pub, kid, alg, use: 'sig' } };
}

const b64d = (s) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
const b64e = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

// Re-signs a compact JWS after mutate(payload) (and header changes): RS256,
// or RS384 / RS512 with bits 384 / 512.
export function resign(jwt, mutate, { key, kid, header = {}, bits = 256 } = {}) {
  const [h, p] = jwt.split('.');
  const hdr = { ...b64d(h), ...header, alg: `RS${bits}` };
  if (kid) hdr.kid = kid;
  const payload = mutate(b64d(p));
  const data = `${b64e(hdr)}.${b64e(payload)}`;
  return `${data}.${crypto.sign(`sha${bits}`, Buffer.from(data), key).toString('base64url')}`;
}

// OpenID Connect's hash of an access token or a code for at_hash and
// c_hash: the left half of its SHA-2 digest of the signature's size.
export function halfHash(value, bits = 256) {
  const d = crypto.createHash(`sha${bits}`).update(value).digest();
  return d.subarray(0, d.length / 2).toString('base64url');
}

// Starts listening first (so the issuer URL is known and can be given to
// the relying parties), then configure(redirectUris) creates the provider.
// `issuer` (optional) is the URL the provider is known by when something
// stands in front of it (tests/api/lib/chaos.mjs); listenUrl is its own.
export async function startProvider({ issuer: front } = {}) {
  const ctl = {
    account: 'nobody@example.org', emailVerified: true, tamper: null, garbageToken: false,
    extraJwks: [], counts: {},
  };
  let handler = (req, res) => { res.statusCode = 503; res.end('not configured'); };
  const server = http.createServer((req, res) => handler(req, res));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const listenUrl = `http://127.0.0.1:${server.address().port}`;
  const issuer = front || listenUrl;
  const key = makeKey('k1');

  function configure(redirectUris) {
    const client = (id, method) => ({
      client_id: id, client_secret: CLIENT_SECRET, redirect_uris: redirectUris,
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
      token_endpoint_auth_method: method,
    });
    const provider = new Provider(issuer, {
      clients: [client('pravesh', 'client_secret_basic'), client('pravesh-post', 'client_secret_post')],
      jwks: { keys: [key.jwk] },
      cookies: { keys: ['pravesh-test-cookie-key'] },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], user_details: ['loginId'] },
      scopes: ['openid', 'email', 'user_details', 'offline_access'],
      features: { devInteractions: { enabled: false }, revocation: { enabled: true } },
      pkce: { required: () => true },
      interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
      findAccount: async (ctx, sub) => ({
        accountId: sub,
        claims: async () => ({ sub, email: sub, email_verified: ctl.emailVerified, loginId: sub }),
      }),
    });
    provider.use(async (ctx, next) => {
      const name = ctx.path.replace(/^\//, '') || 'root';
      ctl.counts[name] = (ctl.counts[name] || 0) + 1;
      if (ctx.path === '/token' && ctl.garbageToken) {
        ctx.status = 200;
        ctx.type = 'text/html';
        ctx.body = '<html><body>Service Unavailable</body></html>';
        return;
      }
      await next();
      if (ctx.path === '/token' && ctx.status === 200 && ctl.tamper) ctx.body = ctl.tamper({ ...ctx.body });
      if (ctx.path === '/jwks' && ctx.status === 200 && ctl.extraJwks.length) {
        ctx.body = { keys: [...ctx.body.keys, ...ctl.extraJwks] };
      }
    });
    const callback = provider.callback();
    handler = async (req, res) => {
      if (!req.url.startsWith('/interaction/')) return callback(req, res);
      try {
        const details = await provider.interactionDetails(req, res);
        const { prompt, params, session } = details;
        let result;
        if (prompt.name === 'login') {
          result = { login: { accountId: ctl.account } };
        } else {
          const grant = details.grantId ? await provider.Grant.find(details.grantId)
            : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
          const d = prompt.details;
          if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
          if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
          for (const [ind, scopes] of Object.entries(d.missingResourceScopes || {})) grant.addResourceScope(ind, scopes.join(' '));
          result = { consent: { grantId: await grant.save() } };
        }
        await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
      } catch (e) {
        res.statusCode = 500;
        res.end(String(e));
      }
    };
    return provider;
  }

  return {
    issuer, listenUrl, port: server.address().port, ctl, key, configure,
    close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const p = await startProvider();
  p.configure(process.argv.slice(2).length ? process.argv.slice(2) : ['http://127.0.0.1:8080/auth/sso/parichay/callback']);
  console.log(p.issuer);
}
