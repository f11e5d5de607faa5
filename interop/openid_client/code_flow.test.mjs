// openid-client (a certified OpenID Connect relying party) against gatehouse: discovery, the
// authorization code flow with PKCE and RFC 9207 `iss` checking, strict ID token validation,
// refresh, userinfo.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as oidc from 'openid-client';
import { loginThroughPage, startGatehouse } from './gatehouse.mjs';

const CALLBACK = 'http://127.0.0.1:9999/callback';
let gh;
let spa;
let web;

before(async () => {
  gh = await startGatehouse();
  spa = await gh.mgmt('POST', '/clients', { name: 'SPA', app_type: 'spa', callbacks: [CALLBACK] });
  web = await gh.mgmt('POST', '/clients', {
    name: 'Web', app_type: 'regular_web', callbacks: [CALLBACK],
    grant_types: ['authorization_code', 'refresh_token'],
  });
  await gh.mgmt('POST', '/users', {
    connection: 'Username-Password-Authentication', email: 'oidc@example.com', password: 'Sup3r-secret!', name: 'Oidc User',
  });
});

after(() => gh.stop());

async function codeFlow(config) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: 'openid profile email offline_access',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const callback = await loginThroughPage(gh.base, url, 'oidc@example.com', 'Sup3r-secret!');
  return oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
}

test('public SPA client: code + PKCE, ID token, userinfo, rotating refresh', async () => {
  const config = await oidc.discovery(new URL(gh.issuer), spa.client_id, undefined, oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
  assert.equal(config.serverMetadata().issuer, gh.issuer);
  const tokens = await codeFlow(config);
  const claims = tokens.claims();
  assert.equal(claims.email, 'oidc@example.com');
  assert.equal(claims.aud, spa.client_id);
  assert.ok(claims.sid);
  const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.name, 'Oidc User');
  const renewed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
  assert.notEqual(renewed.refresh_token, tokens.refresh_token, 'SPAs rotate refresh tokens');
  assert.equal(renewed.claims().sub, claims.sub);
});

test('confidential web app with client_secret_basic', async () => {
  const config = await oidc.discovery(new URL(gh.issuer), web.client_id, web.client_secret, undefined, {
    execute: [oidc.allowInsecureRequests],
  });
  const tokens = await codeFlow(config);
  assert.equal(tokens.claims().aud, web.client_id);
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
});

test('RP-initiated logout with the ID token hint', async () => {
  await gh.mgmt('PATCH', `/clients/${web.client_id}`, { allowed_logout_urls: ['http://127.0.0.1:9999/bye'] });
  const config = await oidc.discovery(new URL(gh.issuer), web.client_id, web.client_secret, undefined, {
    execute: [oidc.allowInsecureRequests],
  });
  const tokens = await codeFlow(config);
  const url = oidc.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: 'http://127.0.0.1:9999/bye',
    state: 'after-logout',
  });
  assert.equal(url.origin + url.pathname, `${gh.base}/oidc/logout`);
  const r = await fetch(url, { redirect: 'manual' });
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), 'http://127.0.0.1:9999/bye?state=after-logout');
});
