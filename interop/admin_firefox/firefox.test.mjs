// The admin dashboard at /admin in Debian's Firefox ESR (FIREFOX_BIN), driven by puppeteer-core
// over WebDriver BiDi (playwright-core cannot drive a stock Firefox). The Chromium suite
// (../admin_dashboard) covers the dashboard in depth; this one checks that it works in Firefox:
//
// 1. the first administrator made with the real CLI (`gatehouse admin create`), the password
//    set through the one-time link in Firefox, sign-in at /admin/ through Universal Login;
// 2. an application and a role created through the dashboard's forms, and found through the
//    Management API with the bootstrap client's credentials;
// 3. every dashboard page renders its heading; admin.js runs under the CSP (the copy button
//    shows, the branding preview follows the primary colour field);
// 4. no JavaScript error, console error or CSP violation on any gatehouse page; a screenshot
//    of the home page (artifacts/, gitignored).
//
// gatehouse is started by ../openid_client/gatehouse.mjs (issuer http://localhost:PORT/, a
// secure context like the Chromium suite's).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import puppeteer from 'puppeteer-core';
import { startGatehouse } from '../openid_client/gatehouse.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = join(here, 'artifacts');
const FIREFOX = process.env.FIREFOX_BIN || '/usr/bin/firefox-esr';

const ADMIN_EMAIL = 'root@example.com';
const ADMIN_PASSWORD = 'Adm1n-Passw0rd!x';
const APP_NAME = 'Firefox Timesheets';
const ROLE_NAME = 'Firefox Approver';
const ROLE_DESCRIPTION = 'Approves timesheets in Firefox';

let gh, browser, page;
const errors = []; // page errors, console errors and CSP violations on gatehouse pages

// Every CSP violation on a page, recorded in the page itself: a preload script (not subject
// to the page's CSP) listens before the page's own code runs.
const RECORD_VIOLATIONS = () => {
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) =>
    window.__violations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`),
  );
};

before(async () => {
  assert.ok(process.env.GATEHOUSE_BIN, 'GATEHOUSE_BIN names the gatehouse binary');
  [gh, browser] = await Promise.all([
    startGatehouse({ host: 'localhost' }),
    puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX, headless: true }),
  ]);
  mkdirSync(ARTIFACTS, { recursive: true });
  page = await browser.newPage();
  page.setDefaultTimeout(15_000);
  await page.setViewport({ width: 1280, height: 800 });
  await page.evaluateOnNewDocument(RECORD_VIOLATIONS);
  const ours = () => page.url().startsWith(gh.issuer);
  page.on('pageerror', (e) => errors.push(`${page.url()}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && ours()) errors.push(`${page.url()}: console: ${m.text()}`);
  });
});

after(async () => {
  await browser?.close();
  gh?.stop();
});

const dashboard = (path = '') => `${gh.issuer}admin/${path}`;
const text = (selector) => page.$eval(selector, (e) => e.textContent.trim());
const violations = () => page.evaluate(() => window.__violations ?? ['the violation recorder did not run']);

// Follows a click (or a submit) to the next page.
async function navigate(action) {
  const [response] = await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), action()]);
  return response;
}

// Opens a dashboard page: 200, its heading, and no CSP violation.
async function open(path, heading) {
  const r = await page.goto(dashboard(path), { waitUntil: 'load' });
  assert.equal(r.status(), 200, `${path}: ${r.status()}`);
  assert.equal(new URL(page.url()).pathname, new URL(dashboard(path)).pathname, `${path}: not redirected`);
  assert.equal(await text('main h1'), heading, `${path}: heading`);
  assert.deepEqual(await violations(), [], `${path}: CSP violations`);
}

// The CLI against the running server: its issuer and the bootstrap client's credentials.
const cli = (...args) =>
  promisify(execFile)(process.env.GATEHOUSE_BIN, args, {
    env: {
      PATH: process.env.PATH,
      GATEHOUSE_ISSUER: gh.issuer,
      GATEHOUSE_BOOTSTRAP_CLIENT_ID: gh.credentials.clientId,
      GATEHOUSE_BOOTSTRAP_CLIENT_SECRET: gh.credentials.clientSecret,
    },
  });

test('gatehouse admin create, the one-time link in Firefox, sign-in through Universal Login', async () => {
  const { stdout } = await cli('admin', 'create', '--email', ADMIN_EMAIL);
  assert.match(stdout, new RegExp(`administrator ${ADMIN_EMAIL} created \\(auth0\\|`));
  assert.ok(stdout.includes(`sign in at ${dashboard()}`), stdout);
  const link = stdout.split('\n').find((l) => l.startsWith(gh.issuer));
  assert.ok(link, `no link in:\n${stdout}`);
  assert.equal(new URL(link).pathname, '/u/reset-password');

  await page.goto(link, { waitUntil: 'load' });
  await page.type('input[name=password]', ADMIN_PASSWORD);
  await navigate(() => page.click('button[type=submit]'));
  assert.equal(await page.$('input[name=ticket]'), null, 'the password form is gone');

  // /admin/ -> Universal Login (the administrators' connection) -> /admin/callback -> /admin/.
  await page.goto(dashboard(), { waitUntil: 'load' });
  await page.waitForSelector('input[name=username]');
  assert.match(page.url(), /connection=gatehouse-admins/);
  await page.type('input[name=username]', ADMIN_EMAIL);
  await page.type('input[name=password]', ADMIN_PASSWORD);
  await navigate(() => page.click('button[type=submit]'));
  if (page.url() !== dashboard()) await page.waitForNavigation({ waitUntil: 'load' });
  assert.equal(page.url(), dashboard());
  assert.equal(await text('main h1'), 'Home');
  assert.equal(await text('header .who'), ADMIN_EMAIL);
});

let appId, rolePath;

test('create an application through the form; the Management API has it', async () => {
  await open('apps', 'Applications');
  await page.type('#new-name', APP_NAME);
  await page.click('input[name=app_type][value=spa]');
  await navigate(() => page.click('form[action="/admin/apps"] button[type=submit]'));
  assert.match(page.url(), /\/admin\/apps\/[^/?]+\?done=/);
  assert.equal(await text('main .flash'), 'Application created.');
  appId = new URL(page.url()).pathname.split('/').pop();
  assert.equal(await text('main h1'), APP_NAME);
  assert.equal(await text('#client-id'), appId);

  const client = await gh.mgmt('GET', `/clients/${encodeURIComponent(appId)}`);
  assert.equal(client.name, APP_NAME, JSON.stringify(client));
  assert.equal(client.app_type, 'spa');
});

test('create a role through the form; the Management API has it', async () => {
  await open('roles', 'Roles');
  await page.type('#role-name', ROLE_NAME);
  await page.type('#role-description', ROLE_DESCRIPTION);
  await navigate(() => page.click('form[action="/admin/roles"] button[type=submit]'));
  assert.match(page.url(), /\/admin\/roles\/[^/?]+\?done=/);
  assert.equal(await text('main h1'), ROLE_NAME);
  rolePath = new URL(page.url()).pathname.replace('/admin/', '');

  const roles = await gh.mgmt('GET', '/roles');
  const role = roles.find((r) => r.name === ROLE_NAME);
  assert.ok(role, JSON.stringify(roles));
  assert.equal(role.description, ROLE_DESCRIPTION);
  assert.equal(decodeURIComponent(rolePath), `roles/${role.id}`, 'the page is that role\'s');
});

test('every dashboard page renders its heading; screenshot of home', async () => {
  assert.ok(appId, 'the application was created');
  const pages = [
    ['', 'Home'],
    ['start', 'Getting started'],
    ['apps', 'Applications'],
    ['apis', 'APIs'],
    ['connections', 'Connections'],
    ['users', 'Users'],
    ['roles', 'Roles'],
    ['logs', 'Logs'],
    ['tenant', 'Settings'],
    ['keys', 'Signing keys'],
    ['admins', 'Administrators'],
    [`apps/${appId}`, APP_NAME],
    [rolePath, ROLE_NAME],
  ];
  for (const [path, heading] of pages) {
    await open(path, heading);
    assert.doesNotMatch(await text('main'), /Internal error/, path);
  }
  await open('', 'Home');
  await page.screenshot({ path: join(ARTIFACTS, 'home.png') });
});

test('admin.js runs under the CSP: the copy button shows on the application page', async () => {
  await open(`apps/${appId}`, APP_NAME);
  const shown = await page.$eval('button[data-copy=client-id]', (b) => !b.hidden && b.getBoundingClientRect().width > 0);
  assert.ok(shown, 'the copy button is visible (admin.js unhid it)');
  // The skip link's target got its tabindex from the script too.
  assert.equal(await page.$eval('#main', (m) => m.getAttribute('tabindex')), '-1');
});

test('the branding preview follows the primary colour field (tenant page)', async () => {
  await open('tenant', 'Settings');
  const fill = () => page.$eval('#preview rect[data-role=primary]', (r) => r.getAttribute('fill'));
  const before = await fill();
  assert.equal(before, await page.$eval('#primary', (i) => i.value), 'the preview starts with the saved colour');
  const colour = before.toLowerCase() === '#1a7f37' ? '#b4235a' : '#1a7f37';
  await page.locator('#primary').fill(colour);
  await page.waitForFunction((c) => document.querySelector('#preview rect[data-role=primary]').getAttribute('fill') === c, {}, colour);
  assert.equal(await fill(), colour);
  assert.notEqual(await fill(), before);
});

// The listeners above can see what they are meant to see: a thrown error, console.error and
// an inline script refused by the CSP, each on a dashboard page (kept apart from `errors`).
test('the error listeners catch an error, a console error and a CSP violation', async () => {
  await open('users', 'Users');
  const seen = errors.length;
  await page.evaluate(() => {
    setTimeout(() => {
      throw new Error('probe: thrown');
    });
    console.error('probe: console');
    const s = document.createElement('script');
    s.textContent = 'window.__inline = true';
    document.body.append(s);
  });
  await page.waitForFunction(() => window.__violations.length > 0);
  for (let i = 0; i < 100 && errors.length < seen + 2; i++) await new Promise((r) => setTimeout(r, 50));
  const probes = errors.splice(seen);
  assert.ok(probes.some((e) => e.includes('probe: thrown')), `page error not seen: ${probes}`);
  assert.ok(probes.some((e) => e.includes('probe: console')), `console error not seen: ${probes}`);
  assert.match((await violations()).join('\n'), /script-src/);
  assert.equal(await page.evaluate(() => window.__inline), undefined, 'the inline script did not run');
});

test('no JavaScript errors, console errors or CSP violations on any page', () => {
  assert.deepEqual(errors, []);
});
