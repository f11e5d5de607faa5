// Auth0's Deploy CLI (auth0-deploy-cli, the `a0deploy` tool teams keep their tenant in git
// with) against gatehouse over HTTPS: import the tenant in tenant/tenant.yaml, export it back
// as YAML and find every imported value unchanged, then import again and find no duplicates.
//
// a0deploy only speaks https (it builds `https://<AUTH0_DOMAIN>/...` itself), so gatehouse
// serves TLS with a throwaway self-signed certificate that the child processes trust through
// NODE_EXTRA_CA_CERTS.
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';

const require = createRequire(import.meta.url);
// deploy-cli's own keyword replacement, so the expected tenant is read exactly as it imports it.
const { keywordReplace } = require('auth0-deploy-cli/lib/tools/utils');

const HERE = dirname(fileURLToPath(import.meta.url));
const TENANT_DIR = join(HERE, 'tenant');
const A0DEPLOY = join(HERE, 'node_modules', '.bin', 'a0deploy');
const RUN_TIMEOUT = 180_000;

const CLIENT_ID = 'deploy-cli-interop';
const CLIENT_SECRET = 'deploy-cli-interop-secret-0123456789abcdef';
const MAPPINGS = {
  ENVIRONMENT: 'interop',
  APP_DOMAIN: 'shop.acme.example',
  SPA_ORIGINS: ['https://shop.acme.example', 'http://localhost:3000'],
  TWILIO_SID: 'AC00000000000000000000000000000001',
  TWILIO_TOKEN: 'interop-twilio-auth-token',
};
// Exactly the resource types tenant.yaml holds: deploy-cli would otherwise read (and on
// import, touch) every other kind of resource too.
const INCLUDED = ['tenant', 'branding', 'clients', 'resourceServers', 'clientGrants', 'databases',
  'connections', 'roles', 'emailTemplates'];
// How each collection's entries are told apart: deploy-cli's own identifiers, as names.
const KEYS = {
  clients: (c) => c.name,
  resourceServers: (r) => r.identifier,
  clientGrants: (g) => `${g.client_id} -> ${g.audience}`,
  databases: (d) => d.name,
  connections: (c) => c.name,
  roles: (r) => r.name,
  emailTemplates: (t) => t.template,
};
// Secrets gatehouse takes but never shows back (sealed at rest). Auth0 returns them, and
// deploy-cli's documented way to keep them out of an export is EXCLUDED_PROPS, which also
// makes an update carry the tenant's current value over.
const WRITE_ONLY = { connections: ['options.twilio_token'] };
// Files the YAML points to (email bodies), compared by content after the YAML itself.
const FILES = ['emailTemplates/verify_email.html', 'emailTemplates/reset_email.html',
  'emailTemplates/welcome_email.html', 'connections/email.html'];

let dir, cert, gatehouse, port, configFile, logs = '';

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

// One HTTPS request to gatehouse, trusting only the test certificate.
function call(method, path, { body, token } = {}) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method, ca: cert, timeout: 5000,
        headers: { 'content-type': 'application/json',
          ...(token && { authorization: `Bearer ${token}` }) } },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode, text, json: () => JSON.parse(text) }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(payload);
  });
}

function a0deploy(...args) {
  return a0deployWith(configFile, ...args);
}

function a0deployWith(config, ...args) {
  return new Promise((resolve) => {
    execFile(A0DEPLOY, [...args, '-c', config],
      { env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') }, timeout: RUN_TIMEOUT,
        maxBuffer: 64 << 20 },
      (error, stdout, stderr) => resolve({ code: error ? (error.code ?? error.signal) : 0, output: stdout + stderr }));
  });
}

const assertRan = (run, what) =>
  assert.equal(run.code, 0, `${what} failed (exit ${run.code}):\n${run.output}\n--- gatehouse ---\n${logs.slice(-20000)}`);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-deploy-cli-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  cert = readFileSync(join(dir, 'cert.pem'));
  port = await freePort();

  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_')));
  Object.assign(env, {
    // The one setting taken from the caller: `GATEHOUSE_LOG_LEVEL=debug` to see why a run failed.
    GATEHOUSE_LOG_LEVEL: process.env.GATEHOUSE_LOG_LEVEL ?? 'warn',
    GATEHOUSE_TLS_CERT: join(dir, 'cert.pem'),
    GATEHOUSE_TLS_KEY: join(dir, 'key.pem'),
    GATEHOUSE_BOOTSTRAP_CLIENT_ID: CLIENT_ID,
    GATEHOUSE_BOOTSTRAP_CLIENT_SECRET: CLIENT_SECRET,
  });
  gatehouse = spawn(process.env.GATEHOUSE_BIN,
    ['serve', '--listen', `127.0.0.1:${port}`, '--issuer', `https://127.0.0.1:${port}/`], { cwd: dir, env });
  gatehouse.stdout.on('data', (d) => (logs += d));
  gatehouse.stderr.on('data', (d) => (logs += d));
  for (let i = 0; ; i++) {
    try {
      if ((await call('GET', '/healthz')).status === 200) break;
    } catch {}
    if (i > 400 || gatehouse.exitCode !== null) throw new Error(`gatehouse did not start over https:\n${logs}`);
    await new Promise((r) => setTimeout(r, 50));
  }

  configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify({ ...baseConfig(), AUTH0_INCLUDED_ONLY: INCLUDED }));
});

// What every run is configured with; the round trip adds AUTH0_INCLUDED_ONLY.
function baseConfig() {
  return {
    AUTH0_DOMAIN: `127.0.0.1:${port}`,
    AUTH0_CLIENT_ID: CLIENT_ID,
    AUTH0_CLIENT_SECRET: CLIENT_SECRET,
    AUTH0_ALLOW_DELETE: false,
    AUTH0_KEYWORD_REPLACE_MAPPINGS: MAPPINGS,
    EXCLUDED_PROPS: WRITE_ONLY,
  };
}

after(() => {
  gatehouse?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// Every value of `expected` must be in `actual`; keys only `actual` has are the server's
// defaults and fine. Arrays are compared as sets: Auth0 does not promise to keep their order
// (and deploy-cli sorts some, e.g. enabled_clients, on export), but nothing may be added or lost.
function differences(expected, actual, path) {
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
    const left = [...actual];
    const lost = [];
    for (const e of expected) {
      const i = left.findIndex((a) => differences(e, a, path).length === 0);
      if (i < 0) lost.push(e);
      else left.splice(i, 1);
    }
    return lost.length || left.length
      ? [`${path}: missing ${JSON.stringify(lost)}, unexpected ${JSON.stringify(left)} (got ${JSON.stringify(actual)})`]
      : [];
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) {
      return [`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
    }
    return Object.entries(expected).flatMap(([k, v]) =>
      k in actual ? differences(v, actual[k], `${path}.${k}`) : [`${path}.${k}: missing (expected ${JSON.stringify(v)})`]);
  }
  return expected === actual ? [] : [`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
}

function tenantDifferences(input, output) {
  return INCLUDED.flatMap((type) => {
    if (!(type in input)) return [];
    if (!KEYS[type]) return differences(input[type], output[type], type);
    const byKey = new Map((output[type] ?? []).map((o) => [KEYS[type](o), o]));
    return input[type].flatMap((item) => {
      const key = KEYS[type](item);
      const path = `${type}[${JSON.stringify(key)}]`;
      return byKey.has(key) ? differences(item, byKey.get(key), path) : [`${path}: missing from the export`];
    });
  });
}

function dropPath(obj, [key, ...rest]) {
  if (rest.length === 0) delete obj?.[key];
  else dropPath(obj?.[key], rest);
}

// What a second import must leave alone: every resource, by name, once.
async function inventory() {
  const token = (await call('POST', '/oauth/token', { body: {
    grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: CLIENT_SECRET,
    audience: `https://127.0.0.1:${port}/api/v2/`,
  } })).json().access_token;
  const list = async (path, name) => {
    const r = await call('GET', `/api/v2${path}?per_page=100`, { token });
    assert.equal(r.status, 200, `GET ${path}: ${r.text}`);
    const body = r.json();
    return (Array.isArray(body) ? body : Object.values(body).find(Array.isArray)).map(name).sort();
  };
  return {
    clients: await list('/clients', (c) => c.name),
    resourceServers: await list('/resource-servers', (r) => r.identifier),
    clientGrants: await list('/client-grants', (g) => `${g.client_id} -> ${g.audience}`),
    connections: await list('/connections', (c) => `${c.strategy}:${c.name}`),
    roles: await list('/roles', (r) => r.name),
  };
}

test('a0deploy import applies the tenant', { timeout: RUN_TIMEOUT + 10_000 }, async () => {
  assertRan(await a0deploy('import', '-i', join(TENANT_DIR, 'tenant.yaml')), 'import');
});

test('a0deploy export gives back every imported value', { timeout: RUN_TIMEOUT + 10_000 }, async () => {
  const out = join(dir, 'export');
  assertRan(await a0deploy('export', '--format', 'yaml', '-o', out), 'export');
  const input = yaml.load(keywordReplace(readFileSync(join(TENANT_DIR, 'tenant.yaml'), 'utf8'), MAPPINGS));
  assert.deepEqual(Object.keys(input).sort(), [...INCLUDED].sort(), 'AUTH0_INCLUDED_ONLY must list what tenant.yaml holds');
  for (const [type, paths] of Object.entries(WRITE_ONLY)) {
    for (const item of input[type]) for (const path of paths) dropPath(item, path.split('.'));
  }
  const output = yaml.load(readFileSync(join(out, 'tenant.yaml'), 'utf8'));
  const problems = tenantDifferences(input, output);
  for (const file of FILES) {
    let exported;
    try {
      exported = readFileSync(join(out, file), 'utf8');
    } catch {
      exported = '(missing)';
    }
    if (exported !== readFileSync(join(TENANT_DIR, file), 'utf8')) problems.push(`${file}: content differs:\n${exported}`);
  }
  assert.equal(problems.length, 0, `the export differs from tenant.yaml:\n${problems.join('\n')}`);
});

test('a second a0deploy import creates no duplicates', { timeout: RUN_TIMEOUT + 10_000 }, async () => {
  const first = await inventory();
  const run = await a0deploy('import', '-i', join(TENANT_DIR, 'tenant.yaml'));
  // Duplicates first: a second import that fails half-way may still have added some.
  assert.deepEqual(await inventory(), first, 'the second import added or removed resources');
  assertRan(run, 'second import');
});

// Without AUTH0_INCLUDED_ONLY, a0deploy reads every kind of resource it knows (Actions,
// custom domains, Guardian, attack protection, log streams, forms, flows, custom texts for
// every prompt and enabled language, ...): each read must be answered, as Auth0 answers a
// tenant that uses none of them, and the export must then import back unchanged.
test('a0deploy exports and re-imports every kind of resource', { timeout: 2 * RUN_TIMEOUT + 10_000 }, async () => {
  const config = join(dir, 'config-all.json');
  writeFileSync(config, JSON.stringify(baseConfig()));
  const out = join(dir, 'export-all');
  const run = await a0deployWith(config, 'export', '--format', 'yaml', '-o', out);
  assertRan(run, 'full export');
  const exported = yaml.load(readFileSync(join(out, 'tenant.yaml'), 'utf8'));
  // Every kind read, none skipped (deploy-cli skips a kind whose read is refused for scope).
  assert.doesNotMatch(run.output, /Insufficient scope|Unable to fetch/i, run.output);
  for (const type of [...INCLUDED, 'attackProtection', 'guardianFactors', 'guardianPolicies',
    'customDomains', 'triggers', 'actions', 'rules', 'hooks', 'logStreams', 'prompts',
    'riskAssessment', 'flows', 'forms', 'organizations', 'pages']) {
    assert.ok(type in exported, `${type} missing from the full export`);
  }
  assert.equal(exported.attackProtection.bruteForceProtection.max_attempts, 10);
  assert.deepEqual(exported.prompts.customText, {}, 'no custom texts were set');
  const before = await inventory();
  assertRan(await a0deployWith(config, 'import', '-i', join(out, 'tenant.yaml')), 'import of the full export');
  assert.deepEqual(await inventory(), before, 'importing the export added or removed resources');
});
