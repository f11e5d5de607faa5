// The account linking sample (examples/spa-account-linking: auth0-spa-js, built with esbuild,
// served by its own server.mjs) in headless Chromium against gatehouse, with real SMTP and
// SMS gateway receivers: sign up, link an email and a phone identity in popups (merging
// user_metadata), log out, log in with the email code and land on the same user, unlink.
// Then, in a second browser, upstream identity providers: an OpenID Connect account at a second
// gatehouse (the provider, behind an `oidc` connection) and a GitHub account (a stand-in for
// GitHub behind a `github` connection) are linked in popups, log in as the primary, and are
// unlinked again. In a third browser, a SAML account: the second gatehouse is also a SAML
// identity provider (its `samlp` add-on) behind a `samlp` connection made from its metadata URL;
// the account is linked in a popup (AuthnRequest by redirect, the provider's login page, a signed
// Response posted back), logs in as the primary, and is unlinked again.
//
// The app is on http://localhost:APP_PORT and the issuer is http://localhost:GH_PORT/: both
// secure contexts, and the same site, so gatehouse's session cookie reaches the SDK's iframe.
// The upstream provider and the GitHub stand-in are on 127.0.0.1, other sites, as they would be:
// cookies do not keep ports apart, so a provider on localhost would share gatehouse's cookies.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { inflateRawSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { startGatehouse } from '../openid_client/gatehouse.mjs';
import { startGitHub } from './github-standin.mjs';
import { startSmsGateway, startSmtp } from './receivers.mjs';

const sample = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'spa-account-linking');

const EMAIL = 'robin@example.com';
const PASSWORD = 'Correct-horse-battery-9';
const CODE_EMAIL = 'robin.codes@example.com';
const PHONE = '+14155550142';

// The upstream scenario: a person with a password account here, an account at the OpenID
// provider (another gatehouse) and one at GitHub, each with an address of its own.
const SAM = 'sam@example.com';
const SAM_SSO = 'sam@corp.example';
const OIDC_CONNECTION = 'oidc-upstream'; // server.mjs's defaults
const GITHUB_CONNECTION = 'github';
const SAML_CONNECTION = 'corp-saml';
// The SAML scenario: another person, with a password account here and one at the provider.
const ALEX = 'alex@example.com';
const ALEX_SSO = 'alex@corp.example';
const GITHUB_APP = { name: 'Account linking sample', clientId: 'Iv1.0123456789abcdef', clientSecret: 'gh-standin-secret-0123456789' };
const GITHUB_ACCOUNT = {
  id: 9_100_042,
  login: 'sam-octo',
  name: 'Sam Octo',
  avatar_url: 'https://avatars.example/u/9100042',
  emails: [
    { email: 'sam-octo@users.noreply.example', primary: false, verified: true },
    { email: 'sam@octo.example', primary: true, verified: true },
  ],
};

let gh, op, github, smtp, sms, app, browser, context, page, appUrl, ghOrigin, spa, opUser, samlApp, opAlex;
const log = []; // requests and responses (gatehouse, provider, stand-in) seen by the browser
const bodies = [];
const dump = (entries = log) => JSON.stringify(entries.slice(-40), null, 1);

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

// Builds the sample unless dist/ is there and newer than every source file.
function buildSample() {
  const built = join(sample, 'dist', 'app.js');
  const sources = ['src', '.'].flatMap((d) =>
    readdirSync(join(sample, d)).filter((f) => /\.(js|mjs|html|css|json)$/.test(f)).map((f) => join(sample, d, f)),
  );
  const stale = !existsSync(built) || sources.some((f) => statSync(f).mtimeMs > statSync(built).mtimeMs);
  if (!stale) return;
  const npm = (...args) => execFileSync('npm', args, { cwd: sample, stdio: ['ignore', 'ignore', 'inherit'] });
  if (!existsSync(join(sample, 'node_modules'))) npm('ci', '--no-audit', '--no-fund', '--silent');
  npm('run', 'build', '--silent');
}

// Runs the sample's own server.mjs; resolves once it listens.
async function serveSample(env) {
  const port = Number(env.PORT);
  const proc = spawn(process.execPath, ['server.mjs'], {
    cwd: sample,
    env: { ...process.env, HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise((resolve, reject) => {
    proc.stdout.on('data', (d) => {
      output += d;
      if (output.includes('account linking sample on')) resolve();
    });
    proc.stderr.on('data', (d) => (output += d));
    proc.on('exit', (code) => reject(new Error(`server.mjs exited ${code}: ${output}`)));
  });
  return { url: `http://localhost:${port}`, stop: () => proc.kill('SIGTERM') };
}

async function mgmt(method, path, body) {
  const answer = await gh.mgmt(method, path, body);
  assert.ok(!answer?.statusCode || answer.statusCode < 300, `${method} ${path}: ${JSON.stringify(answer)}`);
  return answer;
}

before(async () => {
  buildSample();
  github = await startGitHub({ account: GITHUB_ACCOUNT });
  [gh, op, smtp, sms, browser] = await Promise.all([
    startGatehouse({
      host: 'localhost',
      env: { GATEHOUSE_GITHUB_URL: github.url, GATEHOUSE_GITHUB_API_URL: github.apiUrl },
    }),
    startGatehouse(), // the OpenID provider, on 127.0.0.1
    startSmtp(),
    startSmsGateway(),
    chromium.launch({ executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium' }),
  ]);
  ghOrigin = gh.issuer.replace(/\/$/, '');
  const appPort = await freePort();
  appUrl = `http://localhost:${appPort}`;

  // What the README tells a newcomer to create, through the Management API.
  await mgmt('POST', '/emails/provider', {
    name: 'smtp',
    default_from_address: 'login@example.com',
    credentials: { smtp_host: '127.0.0.1', smtp_port: smtp.port, smtp_user: '', smtp_pass: '' },
  });
  spa = await mgmt('POST', '/clients', {
    name: 'Account linking sample',
    app_type: 'spa',
    callbacks: [appUrl],
    allowed_logout_urls: [appUrl],
    web_origins: [appUrl],
    allowed_origins: [appUrl],
    grant_types: ['authorization_code', 'refresh_token'],
  });
  await mgmt('POST', '/connections', {
    name: 'email',
    strategy: 'email',
    enabled_clients: [spa.client_id],
    options: { email: { body: 'Code: {{ code }}' } },
  });
  await mgmt('POST', '/connections', {
    name: 'sms',
    strategy: 'sms',
    enabled_clients: [spa.client_id],
    options: { provider: 'sms_gateway', gateway_url: sms.url, template: 'Code @@password@@' },
  });
  // The phone's account exists before it is linked, with metadata of its own to merge.
  await mgmt('POST', '/users', {
    connection: 'sms',
    phone_number: PHONE,
    user_metadata: { plan: 'prepaid', tags: ['phone'] },
  });

  // The upstream providers, as the README sets them up. At the OpenID provider: gatehouse as a
  // regular web application whose callback is gatehouse's /login/callback, and Sam's account.
  const callback = `${gh.issuer}login/callback`;
  const upstreamApp = await op.mgmt('POST', '/clients', {
    name: 'gatehouse (account linking sample)',
    app_type: 'regular_web',
    callbacks: [callback],
    grant_types: ['authorization_code'],
  });
  assert.ok(upstreamApp.client_id && upstreamApp.client_secret, JSON.stringify(upstreamApp));
  opUser = await op.mgmt('POST', '/users', {
    connection: 'Username-Password-Authentication',
    email: SAM_SSO,
    password: PASSWORD,
    email_verified: true,
  });
  assert.match(opUser.user_id ?? '', /^auth0\|/, JSON.stringify(opUser));
  await mgmt('POST', '/connections', {
    name: OIDC_CONNECTION,
    display_name: 'Corp SSO',
    strategy: 'oidc',
    enabled_clients: [spa.client_id],
    options: {
      type: 'back_channel',
      discovery_url: `${op.issuer}.well-known/openid-configuration`,
      client_id: upstreamApp.client_id,
      client_secret: upstreamApp.client_secret,
      scopes: 'openid profile email',
    },
  });
  // At GitHub: an OAuth App whose callback is gatehouse's /login/callback.
  github.register({ ...GITHUB_APP, callback });
  await mgmt('POST', '/connections', {
    name: GITHUB_CONNECTION,
    strategy: 'github',
    enabled_clients: [spa.client_id],
    options: { client_id: GITHUB_APP.clientId, client_secret: GITHUB_APP.clientSecret, scope: ['read:user', 'user:email'] },
  });

  // The SAML identity provider, as the README sets it up: at the second gatehouse, gatehouse as a
  // regular web application with the samlp add-on, whose callback is gatehouse's assertion
  // consumer service for the connection; and Alex's account there.
  samlApp = await op.mgmt('POST', '/clients', {
    name: 'gatehouse (account linking sample, SAML)',
    app_type: 'regular_web',
    callbacks: [`${gh.issuer}login/callback?connection=${SAML_CONNECTION}`],
    addons: { samlp: {} },
  });
  assert.ok(samlApp.client_id, JSON.stringify(samlApp));
  opAlex = await op.mgmt('POST', '/users', {
    connection: 'Username-Password-Authentication',
    email: ALEX_SSO,
    password: PASSWORD,
    email_verified: true,
  });
  assert.match(opAlex.user_id ?? '', /^auth0\|/, JSON.stringify(opAlex));
  // At gatehouse: the connection, from the provider's metadata (sign-in URL and certificate).
  const saml = await mgmt('POST', '/connections', {
    name: SAML_CONNECTION,
    display_name: 'Corp SAML',
    strategy: 'samlp',
    enabled_clients: [spa.client_id],
    options: { metadataUrl: `${op.issuer}samlp/metadata/${samlApp.client_id}` },
  });
  assert.equal(saml.options?.signInEndpoint, `${op.issuer}samlp/${samlApp.client_id}`, JSON.stringify(saml));
  assert.ok(saml.options?.signingCert, JSON.stringify(saml));

  // The sample as a newcomer runs it: PORT, GATEHOUSE_DOMAIN, CLIENT_ID.
  app = await serveSample({ PORT: String(appPort), GATEHOUSE_DOMAIN: ghOrigin, CLIENT_ID: spa.client_id });
  assert.equal(app.url, appUrl);

  context = await newContext();
  page = await context.newPage();
});

// A browser context whose requests to gatehouse, the provider and the stand-in are logged.
async function newContext() {
  const watched = new Set([ghOrigin, op.issuer.replace(/\/$/, ''), github.url]);
  const seen = (url) => watched.has(new URL(url).origin);
  const ctx = await browser.newContext();
  ctx.setDefaultTimeout(15_000);
  ctx.on('request', (r) => {
    if (seen(r.url())) log.push({ kind: 'request', method: r.method(), url: r.url(), body: r.postData() });
  });
  ctx.on('response', (r) => {
    if (!seen(r.url())) return;
    const entry = { kind: 'response', method: r.request().method(), status: r.status(), url: r.url() };
    log.push(entry);
    // A redirect has no body to read.
    if (r.status() < 300 || r.status() >= 400) bodies.push(r.text().then((t) => (entry.body = t.slice(0, 2000)), () => {}));
  });
  ctx.on('console', (m) => {
    if (m.type() === 'error') log.push({ kind: 'console', text: m.text() });
  });
  return ctx;
}

after(async () => {
  await browser?.close();
  app?.stop();
  smtp?.close();
  sms?.close();
  github?.close();
  op?.stop();
  gh?.stop();
});

// Waits until the app shows what `want` describes ({rows, userId, loggedOut, status}), or
// fails at once with the app's error message.
async function until(want) {
  let state;
  try {
    const handle = await page.waitForFunction((want) => {
      const text = (id) => document.getElementById(id)?.textContent ?? '';
      const error = document.getElementById('error');
      if (error && !error.hidden) return { error: error.textContent };
      if (document.body.dataset.ready !== 'true') return false;
      const s = {
        rows: document.querySelectorAll('#identities tbody tr').length,
        userId: text('user-id'),
        loggedOut: !document.getElementById('logged-out').hidden,
        loggedIn: !document.getElementById('logged-in').hidden,
        status: text('status'),
      };
      if (want.loggedOut !== undefined && s.loggedOut !== want.loggedOut) return false;
      if (want.rows !== undefined && (!s.loggedIn || s.rows !== want.rows)) return false;
      if (want.userId !== undefined && s.userId !== want.userId) return false;
      if (want.userIdPrefix !== undefined && !s.userId.startsWith(want.userIdPrefix)) return false;
      if (want.status !== undefined && !s.status.includes(want.status)) return false;
      return s;
    }, want);
    state = await handle.jsonValue();
  } catch (e) {
    await Promise.all(bodies);
    throw new Error(`waiting for ${JSON.stringify(want)}: ${e.message}\n${dump()}`);
  }
  await Promise.all(bodies);
  assert.ok(!state.error, `the app says: ${state.error}\n${dump()}`);
  return state;
}

async function identitiesShown() {
  return page.$$eval('#identities tbody tr', (rows) =>
    rows.map((r) => {
      const [connection, provider, userId] = [...r.cells].map((c) => c.textContent);
      return { connection, provider, userId };
    }),
  );
}

// The passwordless pages in `win`: recipient, "Send code", the code that arrived, "Log in".
async function passwordless(win, recipient, readCode) {
  await win.getByLabel(/Email|Phone number/).fill(recipient);
  await win.getByRole('button', { name: 'Send code' }).click();
  const code = await readCode(recipient);
  await win.getByLabel('Code').fill(code);
  await win.getByRole('button', { name: 'Log in' }).click();
}

// Clicks a "Link ..." button of the app and logs in inside the popup it opens, once the popup
// is at `origin` (gatehouse's, or an upstream provider's).
async function linkThroughPopup(button, loginInPopup, origin = ghOrigin) {
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.getByRole('button', { name: button }).click()]);
  popup.setDefaultTimeout(15_000);
  const closed = popup.waitForEvent('close');
  closed.catch(() => {}); // awaited below, unless the login fails first
  try {
    await popup.waitForURL((u) => u.origin === origin);
    await loginInPopup(popup);
    await closed; // the SDK closes it once the web_message response arrived
  } catch (e) {
    await Promise.all(bodies);
    const where = popup.isClosed() ? 'closed' : `${popup.url()}: ${(await popup.content().catch(() => '')).slice(0, 2000)}`;
    throw new Error(`${button}: ${e.message}\npopup at ${where}\n${dump()}`);
  }
}

let primarySub;
let emailIdentity;

// Each scenario is one story: once a step fails, its later ones are skipped, not timed out.
function story() {
  let failed = false;
  return (name, fn) =>
    test(name, async (t) => {
      if (failed) return t.skip('an earlier step failed');
      try {
        await fn(t);
      } catch (e) {
        failed = true;
        throw e;
      }
    });
}
const step = story();

step('sign up with a password through the app, then see the profile from /api/v2/users/{id}', async () => {
  await page.goto(appUrl);
  await until({ loggedOut: true });
  await Promise.all([
    page.waitForURL((u) => u.origin === ghOrigin),
    page.getByRole('button', { name: 'Sign up' }).click(),
  ]);
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up' }).click();
  const s = await until({ rows: 1, userIdPrefix: 'auth0|' });
  primarySub = s.userId;
  assert.equal(await page.locator('#user-email').textContent(), EMAIL);
  // The app asked for the Management API with the user's own scopes, by code + PKCE.
  const authorize = new URL(log.find((e) => e.kind === 'request' && e.url.startsWith(`${ghOrigin}/authorize?`)).url);
  assert.equal(authorize.searchParams.get('audience'), `${gh.issuer}api/v2/`);
  assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
  assert.deepEqual(
    authorize.searchParams.get('scope').split(' ').sort(),
    ['email', 'openid', 'profile', 'read:current_user', 'update:current_user_identities', 'update:current_user_metadata'],
  );
  assert.deepEqual(await identitiesShown(), [{ connection: 'Username-Password-Authentication', provider: 'auth0', userId: primarySub.slice('auth0|'.length) }]);

  // The user's own metadata, saved with their token (update:current_user_metadata).
  await page.getByLabel('Your user_metadata (JSON)').fill(JSON.stringify({ theme: 'dark', tags: ['web'] }));
  await page.getByRole('button', { name: 'Save metadata' }).click();
  await until({ status: 'Metadata saved.' });
});

step('link an email identity: code login in a popup, then POST /users/{id}/identities', async () => {
  const mark = log.length;
  await linkThroughPopup('Link an email address (code by email)', async (popup) => {
    const authorize = new URL(popup.url());
    assert.equal(authorize.searchParams.get('connection'), 'email');
    assert.equal(authorize.searchParams.get('prompt'), 'login');
    assert.equal(authorize.searchParams.get('max_age'), '0');
    assert.equal(authorize.searchParams.get('response_mode'), 'web_message');
    await passwordless(popup, CODE_EMAIL, (to) => smtp.code(to));
  });
  const s = await until({ rows: 2, status: 'Linked:' });
  assert.equal(s.userId, primarySub, 'the logged-in user stays the primary');
  const shown = await identitiesShown();
  assert.equal(shown[0].provider, 'auth0');
  assert.deepEqual([shown[1].connection, shown[1].provider], ['email', 'email']);
  emailIdentity = shown[1].userId;

  // What the Management API answered: 201 and the primary's identities.
  const linked = log
    .slice(mark)
    .find((e) => e.kind === 'response' && e.method === 'POST' && e.url === `${ghOrigin}/api/v2/users/${encodeURIComponent(primarySub)}/identities`);
  assert.ok(linked, dump(log.slice(mark)));
  assert.equal(linked.status, 201, dump(log.slice(mark)));
  const identities = JSON.parse(linked.body);
  assert.equal(identities.length, 2);
  for (const i of identities) {
    assert.equal(typeof i.connection, 'string');
    assert.equal(typeof i.user_id, 'string');
    assert.equal(typeof i.provider, 'string');
    assert.equal(typeof i.isSocial, 'boolean');
  }
  assert.equal(identities[1].user_id, emailIdentity);
});

step('link the phone (SMS code in a popup) and merge its user_metadata first', async () => {
  await page.getByLabel("Merge the other account's user_metadata into the primary's").check();
  await linkThroughPopup('Link a phone number (code by text message)', (popup) => passwordless(popup, PHONE, (to) => sms.code(to)));
  const s = await until({ rows: 3, status: 'Linked:' });
  assert.equal(s.userId, primarySub);
  const shown = await identitiesShown();
  assert.deepEqual(shown.map((i) => i.connection), ['Username-Password-Authentication', 'email', 'sms']);
  // The primary's values win; the phone account's are added; arrays are concatenated.
  assert.deepEqual(JSON.parse(await page.locator('#metadata').inputValue()), {
    theme: 'dark',
    plan: 'prepaid',
    tags: ['web', 'phone'],
  });
});

step('log out, then log in with an email code and land on the same user', async () => {
  await Promise.all([
    page.waitForEvent('load'), // /v2/logout redirects, so the next document is returnTo's
    page.getByRole('button', { name: 'Log out' }).click(),
  ]);
  await until({ loggedOut: true });
  assert.equal(new URL(page.url()).origin, appUrl);

  await Promise.all([
    page.waitForURL((u) => u.origin === ghOrigin),
    page.getByRole('button', { name: 'Log in' }).click(),
  ]);
  await page.getByRole('link', { name: 'Log in with a code sent by email' }).click();
  await passwordless(page, CODE_EMAIL, (to) => smtp.code(to));
  const s = await until({ rows: 3 });
  assert.equal(s.userId, primarySub, 'a linked identity logs in as the primary user');
});

step('unlink the email identity: DELETE /users/{id}/identities/email/{user_id}', async () => {
  const mark = log.length;
  await page.getByRole('button', { name: `Unlink email|${emailIdentity}` }).click();
  const s = await until({ rows: 2, status: 'Unlinked' });
  assert.equal(s.userId, primarySub);
  const answer = log
    .slice(mark)
    .find((e) => e.kind === 'response' && e.method === 'DELETE' && e.url.includes('/identities/email/'));
  assert.equal(answer?.status, 200, dump(log.slice(mark)));
  assert.deepEqual(JSON.parse(answer.body).map((i) => i.connection), ['Username-Password-Authentication', 'sms']);

  // Two users again: the primary (password + phone) and the email identity on its own.
  const users = await mgmt('GET', '/users?per_page=50');
  assert.deepEqual(users.map((u) => u.user_id).sort(), [primarySub, `email|${emailIdentity}`].sort(), JSON.stringify(users));
  const primary = users.find((u) => u.user_id === primarySub);
  assert.deepEqual(primary.identities.map((i) => i.provider), ['auth0', 'sms']);
  assert.deepEqual(primary.user_metadata, { theme: 'dark', plan: 'prepaid', tags: ['web', 'phone'] });
});

step('link a second password account (signed up in the popup) and keep it as the primary', async () => {
  const SECOND = 'robin.work@example.com';
  await page.getByLabel('The account I am about to log in with').check();
  // Links are one level deep: this account may become a secondary only without identities.
  await page.getByRole('button', { name: 'Link another password account' }).click();
  await until({ rows: 2 }).then(
    () => assert.fail('the app should refuse before linking'),
    (e) => assert.match(e.message, /first unlink the identities/),
  );
  const sms = (await identitiesShown()).find((i) => i.provider === 'sms');
  await page.getByRole('button', { name: `Unlink sms|${sms.userId}` }).click();
  await until({ rows: 1, status: 'Unlinked' });

  const mark = log.length;
  await linkThroughPopup('Link another password account', async (popup) => {
    await popup.getByRole('link', { name: 'Sign up' }).click();
    await popup.getByLabel('Email').fill(SECOND);
    await popup.getByLabel('Password').fill(PASSWORD);
    await popup.getByRole('button', { name: 'Sign up' }).click();
  });
  // The page now shows the account that stayed, with its tokens taken silently.
  const s = await until({ rows: 2, status: 'Linked:' });
  assert.notEqual(s.userId, primarySub);
  assert.match(s.userId, /^auth0\|/);
  assert.equal(await page.locator('#user-email').textContent(), SECOND);
  assert.deepEqual((await identitiesShown()).map((i) => `${i.provider}|${i.userId}`), [s.userId, primarySub]);
  const linked = log
    .slice(mark)
    .find((e) => e.kind === 'response' && e.method === 'POST' && e.url === `${ghOrigin}/api/v2/users/${encodeURIComponent(s.userId)}/identities`);
  assert.equal(linked?.status, 201, dump(log.slice(mark)));

  const users = await mgmt('GET', '/users?per_page=50');
  assert.deepEqual(
    users.map((u) => u.user_id).sort(),
    [s.userId, `email|${emailIdentity}`, `sms|${sms.userId}`].sort(),
    JSON.stringify(users),
  );
});

// Upstream identity providers, in a browser of their own.
const upstreamStep = story();
let samSub, oidcIdentity;
const githubIdentity = String(GITHUB_ACCOUNT.id);

// The primary's identities (provider, connection, user_id, isSocial) by the Management API.
async function identitiesOf(userId) {
  const user = await mgmt('GET', `/users/${encodeURIComponent(userId)}`);
  return user.identities.map(({ provider, connection, user_id, isSocial }) => ({ provider, connection, user_id, isSocial }));
}

// The user `userId` by the Management API: the user, or the error answer (404: no such user).
const userOrError = (userId) => gh.mgmt('GET', `/users/${encodeURIComponent(userId)}`);

// The password form of a gatehouse login page (this one's or the provider's).
async function passwordLogin(win, email) {
  await win.getByLabel('Email').fill(email);
  await win.getByLabel('Password').fill(PASSWORD);
  await win.getByRole('button', { name: 'Continue' }).click();
}

upstreamStep('upstream: log in with a password in another browser; the upstream buttons are offered', async () => {
  const sam = await mgmt('POST', '/users', { connection: 'Username-Password-Authentication', email: SAM, password: PASSWORD, email_verified: true });
  samSub = sam.user_id;
  context = await newContext();
  page = await context.newPage();
  await page.goto(appUrl);
  await until({ loggedOut: true });
  await Promise.all([page.waitForURL((u) => u.origin === ghOrigin), page.getByRole('button', { name: 'Log in' }).click()]);
  await passwordLogin(page, SAM);
  const s = await until({ rows: 1, userId: samSub });
  assert.equal(s.userId, samSub);
  // server.mjs's defaults name the connections the README creates.
  for (const [name, connection] of [
    ['Link an OpenID Connect account', OIDC_CONNECTION],
    ['Link GitHub', GITHUB_CONNECTION],
    ['Link a SAML account', SAML_CONNECTION],
  ]) {
    const button = page.getByRole('button', { name });
    assert.ok(await button.isVisible(), name);
    assert.equal(await button.getAttribute('data-connection'), connection);
  }
});

upstreamStep('upstream: link an OpenID Connect account (popup: gatehouse, the provider\'s login page, back)', async () => {
  const mark = log.length;
  const opOrigin = op.issuer.replace(/\/$/, '');
  await linkThroughPopup(
    'Link an OpenID Connect account',
    async (popup) => {
      // At the provider's login page: gatehouse's /authorize sent the popup straight there (303).
      await passwordLogin(popup, SAM_SSO);
    },
    opOrigin,
  );
  const s = await until({ rows: 2, status: 'Linked:' });
  assert.equal(s.userId, samSub);
  const entries = log.slice(mark);
  const authorize = entries.find((e) => e.kind === 'response' && e.url.startsWith(`${ghOrigin}/authorize?`));
  assert.ok(authorize, dump(entries));
  const asked = new URL(authorize.url).searchParams;
  assert.deepEqual(
    [asked.get('connection'), asked.get('prompt'), asked.get('max_age'), asked.get('response_mode')],
    [OIDC_CONNECTION, 'login', '0', 'web_message'],
  );
  assert.equal(authorize.status, 303, dump(entries));
  assert.ok(entries.some((e) => e.kind === 'request' && e.url.startsWith(`${opOrigin}/authorize?`)), dump(entries));
  assert.ok(entries.some((e) => e.kind === 'request' && e.url.startsWith(`${ghOrigin}/login/callback?`)), dump(entries));

  oidcIdentity = `${OIDC_CONNECTION}|${opUser.user_id}`;
  const shown = await identitiesShown();
  assert.deepEqual(shown[1], { connection: OIDC_CONNECTION, provider: 'oidc', userId: oidcIdentity });
  const linked = entries.find((e) => e.kind === 'response' && e.method === 'POST' && e.url === `${ghOrigin}/api/v2/users/${encodeURIComponent(samSub)}/identities`);
  assert.equal(linked?.status, 201, dump(entries));

  // The Management API: the primary holds the identity; the OIDC user is no longer one of its own.
  assert.deepEqual(await identitiesOf(samSub), [
    { provider: 'auth0', connection: 'Username-Password-Authentication', user_id: samSub.slice('auth0|'.length), isSocial: false },
    { provider: 'oidc', connection: OIDC_CONNECTION, user_id: oidcIdentity, isSocial: false },
  ]);
  const primary = await mgmt('GET', `/users/${encodeURIComponent(samSub)}`);
  assert.equal(primary.identities[1].profileData?.email, SAM_SSO, JSON.stringify(primary));
  assert.equal((await userOrError(`oidc|${oidcIdentity}`)).statusCode, 404);
});

upstreamStep('upstream: link GitHub (popup: the stand-in\'s Authorize page, click)', async () => {
  const mark = log.length;
  const before = github.seen.length;
  await linkThroughPopup(
    'Link GitHub',
    async (popup) => {
      const authorize = new URL(popup.url());
      assert.equal(authorize.pathname, '/login/oauth/authorize');
      assert.equal(authorize.searchParams.get('client_id'), GITHUB_APP.clientId);
      assert.equal(authorize.searchParams.get('redirect_uri'), `${gh.issuer}login/callback`);
      assert.equal(authorize.searchParams.get('scope'), 'read:user user:email');
      assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
      await popup.getByRole('button', { name: 'Authorize' }).click();
    },
    github.url,
  );
  const s = await until({ rows: 3, status: 'Linked:' });
  assert.equal(s.userId, samSub);
  assert.deepEqual(github.complaints, [], JSON.stringify(github.seen.slice(before), null, 1));
  // gatehouse redeemed the code with its verifier and secret, then read the profile and emails.
  const calls = github.seen.slice(before).map((r) => `${r.method} ${r.path}`);
  assert.deepEqual(calls.slice(0, 3), ['GET /login/oauth/authorize', 'POST /login/oauth/authorize', 'POST /login/oauth/access_token']);
  assert.deepEqual(calls.slice(3).sort(), ['GET /api/user', 'GET /api/user/emails']);
  const token = github.seen.slice(before).find((r) => r.path === '/login/oauth/access_token');
  assert.equal(token.form.grant_type, 'authorization_code');
  assert.ok(token.form.code_verifier, JSON.stringify(token));

  const shown = await identitiesShown();
  assert.deepEqual(shown[2], { connection: GITHUB_CONNECTION, provider: 'github', userId: githubIdentity });
  const linked = log
    .slice(mark)
    .find((e) => e.kind === 'response' && e.method === 'POST' && e.url === `${ghOrigin}/api/v2/users/${encodeURIComponent(samSub)}/identities`);
  assert.equal(linked?.status, 201, dump(log.slice(mark)));

  const identities = await identitiesOf(samSub);
  assert.deepEqual(identities.slice(1), [
    { provider: 'oidc', connection: OIDC_CONNECTION, user_id: oidcIdentity, isSocial: false },
    { provider: 'github', connection: GITHUB_CONNECTION, user_id: githubIdentity, isSocial: true },
  ]);
  const primary = await mgmt('GET', `/users/${encodeURIComponent(samSub)}`);
  assert.equal(primary.identities[2].profileData?.email, 'sam@octo.example', JSON.stringify(primary));
  assert.equal((await userOrError(`github|${githubIdentity}`)).statusCode, 404);
  // The provider's tokens stay on the identity: the person's own token does not read them
  // (that takes read:user_idp_tokens), in the link's answer or the profile the page reads.
  const answers = log.slice(mark).filter((e) => e.kind === 'response' && e.url.startsWith(`${ghOrigin}/api/v2/users/`));
  assert.ok(answers.length >= 2, dump(log.slice(mark)));
  for (const a of answers) assert.doesNotMatch(a.body ?? '', /"(access|refresh)_token"/, a.url);
});

upstreamStep('upstream: log out, log in through the OIDC connection (and GitHub) and land on the primary', async () => {
  for (const [link, atProvider] of [
    // The provider still has Sam's session from the popup: no form there this time.
    ['Continue with Corp SSO', null],
    // The stand-in asks every time.
    ['Continue with GitHub', (p) => p.getByRole('button', { name: 'Authorize' }).click()],
  ]) {
    await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Log out' }).click()]);
    await until({ loggedOut: true });
    await Promise.all([page.waitForURL((u) => u.origin === ghOrigin), page.getByRole('button', { name: 'Log in' }).click()]);
    const mark = log.length;
    await page.getByRole('link', { name: link }).click();
    if (atProvider) await atProvider(page);
    const s = await until({ rows: 3 });
    assert.equal(s.userId, samSub, `${link}: a linked identity logs in as the primary user\n${dump(log.slice(mark))}`);
    if (!atProvider) {
      const atOp = log.slice(mark).find((e) => e.kind === 'response' && e.url.startsWith(`${op.issuer}authorize?`));
      assert.ok(atOp && atOp.status >= 300 && atOp.status < 400, `the provider answered at once\n${dump(log.slice(mark))}`);
    }
  }
});

// DELETE /users/{id}/identities/{provider}/{user_id} as the app sends it: user_id percent-encoded.
async function unlinkThroughApp(provider, userId, rowsLeft, primary = samSub) {
  const mark = log.length;
  await page.getByRole('button', { name: `Unlink ${provider}|${userId}` }).click();
  const s = await until({ rows: rowsLeft, status: 'Unlinked' });
  assert.equal(s.userId, primary);
  const url = `${ghOrigin}/api/v2/users/${encodeURIComponent(primary)}/identities/${provider}/${encodeURIComponent(userId)}`;
  const answer = log.slice(mark).find((e) => e.kind === 'response' && e.method === 'DELETE');
  assert.equal(answer?.url, url, dump(log.slice(mark)));
  assert.equal(answer.status, 200, dump(log.slice(mark)));
  return JSON.parse(answer.body);
}

upstreamStep('upstream: unlink the OIDC identity (its user_id has "|", sent as %7C)', async () => {
  const remaining = await unlinkThroughApp('oidc', oidcIdentity, 2);
  assert.deepEqual(remaining.map((i) => i.provider), ['auth0', 'github']);
  assert.deepEqual((await identitiesOf(samSub)).map((i) => i.provider), ['auth0', 'github']);
  // A user of its own again, with its one identity.
  const own = await mgmt('GET', `/users/${encodeURIComponent(`oidc|${oidcIdentity}`)}`);
  assert.deepEqual(own.identities.map((i) => [i.provider, i.connection, i.user_id]), [['oidc', OIDC_CONNECTION, oidcIdentity]]);
  assert.equal(own.email, SAM_SSO);
});

upstreamStep('upstream: unlink GitHub', async () => {
  const remaining = await unlinkThroughApp('github', githubIdentity, 1);
  assert.deepEqual(remaining.map((i) => i.provider), ['auth0']);
  assert.deepEqual(await identitiesOf(samSub), [
    { provider: 'auth0', connection: 'Username-Password-Authentication', user_id: samSub.slice('auth0|'.length), isSocial: false },
  ]);
  const own = await mgmt('GET', `/users/${encodeURIComponent(`github|${githubIdentity}`)}`);
  assert.deepEqual(own.identities.map((i) => [i.provider, i.connection, i.user_id, i.isSocial]), [['github', GITHUB_CONNECTION, githubIdentity, true]]);
  assert.equal(own.email, 'sam@octo.example');
  assert.equal(own.nickname, GITHUB_ACCOUNT.login);
});

// A SAML identity provider (the second gatehouse's samlp add-on), in a third browser: no session
// at the provider yet, so its login page shows in the popup.
const samlStep = story();
let alexSub, samlIdentity;

// The XML of a SAML message: HTTP-Redirect (deflated, base64) or HTTP-POST (base64).
const samlXml = (message, deflated) => {
  const bytes = Buffer.from(message, 'base64');
  return (deflated ? inflateRawSync(bytes) : bytes).toString('utf8');
};

samlStep('saml: log in with a password in a third browser; "Link a SAML account" is offered', async () => {
  const alex = await mgmt('POST', '/users', { connection: 'Username-Password-Authentication', email: ALEX, password: PASSWORD, email_verified: true });
  alexSub = alex.user_id;
  context = await newContext();
  page = await context.newPage();
  await page.goto(appUrl);
  await until({ loggedOut: true });
  await Promise.all([page.waitForURL((u) => u.origin === ghOrigin), page.getByRole('button', { name: 'Log in' }).click()]);
  await passwordLogin(page, ALEX);
  await until({ rows: 1, userId: alexSub });
  const button = page.getByRole('button', { name: 'Link a SAML account' });
  assert.ok(await button.isVisible());
  assert.equal(await button.getAttribute('data-connection'), SAML_CONNECTION);
});

samlStep('saml: link a SAML account (popup: gatehouse, AuthnRequest, the provider\'s login page, signed Response)', async () => {
  const mark = log.length;
  const opOrigin = op.issuer.replace(/\/$/, '');
  const acs = `${ghOrigin}/login/callback?connection=${SAML_CONNECTION}`;
  await linkThroughPopup('Link a SAML account', (popup) => passwordLogin(popup, ALEX_SSO), opOrigin);
  const s = await until({ rows: 2, status: 'Linked:' });
  assert.equal(s.userId, alexSub);
  const entries = log.slice(mark);

  // The app asked gatehouse for a fresh login through the connection; gatehouse sent the popup
  // on to the provider's SSO URL (from the metadata) with an AuthnRequest, HTTP-Redirect binding.
  const authorize = entries.find((e) => e.kind === 'response' && e.url.startsWith(`${ghOrigin}/authorize?`));
  assert.ok(authorize, dump(entries));
  const asked = new URL(authorize.url).searchParams;
  assert.deepEqual(
    [asked.get('connection'), asked.get('prompt'), asked.get('max_age'), asked.get('response_mode')],
    [SAML_CONNECTION, 'login', '0', 'web_message'],
  );
  assert.equal(authorize.status, 303, dump(entries));
  const sso = entries.find((e) => e.kind === 'request' && e.url.startsWith(`${opOrigin}/samlp/${samlApp.client_id}?`));
  assert.ok(sso, dump(entries));
  const ssoQuery = new URL(sso.url).searchParams;
  assert.ok(ssoQuery.get('RelayState'), sso.url);
  const authnRequest = samlXml(ssoQuery.get('SAMLRequest'), true);
  assert.match(authnRequest, /<samlp:AuthnRequest /, authnRequest);
  assert.ok(authnRequest.includes(`AssertionConsumerServiceURL="${acs}"`), authnRequest);
  assert.ok(authnRequest.includes(`Destination="${opOrigin}/samlp/${samlApp.client_id}"`), authnRequest);

  // The provider's answer: a signed Response about Alex (NameID: the provider's user_id), posted
  // by the browser to gatehouse's assertion consumer service.
  const posted = entries.find((e) => e.kind === 'request' && e.method === 'POST' && e.url === acs);
  assert.ok(posted, dump(entries));
  const form = new URLSearchParams(posted.body);
  assert.equal(form.get('RelayState'), ssoQuery.get('RelayState'));
  const response = samlXml(form.get('SAMLResponse'), false);
  assert.match(response, /<(\w+:)?Signature[\s>]/, response);
  assert.match(response, new RegExp(`<(\\w+:)?NameID[^>]*>${opAlex.user_id.replace('|', '\\|')}</`), response);
  const answered = entries.find((e) => e.kind === 'response' && e.method === 'POST' && e.url === acs);
  assert.equal(answered?.status, 200, dump(entries)); // the web_message page for the popup

  samlIdentity = `${SAML_CONNECTION}|${opAlex.user_id}`;
  const shown = await identitiesShown();
  assert.deepEqual(shown[1], { connection: SAML_CONNECTION, provider: 'samlp', userId: samlIdentity });
  const linked = entries.find((e) => e.kind === 'response' && e.method === 'POST' && e.url === `${ghOrigin}/api/v2/users/${encodeURIComponent(alexSub)}/identities`);
  assert.equal(linked?.status, 201, dump(entries));

  // The Management API: the primary holds the identity; the SAML user is no longer one of its own.
  assert.deepEqual(await identitiesOf(alexSub), [
    { provider: 'auth0', connection: 'Username-Password-Authentication', user_id: alexSub.slice('auth0|'.length), isSocial: false },
    { provider: 'samlp', connection: SAML_CONNECTION, user_id: samlIdentity, isSocial: false },
  ]);
  const primary = await mgmt('GET', `/users/${encodeURIComponent(alexSub)}`);
  assert.equal(primary.identities[1].profileData?.email, ALEX_SSO, JSON.stringify(primary));
  assert.equal((await userOrError(`samlp|${samlIdentity}`)).statusCode, 404);
});

samlStep('saml: log out, log in through the SAML connection and land on the primary', async () => {
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Log out' }).click()]);
  await until({ loggedOut: true });
  await Promise.all([page.waitForURL((u) => u.origin === ghOrigin), page.getByRole('button', { name: 'Log in' }).click()]);
  const mark = log.length;
  // The provider still has Alex's session from the popup: no form there this time, only the
  // page that posts its Response to gatehouse.
  await page.getByRole('link', { name: 'Continue with Corp SAML' }).click();
  const s = await until({ rows: 2 });
  const entries = log.slice(mark);
  assert.equal(s.userId, alexSub, `a linked SAML identity logs in as the primary user\n${dump(entries)}`);
  const opOrigin = op.issuer.replace(/\/$/, '');
  const sso = entries.find((e) => e.kind === 'response' && e.url.startsWith(`${opOrigin}/samlp/${samlApp.client_id}?`));
  assert.equal(sso?.status, 200, dump(entries));
  assert.ok(!entries.some((e) => e.kind === 'request' && e.url.startsWith(`${opOrigin}/u/login`)), dump(entries));
  const acs = `${ghOrigin}/login/callback?connection=${SAML_CONNECTION}`;
  assert.ok(entries.some((e) => e.kind === 'request' && e.method === 'POST' && e.url === acs), dump(entries));
});

samlStep('saml: unlink the SAML identity (user_id "corp-saml|auth0|...", sent as %7C)', async () => {
  const remaining = await unlinkThroughApp('samlp', samlIdentity, 1, alexSub);
  assert.deepEqual(remaining.map((i) => i.provider), ['auth0']);
  const own = await mgmt('GET', `/users/${encodeURIComponent(`samlp|${samlIdentity}`)}`);
  assert.deepEqual(own.identities.map((i) => [i.provider, i.connection, i.user_id, i.isSocial]), [['samlp', SAML_CONNECTION, samlIdentity, false]]);
  assert.equal(own.email, ALEX_SSO);
});
