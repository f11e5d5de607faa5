// The SPA + API sample (examples/spa-api: auth0-spa-js, built with esbuild, served by its own
// server.mjs) and the example API (reports-api, its timesheet routes) in headless Chromium
// against gatehouse, set up as the sample's README says: an API with RBAC whose access tokens
// carry the user's permissions, an `employee` and an `approver` role. An employee logs in on
// gatehouse's login page and submits hours; the page offers them no approval and the API
// refuses one made with their token; an approver logs in in another browser, sees the entry and
// approves it; the employee sees it approved. A user without roles gets no timesheets at all.
//
// The app is on http://localhost:APP_PORT and the issuer is http://localhost:GH_PORT/: both
// secure contexts, and the same site, so gatehouse's session cookie reaches the SDK's iframe
// after a reload. The API is on http://127.0.0.1:API_PORT, another origin (CORS).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { startGatehouse } from '../openid_client/gatehouse.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const sample = join(root, 'examples', 'spa-api');
const REPORTS_API_BIN = process.env.REPORTS_API_BIN || join(root, 'target', 'debug', 'reports-api');

const PASSWORD = 'Correct-horse-battery-9';
const EMPLOYEE = 'erin@example.com';
const APPROVER = 'ada@example.com';
const NOBODY = 'nora@example.com';
const AUDIENCE = 'https://timesheets.example/';
const REPORTS_AUDIENCE = 'https://reports.example/';
const READ = 'read:timesheets';
const CREATE = 'create:timesheets';
const APPROVE = 'approve:timesheets';
const ENTRY = { date: '2025-03-03', project: 'Website redesign', hours: '7.5', notes: 'Kick-off workshop' };

let gh, api, app, browser, ghOrigin, appUrl, apiUrl, spa;
const users = {};
const log = []; // requests and responses (gatehouse, the API) seen by the browsers
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

// Spawns `cmd` and resolves once its standard output says `ready`.
async function startProcess(name, cmd, args, { cwd, env, ready }) {
  const proc = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise((resolve, reject) => {
    proc.stdout.on('data', (d) => {
      output += d;
      if (output.includes(ready)) resolve();
    });
    proc.stderr.on('data', (d) => (output += d));
    proc.on('exit', (code) => reject(new Error(`${name} exited ${code}: ${output}`)));
    proc.on('error', reject);
  });
  return { stop: () => proc.kill('SIGTERM') };
}

// gh.mgmt reads every answer as JSON; assignments (roles, permissions) answer with no body,
// which is what the SyntaxError means: such calls are checked by reading back.
async function mgmt(method, path, body) {
  const answer = await gh.mgmt(method, path, body).catch((e) => {
    if (e instanceof SyntaxError) return null;
    throw e;
  });
  assert.ok(!answer?.statusCode || answer.statusCode < 300, `${method} ${path}: ${JSON.stringify(answer)}`);
  return answer;
}

before(async () => {
  assert.ok(existsSync(REPORTS_API_BIN), `no reports-api at ${REPORTS_API_BIN} (cargo build -p reports-api)`);
  buildSample();
  [gh, browser] = await Promise.all([
    startGatehouse({ host: 'localhost' }),
    chromium.launch({ executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium' }),
  ]);
  ghOrigin = gh.issuer.replace(/\/$/, '');
  const [appPort, apiPort] = await Promise.all([freePort(), freePort()]);
  appUrl = `http://localhost:${appPort}`;
  apiUrl = `http://127.0.0.1:${apiPort}`;

  // What the README tells a newcomer to create, through the Management API. The application:
  spa = await mgmt('POST', '/clients', {
    name: 'Timesheets',
    app_type: 'spa',
    callbacks: [appUrl],
    allowed_logout_urls: [appUrl],
    web_origins: [appUrl],
    allowed_origins: [appUrl],
    grant_types: ['authorization_code', 'refresh_token'],
  });
  // The API, with RBAC: its scopes go only to users holding them as permissions, which the
  // access token lists in `permissions`.
  const rs = await mgmt('POST', '/resource-servers', {
    identifier: AUDIENCE,
    name: 'Timesheets API',
    scopes: [
      { value: READ, description: 'Read timesheets' },
      { value: CREATE, description: 'Submit timesheets' },
      { value: APPROVE, description: 'Approve timesheets' },
    ],
    enforce_policies: true,
    token_dialect: 'access_token_authz',
  });
  assert.deepEqual([rs.enforce_policies, rs.token_dialect], [true, 'access_token_authz'], JSON.stringify(rs));
  const permissions = (...names) => ({
    permissions: names.map((permission_name) => ({ resource_server_identifier: AUDIENCE, permission_name })),
  });
  const employee = await mgmt('POST', '/roles', { name: 'employee', description: 'Submits and reads their own timesheets' });
  await mgmt('POST', `/roles/${employee.id}/permissions`, permissions(READ, CREATE));
  const approver = await mgmt('POST', '/roles', { name: 'approver', description: 'Reads and approves everyone\'s timesheets' });
  await mgmt('POST', `/roles/${approver.id}/permissions`, permissions(APPROVE));
  // An employee; an approver, who records hours too; and someone with no role at all.
  for (const [email, name, roles] of [
    [EMPLOYEE, 'Erin Employee', [employee.id]],
    [APPROVER, 'Ada Approver', [employee.id, approver.id]],
    [NOBODY, 'Nora Nobody', []],
  ]) {
    const user = await mgmt('POST', '/users', {
      connection: 'Username-Password-Authentication',
      email,
      name,
      password: PASSWORD,
      email_verified: true,
    });
    if (roles.length) await mgmt('POST', `/users/${encodeURIComponent(user.user_id)}/roles`, { roles });
    users[email] = user.user_id;
  }
  const held = async (email) =>
    (await mgmt('GET', `/users/${encodeURIComponent(users[email])}/permissions`)).map((p) => p.permission_name).sort();
  assert.deepEqual(await held(EMPLOYEE), [CREATE, READ]);
  assert.deepEqual(await held(APPROVER), [APPROVE, CREATE, READ]);
  assert.deepEqual(await held(NOBODY), []);

  // The API and the sample, as the README runs them.
  [api, app] = await Promise.all([
    startProcess('reports-api', REPORTS_API_BIN, [], {
      env: {
        ISSUER: gh.issuer,
        AUDIENCE: REPORTS_AUDIENCE,
        TIMESHEETS_AUDIENCE: AUDIENCE,
        CORS_ORIGIN: appUrl,
        LISTEN: `127.0.0.1:${apiPort}`,
      },
      ready: 'reports-api listening on',
    }),
    startProcess('server.mjs', process.execPath, ['server.mjs'], {
      cwd: sample,
      env: { PORT: String(appPort), HOST: '127.0.0.1', GATEHOUSE_DOMAIN: ghOrigin, CLIENT_ID: spa.client_id, API_URL: apiUrl, AUDIENCE },
      ready: 'timesheets sample on',
    }),
  ]);
});

after(async () => {
  await browser?.close();
  app?.stop();
  api?.stop();
  gh?.stop();
});

// A browser of its own (cookies, storage) with one page, whose traffic to gatehouse and the API
// is logged, and whose access tokens (the token endpoint's answers) are kept in `tokens`.
async function newBrowser() {
  const watched = new Set([ghOrigin, apiUrl]);
  const seen = (url) => watched.has(new URL(url).origin);
  const context = await browser.newContext();
  context.setDefaultTimeout(15_000);
  const tokens = [];
  context.on('request', (r) => {
    if (seen(r.url())) log.push({ kind: 'request', method: r.method(), url: r.url(), body: r.postData() });
  });
  context.on('response', (r) => {
    if (!seen(r.url())) return;
    const entry = { kind: 'response', method: r.request().method(), status: r.status(), url: r.url() };
    log.push(entry);
    if (r.status() >= 300 && r.status() < 400) return; // a redirect has no body to read
    bodies.push(
      r.text().then(
        (t) => {
          entry.body = t.slice(0, 2000);
          if (r.url() === `${ghOrigin}/oauth/token` && r.status() === 200) tokens.push(JSON.parse(t).access_token);
        },
        () => {},
      ),
    );
  });
  context.on('console', (m) => {
    if (m.type() === 'error') log.push({ kind: 'console', text: m.text() });
  });
  const page = await context.newPage();
  return {
    page,
    token: async () => {
      await Promise.all(bodies);
      assert.ok(tokens.length, `no access token yet\n${dump()}`);
      return tokens.at(-1);
    },
  };
}

// Waits until the page shows what `want` describes ({loggedOut, userId, rows, status}), or
// fails at once with the app's error message.
async function until(page, want) {
  let state;
  try {
    const handle = await page.waitForFunction((want) => {
      const text = (id) => document.getElementById(id)?.textContent ?? '';
      const error = document.getElementById('error');
      if (error && !error.hidden) return { error: error.textContent };
      if (document.body.dataset.ready !== 'true') return false;
      const s = {
        loggedOut: !document.getElementById('logged-out').hidden,
        loggedIn: !document.getElementById('logged-in').hidden,
        userId: text('user-id'),
        rows: document.querySelectorAll('#entries tbody tr').length,
        status: text('status'),
      };
      if (want.loggedOut !== undefined && s.loggedOut !== want.loggedOut) return false;
      if (want.userId !== undefined && (!s.loggedIn || s.userId !== want.userId)) return false;
      if (want.rows !== undefined && (!s.loggedIn || s.rows !== want.rows)) return false;
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

// The entries table as the page shows it.
const rowsShown = (page) =>
  page.$$eval('#entries tbody tr', (rows) =>
    rows.map((r) => {
      const [date, project, hours, notes, employee, status, actions] = [...r.cells].map((c) => c.textContent);
      return { id: Number(r.dataset.id), date, project, hours, notes, employee, status, actions };
    }),
  );

// The page's Log in button, then gatehouse's login page (its password form), and back.
async function logIn(page, email) {
  await page.goto(appUrl);
  await until(page, { loggedOut: true });
  const mark = log.length;
  await Promise.all([page.waitForURL((u) => u.origin === ghOrigin), page.getByRole('button', { name: 'Log in' }).click()]);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Continue' }).click();
  const s = await until(page, { userId: users[email] });
  assert.equal(new URL(page.url()).origin, appUrl);
  return { state: s, entries: log.slice(mark) };
}

// The claims of a JWT (the test reads what the API will check).
const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));

// Calls the API from here, not from the page: what the API itself allows.
async function callApi(method, path, token, body) {
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  if (body) headers['content-type'] = 'application/json';
  const r = await fetch(`${apiUrl}${path}`, { method, headers, body: body && JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, challenge: r.headers.get('www-authenticate'), body: text ? JSON.parse(text) : null };
}

// One story: once a step fails, its later ones are skipped, not timed out.
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
let employee, approver, entryId;

step("the employee logs in on gatehouse's login page; the token carries the employee role's permissions", async () => {
  employee = await newBrowser();
  const { entries } = await logIn(employee.page, EMPLOYEE);
  // The app asked for the API as audience with every timesheets scope, by code + PKCE.
  const authorize = entries.find((e) => e.kind === 'request' && e.url.startsWith(`${ghOrigin}/authorize?`));
  assert.ok(authorize, dump(entries));
  const asked = new URL(authorize.url).searchParams;
  assert.equal(asked.get('audience'), AUDIENCE);
  assert.equal(asked.get('code_challenge_method'), 'S256');
  assert.deepEqual(asked.get('scope').split(' ').sort(), ['email', 'openid', 'profile', APPROVE, CREATE, READ].sort());

  // RBAC: of the scopes asked for, only the permissions the user holds are granted.
  const claims = claimsOf(await employee.token());
  assert.ok([claims.aud].flat().includes(AUDIENCE), JSON.stringify(claims));
  assert.equal(claims.sub, users[EMPLOYEE]);
  assert.deepEqual([...claims.permissions].sort(), [CREATE, READ], JSON.stringify(claims));
  const scope = claims.scope.split(' ');
  assert.ok(scope.includes(READ) && scope.includes(CREATE), claims.scope);
  assert.ok(!scope.includes(APPROVE), claims.scope);

  const page = employee.page;
  assert.equal(await page.locator('#user-email').textContent(), EMPLOYEE);
  assert.equal(await page.locator('#permissions').textContent(), `${READ}, ${CREATE}`);
  assert.equal(await page.locator('#entries-caption').textContent(), 'Your entries');
  assert.ok(await page.getByRole('group', { name: 'Submit hours' }).isVisible());
  assert.ok(await page.getByText('No entries yet.').isVisible());
});

step('the employee submits an entry and sees it, with no Approve button', async () => {
  const page = employee.page;
  const mark = log.length;
  await page.getByLabel('Date').fill(ENTRY.date);
  await page.getByLabel('Project').fill(ENTRY.project);
  await page.getByLabel('Hours').fill(ENTRY.hours);
  await page.getByLabel('Notes').fill(ENTRY.notes);
  await page.getByRole('button', { name: 'Submit' }).click();
  const s = await until(page, { rows: 1, status: 'Submitted entry' });
  const posted = log.slice(mark).find((e) => e.kind === 'response' && e.method === 'POST' && e.url === `${apiUrl}/timesheets`);
  assert.equal(posted?.status, 201, dump(log.slice(mark)));
  const created = JSON.parse(posted.body);
  entryId = created.id;
  assert.deepEqual(
    { ...created, id: undefined },
    { id: undefined, owner: users[EMPLOYEE], ...ENTRY, hours: 7.5, status: 'submitted', approved_by: null },
  );
  assert.match(s.status, new RegExp(`Submitted entry ${entryId} `));
  assert.deepEqual(await rowsShown(page), [{ id: entryId, ...ENTRY, employee: 'you', status: 'submitted', actions: '' }]);
  assert.equal(await page.getByRole('button', { name: /^Approve/ }).count(), 0);
});

step('the API refuses the employee an approval (403), reads them only their own entries, and checks audience and origin', async () => {
  const token = await employee.token();
  const refused = await callApi('POST', `/timesheets/${entryId}/approve`, token);
  assert.equal(refused.status, 403, JSON.stringify(refused));
  assert.equal(refused.challenge, 'Bearer error="insufficient_scope"');
  const own = await callApi('GET', '/timesheets', token);
  assert.equal(own.status, 200);
  assert.deepEqual(own.body.map((e) => [e.id, e.owner, e.status]), [[entryId, users[EMPLOYEE], 'submitted']]);
  // Nothing without a token, and a token for the timesheets API is no token for the reports.
  const anonymous = await callApi('GET', '/timesheets');
  assert.equal(anonymous.status, 401);
  assert.match(anonymous.challenge, /^Bearer error=/);
  assert.equal((await callApi('GET', '/reports', token)).status, 401);
  // CORS: the app's origin may call with a token; another origin is not told it may.
  const preflight = (origin) =>
    fetch(`${apiUrl}/timesheets`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
  const ours = await preflight(appUrl);
  assert.equal(ours.headers.get('access-control-allow-origin'), appUrl);
  assert.match(ours.headers.get('access-control-allow-headers'), /authorization/);
  assert.equal((await preflight('http://elsewhere.example')).headers.get('access-control-allow-origin'), null);
});

step("the approver logs in in another browser, sees the employee's entry and approves it", async () => {
  approver = await newBrowser();
  await logIn(approver.page, APPROVER);
  const claims = claimsOf(await approver.token());
  assert.deepEqual([...claims.permissions].sort(), [APPROVE, CREATE, READ], JSON.stringify(claims));
  const page = approver.page;
  await until(page, { rows: 1 });
  assert.equal(await page.locator('#entries-caption').textContent(), "Everyone's entries");
  assert.equal(await page.locator('#permissions').textContent(), `${READ}, ${CREATE}, ${APPROVE}`);
  assert.deepEqual(await rowsShown(page), [{ id: entryId, ...ENTRY, employee: users[EMPLOYEE], status: 'submitted', actions: 'Approve' }]);

  const mark = log.length;
  await page.getByRole('button', { name: `Approve entry ${entryId}` }).click();
  await until(page, { rows: 1, status: `Approved entry ${entryId}.` });
  const approved = log
    .slice(mark)
    .find((e) => e.kind === 'response' && e.method === 'POST' && e.url === `${apiUrl}/timesheets/${entryId}/approve`);
  assert.equal(approved?.status, 200, dump(log.slice(mark)));
  assert.deepEqual(JSON.parse(approved.body).approved_by, users[APPROVER]);
  assert.deepEqual(await rowsShown(page), [{ id: entryId, ...ENTRY, employee: users[EMPLOYEE], status: 'approved', actions: '' }]);
});

step('the employee sees the entry approved (Refresh, then a reload: silent login through the session)', async () => {
  const page = employee.page;
  await page.getByRole('button', { name: 'Refresh' }).click();
  await until(page, { rows: 1, status: 'Up to date.' });
  assert.deepEqual(await rowsShown(page), [{ id: entryId, ...ENTRY, employee: 'you', status: 'approved', actions: '' }]);

  // Tokens live in memory only: after a reload the SDK logs in again silently, in an iframe.
  const mark = log.length;
  await page.reload();
  await until(page, { userId: users[EMPLOYEE], rows: 1 });
  const silent = log.slice(mark).find((e) => e.kind === 'request' && e.url.startsWith(`${ghOrigin}/authorize?`));
  assert.equal(new URL(silent?.url ?? ghOrigin).searchParams.get('prompt'), 'none', dump(log.slice(mark)));
  assert.deepEqual((await rowsShown(page)).map((r) => r.status), ['approved']);
});

step('a user without a role asks for the same scopes and gets none: no timesheets', async () => {
  const nobody = await newBrowser();
  await logIn(nobody.page, NOBODY);
  const token = await nobody.token();
  const claims = claimsOf(token);
  assert.deepEqual(claims.permissions, [], JSON.stringify(claims));
  assert.ok(!claims.scope.split(' ').some((s) => s.endsWith(':timesheets')), claims.scope);
  await until(nobody.page, { status: 'You may not read timesheets' });
  assert.equal(await nobody.page.locator('#permissions').textContent(), 'none');
  assert.ok(await nobody.page.locator('#entry-form').isHidden());
  const refused = await callApi('GET', '/timesheets', token);
  assert.equal(refused.status, 403);
  assert.equal((await callApi('POST', '/timesheets', token, { date: '2025-03-04', project: 'X', hours: 1 })).status, 403);
});
