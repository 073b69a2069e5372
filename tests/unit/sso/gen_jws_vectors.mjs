// Writes tests/unit/sso/jws_vectors.h: the key sets and id_tokens that
// tests/unit/sso/test_sso_parse.c checks sso__signed_claims with, signed by
// node's crypto (not by the code under test) with keys made on each run:
//   node tests/unit/sso/gen_jws_vectors.mjs > tests/unit/sso/jws_vectors.h
// The fuzz seeds tests/fuzz/corpus/sso/token_t_* hold copies of some
// tokens (selector bytes 05 00, then the token): write them again after a
// new run, or the seeds stop reaching the signature check.
import crypto from 'node:crypto';
import zlib from 'node:zlib';
const b64e = (o) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pub = (k) => k.publicKey.export({ format: 'jwk' });
const k1 = { ...pub(rsa), kid: 'k1', alg: 'RS256', use: 'sig' };
const e1 = { ...pub(ec), kid: 'e1', alg: 'ES256', use: 'sig' };
const ISS = 'https://op.example/realm';
// the payload's base64url length is not a multiple of 4, so that its last
// character has spare bits (T_PAYLOAD_BITS)
let P = { iss: ISS, aud: 'pravesh', nonce: 'n1', sub: 's', exp: 1700000600, iat: 1700000000 };
while (b64e(P).length % 4 === 0) P = { ...P, x: `${P.x || ''}x` };
const sign = (hdr, payloadStr, key, algo = 'sha256', opts = {}) => {
  const data = `${b64e(hdr)}.${b64e(payloadStr)}`;
  return `${data}.${crypto.sign(algo, Buffer.from(data), { key, ...opts }).toString('base64url')}`;
};
const ps = JSON.stringify(P);
const out = {};
out.JWKS1 = JSON.stringify({ keys: [k1] });
out.JWKS2 = JSON.stringify({ keys: [k1, e1] });
out.JWKS_ENC = JSON.stringify({ keys: [{ ...k1, use: 'enc' }] });
out.JWKS_512 = JSON.stringify({ keys: [{ ...k1, alg: 'RS512' }] });
out.T_OK = sign({ alg: 'RS256', kid: 'k1' }, ps, rsa.privateKey);
out.T_NOKID = sign({ alg: 'RS256' }, ps, rsa.privateKey);
{
  // the signed payload spelled otherwise: padded, or its last character's
  // spare bits set (rhonabwy decodes both to the signed bytes)
  const [h, p, sg] = out.T_OK.split('.');
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  out.T_PAYLOAD_PAD = `${h}.${p}${'='.repeat((4 - (p.length % 4)) % 4)}.${sg}`;
  out.T_PAYLOAD_BITS = `${h}.${p.slice(0, -1)}${A[A.indexOf(p.slice(-1)) ^ 1]}.${sg}`;
}
// keys of two types under one id (RFC 7517 4.5)
out.JWKS_SAMEKID = JSON.stringify({ keys: [{ ...k1, kid: 'a' }, { ...e1, kid: 'a' }] });
out.T_ES_A = sign({ alg: 'ES256', kid: 'a' }, ps, ec.privateKey, 'sha256', { dsaEncoding: 'ieee-p1363' });
out.T_ENC = sign({ alg: 'RS256', kid: 'k1', enc: 'A128GCM' }, ps, rsa.privateKey);
// the same without alg on the keys (as some providers publish them): only
// the type tells them apart, in either order
{
  const { alg: a1, ...k1n } = k1; // eslint-disable-line no-unused-vars
  const { alg: a2, ...e1n } = e1; // eslint-disable-line no-unused-vars
  out.JWKS_SAMEKID_NOALG = JSON.stringify({ keys: [{ ...k1n, kid: 'a' }, { ...e1n, kid: 'a' }] });
  out.JWKS_SAMEKID_NOALG_REV = JSON.stringify({ keys: [{ ...e1n, kid: 'a' }, { ...k1n, kid: 'a' }] });
  // PS256 and EdDSA (Ed25519) under keys that name no alg
  const ed = crypto.generateKeyPairSync('ed25519');
  const ed448 = crypto.generateKeyPairSync('ed448');
  out.JWKS_MORE = JSON.stringify({ keys: [{ ...k1n, kid: 'p1', use: 'sig' }, { ...pub(ed), kid: 'd1' }, { ...pub(ed448), kid: 'd2' }] });
  out.T_PS = sign({ alg: 'PS256', kid: 'p1' }, ps, rsa.privateKey, 'sha256', { padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  out.T_ED = sign({ alg: 'EdDSA', kid: 'd1' }, ps, ed.privateKey, null);
  out.T_ED448 = sign({ alg: 'EdDSA', kid: 'd2' }, ps, ed448.privateKey, null);
}
out.T_RS_A = sign({ alg: 'RS256', kid: 'a' }, ps, rsa.privateKey);
// a kid that is not a string names no key (not "no kid")
out.T_KID_NUM = sign({ alg: 'RS256', kid: 1 }, ps, rsa.privateKey);
out.T_KID_NULL = sign({ alg: 'RS256', kid: null }, ps, rsa.privateKey);
{ const [h, , s] = out.T_OK.split('.'); out.T_ALTERED = `${h}.${b64e({ ...P, sub: 'someone-else' })}.${s}`; }
out.T_E1_HDR_RSA_SIG = sign({ alg: 'RS256', kid: 'e1' }, ps, rsa.privateKey);
out.T_ES = sign({ alg: 'ES256', kid: 'e1' }, ps, ec.privateKey, 'sha256', { dsaEncoding: 'ieee-p1363' });
out.T_DUP = sign({ alg: 'RS256', kid: 'k1' }, ps.replace('"sub":"s"', '"sub":"s","sub":"t"'), rsa.privateKey);
out.T_ARRAY = sign({ alg: 'RS256', kid: 'k1' }, '[1,2]', rsa.privateKey);
out.T_JKU = sign({ alg: 'RS256', kid: 'k1', jku: 'http://127.0.0.1:9/keys' }, ps, rsa.privateKey);
// a payload truly deflated, so that rhonabwy could read it: our refusal
// of zip is what names the reason
{
  const hdr = b64e({ alg: 'RS256', kid: 'k1', zip: 'DEF' });
  const data = `${hdr}.${zlib.deflateRawSync(Buffer.from(ps)).toString('base64url')}`;
  out.T_ZIP = `${data}.${crypto.sign('sha256', Buffer.from(data), rsa.privateKey).toString('base64url')}`;
}
out.T_HS = `${b64e({ alg: 'HS256', kid: 'k1' })}.${b64e(ps)}.${crypto.createHmac('sha256', rsa.publicKey.export({ type: 'spki', format: 'pem' })).update(`${b64e({ alg: 'HS256', kid: 'k1' })}.${b64e(ps)}`).digest('base64url')}`;
out.T_JWE = `${b64e({ alg: 'RSA-OAEP', enc: 'A128GCM', kid: 'k1' })}.AAAA.AAAA.AAAA.AAAA`;
const lit = (s) => s.match(/.{1,70}/g).map((x) => `\t"${x.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join('\n');
console.log("/* Generated by tests/unit/sso/gen_jws_vectors.mjs (node's crypto): key\n * sets and id_tokens for test_sso_parse.c. Public keys only. */");
for (const [k, v] of Object.entries(out)) console.log(`#define ${k} \\\n${lit(v).split('\n').join(' \\\n')}\n`);
