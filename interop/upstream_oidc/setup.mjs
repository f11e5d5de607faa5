// One world per test file: a real gatehouse (../openid_client/gatehouse.mjs spawns the binary
// in GATEHOUSE_BIN), the upstream oidc-provider, an application client at gatehouse, and the
// `oidc` connections `up` (back channel) and `up-front` (front channel) that use the provider.
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { startGatehouse } from '../openid_client/gatehouse.mjs';
import { startProvider } from './provider.mjs';

export const BACK = 'up';
export const FRONT = 'up-front';

export async function startWorld({ callback }) {
  const gh = await startGatehouse();
  const redirectUri = `${gh.issuer}login/callback`;
  let op;
  try {
    op = await startProvider({ redirectUri });
    const app = await gh.mgmt('POST', '/clients', {
      name: 'Upstream interop app', app_type: 'regular_web', callbacks: [callback],
      grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_post',
    });
    assert.ok(app.client_id && app.client_secret, JSON.stringify(app));
    const back = await gh.mgmt('POST', '/connections', {
      name: BACK, strategy: 'oidc', enabled_clients: [app.client_id],
      options: {
        type: 'back_channel', discovery_url: op.discoveryUrl,
        client_id: op.clients.back.client_id, client_secret: op.clients.back.client_secret,
        scopes: 'openid profile email',
      },
    });
    assert.equal(back.name, BACK, JSON.stringify(back));
    const front = await gh.mgmt('POST', '/connections', {
      name: FRONT, strategy: 'oidc', enabled_clients: [app.client_id],
      options: {
        type: 'front_channel', discovery_url: op.discoveryUrl,
        client_id: op.clients.front.client_id, scopes: 'openid profile email',
      },
    });
    assert.equal(front.name, FRONT, JSON.stringify(front));
    // The application: openid-client, configured by gatehouse's discovery document.
    const config = await oidc.discovery(
      new URL(gh.issuer), app.client_id, app.client_secret, oidc.ClientSecretPost(app.client_secret),
      { execute: [oidc.allowInsecureRequests] },
    );
    assert.equal(config.serverMetadata().issuer, gh.issuer);
    const stop = async () => {
      await op.stop();
      gh.stop();
    };
    return { gh, op, app, config, callback, stop };
  } catch (e) {
    await op?.stop();
    gh.stop();
    throw e;
  }
}

// The application's authorization request through `connection`: code flow with PKCE, state
// and nonce. Returns the URL and what redeeming the answer needs.
export async function appAuthorization(world, connection) {
  const verifier = oidc.randomPKCECodeVerifier();
  const checks = { pkceCodeVerifier: verifier, expectedState: oidc.randomState(), expectedNonce: oidc.randomNonce() };
  const url = oidc.buildAuthorizationUrl(world.config, {
    redirect_uri: world.callback,
    scope: 'openid profile email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state: checks.expectedState,
    nonce: checks.expectedNonce,
    connection,
  });
  return { url, checks };
}

// Redeems the code in `callbackUrl` with openid-client (state, PKCE, ID token and nonce checked).
export const redeem = (world, callbackUrl, checks) =>
  oidc.authorizationCodeGrant(world.config, callbackUrl, { ...checks, idTokenExpected: true });

// All of gatehouse's users (the Management API's list, every page).
export async function allUsers(gh) {
  const users = [];
  for (let page = 0; ; page++) {
    const r = await gh.mgmt('GET', `/users?per_page=50&page=${page}`);
    assert.ok(Array.isArray(r), JSON.stringify(r));
    users.push(...r);
    if (r.length < 50) return users;
  }
}
