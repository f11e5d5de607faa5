// The admin dashboard at /admin end to end in headless Chromium (Debian's, CHROMIUM_BIN):
//
// 1. the first administrator made with the real CLI (`gatehouse admin create`), the password
//    set through the one-time link, sign-in through Universal Login;
// 2. a single-page application, its URLs, an API with a scope, the database connection and a
//    user, all through the dashboard's forms; the quickstart's domain and client id read off
//    the Getting started page;
// 3. a real auth0-spa-js page configured with exactly those values logs the user in;
// 4. the user blocked on their page, and fresh logins refused (a new browser, and the one
//    that had a session);
// 5. the home charts counting those logins and the refused ones;
// 6. axe-core on every page (no serious or critical violation) and the skip link by keyboard;
// 7. every page again with JavaScript off, a role created through a form;
// 8. screenshots (artifacts/, gitignored); with UPDATE_DOCS_IMAGES=1, two copied to
//    docs/images/ for the README (committed, so they change only when asked).
//
// gatehouse's issuer is http://localhost:GH_PORT/ and the SPA is served from
// http://localhost:APP_PORT: both secure contexts (auth0-spa-js needs WebCrypto).
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const SDK = readFileSync(require.resolve('@auth0/auth0-spa-js/dist/auth0-spa-js.production.js'));
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const ARTIFACTS = join(here, 'artifacts');
const DOCS_IMAGES = join(here, '..', '..', 'docs', 'images');

const ADMIN_EMAIL = 'root@example.com';
const ADMIN_PASSWORD = 'Adm1n-Passw0rd!x';
const USER_EMAIL = 'jane@example.com';
const USER_PASSWORD = 'Jane-Passw0rd!x';
const APP_NAME = 'Timesheets SPA';
const API_NAME = 'Timesheets API';
const API_ID = 'https://timesheets.example.com/api';
const SCOPE = 'read:timesheets';
const DATABASE = 'Username-Password-Authentication';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

// ---- gatehouse, started as an operator would: settings in the environment ----

const freePort = () =>
  new Promise((resolve) => {
    const s = createNetServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function startGatehouse() {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-admin-'));
  const port = await freePort();
  const issuer = `http://localhost:${port}/`;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_')));
  Object.assign(env, {
    GATEHOUSE_LOG_LEVEL: 'warn',
    GATEHOUSE_LISTEN: `127.0.0.1:${port}`,
    GATEHOUSE_ISSUER: issuer,
    GATEHOUSE_BOOTSTRAP_CLIENT_ID: 'interop-admin-dashboard',
    GATEHOUSE_BOOTSTRAP_CLIENT_SECRET: randomBytes(32).toString('base64url'),
  });
  const proc = spawn(process.env.GATEHOUSE_BIN, ['serve'], { cwd: dir, env });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    } catch {}
    if (i > 400) throw new Error(`gatehouse did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  // `gatehouse admin create` with the server's own environment and working directory.
  const cli = (...args) => promisify(execFile)(process.env.GATEHOUSE_BIN, args, { cwd: dir, env });
  const stop = () => {
    proc.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  return { issuer, origin: issuer.replace(/\/$/, ''), cli, stop, output: () => out };
}

// ---- the single-page application: auth0-spa-js, configured with the copied values ----

let spaConfig = null; // {domain, clientId}, set from the Getting started page
const SPA_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Timesheets</title>
<script src="/auth0-spa-js.js"></script><script type="module" src="/app.js"></script></head>
<body><h1>Timesheets</h1><p id="state">loading</p><p id="email"></p><p id="error"></p>
<button id="login" type="button">Log in</button></body></html>`;
const SPA_SCRIPT = `
const config = await (await fetch('/config.json')).json();
const client = new auth0.Auth0Client({
  domain: config.domain,
  clientId: config.clientId,
  authorizationParams: { redirect_uri: location.origin + '/', scope: 'openid profile email' },
});
const query = new URLSearchParams(location.search);
const state = document.getElementById('state');
try {
  if (query.has('state') && (query.has('code') || query.has('error'))) {
    await client.handleRedirectCallback();
    history.replaceState(null, '', '/');
  }
  if (await client.isAuthenticated()) {
    document.getElementById('email').textContent = (await client.getUser()).email;
    state.textContent = 'signed in';
  } else {
    state.textContent = 'signed out';
  }
} catch (e) {
  document.getElementById('error').textContent = (e.error || e.name) + ': ' + (e.error_description || e.message);
  state.textContent = 'failed';
}
document.getElementById('login').addEventListener('click', () => client.loginWithRedirect());
`;

let gh, app, appOrigin, appUrl, browser;
let admin; // {context, page}: the administrator's browser, JavaScript on
const consoleErrors = []; // errors (CSP violations among them) on dashboard pages

before(async () => {
  assert.ok(process.env.GATEHOUSE_BIN, 'GATEHOUSE_BIN names the gatehouse binary');
  [gh, browser] = await Promise.all([
    startGatehouse(),
    chromium.launch({ executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium' }),
  ]);
  app = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const send = (type, body) => res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    if (path === '/auth0-spa-js.js') send('text/javascript', SDK);
    else if (path === '/app.js') send('text/javascript', SPA_SCRIPT);
    else if (path === '/config.json') send('application/json', JSON.stringify(spaConfig));
    else if (path === '/') send('text/html; charset=utf-8', SPA_PAGE);
    else res.writeHead(404).end();
  });
  await new Promise((r) => app.listen(0, '127.0.0.1', r));
  appOrigin = `http://localhost:${app.address().port}`;
  appUrl = `${appOrigin}/`;
  mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  app?.close();
  gh?.stop();
});

async function newAdminPage(options = {}) {
  const context = await browser.newContext({ viewport: DESKTOP, ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('console', (m) => {
    if (m.type() === 'error' && page.url().startsWith(`${gh.origin}/admin`)) consoleErrors.push(`${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
  return { context, page };
}

const dashboard = (path = '') => `${gh.origin}/admin/${path}`;
const flash = (page) => page.locator('main .flash').textContent();

// Opens a dashboard page and checks it answered 200 with its heading.
async function open(page, path) {
  const r = await page.goto(dashboard(path));
  assert.equal(r.status(), 200, `${path}: ${r.status()} ${await r.text()}`);
  assert.ok((await page.locator('h1').count()) >= 1, `${path}: no heading`);
  return r;
}

// /admin/ -> Universal Login (the administrators' connection) -> /admin/callback -> /admin/.
async function signIn(page, email, password) {
  await page.goto(dashboard());
  await page.waitForURL((u) => u.pathname === '/authorize' || u.pathname.startsWith('/u/'));
  assert.match(page.url(), /connection=gatehouse-admins/);
  await page.fill('input[name=username]', email);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL(dashboard()), page.click('button[type=submit]')]);
  assert.equal(await page.locator('h1').textContent(), 'Home');
  assert.equal((await page.locator('header .who').textContent()).trim(), email);
}

// ---- 1. the first administrator ----

test('gatehouse admin create, the one-time link in Chromium, sign-in through Universal Login', async () => {
  const { stdout } = await gh.cli('admin', 'create', '--email', ADMIN_EMAIL);
  assert.match(stdout, new RegExp(`administrator ${ADMIN_EMAIL} created \\(auth0\\|`));
  assert.ok(stdout.includes(`sign in at ${dashboard()}`), stdout);
  const link = stdout.split('\n').find((l) => l.startsWith(`${gh.origin}/`));
  assert.ok(link, `no link in:\n${stdout}`);
  assert.equal(new URL(link).pathname, '/u/reset-password');

  admin = await newAdminPage();
  const { page } = admin;
  await page.goto(link);
  await page.fill('input[name=password]', ADMIN_PASSWORD);
  await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
  await page.waitForLoadState('load');
  assert.doesNotMatch(await page.content(), /name="ticket"/, 'the password form is gone');

  await signIn(page, ADMIN_EMAIL, ADMIN_PASSWORD);
  // A refused or expired sign-in lands on the signed-out page with its "Sign in" button.
  const other = await browser.newPage();
  await other.goto(dashboard('callback'));
  assert.match(await other.locator('.flash.error').textContent(), /expired|another browser/);
  assert.equal(await other.getByRole('link', { name: 'Sign in' }).getAttribute('href'), '/admin/login');
  await other.close();
});

// ---- 2. the application, its API, connection and user, through the forms ----

let appId, apiPath, userPath, connectionPath;

test('create a single-page application and set its URLs through the forms', async () => {
  const { page } = admin;
  await open(page, 'apps');
  await page.fill('#new-name', APP_NAME);
  await page.getByLabel('Single-page application').check();
  await Promise.all([page.waitForURL(/\/admin\/apps\/[^/?]+\?done=/), page.getByRole('button', { name: 'Create' }).click()]);
  assert.equal(await flash(page), 'Application created.');
  appId = new URL(page.url()).pathname.split('/').pop();
  assert.equal(await page.locator('#client-id').textContent(), appId);
  assert.equal(await page.locator('h1').textContent(), APP_NAME);
  assert.equal(await page.locator('#app_type').inputValue(), 'spa');

  await page.fill('#callbacks', appUrl);
  await page.fill('#web_origins', appOrigin);
  await page.fill('#logout_urls', appUrl);
  await Promise.all([page.waitForURL(/done=/), page.getByRole('button', { name: 'Save changes' }).click()]);
  assert.doesNotMatch(await flash(page), /error|fail/i);
  await open(page, `apps/${appId}`);
  assert.equal(await page.locator('#callbacks').inputValue(), appUrl);
  assert.equal(await page.locator('#web_origins').inputValue(), appOrigin);
  assert.equal(await page.locator('#logout_urls').inputValue(), appUrl);
  assert.equal(await page.locator('#auth_method').inputValue(), 'none', 'a SPA has no secret');
  assert.ok(await page.getByLabel('Authorization code').isChecked());
});

test('create an API with a scope', async () => {
  const { page } = admin;
  await open(page, 'apis');
  await page.fill('#api-name', API_NAME);
  await page.fill('#api-identifier', API_ID);
  await Promise.all([page.waitForURL(/\/admin\/apis\/[^/?]+\?done=/), page.getByRole('button', { name: 'Create' }).click()]);
  apiPath = new URL(page.url()).pathname.replace('/admin/', '');
  assert.equal(await page.locator('#api-identifier').textContent(), API_ID);
  await page.fill('#scope-value', SCOPE);
  await page.fill('#scope-description', 'Read timesheets');
  await Promise.all([page.waitForURL(/done=/), page.getByRole('button', { name: 'Add scope' }).click()]);
  const row = page.locator('tr', { has: page.locator(`code:text-is("${SCOPE}")`) });
  assert.equal(await row.count(), 1);
  assert.match(await row.textContent(), /Read timesheets/);
  await open(page, 'apis');
  assert.match(await page.locator('main table').textContent(), new RegExp(`${API_NAME}\\s*${API_ID.replace(/[./]/g, '\\$&')}`));
});

test('enable the database connection for the application (Connections checkboxes)', async () => {
  const { page } = admin;
  await open(page, `apps/${appId}`);
  const box = page.locator('form[action$="/connections"] label', { hasText: DATABASE }).locator('input[type=checkbox]');
  assert.equal(await box.count(), 1, 'a checkbox for the database connection');
  await box.check();
  await Promise.all([page.waitForURL(/done=/), page.getByRole('button', { name: 'Save connections' }).click()]);
  await open(page, `apps/${appId}`);
  assert.ok(await page.locator('form[action$="/connections"] label', { hasText: DATABASE }).locator('input').isChecked());
  // The connection's page agrees.
  await open(page, 'connections');
  connectionPath = new URL(await page.getByRole('link', { name: DATABASE, exact: true }).getAttribute('href'), gh.origin).pathname.replace('/admin/', '');
  await open(page, connectionPath);
  assert.ok(await page.getByLabel(APP_NAME).isChecked());
});

test('create a user on the users page', async () => {
  const { page } = admin;
  await open(page, 'users');
  await page.selectOption('#new-connection', DATABASE);
  await page.fill('#new-email', USER_EMAIL);
  await page.fill('#new-password', USER_PASSWORD);
  await page.getByLabel('Email already verified').check();
  await Promise.all([page.waitForURL(/\/admin\/users\/[^/?]+\?done=/), page.getByRole('button', { name: 'Create user' }).click()]);
  assert.equal(await flash(page), 'User created.');
  userPath = new URL(page.url()).pathname.replace('/admin/', '');
  assert.equal(await page.locator('h1').textContent(), USER_EMAIL);
  await open(page, 'users');
  assert.equal(await page.locator('main table').getByRole('link', { name: USER_EMAIL }).count(), 1);
});

test('Getting started shows the domain and client id to copy', async () => {
  const { page } = admin;
  await open(page, `apps/${appId}`);
  await Promise.all([page.waitForURL(/\/admin\/start\?client_id=/), page.getByRole('link', { name: 'Quickstart' }).click()]);
  const domain = (await page.locator('#qs-domain').textContent()).trim();
  const clientId = (await page.locator('#qs-client-id').textContent()).trim();
  assert.equal(clientId, appId);
  assert.equal(domain, gh.origin, 'an http issuer keeps its scheme for auth0-spa-js');
  assert.match(await page.locator('main').textContent(), new RegExp(`Quickstart for ${APP_NAME}`));
  // The copy buttons appear with JavaScript.
  assert.ok(await page.locator('button[data-copy=qs-client-id]').isVisible());
  spaConfig = { domain, clientId };
});

// ---- 3 and 4. the user logs in to the SPA, is blocked, and cannot log in again ----

async function spaLogin(context) {
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(appUrl);
  await page.locator('#state:text("signed out")').waitFor();
  await Promise.all([page.waitForURL((u) => u.origin === gh.origin), page.click('#login')]);
  await page.fill('input[name=username]', USER_EMAIL);
  await page.fill('input[name=password]', USER_PASSWORD);
  await page.click('button[type=submit]');
  return page;
}

let userContext;

test('auth0-spa-js configured with the copied values logs the user in', async () => {
  userContext = await browser.newContext({ viewport: DESKTOP });
  const page = await spaLogin(userContext);
  await page.waitForURL((u) => u.origin === appOrigin);
  await page.locator('#state:text-matches("signed in|failed")').waitFor();
  assert.equal(await page.locator('#error').textContent(), '');
  assert.equal(await page.locator('#email').textContent(), USER_EMAIL);
});

test('the administrator blocks the user; a fresh login is refused', async () => {
  const { page } = admin;
  await open(page, userPath);
  await Promise.all([page.waitForURL(/done=/), page.getByRole('button', { name: 'Block', exact: true }).click()]);
  assert.match(await page.locator('h1').textContent(), /blocked/);
  assert.equal(await page.getByRole('button', { name: 'Unblock' }).count(), 1);
  await open(page, 'users');
  assert.match(await page.locator('tr', { hasText: USER_EMAIL }).textContent(), /blocked/);

  // A new browser (no session): the login page refuses the right password.
  const fresh = await browser.newContext({ viewport: DESKTOP });
  try {
    const login = await spaLogin(fresh);
    await login.locator('#error[role=alert]').waitFor();
    assert.equal(new URL(login.url()).origin, gh.origin, 'still at the login page');
    assert.equal((await login.locator('#error').textContent()).trim(), 'Your account has been blocked.');
    await login.screenshot({ path: join(ARTIFACTS, 'login-blocked.png') });
  } finally {
    await fresh.close();
  }

  // The browser that logged in before (the SDK keeps tokens in memory, so a new page starts
  // signed out): blocking ended its gatehouse session, so /authorize asks for the password
  // again instead of sending a code back to the SPA, and the password is refused.
  const again = await userContext.newPage();
  again.setDefaultTimeout(15_000);
  await again.goto(appUrl);
  await again.locator('#state:text("signed out")').waitFor();
  await Promise.all([again.waitForURL((u) => u.origin === gh.origin), again.click('#login')]);
  await again.locator('input[name=password]').waitFor();
  assert.equal(new URL(again.url()).pathname, '/authorize', 'the login page, not a code for the SPA');
  await again.fill('input[name=username]', USER_EMAIL);
  await again.fill('input[name=password]', USER_PASSWORD);
  await again.click('button[type=submit]');
  await again.locator('#error[role=alert]').waitFor();
  assert.equal((await again.locator('#error').textContent()).trim(), 'Your account has been blocked.');
  await userContext.close();
});

// ---- 5. charts from the logs ----

const chartValues = (page, id) =>
  page.locator(`#chart-${id} rect.bar`).evaluateAll((bars) => bars.map((b) => Number(b.dataset.value)));

test('the home charts count the logins and the refused login', async () => {
  const { page } = admin;
  await open(page, '');
  const logins = await chartValues(page, 'logins');
  assert.equal(logins.length, 30, 'a bar per day');
  assert.ok(logins.some((v) => v > 0), `logins ${logins}`);
  // The administrator's sign-in and the user's SPA login, today (or yesterday and today:
  // a run that crosses midnight UTC splits them over the last two bars).
  const lastTwo = (values) => values.at(-1) + values.at(-2);
  assert.ok(lastTwo(logins) >= 2, `the last two days' logins ${logins}`);
  const failures = await chartValues(page, 'failures');
  // The blocked user's two refused password logins are logged as `f` (failed login).
  assert.equal(lastTwo(failures), 2, `the last two days' failures ${failures}`);
  assert.equal(failures.reduce((a, b) => a + b), 2);
  assert.match(await page.locator('#chart-failures figcaption').textContent(), /Failures: 2 in 30 days/);
  const bar = page.locator('#chart-logins rect.bar').last();
  if (logins.at(-1) > 0) assert.ok((await bar.boundingBox()).height > 0, "today's bar is drawn");
  assert.match(await page.locator('#chart-logins desc').textContent(), /Logins per day from .* to .*; most in a day [1-9]/);
  await page.screenshot({ path: join(ARTIFACTS, 'home.png') });
  // The count is the applications page's (the SPA and the bootstrap client; never the
  // dashboard itself).
  const apps = (await page.locator('#stat-apps').textContent()).trim();
  await open(page, 'apps');
  assert.equal(String(await page.locator('main table tbody tr').count()), apps);
  assert.equal(apps, '2');
  // The logs page lists the refusal.
  await open(page, `logs?type=f`);
  assert.match(await page.locator('#log-rows').textContent(), /Your account has been blocked\./);
});

// ---- 6. axe-core and the keyboard on every page ----

// Every dashboard page: [name, path].
function allPages(rolePath, templatePath) {
  return [
    ['home', ''],
    ['start', `start?client_id=${appId}`],
    ['apps', 'apps'],
    ['app', `apps/${appId}`],
    ['apis', 'apis'],
    ['api', apiPath],
    ['connections', 'connections'],
    ['connection', connectionPath],
    ['users', 'users'],
    ['user', userPath],
    ['roles', 'roles'],
    ['role', rolePath],
    ['logs', 'logs'],
    ['tenant', 'tenant'],
    ['template', templatePath],
    ['keys', 'keys'],
    ['admins', 'admins'],
  ];
}

let rolePath, templatePath;

// ---- 7. without JavaScript (runs before the axe pass, which needs its role) ----

test('without JavaScript: sign in, create a role through the form, load every page', async () => {
  const { context, page } = await newAdminPage({ javaScriptEnabled: false });
  try {
    await signIn(page, ADMIN_EMAIL, ADMIN_PASSWORD);
    await open(page, 'roles');
    await page.fill('#role-name', 'Approver');
    await page.fill('#role-description', 'Approves timesheets');
    await Promise.all([page.waitForURL(/\/admin\/roles\/[^/?]+\?done=/), page.getByRole('button', { name: 'Create' }).click()]);
    assert.equal(await page.locator('h1').textContent(), 'Approver');
    rolePath = new URL(page.url()).pathname.replace('/admin/', '');
    // A second form: the API's scope as the role's permission.
    await page.selectOption('#add-permission', `${API_ID} ${SCOPE}`);
    await Promise.all([page.waitForURL(/done=/), page.getByRole('button', { name: 'Add', exact: true }).click()]);
    assert.equal(await page.locator(`main table code:text-is("${SCOPE}")`).count(), 1);

    await open(page, 'tenant');
    const first = page.locator('main a[href^="/admin/templates/"]').first();
    templatePath = (await first.getAttribute('href')).replace('/admin/', '');

    for (const [name, path] of allPages(rolePath, templatePath)) {
      await open(page, path);
      assert.doesNotMatch(await page.locator('main').textContent(), /Internal error/, name);
      // Copy buttons and the live tail need the script: hidden without it.
      for (const b of await page.locator('button[data-copy], #tail').all()) assert.equal(await b.isVisible(), false, `${name}: script-only button shown`);
    }
    await open(page, 'logs');
    assert.ok((await page.locator('#log-rows tr').count()) > 0, 'log rows without JavaScript');
    // The skip link without the script: the next Tab after it lands in the content.
    await open(page, 'users');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.className), 'skip');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'q', 'the search field, first in main');
  } finally {
    await context.close();
  }
});

// axe-core runs through the DevTools protocol (page.evaluate of its source): the dashboard's
// CSP (script-src 'self') stays on, and an injected <script> would have been refused by it.
async function axe(page) {
  await page.evaluate(AXE);
  const { passes, violations } = await page.evaluate(() =>
    window.axe.run(document, { resultTypes: ['violations'] }).then((r) => ({
      passes: r.passes.length,
      violations: r.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
      })),
    })),
  );
  assert.ok(passes > 10, `axe ran its rules (${passes} passed)`);
  return violations;
}

test('axe-core on every dashboard page: no serious or critical violation; screenshots', async () => {
  const { page } = admin;
  const report = {};
  const bad = [];
  const pages = [...allPages(rolePath, templatePath), ['signed-out', 'callback']];
  assert.ok(rolePath && templatePath, 'the no-JavaScript pass found a role and a template');
  // First, that axe sees through the CSP at all: an unlabelled field and low-contrast text
  // added to a page are reported.
  await open(page, 'roles');
  await page.evaluate(() => {
    const field = document.createElement('input');
    field.type = 'text';
    const faint = document.createElement('p');
    faint.textContent = 'faint';
    faint.style.color = '#eee'; // CSSOM, which the CSP allows (a style attribute it would not)
    document.querySelector('main').append(field, faint);
  });
  const probed = (await axe(page)).map((v) => v.id);
  assert.ok(probed.includes('label') && probed.includes('color-contrast'), `axe found ${probed}`);
  for (const [name, path] of pages) {
    await open(page, path);
    const violations = await axe(page);
    report[name] = violations;
    for (const v of violations.filter((v) => ['serious', 'critical'].includes(v.impact))) {
      bad.push(`${name}: ${v.id} (${v.impact}) ${v.help}\n  ${v.nodes.map((n) => `${n.target}: ${n.summary}`).join('\n  ')}`);
    }
    await page.screenshot({ path: join(ARTIFACTS, `desktop-${name}.png`), fullPage: true });
  }
  writeFileSync(join(ARTIFACTS, 'axe.json'), JSON.stringify(report, null, 1));
  const minor = Object.entries(report).flatMap(([n, vs]) => vs.filter((v) => !['serious', 'critical'].includes(v.impact)).map((v) => `${n}: ${v.id} (${v.impact})`));
  if (minor.length) console.log(`axe, moderate and minor:\n${minor.join('\n')}`);
  assert.deepEqual(bad, [], bad.join('\n'));
  assert.ok(report.home, 'the home page was checked');
});

test('keyboard: Tab reaches the skip link first, and it moves focus to main', async () => {
  const { page } = admin;
  await open(page, `apps/${appId}`);
  await page.keyboard.press('Tab');
  assert.deepEqual(await page.evaluate(() => [document.activeElement.className, document.activeElement.textContent]), ['skip', 'Skip to content']);
  assert.ok(await page.locator('a.skip').isVisible(), 'the skip link shows when focused');
  await page.keyboard.press('Enter');
  assert.equal(new URL(page.url()).hash, '#main');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'main', 'focus on main (admin.js gives it tabindex -1)');
  // The next Tab stays in the content (the copy button), not back in the header or navigation.
  await page.keyboard.press('Tab');
  assert.ok(await page.evaluate(() => document.querySelector('main').contains(document.activeElement)), 'focus inside main');
  // The navigation is reachable and marks the open section.
  assert.equal(await page.locator('nav[aria-label=Sections] a[aria-current=page]').textContent(), 'Applications');
});

test('no console errors or CSP violations on dashboard pages', () => {
  assert.deepEqual(consoleErrors, []);
});

// ---- 8. the phone and the README's pictures ----

test('screenshots: a phone-sized page, and the README images', async () => {
  const phone = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2, storageState: await admin.context.storageState() });
  try {
    const page = await phone.newPage();
    await open(page, `apps/${appId}`);
    // The navigation wraps above the content rather than squeezing it.
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= PHONE.width, `no sideways scrolling on a phone (${width}px)`);
    await page.screenshot({ path: join(ARTIFACTS, 'phone-app.png') });
    await open(page, '');
    await page.screenshot({ path: join(ARTIFACTS, 'phone-home.png'), fullPage: true });
  } finally {
    await phone.close();
  }
  const { page } = admin;
  mkdirSync(DOCS_IMAGES, { recursive: true });
  await open(page, '');
  await page.screenshot({ path: join(ARTIFACTS, 'readme-home.png') });
  await open(page, `apps/${appId}`);
  await page.screenshot({ path: join(ARTIFACTS, 'readme-app.png') });
  if (process.env.UPDATE_DOCS_IMAGES) {
    copyFileSync(join(ARTIFACTS, 'readme-home.png'), join(DOCS_IMAGES, 'dashboard-home.png'));
    copyFileSync(join(ARTIFACTS, 'readme-app.png'), join(DOCS_IMAGES, 'dashboard-app.png'));
  }
});
