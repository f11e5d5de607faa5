// openid-client validates gatehouse's implicit (`id_token`) and hybrid (`code id_token`)
// responses: the ID token's signature (JWKS), iss, aud, nonce, state, RFC 9207 `iss`, and for
// hybrid the `c_hash`, then the code exchange. openid-client does not check `at_hash`, so for the
// response types that also return an access token from /authorize this test checks it itself.
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { after, before, test } from 'node:test';
import * as oidc from 'openid-client';
import { startGatehouse } from './gatehouse.mjs';

const CALLBACK = 'http://127.0.0.1:9999/callback';
const EMAIL = 'hybrid@example.com';
const PASSWORD = 'Sup3r-secret!';
let gh;
let app; // implicit enabled
let codeOnly; // implicit not enabled

before(async () => {
  gh = await startGatehouse();
  app = await gh.mgmt('POST', '/clients', {
    name: 'Implicit and hybrid', app_type: 'regular_web', callbacks: [CALLBACK],
    grant_types: ['authorization_code', 'implicit', 'refresh_token'],
  });
  codeOnly = await gh.mgmt('POST', '/clients', { name: 'Code only', app_type: 'spa', callbacks: [CALLBACK] });
  await gh.mgmt('POST', '/users', {
    connection: 'Username-Password-Authentication', email: EMAIL, password: PASSWORD, name: 'Hybrid User',
  });
});

after(() => gh.stop());

const discover = (client, setup) =>
  oidc.discovery(new URL(gh.issuer), client.client_id, client.client_secret, undefined, {
    execute: [oidc.allowInsecureRequests, ...(setup ? [setup] : [])],
  });

const unescapeHtml = (s) =>
  s.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos);/gi, (_, e) =>
    e[0] === '#'
      ? String.fromCodePoint(e[1].toLowerCase() === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10))
      : { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[e.toLowerCase()],
  );

// Plays the browser through /authorize and the login page. Returns the callback URL of a
// redirect (query or fragment), or for form_post the Request the browser would POST to it.
async function authorize(url) {
  let r = await fetch(url, { redirect: 'manual' });
  if (r.status === 200 && (await r.clone().text()).includes('name="password"')) {
    const cookies = r.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const tx = /name="tx" value="([^"]+)"/.exec(await r.text())[1];
    r = await fetch(`${gh.base}/u/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: cookies, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ tx, username: EMAIL, password: PASSWORD }),
    });
  }
  if ([302, 303].includes(r.status)) return new URL(r.headers.get('location'));
  const html = await r.text();
  assert.equal(r.status, 200, html);
  const action = unescapeHtml(/<form method="post" action="([^"]+)"/.exec(html)[1]);
  const fields = [...html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map(([, k, v]) => [
    unescapeHtml(k),
    unescapeHtml(v),
  ]);
  return new Request(action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
  });
}

async function formParams(request) {
  return new URLSearchParams(await request.clone().text());
}

// OIDC Core s3.3.2.11: the left half of the SHA-256 of the ASCII value, base64url.
const halfHash = (value) => createHash('sha256').update(value).digest().subarray(0, 16).toString('base64url');

// Verifies an ID token's RS256 signature with gatehouse's JWKS and returns its claims.
async function verifiedClaims(jwt) {
  const [h, p, s] = jwt.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  assert.equal(header.alg, 'RS256');
  const { keys } = await (await fetch(`${gh.base}/.well-known/jwks.json`)).json();
  const jwk = keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `kid ${header.kid} in the JWKS`);
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  assert.ok(verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url')), 'signature');
  return JSON.parse(Buffer.from(p, 'base64url'));
}

function request(config, extra = {}) {
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, { redirect_uri: CALLBACK, scope: 'openid profile email', state, nonce, ...extra });
  return { url, state, nonce };
}

for (const mode of ['fragment', 'form_post']) {
  test(`implicit response_type=id_token (${mode}) through implicitAuthentication`, async () => {
    const config = await discover(app, oidc.useIdTokenResponseType);
    const { url, state, nonce } = request(config, { response_mode: mode });
    assert.equal(url.searchParams.get('response_type'), 'id_token');
    const response = await authorize(url);
    if (mode === 'fragment') {
      assert.ok(response instanceof URL && response.hash, `a fragment response: ${response}`);
      assert.equal(response.search, '');
    } else {
      assert.ok(response instanceof Request, 'a form_post response');
      assert.equal(response.url, CALLBACK);
    }
    const params = response instanceof URL ? new URLSearchParams(response.hash.slice(1)) : await formParams(response);
    assert.equal(params.get('access_token'), null, 'id_token alone carries no access token');
    assert.equal(params.get('code'), null);
    const claims = await oidc.implicitAuthentication(config, response, nonce, { expectedState: state });
    assert.equal(claims.iss, gh.issuer);
    assert.equal(claims.aud, app.client_id);
    assert.equal(claims.nonce, nonce);
    assert.equal(claims.email, EMAIL);
    assert.equal(claims.at_hash, undefined);
    assert.equal(claims.c_hash, undefined);
  });
}

test('implicit response_type="id_token token": ID token validated, at_hash matches the access token', async () => {
  const config = await discover(app, oidc.useIdTokenResponseType);
  const { url, state, nonce } = request(config, { response_type: 'id_token token' });
  const response = await authorize(url);
  const params = new URLSearchParams(response.hash.slice(1));
  const claims = await oidc.implicitAuthentication(config, response, nonce, { expectedState: state });
  const accessToken = params.get('access_token');
  assert.ok(accessToken);
  assert.equal(params.get('token_type')?.toLowerCase(), 'bearer');
  assert.equal(claims.at_hash, halfHash(accessToken));
  const info = await oidc.fetchUserInfo(config, accessToken, claims.sub);
  assert.equal(info.email, EMAIL);
});

for (const mode of ['fragment', 'form_post']) {
  test(`hybrid response_type="code id_token" (${mode}): c_hash, then authorizationCodeGrant`, async () => {
    const config = await discover(app, oidc.useCodeIdTokenResponseType);
    const verifier = oidc.randomPKCECodeVerifier();
    const { url, state, nonce } = request(config, {
      response_mode: mode,
      scope: 'openid profile email offline_access',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    assert.equal(url.searchParams.get('response_type'), 'code id_token');
    const response = await authorize(url);
    const params = response instanceof URL ? new URLSearchParams(response.hash.slice(1)) : await formParams(response);
    const front = await verifiedClaims(params.get('id_token'));
    assert.equal(front.c_hash, halfHash(params.get('code')));
    const tokens = await oidc.authorizationCodeGrant(config, response, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    assert.equal(claims.sub, front.sub);
    assert.equal(claims.email, EMAIL);
    assert.equal(claims.nonce, nonce);
    assert.ok(tokens.refresh_token, 'offline_access');
    if (claims.at_hash !== undefined) assert.equal(claims.at_hash, halfHash(tokens.access_token));
  });
}

test('hybrid response_type="code id_token token": c_hash by openid-client, at_hash, code exchange', async () => {
  const config = await discover(app, oidc.useCodeIdTokenResponseType);
  const verifier = oidc.randomPKCECodeVerifier();
  const { url, state, nonce } = request(config, {
    response_type: 'code id_token token',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const response = await authorize(url);
  const params = new URLSearchParams(response.hash.slice(1));
  const front = await verifiedClaims(params.get('id_token'));
  assert.equal(front.at_hash, halfHash(params.get('access_token')));
  assert.equal(front.c_hash, halfHash(params.get('code')));
  const tokens = await oidc.authorizationCodeGrant(config, response, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  assert.equal(tokens.claims().sub, front.sub);
  const info = await oidc.fetchUserInfo(config, params.get('access_token'), front.sub);
  assert.equal(info.email, EMAIL);
});

test('openid-client rejects a hybrid response whose code does not match c_hash', async () => {
  const config = await discover(app, oidc.useCodeIdTokenResponseType);
  const first = request(config);
  const second = request(config);
  const a = await authorize(first.url);
  const b = await authorize(second.url);
  // The ID token of the first response with the code of the second.
  const forged = new URLSearchParams(a.hash.slice(1));
  forged.set('code', new URLSearchParams(b.hash.slice(1)).get('code'));
  a.hash = forged.toString();
  await assert.rejects(
    oidc.authorizationCodeGrant(config, a, { expectedState: first.state, expectedNonce: first.nonce }),
    (e) => e.code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' && /c_hash/.test(e.cause?.message),
  );
});

test('implicit and hybrid are refused to a client without the implicit grant; a nonce is required', async () => {
  const config = await discover(codeOnly, oidc.useIdTokenResponseType);
  const { url, state, nonce } = request(config);
  const response = await authorize(url);
  await assert.rejects(oidc.implicitAuthentication(config, response, nonce, { expectedState: state }), (e) => {
    assert.equal(e.cause.get('error'), 'unauthorized_client');
    return true;
  });

  const hybrid = await discover(app, oidc.useCodeIdTokenResponseType);
  const noNonce = oidc.buildAuthorizationUrl(hybrid, { redirect_uri: CALLBACK, scope: 'openid', state: 's' });
  const refused = new URLSearchParams((await authorize(noNonce)).hash.slice(1));
  assert.equal(refused.get('error'), 'invalid_request');
  assert.equal(refused.get('state'), 's');
});
