// gatehouse as the relying party of a certified OpenID Provider (node oidc-provider), behind
// `oidc` connections, with openid-client as the application: the back-channel code flow, the
// provider refusing, a replayed callback, and the front channel (id_token by form post).
// The browser is played with fetch (browser.mjs); chromium.test.mjs does it once for real.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as oidc from 'openid-client';
import { Browser } from './browser.mjs';
import { ACCOUNTS } from './provider.mjs';
import { BACK, FRONT, allUsers, appAuthorization, redeem, startWorld } from './setup.mjs';

// The application's redirect URI: nothing listens there, the browser stops at it.
const CALLBACK = 'http://127.0.0.1:9/app/callback';
const atApp = (url) => url.href.startsWith(CALLBACK);

let world;
before(async () => {
  world = await startWorld({ callback: CALLBACK });
});
after(() => world?.stop());

// gatehouse's user ids and identities for an upstream login (Auth0's shapes).
const userId = (connection, account) => `oidc|${connection}|${account.sub}`;
const identity = (connection, account) => ({
  provider: 'oidc', connection, user_id: `${connection}|${account.sub}`, isSocial: false,
});
const identityOf = (user, connection) => user.identities?.find((i) => i.connection === connection);
// gatehouse redirects with 303 See Other (302 would do as well).
const isRedirect = (status) => status === 302 || status === 303;
const pick = (o, keys) => Object.fromEntries(keys.map((k) => [k, o?.[k]]));

// app -> gatehouse /authorize?connection= -> the provider's interaction page.
async function toProviderLogin(browser, connection) {
  const { url, checks } = await appAuthorization(world, connection);
  const page = await browser.go(url);
  assert.equal(page.status, 200, browser.dump());
  assert.ok(page.url.href.startsWith(`${world.op.issuer}/interaction/`), browser.dump());
  return { page, checks };
}

// The provider's login form, submitted as `login` (allow), landing at the application.
async function loginAtProvider(browser, page, login) {
  const done = await browser.submit(page, { login, password: ACCOUNTS[login].password, decision: 'allow' });
  assert.ok(done.stoppedAt, `the browser should end at the app's callback:\n${browser.dump()}`);
  return done.stoppedAt;
}

test('back channel: code flow with PKCE at the provider, tokens for the app, one user however often', async (t) => {
  const { gh, op, app } = world;
  const alice = ACCOUNTS.alice;
  const browser = new Browser({ stopAt: atApp });
  const { page, checks } = await toProviderLogin(browser, BACK);

  // gatehouse sent the browser to the provider with its own state, nonce and S256 challenge,
  // and bound the login to the browser with a cookie for its callback only.
  const start = browser.hop(`${gh.base}/authorize?`);
  assert.ok(isRedirect(start.status), browser.dump());
  assert.ok(start.location.startsWith(`${op.issuer}/auth?`), start.location);
  const binding = start.setCookies?.find((c) => c.startsWith('gh_upstream='));
  assert.ok(binding, `no gh_upstream cookie: ${JSON.stringify(start.setCookies)}`);
  assert.match(binding, /;\s*Path=\/login\/callback(;|$)/i);
  assert.match(binding, /HttpOnly/i);
  const asked = op.log.authorizations.at(-1);
  assert.deepEqual(
    pick(asked, ['client_id', 'response_type', 'redirect_uri', 'code_challenge_method']),
    { client_id: op.clients.back.client_id, response_type: 'code', redirect_uri: `${gh.issuer}login/callback`, code_challenge_method: 'S256' },
  );
  assert.deepEqual(asked.scope.split(' ').sort(), ['email', 'openid', 'profile']);
  assert.ok(asked.state && asked.nonce && asked.code_challenge, JSON.stringify(asked));
  assert.notEqual(asked.state, checks.expectedState, "gatehouse's own state, not the app's");
  assert.notEqual(asked.nonce, checks.expectedNonce, "gatehouse's own nonce, not the app's");

  const callback = await loginAtProvider(browser, page, 'alice');
  assert.equal(callback.searchParams.get('state'), checks.expectedState);
  assert.ok(callback.searchParams.get('code'), callback.href);

  // The provider answered gatehouse's callback (with RFC 9207 `iss`); the browser brought the
  // binding cookie there, and gatehouse cleared it.
  const answered = browser.hop(`${gh.base}/login/callback?`);
  const answer = new URL(answered.url).searchParams;
  assert.ok(answer.get('code'), answered.url);
  assert.equal(answer.get('iss'), op.issuer);
  assert.match(answered.cookie ?? '', /gh_upstream=/);
  assert.ok(isRedirect(answered.status), browser.dump());
  assert.ok(answered.setCookies?.some((c) => /^gh_upstream=;/.test(c) && /Max-Age=0/i.test(c)), JSON.stringify(answered.setCookies));
  // gatehouse redeemed the code with its secret by HTTP Basic and its PKCE verifier.
  const exchange = op.log.tokens.at(-1);
  assert.equal(exchange.status, 200, JSON.stringify(exchange));
  assert.equal(exchange.authorization, 'Basic');
  assert.ok(exchange.params.code_verifier, JSON.stringify(exchange));

  const tokens = await redeem(world, callback, checks);
  const claims = tokens.claims();
  const id = userId(BACK, alice);
  assert.equal(claims.iss, gh.issuer);
  assert.equal(claims.aud, app.client_id);
  assert.equal(claims.sub, id);
  assert.equal(claims.email, alice.email);
  assert.equal(claims.email_verified, true);
  assert.equal(claims.name, alice.name);

  const user = await gh.mgmt('GET', `/users/${encodeURIComponent(id)}`);
  assert.equal(user.user_id, id, JSON.stringify(user));
  assert.deepEqual(
    pick(user, ['email', 'email_verified', 'name', 'given_name', 'family_name']),
    pick(alice, ['email', 'email_verified', 'name', 'given_name', 'family_name']),
  );
  assert.equal(user.identities.length, 1, JSON.stringify(user.identities));
  assert.deepEqual(pick(identityOf(user, BACK), ['provider', 'connection', 'user_id', 'isSocial']), identity(BACK, alice));

  await t.test('a second login (new browser) is the same user, its profile refreshed', async () => {
    const before = (await allUsers(gh)).length;
    const oldName = alice.name;
    alice.name = 'Alice Renamed';
    try {
      const again = new Browser({ stopAt: atApp });
      const second = await toProviderLogin(again, BACK);
      const back = await loginAtProvider(again, second.page, 'alice');
      const claims2 = (await redeem(world, back, second.checks)).claims();
      assert.equal(claims2.sub, id);
      const users = await allUsers(gh);
      assert.equal(users.length, before, 'no user added');
      const matching = users.filter((u) => u.identities?.some((i) => i.connection === BACK && i.user_id === `${BACK}|${alice.sub}`));
      assert.equal(matching.length, 1, JSON.stringify(matching));
      assert.equal(matching[0].user_id, id);
      // Auth0's default (set_user_root_attributes: on_each_login).
      assert.equal(matching[0].name, 'Alice Renamed');
    } finally {
      alice.name = oldName;
    }
  });
});

test('the provider refuses (access_denied): the app gets the error and its state, no user made', async () => {
  const { gh, op } = world;
  const carol = ACCOUNTS.carol;
  const usersBefore = (await allUsers(gh)).length;
  const exchanges = op.log.tokens.length;
  const browser = new Browser({ stopAt: atApp });
  const { page, checks } = await toProviderLogin(browser, BACK);
  const done = await browser.submit(page, { login: 'carol', password: carol.password, decision: 'deny' });
  assert.ok(done.stoppedAt, browser.dump());

  // The provider told gatehouse...
  const answered = browser.hop(`${gh.base}/login/callback?`);
  assert.equal(new URL(answered.url).searchParams.get('error'), 'access_denied', browser.dump());
  assert.equal(op.log.tokens.length, exchanges, 'gatehouse redeemed nothing');
  // ...and gatehouse told the app, with the app's own state and no code.
  const callback = done.stoppedAt;
  assert.equal(callback.searchParams.get('error'), 'access_denied', callback.href);
  assert.equal(callback.searchParams.get('state'), checks.expectedState);
  assert.equal(callback.searchParams.get('code'), null);
  await assert.rejects(redeem(world, callback, checks), (e) => {
    assert.ok(e instanceof oidc.AuthorizationResponseError, String(e));
    assert.equal(e.error, 'access_denied');
    return true;
  });

  const users = await allUsers(gh);
  assert.equal(users.length, usersBefore, 'no user added');
  assert.ok(!users.some((u) => u.user_id === userId(BACK, carol) || u.email === carol.email));
  const byEmail = await gh.mgmt('GET', `/users-by-email?email=${encodeURIComponent(carol.email)}`);
  assert.deepEqual(byEmail, []);
});

test('a replayed /login/callback is refused with a 4xx, never a redirect to the app', async (t) => {
  const { gh } = world;
  const browser = new Browser({ stopAt: atApp });
  const { page, checks } = await toProviderLogin(browser, BACK);
  const callback = await loginAtProvider(browser, page, 'alice');
  await redeem(world, callback, checks);
  const first = browser.hop(`${gh.base}/login/callback?`);
  assert.ok(isRedirect(first.status), browser.dump());

  await t.test('the same browser loads the callback URL again', async () => {
    // The browser no longer has the binding cookie (gatehouse cleared it).
    assert.equal(browser.cookie(first.url, 'gh_upstream'), undefined);
    const replay = await browser.request(first.url);
    const body = await replay.text();
    assert.ok(replay.status >= 400 && replay.status < 500, `status ${replay.status}: ${body.slice(0, 500)}`);
    assert.equal(replay.headers.get('location'), null);
  });

  // The same request again, with the binding cookie it had (a captured request, or a client
  // that kept the cookie gatehouse deleted).
  const exact = async () => {
    const replay = await fetch(first.url, { redirect: 'manual', headers: { cookie: first.cookie } });
    return { status: replay.status, location: replay.headers.get('location'), body: (await replay.text()).slice(0, 500) };
  };

  await t.test('the whole request again, with its binding cookie: no code for the app', async () => {
    const { location } = await exact();
    assert.ok(!location || !new URL(location, gh.base).searchParams.has('code'), `a code from a replay: ${location}`);
  });

  // gatehouse remembers each state as used (on every replica), so even the cookie it had
  // does not make an answer usable twice.
  await t.test('the whole request again, with its binding cookie: a 4xx, not a redirect to the app', async () => {
    const { status, location, body } = await exact();
    assert.ok(status >= 400 && status < 500, `status ${status}, location ${location}: ${body}`);
    assert.equal(location, null);
  });
});

test('front channel: id_token by form_post from the provider, then the app code flow', async (t) => {
  const { gh, op, app } = world;
  const bob = ACCOUNTS.bob;
  const exchanges = op.log.tokens.length;
  const browser = new Browser({ stopAt: atApp });
  const { page, checks } = await toProviderLogin(browser, FRONT);

  const asked = op.log.authorizations.at(-1);
  assert.deepEqual(
    pick(asked, ['client_id', 'response_type', 'response_mode', 'redirect_uri', 'code_challenge']),
    { client_id: op.clients.front.client_id, response_type: 'id_token', response_mode: 'form_post', redirect_uri: `${gh.issuer}login/callback`, code_challenge: undefined },
  );
  assert.ok(asked.nonce && asked.state, JSON.stringify(asked));

  // After the login the provider answers with its auto-submitting form, posting to gatehouse.
  const posting = await browser.submit(page, { login: 'bob', password: bob.password, decision: 'allow' });
  assert.equal(posting.status, 200, browser.dump());
  assert.match(posting.text, new RegExp(`action="${gh.issuer}login/callback"`));
  assert.match(posting.text, /name="id_token"/);
  const done = await browser.submit(posting);
  assert.ok(done.stoppedAt, browser.dump());
  const post = browser.hops.find((h) => h.method === 'POST' && h.url === `${gh.issuer}login/callback`);
  assert.match(post.cookie ?? '', /gh_upstream=/);
  assert.ok(isRedirect(post.status), browser.dump());
  assert.equal(op.log.tokens.length, exchanges, 'no token request at the provider');

  const callback = done.stoppedAt;
  assert.equal(callback.searchParams.get('state'), checks.expectedState);
  const claims = (await redeem(world, callback, checks)).claims();
  const id = userId(FRONT, bob);
  assert.equal(claims.sub, id);
  assert.equal(claims.aud, app.client_id);
  assert.equal(claims.email, bob.email);
  assert.equal(claims.email_verified, false);
  const user = await gh.mgmt('GET', `/users/${encodeURIComponent(id)}`);
  assert.equal(user.user_id, id, JSON.stringify(user));
  assert.equal(user.name, bob.name);
  assert.deepEqual(pick(identityOf(user, FRONT), ['provider', 'connection', 'user_id', 'isSocial']), identity(FRONT, bob));

  // The provider's form post, replayed exactly (its id_token, state and the binding cookie
  // it carried). The ID token is still within its lifetime and its nonce still fits the
  // sealed state, so only gatehouse's record of the used state refuses it.
  await t.test('the form post replayed with its binding cookie is refused with a 4xx, no code', async () => {
    const replay = await fetch(post.url, {
      method: 'POST', redirect: 'manual', body: post.sent,
      headers: { cookie: post.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    });
    const location = replay.headers.get('location');
    const body = (await replay.text()).slice(0, 500);
    const cookies = replay.headers.getSetCookie().map((c) => c.split('=')[0]);
    assert.ok(!location || !new URL(location, gh.base).searchParams.has('code'), `a code from a replay: ${replay.status} ${location}, cookies set: ${cookies}`);
    assert.ok(replay.status >= 400 && replay.status < 500, `status ${replay.status}, location ${location}: ${body}`);
  });
});
