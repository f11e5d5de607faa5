// Once in a real browser: headless Chromium (playwright-core, Debian's chromium or CHROMIUM_BIN,
// launched as ../spa_js does) goes from gatehouse's /authorize?connection=up to the upstream
// oidc-provider's login page, signs in there, and comes back through gatehouse to the
// application's callback with a code, which openid-client redeems.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { ACCOUNTS } from './provider.mjs';
import { BACK, appAuthorization, redeem, startWorld } from './setup.mjs';

let world, app, browser, callback;

before(async () => {
  // The application's callback page (the browser must land somewhere real).
  app = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>App</h1>'));
  await new Promise((r) => app.listen(0, '127.0.0.1', r));
  callback = `http://127.0.0.1:${app.address().port}/callback`;
  [world, browser] = await Promise.all([
    startWorld({ callback }),
    chromium.launch({ executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium' }),
  ]);
});

after(async () => {
  await browser?.close();
  app?.close();
  await world?.stop();
});

test('Chromium: gatehouse -> oidc-provider login form -> gatehouse -> app callback with a code', async () => {
  const { gh, op } = world;
  const alice = ACCOUNTS.alice;
  const context = await browser.newContext();
  const log = [];
  context.on('response', (r) => log.push(`${r.request().method()} ${r.url()} -> ${r.status()}`));
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  try {
    const { url, checks } = await appAuthorization(world, BACK);
    await page.goto(url.href);
    assert.ok(page.url().startsWith(`${op.issuer}/interaction/`), `${page.url()}\n${log.join('\n')}`);
    await page.fill('input[name=login]', 'alice');
    await page.fill('input[name=password]', alice.password);
    await Promise.all([
      page.waitForURL((u) => u.href.startsWith(callback), { waitUntil: 'load' }),
      page.click('button[value=allow]'),
    ]);
    const landed = new URL(page.url());
    assert.equal(landed.searchParams.get('state'), checks.expectedState);
    assert.ok(landed.searchParams.get('code'), landed.href);
    // The way back went through gatehouse's callback, which carried the binding cookie.
    assert.ok(log.some((l) => l.startsWith(`GET ${gh.issuer}login/callback?`) && /-> 30[23]$/.test(l)), log.join('\n'));

    const claims = (await redeem(world, landed, checks)).claims();
    assert.equal(claims.sub, `oidc|${BACK}|${alice.sub}`);
    assert.equal(claims.email, alice.email);
    assert.equal(claims.iss, gh.issuer);
  } finally {
    await context.close();
  }
});
