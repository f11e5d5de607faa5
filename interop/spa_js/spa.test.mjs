// Auth0's SPA SDK (@auth0/auth0-spa-js, its own UMD build) in headless Chromium against
// gatehouse: redirect login through the real login page, silent authentication in a hidden
// iframe (response_mode=web_message), refresh tokens from the browser (CORS), logout, and a
// client whose Allowed Web Origins leave the application out.
//
// The application is served from http://localhost:APP_PORT and gatehouse's issuer is
// http://localhost:GH_PORT/: both are secure contexts (WebCrypto), and two localhost ports are
// the same site, so the SameSite=Lax session cookie reaches the silent-authentication iframe.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { startGatehouse } from '../openid_client/gatehouse.mjs';

const require = createRequire(import.meta.url);
const SDK = readFileSync(require.resolve('@auth0/auth0-spa-js/dist/auth0-spa-js.production.js'));
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>SPA</title>
<script src="/auth0-spa-js.js"></script></head><body><h1>SPA</h1></body></html>`;

const EMAIL = 'spa@example.com';
const PASSWORD = 'Sup3r-secret!';
const API = 'https://reports.example.com/api';

let gh, app, appOrigin, appUrl, ghOrigin, browser;
let spa; // iframe-based silent authentication
let rotating; // refresh tokens, rotating
let noWebOrigin; // the app's origin is a callback and a CORS origin, but no Allowed Web Origin

before(async () => {
  [gh, browser] = await Promise.all([
    startGatehouse({ host: 'localhost' }),
    chromium.launch({ executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium' }),
  ]);
  ghOrigin = gh.issuer.replace(/\/$/, '');
  app = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/auth0-spa-js.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(SDK);
    } else if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => app.listen(0, '127.0.0.1', r));
  appOrigin = `http://localhost:${app.address().port}`;
  appUrl = `${appOrigin}/`;

  const created = await gh.mgmt('POST', '/resource-servers', {
    identifier: API, name: 'Reports', scopes: [{ value: 'read:reports', description: 'Read reports' }],
  });
  assert.equal(created.identifier, API, JSON.stringify(created));
  const spaClient = (name, extra) =>
    gh.mgmt('POST', '/clients', {
      name, app_type: 'spa', callbacks: [appUrl], allowed_logout_urls: [appUrl],
      allowed_origins: [appOrigin], web_origins: [appOrigin],
      grant_types: ['authorization_code', 'refresh_token'], ...extra,
    });
  [spa, rotating, noWebOrigin] = await Promise.all([
    spaClient('SPA'),
    spaClient('SPA with refresh tokens', { refresh_token: { rotation_type: 'rotating', expiration_type: 'expiring' } }),
    spaClient('SPA without web origin', { web_origins: [] }),
  ]);
  for (const c of [spa, rotating, noWebOrigin]) assert.ok(c.client_id, JSON.stringify(c));
  const user = await gh.mgmt('POST', '/users', {
    connection: 'Username-Password-Authentication', email: EMAIL, password: PASSWORD, name: 'Spa User',
  });
  assert.ok(user.user_id, JSON.stringify(user));
});

after(async () => {
  await browser?.close();
  app?.close();
  gh?.stop();
});

// A browser context (own cookies and storage) with every request and response to gatehouse
// written down, so a failure shows what gatehouse sent.
async function openApp() {
  const context = await browser.newContext();
  const log = [];
  const bodies = [];
  context.on('request', (r) => {
    if (r.url().startsWith(ghOrigin)) log.push({ kind: 'request', method: r.method(), url: r.url(), body: r.postData() });
  });
  context.on('response', (r) => {
    if (!r.url().startsWith(ghOrigin)) return;
    const entry = { kind: 'response', method: r.request().method(), status: r.status(), url: r.url(), headers: r.headers() };
    log.push(entry);
    bodies.push(r.text().then((t) => (entry.body = t.slice(0, 4000)), () => {}));
  });
  // Every response body read so far.
  log.settled = () => Promise.all(bodies);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(appUrl);
  return { context, page, log };
}

const dump = (log) => JSON.stringify(log, null, 1);

// Makes `window.client` on the current page (the SDK's state lives in the page, so after every
// navigation the application makes its client again, as a real SPA does on load).
function makeClient(page, clientId, options = {}) {
  return page.evaluate(
    ([domain, clientId, redirectUri, options]) => {
      window.client = new window.auth0.Auth0Client({
        domain, clientId, authorizeTimeoutInSeconds: 5, ...options,
        authorizationParams: { redirect_uri: redirectUri, scope: 'openid profile email', ...options.authorizationParams },
      });
    },
    [ghOrigin, clientId, appUrl, options],
  );
}

// Runs `client.<method>(...args)` in the page; returns {ok, value} or {ok: false, error}.
function call(page, method, ...args) {
  return page.evaluate(
    async ([method, args]) => {
      try {
        return { ok: true, value: await window.client[method](...args) };
      } catch (e) {
        return { ok: false, error: e.error || e.name, description: e.error_description || e.message };
      }
    },
    [method, args],
  );
}

const jwtClaims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));

// loginWithRedirect -> gatehouse's login page -> back at the app -> handleRedirectCallback.
async function redirectLogin(page, log, clientId, options) {
  await makeClient(page, clientId, options);
  await Promise.all([
    page.waitForURL((u) => u.origin === ghOrigin && u.pathname === '/authorize'),
    page.evaluate(() => void window.client.loginWithRedirect()),
  ]);
  await page.fill('input[name=username]', EMAIL);
  await page.fill('input[name=password]', PASSWORD);
  await Promise.all([
    page.waitForURL((u) => u.origin === appOrigin && u.searchParams.has('code'), { waitUntil: 'load' }),
    page.click('button[type=submit], input[type=submit]'),
  ]);
  await makeClient(page, clientId, options);
  const result = await call(page, 'handleRedirectCallback');
  assert.ok(result.ok, `handleRedirectCallback: ${JSON.stringify(result)}\n${dump(log)}`);
}

let main; // the browser context of scenarios 1, 2 and 4

test('loginWithRedirect through the login page, then handleRedirectCallback', async () => {
  main = await openApp();
  const { page, log } = main;
  await redirectLogin(page, log, spa.client_id);
  assert.equal((await call(page, 'isAuthenticated')).value, true);
  const user = (await call(page, 'getUser')).value;
  assert.equal(user.email, EMAIL);
  assert.equal(user.name, 'Spa User');
  const claims = (await call(page, 'getIdTokenClaims')).value;
  assert.equal(claims.iss, gh.issuer);
  assert.equal(claims.aud, spa.client_id);
  assert.ok(claims.sid, 'sid claim');
  assert.ok(claims.nonce, 'nonce echoed');
  // The SDK exchanged the code from the app's origin (CORS) with PKCE.
  const exchange = log.find((e) => e.kind === 'request' && e.url === `${ghOrigin}/oauth/token`);
  assert.match(exchange.body, /grant_type=authorization_code/);
  assert.match(exchange.body, /code_verifier=/);
});

test('getTokenSilently through the hidden iframe (web_message), for an API', async () => {
  const { page, log } = main;
  const first = await call(page, 'getTokenSilently');
  assert.ok(first.ok, JSON.stringify(first));
  const mark = log.length;
  const silent = await call(page, 'getTokenSilently', {
    cacheMode: 'off',
    timeoutInSeconds: 5,
    authorizationParams: { audience: API, scope: 'openid profile email read:reports' },
  });
  assert.ok(silent.ok, `silent: ${JSON.stringify(silent)}\n${dump(log.slice(mark))}`);
  assert.notEqual(silent.value, first.value, 'a new access token');
  const authorize = log.slice(mark).find((e) => e.kind === 'request' && e.url.startsWith(`${ghOrigin}/authorize?`));
  const q = new URL(authorize.url).searchParams;
  assert.equal(q.get('response_mode'), 'web_message');
  assert.equal(q.get('prompt'), 'none');
  await log.settled();
  const page200 = log.slice(mark).find((e) => e.kind === 'response' && e.url === authorize.url);
  assert.equal(page200.status, 200);
  assert.equal(page200.headers['content-security-policy'], `frame-ancestors ${appOrigin}`);
  assert.equal(page200.headers['x-frame-options'], undefined);
  assert.match(page200.body, /authorization_response/);
  const at = jwtClaims(silent.value);
  assert.equal(at.iss, gh.issuer);
  assert.ok([at.aud].flat().includes(API), `aud ${JSON.stringify(at.aud)}`);
  assert.ok(at.scope.split(' ').includes('read:reports'), `scope ${at.scope}`);
});

test('useRefreshTokens: getTokenSilently uses the refresh token grant (CORS), rotating', async () => {
  const ctx = await openApp();
  try {
    const { page, log } = ctx;
    const options = { useRefreshTokens: true, authorizationParams: { scope: 'openid profile email offline_access' } };
    await redirectLogin(page, log, rotating.client_id, options);
    await log.settled();
    const tokenAnswers = () =>
      log.filter((e) => e.kind === 'response' && e.method === 'POST' && e.url === `${ghOrigin}/oauth/token`);
    let refreshToken = JSON.parse(tokenAnswers().at(-1).body).refresh_token;
    assert.ok(refreshToken, 'a refresh token from the code exchange');
    const first = refreshToken;
    for (let i = 0; i < 2; i++) {
      const mark = log.length;
      const r = await call(page, 'getTokenSilently', { cacheMode: 'off', timeoutInSeconds: 5 });
      await log.settled();
      const seen = log.slice(mark);
      assert.ok(r.ok, `refresh ${i}: ${JSON.stringify(r)}\n${dump(seen)}`);
      assert.ok(!seen.some((e) => e.url.includes('/authorize')), 'no iframe');
      const grant = seen.find((e) => e.kind === 'request' && e.method === 'POST' && e.url === `${ghOrigin}/oauth/token`);
      const sent = new URLSearchParams(grant?.body ?? '');
      assert.equal(sent.get('grant_type'), 'refresh_token', dump(seen));
      assert.equal(sent.get('refresh_token'), refreshToken, 'the SDK sends the latest (rotated) refresh token');
      const answer = seen.find((e) => e.kind === 'response' && e.method === 'POST' && e.url === `${ghOrigin}/oauth/token`);
      assert.equal(answer.status, 200, dump(seen));
      assert.equal(answer.headers['access-control-allow-origin'], appOrigin);
      const body = JSON.parse(answer.body);
      assert.equal(r.value, body.access_token);
      assert.ok(body.refresh_token && body.refresh_token !== refreshToken, 'rotated');
      refreshToken = body.refresh_token;
      assert.equal(jwtClaims(body.id_token).email, EMAIL);
    }
    // The first refresh token was rotated away: presenting it again is refused.
    const reuse = await fetch(`${gh.base}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: rotating.client_id, refresh_token: first }),
    });
    assert.equal((await reuse.json()).error, 'invalid_grant');
  } finally {
    await ctx.context.close();
  }
});

test('silent authentication for a client whose Allowed Web Origins lack the app gets no token', async () => {
  const { page, log } = main;
  await makeClient(page, noWebOrigin.client_id);
  const mark = log.length;
  const started = Date.now();
  const r = await call(page, 'getTokenSilently', { cacheMode: 'off', timeoutInSeconds: 5 });
  assert.equal(r.ok, false, 'no token');
  assert.equal(r.error, 'timeout', JSON.stringify(r));
  assert.ok(Date.now() - started < 15_000);
  await log.settled();
  const answer = log.slice(mark).find((e) => e.kind === 'response' && e.url.startsWith(`${ghOrigin}/authorize?`));
  // gatehouse refuses with an error page that may not be framed; the SDK hears nothing.
  assert.equal(answer.status, 400);
  assert.equal(answer.headers['x-frame-options'], 'DENY');
  // The session is alive: the app's registered client still gets a token silently.
  await makeClient(page, spa.client_id);
  const control = await call(page, 'getTokenSilently', { cacheMode: 'off', timeoutInSeconds: 5 });
  assert.ok(control.ok, JSON.stringify(control));
});

test('logout back to the app, then silent authentication says login_required', async () => {
  const { page, log, context } = main;
  try {
    await makeClient(page, spa.client_id);
    await Promise.all([
      page.waitForEvent('load'), // /v2/logout answers a redirect, so the next document is returnTo's
      page.evaluate((appUrl) => void window.client.logout({ logoutParams: { returnTo: appUrl } }), appUrl),
    ]);
    assert.equal(page.url(), appUrl, dump(log.filter((e) => e.url.includes('/logout'))));
    const logout = log.find((e) => e.kind === 'request' && e.url.startsWith(`${ghOrigin}/v2/logout?`));
    assert.equal(new URL(logout.url).searchParams.get('returnTo'), appUrl);
    await makeClient(page, spa.client_id);
    assert.equal((await call(page, 'isAuthenticated')).value, false);
    const mark = log.length;
    const r = await call(page, 'getTokenSilently', { cacheMode: 'off', timeoutInSeconds: 5 });
    assert.equal(r.ok, false);
    assert.equal(r.error, 'login_required', `${JSON.stringify(r)}\n${dump(log.slice(mark))}`);
  } finally {
    await context.close();
  }
});
