// Load driver for bench/upstream-login.sh: N concurrent "browsers" doing full upstream logins
// (app -> rp /authorize -> idp login page -> idp /u/login -> rp /login/callback -> app
// callback -> rp /oauth/token) for S seconds, each login with fresh cookies. Node 20's fetch,
// nothing to install.
//
// Usage: node bench/upstream_login_driver.mjs <rp base> <app client_id> <app secret> \
//          <app callback> <username> <password> <concurrency> <seconds>
// Prints one line of key=value pairs: logins, failures, the first failure, p50 and p99 of a
// whole login in ms, and the driver's own CPU seconds during the run.
//
// Cookies are kept per origin (host and port). A browser would share them between the two
// servers, both on 127.0.0.1, but they are the same software and their cookie names collide;
// per origin is what two real hosts would see.

const [rpBase, appId, appSecret, callback, username, password, conc, secs] = process.argv.slice(2);
if (!secs) {
  console.error('usage: upstream_login_driver.mjs <rp base> <app id> <app secret> <callback> <user> <password> <concurrency> <seconds>');
  process.exit(2);
}

class Jar {
  constructor() {
    this.byOrigin = new Map();
  }
  header(url) {
    const c = this.byOrigin.get(url.origin);
    return c && c.size ? [...c].map(([k, v]) => `${k}=${v}`).join('; ') : undefined;
  }
  take(url, res) {
    let c = this.byOrigin.get(url.origin);
    if (!c) this.byOrigin.set(url.origin, (c = new Map()));
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const gone = value === '' || attrs.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (gone) c.delete(name);
      else c.set(name, value);
    }
  }
}

class Step extends Error {}
const expect = (cond, what) => {
  if (!cond) throw new Step(what);
};

async function request(jar, url, init = {}) {
  const u = new URL(url);
  const headers = { ...(init.headers || {}) };
  const cookie = jar.header(u);
  if (cookie) headers.cookie = cookie;
  const res = await fetch(u, { ...init, headers, redirect: 'manual' });
  jar.take(u, res);
  return res;
}

const location = (res, base) => new URL(res.headers.get('location'), base);

async function login() {
  const jar = new Jar();
  const authorize = new URL(`${rpBase}/authorize`);
  authorize.search = new URLSearchParams({
    response_type: 'code', client_id: appId, redirect_uri: callback,
    scope: 'openid profile email', state: 's', nonce: 'n', connection: 'upstream',
  }).toString();
  // 1. rp sends the browser to idp, with its binding cookie.
  const r1 = await request(jar, authorize);
  await r1.arrayBuffer();
  expect(r1.status === 303 || r1.status === 302, `rp /authorize: ${r1.status}`);
  const idpAuthorize = location(r1, authorize);
  expect(jar.header(authorize)?.includes('gh_upstream='), 'rp /authorize: no gh_upstream cookie');
  // 2. idp's login page.
  const r2 = await request(jar, idpAuthorize);
  const html = await r2.text();
  expect(r2.status === 200, `idp /authorize: ${r2.status}`);
  const tx = /name="tx" value="([^"]+)"/.exec(html)?.[1];
  expect(tx, 'idp login page: no tx');
  // 3. the password, at idp: back to rp's callback with a code.
  const submitUrl = new URL('/u/login', idpAuthorize);
  const r3 = await request(jar, submitUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ tx, username, password }),
  });
  await r3.arrayBuffer();
  expect(r3.status === 303 || r3.status === 302, `idp /u/login: ${r3.status}`);
  const rpCallback = location(r3, submitUrl);
  expect(rpCallback.pathname === '/login/callback' && rpCallback.searchParams.get('code'), `idp /u/login went to ${rpCallback.href}`);
  // 4. rp redeems idp's code, checks its ID token, reads userinfo: the app's callback.
  const r4 = await request(jar, rpCallback);
  const body4 = await r4.text();
  expect(r4.status === 303 || r4.status === 302, `rp /login/callback: ${r4.status} ${body4.slice(0, 200)}`);
  const appCallback = location(r4, rpCallback);
  const code = appCallback.searchParams.get('code');
  expect(appCallback.href.startsWith(callback) && code, `rp /login/callback went to ${appCallback.href}`);
  expect(appCallback.searchParams.get('state') === 's', 'rp /login/callback: wrong state');
  // 5. the app redeems its code at rp.
  const r5 = await fetch(`${rpBase}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', client_id: appId, client_secret: appSecret,
      code, redirect_uri: callback,
    }),
  });
  const tokens = await r5.json().catch(() => ({}));
  expect(r5.status === 200 && tokens.id_token && tokens.access_token, `rp /oauth/token: ${r5.status} ${JSON.stringify(tokens).slice(0, 200)}`);
}

const latencies = [];
let failures = 0;
let firstFailure = '';
const cpuBefore = process.cpuUsage();
const deadline = performance.now() + Number(secs) * 1000;
const loop = async () => {
  while (performance.now() < deadline) {
    const t0 = performance.now();
    try {
      await login();
      latencies.push(performance.now() - t0);
    } catch (e) {
      failures++;
      if (!firstFailure) firstFailure = e instanceof Step ? e.message : String(e);
    }
  }
};
const started = performance.now();
await Promise.all(Array.from({ length: Number(conc) }, loop));
const elapsed = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
latencies.sort((a, b) => a - b);
const pct = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(1) : 'NaN');
console.log(
  [
    `logins=${latencies.length}`,
    `failures=${failures}`,
    `elapsed=${elapsed.toFixed(3)}`,
    `p50_ms=${pct(0.5)}`,
    `p99_ms=${pct(0.99)}`,
    `driver_cpu_s=${((cpu.user + cpu.system) / 1e6).toFixed(3)}`,
    `first_failure=${JSON.stringify(firstFailure)}`,
  ].join(' '),
);
