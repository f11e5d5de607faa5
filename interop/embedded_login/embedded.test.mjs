// Auth0's embedded login libraries against gatehouse in headless Chromium: auth0.js 10.2.1
// (webAuth.login) and Lock 14.3.0 (its classic and passwordless widgets, with the auth0.js
// 9.32.0 it bundles), on pages of the application's own origin. The credentials go to
// /co/authenticate (credentialed CORS), the login ticket comes back through /authorize, and
// the tokens are read by the libraries themselves (parseHash, Lock's `authenticated`).
// Codes and links arrive at real receivers (SMTP, an SMS gateway).
//
// Origins: gatehouse's issuer is http://localhost:GH/; the application is http://localhost:APP
// (the same site: gatehouse's binding cookie from /co/authenticate, SameSite=Lax on http, is
// kept), an unlisted origin is http://localhost:OTHER, and a second application is on another
// site, http://127.0.0.1:APP. There the browser drops the binding cookie (a SameSite=Lax cookie
// from a cross-site request; on https it is SameSite=None and dropped where third-party cookies
// are blocked), so gatehouse falls back to the verification page: the application's
// cross_origin_loc, framed on gatehouse's origin. That frame must read what the application
// stored, which this Chromium allows only with third-party cookies and storage allowed in the
// profile; so the successful fallback runs in a Chromium with such a profile, and a default
// context (third-party storage blocked) shows that an empty verifier is refused.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { startGatehouse } from '../openid_client/gatehouse.mjs';
import { startSmsGateway, startSmtp } from '../spa_account_linking/receivers.mjs';
import { buildScripts, startApp } from './app.mjs';

const DB = 'Username-Password-Authentication';
const EMAIL = 'lee@example.com';
const PASSWORD = 'Embedded-login-Pass-42!';
const CODE_EMAIL = 'lee.codes@example.com';
const LINK_EMAIL = 'lee.links@example.com';
const PHONE_LOCAL = '4155550143'; // typed into Lock; gatehouse's country is US, so +1
const PHONE = '+14155550143';
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
// Nothing but loopback resolves: a request Lock makes to a CDN fails at once (and is logged).
const LAUNCH_ARGS = ['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1'];

let gh, ghOrigin, smtp, sms, app, browser, scripts;
let appOrigin, otherOrigin, crossSiteOrigin;
let spa, crossSite, user;

async function mgmt(method, path, body) {
  const answer = await gh.mgmt(method, path, body);
  assert.ok(!answer?.statusCode || answer.statusCode < 300, `${method} ${path}: ${JSON.stringify(answer)}`);
  return answer;
}

before(async () => {
  [gh, smtp, sms, browser, scripts] = await Promise.all([
    startGatehouse({ host: 'localhost' }),
    startSmtp(),
    startSmsGateway(),
    chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS }),
    buildScripts(),
  ]);
  ghOrigin = gh.issuer.replace(/\/$/, '');

  const configs = new Map();
  app = await startApp(scripts, (origin) => configs.get(origin), 2);
  const [appPort, otherPort] = app.ports;
  appOrigin = `http://localhost:${appPort}`;
  otherOrigin = `http://localhost:${otherPort}`;
  crossSiteOrigin = `http://127.0.0.1:${appPort}`;

  await mgmt('POST', '/emails/provider', {
    name: 'smtp',
    default_from_address: 'login@example.com',
    credentials: { smtp_host: '127.0.0.1', smtp_port: smtp.port, smtp_user: '', smtp_pass: '' },
  });
  const pages = (origin, names) => names.map((n) => `${origin}/${n}.html`);
  spa = await mgmt('POST', '/clients', {
    name: 'Embedded login',
    app_type: 'spa',
    // The unlisted origin's page is an Allowed Callback URL: only web_origins leave it out.
    callbacks: [...pages(appOrigin, ['webauth', 'lock', 'email-code', 'email-link', 'sms']), `${otherOrigin}/webauth.html`],
    web_origins: [appOrigin],
    allowed_logout_urls: [`${appOrigin}/`],
    cross_origin_authentication: true,
    grant_types: ['implicit', 'authorization_code'],
  });
  crossSite = await mgmt('POST', '/clients', {
    name: 'Embedded login (another site)',
    app_type: 'spa',
    callbacks: [`${crossSiteOrigin}/webauth.html`],
    web_origins: [crossSiteOrigin],
    allowed_logout_urls: [`${crossSiteOrigin}/`],
    cross_origin_authentication: true,
    cross_origin_loc: `${crossSiteOrigin}/verify.html`,
    grant_types: ['implicit', 'authorization_code'],
  });
  assert.equal(crossSite.cross_origin_loc, `${crossSiteOrigin}/verify.html`, JSON.stringify(crossSite));
  const base = { domain: ghOrigin, issuer: gh.issuer };
  configs.set(appOrigin, { ...base, clientID: spa.client_id });
  configs.set(otherOrigin, { ...base, clientID: spa.client_id });
  // On http, auth0.js's cookies get no SameSite attribute, so they count as Lax and a frame on
  // another site never sees them (on https they are SameSite=None). In localStorage, the
  // verifier reaches the verification page in a browser that lets frames use their storage.
  configs.set(crossSiteOrigin, { ...base, clientID: crossSite.client_id, tryLocalStorageFirst: true });

  // Both applications on the database connection (new clients may already be).
  const [db] = await mgmt('GET', `/connections?name=${DB}`);
  const missing = [spa.client_id, crossSite.client_id].filter((id) => !db.enabled_clients.includes(id));
  if (missing.length) await mgmt('PATCH', `/connections/${db.id}`, { enabled_clients: [...db.enabled_clients, ...missing] });

  await mgmt('POST', '/connections', {
    name: 'email',
    strategy: 'email',
    enabled_clients: [spa.client_id],
    options: {
      email: { body: "{% if send == 'code' %}Code: {{ code }}{% else %}Open {{ link }}{% endif %}" },
    },
  });
  await mgmt('POST', '/connections', {
    name: 'sms',
    strategy: 'sms',
    enabled_clients: [spa.client_id],
    options: { provider: 'sms_gateway', gateway_url: sms.url, template: 'Code @@password@@' },
  });
  user = await mgmt('POST', '/users', { connection: DB, email: EMAIL, password: PASSWORD, email_verified: true });
});

after(async () => {
  await browser?.close();
  app?.close();
  smtp?.close();
  sms?.close();
  gh?.stop();
});

// A fresh browser context (own cookies; by default one of `browser`, an incognito-like one)
// whose requests are logged. (No page.route here: with routing on, Playwright answers every
// CORS preflight itself, and gatehouse's own preflight answers must be what the browser sees.)
async function session(ctx) {
  ctx ??= await browser.newContext();
  ctx.setDefaultTimeout(15_000);
  const log = [];
  const local = (u) => ['localhost', '127.0.0.1'].includes(new URL(u).hostname);
  ctx.on('request', (r) => {
    if (local(r.url())) log.push({ kind: 'request', method: r.method(), url: r.url(), body: r.postData() });
    else if (!r.url().startsWith('data:')) log.push({ kind: 'external', url: r.url() });
  });
  ctx.on('response', (r) => {
    if (local(r.url())) log.push({ kind: 'response', method: r.request().method(), status: r.status(), url: r.url() });
  });
  ctx.on('requestfailed', (r) => log.push({ kind: 'failed', method: r.method(), url: r.url(), error: r.failure()?.errorText }));
  ctx.on('console', (m) => {
    if (m.type() === 'error') log.push({ kind: 'console', text: m.text() });
  });
  const page = await ctx.newPage();
  const dump = () => JSON.stringify(log.filter((e) => !/\/(embedded|page)\.js$/.test(e.url ?? '')).slice(-40), null, 1);
  return { ctx, page, log, dump };
}

// Waits for the page's first event of a type in `types` (window.events, page.js).
async function event(s, types, timeout = 15_000) {
  try {
    const handle = await s.page.waitForFunction(
      (types) => window.events?.find((e) => types.includes(e.type)),
      types,
      { timeout },
    );
    return await handle.jsonValue();
  } catch (e) {
    const events = await s.page.evaluate(() => window.events).catch(() => 'page gone');
    throw new Error(`waiting for ${types}: ${e.message}\nat ${s.page.url()}\nevents: ${JSON.stringify(events)}\n${s.dump()}`);
  }
}

const requested = (s, method, prefix) => s.log.filter((e) => e.kind === 'request' && e.method === method && e.url.startsWith(prefix));
const answered = (s, method, prefix) => s.log.filter((e) => e.kind === 'response' && e.method === method && e.url.startsWith(prefix));

// The id token's claims as the library decoded them, checked against gatehouse's issuer.
function assertIdToken(authResult, client, dump) {
  assert.ok(authResult?.accessToken, `an access token\n${dump}`);
  assert.ok(authResult.idToken, `an id token\n${dump}`);
  const claims = authResult.idTokenPayload;
  assert.equal(claims.iss, gh.issuer);
  assert.equal(claims.aud, client.client_id);
  const [header] = authResult.idToken.split('.');
  assert.equal(JSON.parse(Buffer.from(header, 'base64url')).alg, 'RS256');
  return claims;
}

// The Lock form, once Lock has drawn it (after the client file, the dictionary and the SSO check).
async function lockForm(s, field) {
  try {
    await s.page.locator(`.auth0-lock input[name="${field}"]`).waitFor({ state: 'visible' });
  } catch (e) {
    const events = await s.page.evaluate(() => window.events);
    throw new Error(`Lock's ${field} field: ${e.message}\nevents: ${JSON.stringify(events)}\n${s.dump()}`);
  }
}

const submit = (s) => s.page.locator('.auth0-lock-submit').click();

test('auth0.js 10: webAuth.login with a realm, back with tokens for the user (parseHash)', async () => {
  const s = await session();
  try {
    await s.page.goto(`${appOrigin}/webauth.html`);
    await event(s, ['ready']);
    await Promise.all([
      s.page.waitForURL((u) => u.pathname === '/webauth.html' && u.hash.length > 1),
      s.page.evaluate(
        ({ realm, username, password }) =>
          window.webAuth.login({ realm, username, password }, (err) => window.record('login_error', err)),
        { realm: DB, username: EMAIL, password: PASSWORD },
      ),
    ]);
    const { type, data } = await event(s, ['parsed', 'parse_error']);
    assert.equal(type, 'parsed', `${JSON.stringify(data)}\n${s.dump()}`);
    const claims = assertIdToken(data, spa, s.dump());
    assert.equal(claims.email, EMAIL);
    assert.equal(claims.sub, user.user_id);

    // The credentials went to /co/authenticate; the ticket came back through /authorize.
    const [co] = answered(s, 'POST', `${ghOrigin}/co/authenticate`);
    assert.equal(co?.status, 200, s.dump());
    const [authorize] = requested(s, 'GET', `${ghOrigin}/authorize?`);
    const params = new URL(authorize.url).searchParams;
    assert.ok(params.get('login_ticket'), s.dump());
    assert.equal(params.get('realm'), DB);
    // The binding cookie travelled: no verification page.
    assert.deepEqual(requested(s, 'POST', `${ghOrigin}/co/verify`), []);
  } finally {
    await s.ctx.close();
  }
});

test('Lock: the database login typed into the widget ends in `authenticated`', async () => {
  const s = await session();
  try {
    await s.page.goto(`${appOrigin}/lock.html`);
    await lockForm(s, 'email');
    await s.page.locator('.auth0-lock input[name="email"]').fill(EMAIL);
    await s.page.locator('.auth0-lock input[name="password"]').fill(PASSWORD);
    await Promise.all([s.page.waitForURL((u) => u.hash.includes('access_token')), submit(s)]);
    const { type, data } = await event(s, ['authenticated', 'authorization_error', 'unrecoverable_error']);
    assert.equal(type, 'authenticated', `${JSON.stringify(data)}\n${s.dump()}`);
    const claims = assertIdToken(data, spa, s.dump());
    assert.equal(claims.email, EMAIL);
    assert.equal(claims.sub, user.user_id);
    const [authorize] = requested(s, 'GET', `${ghOrigin}/authorize?`).filter((e) => e.url.includes('login_ticket='));
    assert.equal(new URL(authorize.url).searchParams.get('connection'), DB, s.dump());
    // Lock's silent SSO check (a web_message iframe) was answered before the form showed.
    const [sso] = answered(s, 'GET', `${ghOrigin}/authorize?`).filter((e) => e.url.includes('prompt=none'));
    assert.equal(sso?.status, 200, s.dump());
    // Lock loaded everything from the two origins configured.
    assert.deepEqual(s.log.filter((e) => e.kind === 'external'), []);
  } finally {
    await s.ctx.close();
  }
});

test('Lock: a wrong password shows "Wrong email or password."', async () => {
  const s = await session();
  try {
    await s.page.goto(`${appOrigin}/lock.html`);
    await lockForm(s, 'email');
    await s.page.locator('.auth0-lock input[name="email"]').fill(EMAIL);
    await s.page.locator('.auth0-lock input[name="password"]').fill('not-the-password-1A!');
    await submit(s);
    const message = s.page.locator('.auth0-global-message-error');
    await message.waitFor({ state: 'visible' });
    assert.match(await message.innerText(), /wrong email or password/i);
    const { data } = await event(s, ['authorization_error']);
    assert.equal(data.error, 'invalid_user_password');
    const [co] = answered(s, 'POST', `${ghOrigin}/co/authenticate`);
    assert.equal(co?.status, 403, s.dump());
    assert.equal(requested(s, 'GET', `${ghOrigin}/authorize?`).filter((e) => e.url.includes('login_ticket=')).length, 0);
  } finally {
    await s.ctx.close();
  }
});

test('Lock passwordless: an email code, read from the SMTP receiver', async () => {
  const s = await session();
  try {
    await s.page.goto(`${appOrigin}/email-code.html`);
    await lockForm(s, 'email');
    await s.page.locator('.auth0-lock input[name="email"]').fill(CODE_EMAIL);
    await submit(s);
    const code = await smtp.code(CODE_EMAIL);
    await lockForm(s, 'vcode');
    await s.page.locator('.auth0-lock input[name="vcode"]').fill(code);
    await Promise.all([s.page.waitForURL((u) => u.hash.includes('access_token')), submit(s)]);
    const { type, data } = await event(s, ['authenticated', 'authorization_error', 'unrecoverable_error']);
    assert.equal(type, 'authenticated', `${JSON.stringify(data)}\n${s.dump()}`);
    const claims = assertIdToken(data, spa, s.dump());
    assert.equal(claims.email, CODE_EMAIL);
    assert.match(claims.sub, /^email\|/);
    const [co] = requested(s, 'POST', `${ghOrigin}/co/authenticate`);
    assert.equal(JSON.parse(co.body).credential_type, 'http://auth0.com/oauth/grant-type/passwordless/otp');
  } finally {
    await s.ctx.close();
  }
});

test('Lock passwordless: a magic link opened in the same browser lands on the app with tokens', async () => {
  const s = await session();
  try {
    await s.page.goto(`${appOrigin}/email-link.html`);
    await lockForm(s, 'email');
    await s.page.locator('.auth0-lock input[name="email"]').fill(LINK_EMAIL);
    await submit(s);
    const link = await smtp.link(LINK_EMAIL);
    assert.ok(link.startsWith(`${gh.issuer}passwordless/verify_redirect?`), link);
    const [start] = requested(s, 'POST', `${ghOrigin}/passwordless/start`);
    assert.equal(JSON.parse(start.body).send, 'link');

    // The link's page, in a new tab of the same browser: one button, then the app.
    const tab = await s.ctx.newPage();
    s.page = tab;
    await tab.goto(link);
    await Promise.all([
      tab.waitForURL((u) => u.origin === appOrigin && u.hash.includes('access_token')),
      tab.getByRole('button').click(),
    ]);
    const { type, data } = await event(s, ['authenticated', 'authorization_error', 'unrecoverable_error']);
    assert.equal(type, 'authenticated', `${JSON.stringify(data)}\n${s.dump()}`);
    const claims = assertIdToken(data, spa, s.dump());
    assert.equal(claims.email, LINK_EMAIL);
    assert.match(claims.sub, /^email\|/);
  } finally {
    await s.ctx.close();
  }
});

test('Lock passwordless: an SMS code, read from the SMS gateway', async () => {
  const s = await session();
  try {
    await s.page.goto(`${appOrigin}/sms.html`);
    await lockForm(s, 'phoneNumber');
    await s.page.locator('.auth0-lock input[name="phoneNumber"]').fill(PHONE_LOCAL);
    await submit(s);
    const code = await sms.code(PHONE);
    await lockForm(s, 'vcode');
    await s.page.locator('.auth0-lock input[name="vcode"]').fill(code);
    await Promise.all([s.page.waitForURL((u) => u.hash.includes('access_token')), submit(s)]);
    const { type, data } = await event(s, ['authenticated', 'authorization_error', 'unrecoverable_error']);
    assert.equal(type, 'authenticated', `${JSON.stringify(data)}\n${s.dump()}`);
    const claims = assertIdToken(data, spa, s.dump());
    assert.match(claims.sub, /^sms\|/);
    const smsUser = await mgmt('GET', `/users/${encodeURIComponent(claims.sub)}`);
    assert.equal(smsUser.phone_number, PHONE);
    // The +1 came from gatehouse's /user/geoloc/country (Lock preselects that country).
    const [geoloc] = answered(s, 'GET', `${ghOrigin}/user/geoloc/country`);
    assert.equal(geoloc?.status, 200, s.dump());
    const [start] = requested(s, 'POST', `${ghOrigin}/passwordless/start`);
    assert.equal(JSON.parse(start.body).phone_number, PHONE);
  } finally {
    await s.ctx.close();
  }
});

test('an origin outside web_origins gets no login ticket', async () => {
  const before = (await mgmt('GET', `/users/${encodeURIComponent(user.user_id)}`)).logins_count;
  const s = await session();
  try {
    await s.page.goto(`${otherOrigin}/webauth.html`);
    await event(s, ['ready']);
    await s.page.evaluate(
      ({ realm, username, password }) =>
        window.webAuth.login({ realm, username, password }, (err) => window.record('login_error', err)),
      { realm: DB, username: EMAIL, password: PASSWORD },
    );
    // gatehouse's preflight answer has no CORS headers for this origin: the browser sends no
    // POST, and auth0.js reports a request it could not make.
    const { data } = await event(s, ['login_error']);
    assert.equal(data.code, 'request_error', JSON.stringify(data));
    assert.deepEqual(answered(s, 'POST', `${ghOrigin}/co/authenticate`), [], s.dump());
    assert.equal(new URL(s.page.url()).origin, otherOrigin);
    assert.equal(requested(s, 'GET', `${ghOrigin}/authorize?`).filter((e) => e.url.includes('login_ticket=')).length, 0, s.dump());
  } finally {
    await s.ctx.close();
  }
  assert.equal((await mgmt('GET', `/users/${encodeURIComponent(user.user_id)}`)).logins_count, before);

  // The same from outside a browser: no CORS headers in the preflight answer, and the POST
  // itself (which a browser would not send) refused without a ticket or a cookie.
  const preflight = await fetch(`${gh.base}/co/authenticate`, {
    method: 'OPTIONS',
    headers: { origin: otherOrigin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'auth0-client,content-type' },
  });
  assert.equal(preflight.headers.get('access-control-allow-origin'), null);
  assert.equal(preflight.headers.get('access-control-allow-credentials'), null);
  const refused = await fetch(`${gh.base}/co/authenticate`, {
    method: 'POST',
    headers: { origin: otherOrigin, 'content-type': 'application/json' },
    body: JSON.stringify({
      client_id: spa.client_id,
      username: EMAIL,
      password: PASSWORD,
      realm: DB,
      credential_type: 'http://auth0.com/oauth/grant-type/password-realm',
    }),
  });
  const body = await refused.json();
  assert.equal(refused.status, 403, JSON.stringify(body));
  assert.equal(refused.headers.get('access-control-allow-origin'), null);
  assert.equal(body.login_ticket, undefined, JSON.stringify(body));
  assert.equal(refused.headers.get('set-cookie'), null);
  assert.equal((await mgmt('GET', `/users/${encodeURIComponent(user.user_id)}`)).logins_count, before);
});

// A browser whose profile lets frames of other sites use their storage (Chromium's own
// default here blocks that, and with it any verification page): a separate Chromium with a
// profile of its own. Returns the context and a cleanup.
async function browserAllowingThirdPartyStorage() {
  const dir = mkdtempSync(join(tmpdir(), 'embedded-login-profile-'));
  mkdirSync(join(dir, 'Default'));
  writeFileSync(join(dir, 'Default', 'Preferences'), JSON.stringify({ profile: { cookie_controls_mode: 0 } }));
  const ctx = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, args: LAUNCH_ARGS });
  return { ctx, close: async () => (await ctx.close(), rmSync(dir, { recursive: true, force: true })) };
}

// webAuth.login on the page of the other site; resolves once back there with a fragment.
async function loginFromOtherSite(s) {
  await s.page.goto(`${crossSiteOrigin}/webauth.html`);
  await event(s, ['ready']);
  await Promise.all([
    s.page.waitForURL((u) => u.origin === crossSiteOrigin && u.hash.length > 1),
    s.page.evaluate(
      ({ realm, username, password }) =>
        window.webAuth.login({ realm, username, password }, (err) => window.record('login_error', err)),
      { realm: DB, username: EMAIL, password: PASSWORD },
    ),
  ]);
  // /co/authenticate answered the other site (it is the client's web origin), but its
  // SameSite=Lax binding cookie did not stick, so /authorize served the verification page.
  const [co] = answered(s, 'POST', `${ghOrigin}/co/authenticate`);
  assert.equal(co?.status, 200, s.dump());
  const [authorize] = answered(s, 'GET', `${ghOrigin}/authorize?`).filter((e) => e.url.includes('login_ticket='));
  assert.equal(authorize?.status, 200, s.dump());
  const [frame] = requested(s, 'GET', `${crossSiteOrigin}/verify.html`);
  assert.ok(frame, `the verification page framed the client's cross_origin_loc\n${s.dump()}`);
  const [verify] = requested(s, 'POST', `${ghOrigin}/co/verify`);
  assert.ok(verify, `the verifier was posted to /co/verify\n${s.dump()}`);
  return { verifier: new URLSearchParams(verify.body).get('verifier') };
}

test('another site (binding cookie dropped): the verification fallback completes webAuth.login', async () => {
  const other = await browserAllowingThirdPartyStorage();
  try {
    const s = await session(other.ctx);
    const { verifier } = await loginFromOtherSite(s);
    assert.ok(verifier, `the app's verification page gave the verifier\n${s.dump()}`);
    const binding = (await s.ctx.cookies()).filter((c) => c.name === 'gh_co');
    assert.deepEqual(binding, [], 'the browser kept no binding cookie');
    const { type, data } = await event(s, ['parsed', 'parse_error']);
    assert.equal(type, 'parsed', `${JSON.stringify(data)}\n${s.dump()}`);
    const claims = assertIdToken(data, crossSite, s.dump());
    assert.equal(claims.email, EMAIL);
    assert.equal(claims.sub, user.user_id);
    const [verified] = answered(s, 'POST', `${ghOrigin}/co/verify`);
    assert.ok(verified.status >= 300 && verified.status < 400, s.dump());
  } finally {
    await other.close();
  }
});

test('another site, and the verification page cannot read its storage: the ticket is refused', async () => {
  // The default (incognito) context: third-party storage blocked, so the framed page answers
  // an empty verifier.
  const s = await session();
  try {
    const { verifier } = await loginFromOtherSite(s);
    assert.equal(verifier, '');
    const { type, data } = await event(s, ['parsed', 'parse_error']);
    assert.equal(type, 'parse_error', `${JSON.stringify(data)}\n${s.dump()}`);
    assert.equal(data.error, 'access_denied');
  } finally {
    await s.ctx.close();
  }
});
