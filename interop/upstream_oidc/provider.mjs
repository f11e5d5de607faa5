// The upstream OpenID Provider: node oidc-provider (a certified OP), in this process, on a free
// 127.0.0.1 port, with two static clients for gatehouse and in-memory accounts. Its login and
// consent happen on our own minimal interaction page (`/interaction/<uid>`), driven through
// oidc-provider's documented interactionDetails/interactionFinished, so a test logs in (or
// refuses) with one form POST.
// oidc-provider 9.13.3 (the latest) runs on Node 20: it only warns "Unsupported runtime. Use
// Node.js v22.x LTS" at import, and this suite passes with it.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

// Accounts, by login. `sub` is what the provider's ID tokens carry; the rest are the claims
// its `profile` and `email` scopes release. Tests may change a profile between logins.
export const ACCOUNTS = {
  alice: {
    sub: 'alice-7f3a', password: 'alice-pw', email: 'alice@upstream.example', email_verified: true,
    name: 'Alice Upstream', given_name: 'Alice', family_name: 'Upstream',
  },
  bob: {
    sub: 'bob-19c2', password: 'bob-pw', email: 'bob@upstream.example', email_verified: false,
    name: 'Bob Frontchannel', given_name: 'Bob', family_name: 'Frontchannel',
  },
  carol: {
    sub: 'carol-55e0', password: 'carol-pw', email: 'carol@upstream.example', email_verified: true,
    name: 'Carol Refuses', given_name: 'Carol', family_name: 'Refuses',
  },
};

const bySub = (sub) => Object.values(ACCOUNTS).find((a) => a.sub === sub);

const escape = (s) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

// The interaction page: one form, two buttons (allow: log in and consent at once; deny).
const page = (uid, clientId, error) => `<!doctype html>
<html><head><meta charset="utf-8"><title>Upstream sign-in</title></head><body>
<h1>Sign in to the upstream provider</h1>
<p>for ${escape(clientId)}</p>
${error ? `<p class="error">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}">
  <label>Login <input name="login" autocomplete="username" autofocus></label>
  <label>Password <input name="password" type="password" autocomplete="current-password"></label>
  <button type="submit" name="decision" value="allow">Sign in</button>
  <button type="submit" name="decision" value="deny">Deny</button>
</form></body></html>`;

const readForm = (req) =>
  new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });

// Starts the provider. `redirectUri` is gatehouse's `<issuer>login/callback`. Returns its
// issuer (no trailing slash, as oidc-provider spells it), the two clients, a log of what it
// was asked (authorization requests, token requests), and `stop`.
export async function startProvider({ redirectUri }) {
  // Listen first (port 0), so the issuer names the real port: no race for a "free" port.
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;

  const clients = {
    // The back channel: the code flow, secret by HTTP Basic (oidc-provider's default method).
    back: {
      client_id: 'gatehouse-back-channel',
      client_secret: randomBytes(24).toString('base64url'),
      redirect_uris: [redirectUri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    // The front channel: `id_token` alone, by form post. oidc-provider refuses an http
    // redirect URI for a `web` client that uses the implicit grant ("redirect_uris for web
    // clients using implicit flow MUST only register URLs using the https scheme", and
    // localhost is refused as well), but a `native` client may use http on a loopback IP
    // (RFC 8252), which is what gatehouse's http://127.0.0.1:<port>/login/callback is. oidc-provider
    // always asks native clients' users for consent, which our interaction gives.
    front: {
      client_id: 'gatehouse-front-channel',
      application_type: 'native',
      redirect_uris: [redirectUri],
      response_types: ['id_token'],
      grant_types: ['implicit'],
      token_endpoint_auth_method: 'none',
    },
  };

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'upstream-rs256', alg: 'RS256', use: 'sig' };

  const log = { authorizations: [], tokens: [] };
  const provider = new Provider(issuer, {
    clients: [clients.back, clients.front],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name'],
    },
    // oidc-provider's default (conformIdTokenClaims): with an access token, the profile and
    // email claims come only from UserInfo (OIDC Core s5.4), which gatehouse reads and merges.
    // Gatehouse sends S256 challenges when the provider advertises them: require them.
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    // Short lives (seconds), said explicitly (oidc-provider notices the defaults otherwise).
    ttl: { AccessToken: 600, AuthorizationCode: 60, Grant: 600, IdToken: 600, Interaction: 600, Session: 600 },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, sub) {
      const account = bySub(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        async claims() {
          const { password: _, ...claims } = account;
          return claims;
        },
      };
    },
  });
  // What gatehouse asked of the provider, for the tests to check.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/auth' && ctx.method === 'GET') {
      log.authorizations.push(Object.fromEntries(new URL(ctx.href).searchParams));
    } else if (ctx.path === '/token') {
      log.tokens.push({
        status: ctx.status,
        authorization: (ctx.get('authorization') || '').split(' ')[0],
        params: { ...ctx.oidc?.params },
        clientAuthMethod: ctx.oidc?.client?.clientAuthMethod,
      });
    }
  });

  const handleInteraction = async (req, res, uid) => {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) throw new Error('interaction uid mismatch');
    const clientId = details.params.client_id;
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page(uid, clientId));
      return;
    }
    const form = await readForm(req);
    if (form.get('decision') === 'deny') {
      await provider.interactionFinished(
        req, res,
        { error: 'access_denied', error_description: 'The user refused to share their profile' },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    const account = ACCOUNTS[form.get('login')];
    if (!account || account.password !== form.get('password')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page(uid, clientId, 'Wrong login or password'));
      return;
    }
    // Log in and consent to every scope asked for, in one go.
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: account.sub, clientId });
    grant.addOIDCScope(details.params.scope);
    const grantId = await grant.save();
    await provider.interactionFinished(
      req, res,
      { login: { accountId: account.sub }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  };

  const callback = provider.callback();
  server.on('request', (req, res) => {
    const m = /^\/interaction\/([^/?]+)$/.exec(new URL(req.url, issuer).pathname);
    if (!m) return callback(req, res);
    handleInteraction(req, res, m[1]).catch((e) => {
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`interaction failed: ${e.message}`);
    });
  });

  return {
    issuer,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    clients,
    log,
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
