// The Lock account linking sample (examples/lock-account-linking: auth0-lock 14.3.0 with its
// auth0-js, bundled with esbuild, served by its own server.mjs) in headless Chromium against
// gatehouse, with real SMTP and SMS gateway receivers. Every login is Lock's embedded login in
// redirect mode: /co/authenticate (a password, or a passwordless code) for a login ticket,
// then /authorize?login_ticket=... back to the page with the tokens in the fragment; or a
// magic link from /passwordless/start. The story: log in with a password; link a second
// password account (merging its user_metadata), a phone number (SMS code), an email address
// (code) and another one (magic link); unlink the password account, which is a user of its
// own again; reload, log out.
//
// The app is on http://localhost:APP_PORT and the issuer is http://localhost:GH_PORT/: the
// same site, so gatehouse's cookies (the login ticket's binding, the session Lock's silent
// check looks for) reach it on plain http, where SameSite=None cannot be had.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { startGatehouse } from '../openid_client/gatehouse.mjs';
import { startSmsGateway, startSmtp } from '../spa_account_linking/receivers.mjs';

const sample = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'lock-account-linking');

const DATABASE = 'Username-Password-Authentication';
const PASSWORD = 'Correct-horse-battery-9';
const EMAIL = 'robin@example.com'; // the primary, a password account
const SECOND = 'robin.work@example.com'; // a second password account, linked with its metadata
const PHONE = '+14155550142'; // typed as 4155550142: gatehouse's country (US) gives the +1
const CODE_EMAIL = 'robin.codes@example.com'; // linked by an email code
const LINK_EMAIL = 'robin.links@example.com'; // linked by a magic link

const SCOPE = ['openid', 'profile', 'email', 'read:current_user', 'update:current_user_identities', 'update:current_user_metadata'];
const LINK_SCOPE = ['openid', 'profile', 'email', 'read:current_user'];
const PASSWORD_REALM = 'http://auth0.com/oauth/grant-type/password-realm';
const OTP = 'http://auth0.com/oauth/grant-type/passwordless/otp';

let gh, mailbox, sms, app, browser, context, page, appUrl, ghOrigin, spa, audience;
const log = []; // requests and responses to gatehouse seen by the browser
const elsewhere = []; // requests to anything but the app and gatehouse (there should be none)
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
    readdirSync(join(sample, d)).filter((f) => /\.(js|mjs|html|css|svg|json)$/.test(f)).map((f) => join(sample, d, f)),
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

let primarySub, secondSub;

before(async () => {
  buildSample();
  [gh, mailbox, sms, browser] = await Promise.all([
    startGatehouse({ host: 'localhost' }),
    startSmtp(),
    startSmsGateway(),
    chromium.launch({ executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium' }),
  ]);
  ghOrigin = gh.issuer.replace(/\/$/, '');
  audience = `${gh.issuer}api/v2/`;
  const appPort = await freePort();
  appUrl = `http://localhost:${appPort}`;

  // What the README tells a newcomer to create, through the Management API.
  await mgmt('POST', '/emails/provider', {
    name: 'smtp',
    default_from_address: 'login@example.com',
    credentials: { smtp_host: '127.0.0.1', smtp_port: mailbox.port, smtp_user: '', smtp_pass: '' },
  });
  spa = await mgmt('POST', '/clients', {
    name: 'Lock account linking sample',
    app_type: 'spa',
    callbacks: [appUrl],
    allowed_logout_urls: [appUrl],
    web_origins: [appUrl],
    allowed_origins: [appUrl],
    cross_origin_authentication: true,
    grant_types: ['implicit'],
  });
  assert.equal(spa.cross_origin_authentication, true, JSON.stringify(spa));
  // A new application is enabled on the database connection; the passwordless ones are
  // created for it.
  const [database] = (await mgmt('GET', '/connections')).filter((c) => c.name === DATABASE);
  assert.ok(database?.enabled_clients.includes(spa.client_id), JSON.stringify(database));
  await mgmt('POST', '/connections', {
    name: 'email',
    strategy: 'email',
    enabled_clients: [spa.client_id],
    options: {
      email: {
        subject: 'Log in to {{ application.name }}',
        body: "{% if send == 'code' %}Code: {{ code }}{% else %}Open this link to log in: {{ link }}{% endif %}",
      },
    },
  });
  await mgmt('POST', '/connections', {
    name: 'sms',
    strategy: 'sms',
    enabled_clients: [spa.client_id],
    options: { provider: 'sms_gateway', gateway_url: sms.url, template: 'Code @@password@@' },
  });
  // The two password accounts, each with user_metadata of its own.
  primarySub = (
    await mgmt('POST', '/users', {
      connection: DATABASE,
      email: EMAIL,
      password: PASSWORD,
      name: 'Robin',
      user_metadata: { theme: 'dark', tags: ['web'] },
    })
  ).user_id;
  secondSub = (
    await mgmt('POST', '/users', {
      connection: DATABASE,
      email: SECOND,
      password: PASSWORD,
      user_metadata: { theme: 'light', plan: 'pro', tags: ['work'], address: { city: 'Lyon' } },
    })
  ).user_id;

  // The sample as a newcomer runs it: PORT, GATEHOUSE_DOMAIN, CLIENT_ID.
  app = await serveSample({ PORT: String(appPort), GATEHOUSE_DOMAIN: ghOrigin, CLIENT_ID: spa.client_id });
  assert.equal(app.url, appUrl);

  context = await browser.newContext();
  context.setDefaultTimeout(15_000);
  const origin = (url) => {
    try {
      return new URL(url).origin;
    } catch {
      return '';
    }
  };
  context.on('request', (r) => {
    const o = origin(r.url());
    if (o === ghOrigin) log.push({ kind: 'request', method: r.method(), url: r.url(), body: r.postData() });
    else if (o !== appUrl && !/^(data|about|blob):/.test(r.url())) elsewhere.push(r.url());
  });
  context.on('response', (r) => {
    if (origin(r.url()) !== ghOrigin) return;
    const entry = { kind: 'response', method: r.request().method(), status: r.status(), url: r.url() };
    if (r.headers().location) entry.location = r.headers().location;
    log.push(entry);
    // /co/authenticate's CORS headers and cookie (set-cookie is only in allHeaders()).
    if (new URL(r.url()).pathname === '/co/authenticate') bodies.push(r.allHeaders().then((h) => (entry.headers = h), () => {}));
    // A redirect has no body to read.
    if (r.status() < 300 || r.status() >= 400) bodies.push(r.text().then((t) => (entry.body = t.slice(0, 2000)), () => {}));
  });
  context.on('console', (m) => {
    if (m.type() === 'error') log.push({ kind: 'console', text: m.text() });
  });
  page = await context.newPage();
  page.on('pageerror', (e) => log.push({ kind: 'pageerror', text: e.message }));
});

after(async () => {
  // The processes first: they must not outlive the run, even if closing the browser fails.
  app?.stop();
  gh?.stop();
  mailbox?.close();
  sms?.close();
  await browser?.close();
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

// The primary's identities (provider, connection, user_id) by the Management API.
async function identitiesOf(userId) {
  const user = await mgmt('GET', `/users/${encodeURIComponent(userId)}`);
  return user.identities.map(({ provider, connection, user_id }) => `${provider}|${connection}|${user_id}`);
}

// The open Lock.
const lock = () => page.locator('.auth0-lock.auth0-lock-opened');

// Clicks one of the app's buttons and waits for the Lock it opens.
async function openLock(button) {
  await page.getByRole('button', { name: button, exact: true }).click();
  await lock().locator('button.auth0-lock-submit').waitFor();
}

// What the open Lock shows, for failure messages.
const lockText = () => lock().innerText({ timeout: 1000 }).catch(() => '(no Lock open)');

// Runs `fn` (something with the open Lock); a failure tells what Lock and gatehouse said.
async function inLock(what, fn) {
  try {
    return await fn();
  } catch (e) {
    await Promise.all(bodies);
    throw new Error(`${what}: ${e.message}\nLock shows: ${await lockText()}\n${dump()}`);
  }
}

// Submits the open Lock and waits for the page it leads to (back at the app).
function submitLock() {
  return inLock('submitting Lock', () =>
    Promise.all([
      page.waitForURL((u) => u.origin === appUrl && u.hash.includes('access_token='), { waitUntil: 'commit' }),
      lock().locator('button.auth0-lock-submit').click(),
    ]),
  );
}

// Fills the open Lock's `field` (an input's name) once Lock shows it.
const fillLock = (field, value) => inLock(`Lock's ${field}`, () => lock().locator(`input[name=${field}]`).fill(value));

// The entries of `log` since `mark` that match.
const since = (mark) => ({
  request: (method, path) => log.slice(mark).filter((e) => e.kind === 'request' && e.method === method && new URL(e.url).pathname === path),
  response: (method, path) => log.slice(mark).filter((e) => e.kind === 'response' && e.method === method && new URL(e.url).pathname === path),
  all: () => log.slice(mark),
});

const verifiersSeen = new Set();

// What one embedded login sent: /co/authenticate's body, and the /authorize that redeemed the
// ticket (and where that sent the browser).
async function embeddedLogin(mark) {
  await Promise.all(bodies);
  const s = since(mark);
  const [co] = s.request('POST', '/co/authenticate');
  assert.ok(co, `no /co/authenticate\n${dump(s.all())}`);
  const [coAnswer] = s.response('POST', '/co/authenticate');
  assert.equal(coAnswer?.status, 200, dump(s.all()));
  // Credentialed CORS for the app's origin, and the cookie that binds the ticket to this browser.
  assert.equal(coAnswer.headers?.['access-control-allow-origin'], appUrl, dump(s.all()));
  assert.equal(coAnswer.headers['access-control-allow-credentials'], 'true');
  assert.match(coAnswer.headers['set-cookie'] ?? '', /^gh_co=/);
  const authorize = s.response('GET', '/authorize').find((e) => new URL(e.url).searchParams.get('login_ticket'));
  assert.ok(authorize, `no /authorize with the login ticket\n${dump(s.all())}`);
  const query = new URL(authorize.url).searchParams;
  // The answer's body is gone with the page that read it; what auth0-js kept of it is not: the
  // co_verifier, in a cookie of the app's origin named after gatehouse's origin and the co_id.
  const prefix = `co/verifier/${encodeURIComponent(ghOrigin)}/`;
  const fresh = (await context.cookies(appUrl))
    .map((c) => decodeURIComponent(c.name))
    .filter((n) => n.startsWith(prefix) && !verifiersSeen.has(n));
  assert.equal(fresh.length, 1, `one new ${prefix}<co_id> cookie: ${fresh}`);
  verifiersSeen.add(fresh[0]);
  // A redirect (gatehouse answers 303 See Other) to the app, the tokens in the fragment.
  assert.ok([302, 303].includes(authorize.status), dump(s.all()));
  const back = new URL(authorize.location);
  assert.equal(back.origin, appUrl);
  const fragment = new URLSearchParams(back.hash.slice(1));
  for (const k of ['access_token', 'id_token', 'state', 'expires_in']) assert.ok(fragment.get(k), `${k} in ${back.hash}`);
  assert.equal(fragment.get('state'), query.get('state'));
  return { body: JSON.parse(co.body), query };
}

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

step('log in with Lock (database): /co/authenticate, /authorize with the ticket, the profile from /api/v2/users/{id}', async () => {
  await page.goto(appUrl);
  await until({ loggedOut: true });
  const mark = log.length;
  await openLock('Log in');
  assert.equal(await lock().locator('.auth0-lock-name').textContent(), 'Account linking');
  // Lock took the application's settings from gatehouse's client script.
  assert.ok(since(mark).response('GET', `/client/${spa.client_id}.js`).some((e) => e.status === 200), dump(since(mark).all()));
  await fillLock('email', EMAIL);
  await fillLock('password', PASSWORD);
  await submitLock();
  const s = await until({ rows: 1, userId: primarySub });
  assert.equal(await page.locator('#user-email').textContent(), EMAIL);
  assert.deepEqual(await identitiesShown(), [{ connection: DATABASE, provider: 'auth0', userId: primarySub.slice('auth0|'.length) }]);
  assert.deepEqual(JSON.parse(await page.locator('#metadata').textContent()), { theme: 'dark', tags: ['web'] });

  const { body, query } = await embeddedLogin(mark);
  assert.deepEqual(body, { client_id: spa.client_id, username: EMAIL, password: PASSWORD, realm: DATABASE, credential_type: PASSWORD_REALM });
  // The Management API's audience, with the scopes a person has on their own account.
  assert.equal(query.get('response_type'), 'token id_token');
  assert.equal(query.get('audience'), audience);
  assert.deepEqual(query.get('scope').split(' ').sort(), [...SCOPE].sort());
  assert.equal(query.get('realm'), DATABASE);
  // The tokens stay in localStorage for the redirects to come.
  const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('primary')));
  assert.equal(stored.sub, s.userId);
  const claims = JSON.parse(Buffer.from(stored.accessToken.split('.')[1], 'base64url'));
  assert.ok([claims.aud].flat().includes(audience), JSON.stringify(claims));
});

step('link a second password account with Lock, merging its user_metadata first (primary wins, arrays concatenated)', async () => {
  await page.getByLabel("Merge the other account's user_metadata into mine").check();
  const mark = log.length;
  await openLock('Link a password account');
  assert.equal(await lock().locator('.auth0-lock-name').textContent(), 'Link a password account');
  await fillLock('email', SECOND);
  await fillLock('password', PASSWORD);
  await submitLock();
  const s = await until({ rows: 2, status: 'Linked' });
  assert.equal(s.userId, primarySub, 'the logged-in user stays the primary');

  const { body, query } = await embeddedLogin(mark);
  assert.equal(body.username, SECOND);
  assert.deepEqual(query.get('scope').split(' ').sort(), [...LINK_SCOPE].sort());
  // rememberLastLogin: false, so Lock did not look for a session (no silent /authorize).
  assert.ok(!since(mark).request('GET', '/authorize').some((e) => new URL(e.url).searchParams.get('prompt') === 'none'), dump(since(mark).all()));

  // The metadata was merged (PATCH) before the link (POST), and the link answered 201.
  const enc = encodeURIComponent;
  const calls = since(mark)
    .all()
    .filter((e) => e.kind === 'response' && new URL(e.url).pathname.startsWith('/api/v2/'))
    .map((e) => `${e.method} ${decodeURIComponent(new URL(e.url).pathname)} ${e.status}`);
  const patch = calls.indexOf(`PATCH /api/v2/users/${primarySub} 200`);
  const link = calls.indexOf(`POST /api/v2/users/${primarySub}/identities 201`);
  assert.ok(calls.includes(`GET /api/v2/users/${secondSub} 200`), calls.join('\n'));
  assert.ok(patch >= 0 && link > patch, calls.join('\n'));
  const [linked] = since(mark).response('POST', `/api/v2/users/${enc(primarySub)}/identities`);
  assert.deepEqual(
    JSON.parse(linked.body).map((i) => `${i.provider}|${i.user_id}`),
    [primarySub, secondSub],
  );

  const primary = await mgmt('GET', `/users/${enc(primarySub)}`);
  assert.deepEqual(primary.user_metadata, { theme: 'dark', tags: ['web', 'work'], plan: 'pro', address: { city: 'Lyon' } });
  assert.deepEqual(JSON.parse(await page.locator('#metadata').textContent()), primary.user_metadata);
  assert.deepEqual(await identitiesOf(primarySub), [
    `auth0|${DATABASE}|${primarySub.slice(6)}`,
    `auth0|${DATABASE}|${secondSub.slice(6)}`,
  ]);
  assert.equal(primary.identities[1].profileData?.email, SECOND, JSON.stringify(primary));
  assert.equal((await gh.mgmt('GET', `/users/${enc(secondSub)}`)).statusCode, 404, 'the second account is no longer a user of its own');
  assert.deepEqual(await identitiesShown(), [
    { connection: DATABASE, provider: 'auth0', userId: primarySub.slice(6) },
    { connection: DATABASE, provider: 'auth0', userId: secondSub.slice(6) },
  ]);
  await page.getByLabel("Merge the other account's user_metadata into mine").uncheck();
});

let phoneSub;

step('link a phone number with Lock passwordless (SMS code from the gateway)', async () => {
  const mark = log.length;
  await openLock('Link a phone number (code by text message)');
  // The country preselected is gatehouse's (/user/geoloc/country): the United States, +1.
  const [geoloc] = since(mark).response('GET', '/user/geoloc/country');
  assert.equal(geoloc?.status, 200, dump(since(mark).all()));
  await Promise.all(bodies);
  assert.deepEqual(JSON.parse(geoloc.body), { country_code: 'US' });
  await fillLock('phoneNumber', PHONE.slice(2));
  await lock().locator('button.auth0-lock-submit').click();
  const code = await sms.code(PHONE);
  await fillLock('vcode', code);
  await submitLock();
  const s = await until({ rows: 3, status: 'Linked' });
  assert.equal(s.userId, primarySub);

  const [start] = since(mark).request('POST', '/passwordless/start');
  const sent = JSON.parse(start.body);
  assert.deepEqual([sent.connection, sent.phone_number, sent.send], ['sms', PHONE, 'code']);
  const { body } = await embeddedLogin(mark);
  assert.deepEqual(body, { client_id: spa.client_id, username: PHONE, otp: code, realm: 'sms', credential_type: OTP });

  const shown = await identitiesShown();
  assert.deepEqual([shown[2].connection, shown[2].provider], ['sms', 'sms']);
  phoneSub = `sms|${shown[2].userId}`;
  const identities = await identitiesOf(primarySub);
  assert.equal(identities[2], `sms|sms|${shown[2].userId}`);
  const primary = await mgmt('GET', `/users/${encodeURIComponent(primarySub)}`);
  assert.equal(primary.identities[2].profileData?.phone_number, PHONE, JSON.stringify(primary));
});

let codeEmailSub;

step('link an email address with Lock passwordless (code from SMTP)', async () => {
  const mark = log.length;
  await openLock('Link an email address (code by email)');
  await fillLock('email', CODE_EMAIL);
  await lock().locator('button.auth0-lock-submit').click();
  const code = await mailbox.code(CODE_EMAIL);
  await fillLock('vcode', code);
  await submitLock();
  const s = await until({ rows: 4, status: 'Linked' });
  assert.equal(s.userId, primarySub);

  const [start] = since(mark).request('POST', '/passwordless/start');
  const sent = JSON.parse(start.body);
  assert.deepEqual([sent.connection, sent.email, sent.send], ['email', CODE_EMAIL, 'code']);
  const { body } = await embeddedLogin(mark);
  assert.deepEqual(body, { client_id: spa.client_id, username: CODE_EMAIL, otp: code, realm: 'email', credential_type: OTP });

  const shown = await identitiesShown();
  assert.deepEqual([shown[3].connection, shown[3].provider], ['email', 'email']);
  codeEmailSub = `email|${shown[3].userId}`;
  assert.equal((await identitiesOf(primarySub))[3], `email|email|${shown[3].userId}`);
  const primary = await mgmt('GET', `/users/${encodeURIComponent(primarySub)}`);
  assert.equal(primary.identities[3].profileData?.email, CODE_EMAIL, JSON.stringify(primary));
});

step('link an email address with a magic link (the intent to link waits in localStorage)', async () => {
  const mark = log.length;
  await openLock('Link an email address (link by email)');
  await fillLock('email', LINK_EMAIL);
  await lock().locator('button.auth0-lock-submit').click();
  await inLock('the magic link sent', () => lock().getByText('We sent you a link to log in').waitFor());
  const intent = await page.evaluate(() => JSON.parse(localStorage.getItem('linking')));
  assert.equal(intent?.kind, 'email-link');

  const [start] = since(mark).request('POST', '/passwordless/start');
  const sent = JSON.parse(start.body);
  assert.deepEqual([sent.connection, sent.email, sent.send], ['email', LINK_EMAIL, 'link']);
  // The authorization request the link completes.
  const params = sent.authParams;
  assert.equal(params.response_type, 'token id_token');
  assert.equal(params.redirect_uri, appUrl);
  assert.equal(params.audience, audience);
  assert.deepEqual(params.scope.split(' ').sort(), [...LINK_SCOPE].sort());
  assert.ok(params.state && params.nonce, JSON.stringify(params));

  // The mail's link, opened in the same browser: gatehouse's page asks for a click first.
  const link = new URL(await mailbox.link(LINK_EMAIL));
  assert.equal(`${link.origin}${link.pathname}`, `${ghOrigin}/passwordless/verify_redirect`);
  await page.goto(link.href);
  await Promise.all([
    page.waitForURL((u) => u.origin === appUrl && u.hash.includes('access_token='), { waitUntil: 'commit' }),
    page.getByRole('button', { name: 'Log in' }).click(),
  ]);
  const s = await until({ rows: 5, status: 'Linked' });
  assert.equal(s.userId, primarySub);
  const [verified] = since(mark).response('POST', '/passwordless/verify_redirect');
  const back = new URL(verified.location);
  assert.equal(new URLSearchParams(back.hash.slice(1)).get('state'), params.state, verified.location);
  assert.equal(await page.evaluate(() => localStorage.getItem('linking')), null);

  const shown = await identitiesShown();
  assert.deepEqual([shown[4].connection, shown[4].provider], ['email', 'email']);
  assert.equal((await identitiesOf(primarySub))[4], `email|email|${shown[4].userId}`);
  const primary = await mgmt('GET', `/users/${encodeURIComponent(primarySub)}`);
  assert.equal(primary.identities[4].profileData?.email, LINK_EMAIL, JSON.stringify(primary));
  // Every secondary is gone as a user of its own; the primary is the only user.
  const users = await mgmt('GET', '/users?per_page=50');
  assert.deepEqual(users.map((u) => u.user_id), [primarySub], JSON.stringify(users));
  assert.ok(phoneSub && codeEmailSub);
});

step('unlink the second password account: DELETE /users/{id}/identities/auth0/{user_id}; it is a user of its own again', async () => {
  const mark = log.length;
  await page.getByRole('button', { name: `Unlink ${secondSub}` }).click();
  const s = await until({ rows: 4, status: 'Unlinked' });
  assert.equal(s.userId, primarySub);
  const [answer] = since(mark).response('DELETE', `/api/v2/users/${encodeURIComponent(primarySub)}/identities/auth0/${secondSub.slice(6)}`);
  assert.equal(answer?.status, 200, dump(since(mark).all()));
  assert.deepEqual(JSON.parse(answer.body).map((i) => i.connection), [DATABASE, 'sms', 'email', 'email']);

  assert.deepEqual((await identitiesOf(primarySub)).map((i) => i.split('|')[0]), ['auth0', 'sms', 'email', 'email']);
  const own = await mgmt('GET', `/users/${encodeURIComponent(secondSub)}`);
  assert.deepEqual(own.identities.map((i) => `${i.provider}|${i.connection}|${i.user_id}`), [`auth0|${DATABASE}|${secondSub.slice(6)}`]);
  assert.equal(own.email, SECOND);
  // The merged metadata stays with the primary.
  const primary = await mgmt('GET', `/users/${encodeURIComponent(primarySub)}`);
  assert.deepEqual(primary.user_metadata, { theme: 'dark', tags: ['web', 'work'], plan: 'pro', address: { city: 'Lyon' } });
});

step('reload (the primary comes back from localStorage), then log out through /v2/logout', async () => {
  await page.reload();
  const s = await until({ rows: 4 });
  assert.equal(s.userId, primarySub);
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: 'Log out' }).click()]);
  await until({ loggedOut: true });
  assert.equal(new URL(page.url()).origin, appUrl);
  const [logout] = log.filter((e) => e.kind === 'request' && new URL(e.url).pathname === '/v2/logout');
  assert.ok(logout, dump());
  const q = new URL(logout.url).searchParams;
  assert.deepEqual([q.get('client_id'), q.get('returnTo')], [spa.client_id, appUrl]);
  assert.equal(await page.evaluate(() => localStorage.getItem('primary')), null);
});

step('log in with an email code (Lock passwordless): the linked identity logs in as the primary; nothing else was contacted', async () => {
  const mark = log.length;
  await openLock('Log in with a code by email');
  await fillLock('email', CODE_EMAIL);
  await lock().locator('button.auth0-lock-submit').click();
  await fillLock('vcode', await mailbox.code(CODE_EMAIL));
  await submitLock();
  const s = await until({ rows: 4 });
  assert.equal(s.userId, primarySub, 'a linked identity logs in as its primary user');
  const { body, query } = await embeddedLogin(mark);
  assert.equal(body.realm, 'email');
  assert.deepEqual(query.get('scope').split(' ').sort(), [...SCOPE].sort());

  // Lock fetched no language file, logo, avatar or settings from Auth0's CDN or gravatar.com.
  assert.deepEqual(elsewhere, []);
  assert.deepEqual(log.filter((e) => e.kind === 'pageerror'), []);
});
