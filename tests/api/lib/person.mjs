// A person's whole way in, for the tests of their own data: a verified
// number, a registration, the activation link from the SMTP sink, and a
// login by OTP. Every helper takes the test's context {url, sms, smtp}.
import assert from 'node:assert/strict';
import { req } from './server.mjs';
import { nextMessage, codeOf, messages } from './sms.mjs';

export const post = (ctx, p, json, opts = {}) => req(ctx.url, 'POST', p, { json, ...opts });
export const get = (ctx, p, opts = {}) => req(ctx.url, 'GET', p, opts);

// A code sent for purpose to mobile (with the session of `bearer` when the
// purpose needs one), verified; returns the verification token.
export async function verified(ctx, mobile, purpose = 'register', bearer) {
  const { message } = await nextMessage(ctx.sms, mobile, () => post(ctx, '/api/v1/otp', { mobile, purpose }, { bearer }));
  assert.equal(message.template, 'otp_sms', JSON.stringify(message));
  const r = await post(ctx, '/api/v1/otp/verify', { mobile, purpose, code: codeOf(message) }, { bearer });
  assert.equal(r.status, 200, r.text);
  return r.body.verification_token;
}

export async function directoryIds(ctx) {
  const pos = await get(ctx, '/api/v1/positions?q=director');
  const pos2 = await get(ctx, '/api/v1/positions?q=deputy');
  return { position_id: pos.body.items[0].id, other_position_id: pos2.body.items[0].id, org_id: 'd-doj' };
}

// The next one-time code sent to mobile after send() (other messages to
// the number, such as a bulk upload's welcome, are passed over).
export async function nextCode(ctx, mobile, send) {
  const before = messages(ctx.sms, mobile).length;
  await send();
  for (let i = 0; i < 1500; i++) {
    const m = messages(ctx.sms, mobile).slice(before).filter((x) => x.template === 'otp_sms');
    if (m.length) return codeOf(m[m.length - 1]);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no code sent to ${mobile}`);
}

export async function loginOtp(ctx, mobile) {
  const code = await nextCode(ctx, mobile, () => post(ctx, '/api/v1/otp', { mobile, purpose: 'login' }));
  return post(ctx, '/api/v1/auth/otp', { mobile, code });
}

// Registers, activates and logs in a person: {id, token, csrf, cookie, user}.
export async function person(ctx, { first, last, email, mobile }) {
  const ids = await directoryIds(ctx);
  const token = await verified(ctx, mobile);
  const r = await post(ctx, '/api/v1/registrations', {
    first_name: first, last_name: last, email, mobile, position_id: ids.position_id, org_id: ids.org_id,
    verification_token: token, declaration: true, terms: true,
  });
  assert.equal(r.status, 201, r.text);
  const mail = await ctx.smtp.waitFor(email, (m) => /activate\?token=/.test(m.body));
  const link = mail.body.match(/activate\?token=([A-Za-z0-9_-]+)/);
  assert.equal((await post(ctx, '/api/v1/activation', { token: link[1] })).status, 200);
  const login = await loginOtp(ctx, mobile);
  assert.equal(login.status, 200, login.text);
  const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  return { id: r.body.user_id, token: login.body.token, csrf: login.body.csrf_token, cookie, user: login.body.user };
}
