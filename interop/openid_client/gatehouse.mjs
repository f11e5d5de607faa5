// Spawns a real gatehouse (the binary in GATEHOUSE_BIN) on a free port with a fresh
// database, and offers a Management API helper and a scripted login through the real page.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

// `host` names the issuer's host (`http://<host>:<port>/`); gatehouse always listens on
// 127.0.0.1, and `base` (for requests from Node) always uses that address. `env` holds
// settings for this server (GATEHOUSE_* from the caller's environment are not passed on).
export async function startGatehouse({ host = '127.0.0.1', env: settings = {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-'));
  const port = await freePort();
  const issuer = `http://${host}:${port}/`;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_')));
  env.GATEHOUSE_LOG_LEVEL = 'warn';
  Object.assign(env, settings);
  const proc = spawn(process.env.GATEHOUSE_BIN, ['serve', '--listen', `127.0.0.1:${port}`, '--issuer', issuer], {
    cwd: dir,
    env,
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok && out.includes('SECRET=')) break;
    } catch {}
    if (i > 400) throw new Error('gatehouse did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  const id = /GATEHOUSE_BOOTSTRAP_CLIENT_ID=(\S+)/.exec(out)[1];
  const secret = /GATEHOUSE_BOOTSTRAP_CLIENT_SECRET=(\S+)/.exec(out)[1];
  const token = await (
    await fetch(`${base}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: id, client_secret: secret, audience: `${issuer}api/v2/` }),
    })
  ).json();
  const mgmt = async (method, path, body) => {
    const r = await fetch(`${base}/api/v2${path}`, {
      method,
      headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' },
      body: body && JSON.stringify(body),
    });
    return r.json();
  };
  const stop = () => {
    proc.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  // The bootstrap client's credentials too, for `gatehouse` CLI commands against this server.
  return { base, issuer, port, mgmt, stop, credentials: { clientId: id, clientSecret: secret } };
}

// Plays the browser: opens the authorization URL, submits the login form with the cookie it
// was given, and returns the callback URL gatehouse redirects to.
export async function loginThroughPage(base, authorizationUrl, username, password) {
  const page = await fetch(authorizationUrl, { redirect: 'manual' });
  if (page.status !== 200) throw new Error(`login page: ${page.status}`);
  const cookies = page.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const html = await page.text();
  const tx = /name="tx" value="([^"]+)"/.exec(html)[1];
  const posted = await fetch(`${base}/u/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: cookies, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ tx, username, password }),
  });
  if (posted.status !== 303) throw new Error(`login: ${posted.status} ${await posted.text()}`);
  return new URL(posted.headers.get('location'));
}
