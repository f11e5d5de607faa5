// The account linking sample (examples/spa-account-linking: auth0-spa-js, built with esbuild,
// served by its own server.mjs) in headless Chromium against gatehouse, with real SMTP and
// SMS gateway receivers: sign up, link an email and a phone identity in popups (merging
// user_metadata), log out, log in with the email code and land on the same user, unlink.
//
// The app is on http://localhost:APP_PORT and the issuer is http://localhost:GH_PORT/: both
// secure contexts, and the same site, so gatehouse's session cookie reaches the SDK's iframe.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { startGatehouse } from '../openid_client/gatehouse.mjs';
import { startSmsGateway, startSmtp } from './receivers.mjs';

const sample = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'spa-account-linking');

const EMAIL = 'robin@example.com';
const PASSWORD = 'Correct-horse-battery-9';
const CODE_EMAIL = 'robin.codes@example.com';
const PHONE = '+14155550142';

let gh, smtp, sms, app, browser, context, page, appUrl, ghOrigin, spa;
const log = []; // gatehouse requests and responses seen by the browser, for failure messages
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
  [gh, smtp, sms, browser] = await Promise.all([
    startGatehouse({ host: 'localhost' }),
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

  // The sample as a newcomer runs it: PORT, GATEHOUSE_DOMAIN, CLIENT_ID.
  app = await serveSample({ PORT: String(appPort), GATEHOUSE_DOMAIN: ghOrigin, CLIENT_ID: spa.client_id });
  assert.equal(app.url, appUrl);

  context = await browser.newContext();
  context.setDefaultTimeout(15_000);
  context.on('request', (r) => {
    if (r.url().startsWith(ghOrigin)) log.push({ kind: 'request', method: r.method(), url: r.url(), body: r.postData() });
  });
  context.on('response', (r) => {
    if (!r.url().startsWith(ghOrigin)) return;
    const entry = { kind: 'response', method: r.request().method(), status: r.status(), url: r.url() };
    log.push(entry);
    bodies.push(r.text().then((t) => (entry.body = t.slice(0, 2000)), () => {}));
  });
  context.on('console', (m) => {
    if (m.type() === 'error') log.push({ kind: 'console', text: m.text() });
  });
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
  app?.stop();
  smtp?.close();
  sms?.close();
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

// Clicks a "Link ..." button of the app and logs in inside the popup it opens.
async function linkThroughPopup(button, loginInPopup) {
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.getByRole('button', { name: button }).click()]);
  popup.setDefaultTimeout(15_000);
  await popup.waitForURL((u) => u.origin === ghOrigin);
  const closed = popup.waitForEvent('close');
  await loginInPopup(popup);
  await closed; // the SDK closes it once the web_message response arrived
}

let primarySub;
let emailIdentity;

// The scenario is one story: once a step fails, the later ones are skipped, not timed out.
let failed = false;
function step(name, fn) {
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
