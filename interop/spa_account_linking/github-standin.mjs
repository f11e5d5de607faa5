// A GitHub stand-in on loopback: the four endpoints a `github` connection uses, as GitHub
// documents them for OAuth Apps ("Authorizing OAuth apps"), for gatehouse started with
// GATEHOUSE_GITHUB_URL=<url> and GATEHOUSE_GITHUB_API_URL=<apiUrl>.
//
//   GET  /login/oauth/authorize       the browser: a page with an "Authorize" button (a form),
//   POST /login/oauth/authorize       which sends it to redirect_uri with code and state
//   POST /login/oauth/access_token    gatehouse: code, redirect_uri, code_verifier, client_id,
//                                     client_secret -> {access_token, token_type, scope}
//   GET  /api/user, /api/user/emails  gatehouse, with the bearer token and a User-Agent
//
// Like GitHub, a failed token request is a 200 with {"error": ...}: bad_verification_code for
// an unknown, used or expired code or a code_verifier that does not match the S256
// code_challenge, incorrect_client_credentials for a wrong client secret, redirect_uri_mismatch.
// Whatever gatehouse sends that GitHub would refuse is also kept in `complaints`, for the test.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

const random = () => randomBytes(16).toString('hex');
const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// `account` is who logs in at GitHub: {id, login, name, avatar_url, emails: [{email, primary, verified}]}.
export async function startGitHub({ account }) {
  let app = null; // the registered OAuth App: {clientId, clientSecret, callback}
  const requests = new Map(); // pending authorization requests shown on the page, by id
  const codes = new Map(); // code -> {challenge, redirectUri, clientId, exp}
  const tokens = new Set();
  const complaints = [];
  const seen = []; // {method, path, query/form (secrets masked)} of every request

  const read = (req) =>
    new Promise((resolve) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => resolve(body));
    });
  const json = (res, status, value) => res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(value));
  const page = (res, status, html) =>
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>GitHub stand-in</title>${html}`);
  const refuse = (res, status, problem) => {
    complaints.push(problem);
    page(res, status, `<h1>Error</h1><p>${escape(problem)}</p>`);
  };

  // GitHub's token errors: a 200 whose JSON names the error.
  const tokenError = (res, error, problem) => {
    complaints.push(problem);
    json(res, 200, { error, error_description: problem });
  };

  // The API: GitHub refuses a request without User-Agent (403) or with an unknown token (401).
  const authorized = (req, res) => {
    if (!req.headers['user-agent']) {
      complaints.push(`${req.url}: no User-Agent`);
      json(res, 403, { message: 'Request forbidden by administrative rules. Please make sure your request has a User-Agent header' });
      return false;
    }
    const token = /^(?:Bearer|token) (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!tokens.has(token)) {
      complaints.push(`${req.url}: no or unknown bearer token`);
      json(res, 401, { message: 'Bad credentials' });
      return false;
    }
    return true;
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://github');
    const body = req.method === 'POST' ? await read(req) : '';
    const form = new URLSearchParams(body);
    const masked = Object.fromEntries([...form].map(([k, v]) => [k, k === 'client_secret' ? '***' : v]));
    seen.push({ method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), form: masked, headers: { accept: req.headers.accept, 'user-agent': req.headers['user-agent'] } });
    const route = `${req.method} ${url.pathname}`;

    if (route === 'GET /login/oauth/authorize') {
      const q = url.searchParams;
      if (!app || q.get('client_id') !== app.clientId) return refuse(res, 404, `unknown client_id ${q.get('client_id')}`);
      // GitHub accepts the registered callback URL (or a path below it) only.
      const redirectUri = q.get('redirect_uri') ?? app.callback;
      if (redirectUri !== app.callback) return refuse(res, 400, `redirect_uri ${redirectUri} is not the callback ${app.callback}`);
      if (q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) return refuse(res, 400, 'no S256 code_challenge');
      if (!q.get('state')) return refuse(res, 400, 'no state');
      const id = random();
      requests.set(id, { challenge: q.get('code_challenge'), redirectUri, state: q.get('state'), scope: q.get('scope') });
      return page(
        res,
        200,
        `<h1>Authorize ${escape(app.name)}</h1>
<p>${escape(app.name)} wants to access your account <b>${escape(account.login)}</b> (scopes: ${escape(q.get('scope') ?? '')}).</p>
<form method="post" action="/login/oauth/authorize">
  <input type="hidden" name="request" value="${id}">
  <button type="submit" name="decision" value="deny">Cancel</button>
  <button type="submit" name="decision" value="allow">Authorize</button>
</form>`,
      );
    }

    if (route === 'POST /login/oauth/authorize') {
      const request = requests.get(form.get('request'));
      if (!request) return refuse(res, 400, 'unknown or used authorization request');
      requests.delete(form.get('request'));
      const back = new URL(request.redirectUri);
      if (form.get('decision') === 'allow') {
        const code = random();
        codes.set(code, { ...request, clientId: app.clientId, exp: Date.now() + 600_000 });
        back.searchParams.set('code', code);
      } else {
        back.searchParams.set('error', 'access_denied');
      }
      back.searchParams.set('state', request.state);
      return res.writeHead(302, { location: back.href }).end();
    }

    if (route === 'POST /login/oauth/access_token') {
      const accept = req.headers.accept ?? '';
      const code = codes.get(form.get('code'));
      codes.delete(form.get('code')); // used once, whatever follows
      if (!code || code.exp < Date.now()) return tokenError(res, 'bad_verification_code', 'unknown, used or expired code');
      if (form.get('client_id') !== code.clientId || form.get('client_secret') !== app.clientSecret) {
        return tokenError(res, 'incorrect_client_credentials', 'wrong client_id or client_secret');
      }
      if (form.has('redirect_uri') && form.get('redirect_uri') !== code.redirectUri) {
        return tokenError(res, 'redirect_uri_mismatch', `redirect_uri ${form.get('redirect_uri')} is not the authorization request's`);
      }
      const verifier = form.get('code_verifier') ?? '';
      if (createHash('sha256').update(verifier).digest('base64url') !== code.challenge) {
        return tokenError(res, 'bad_verification_code', 'no code_verifier, or not the one of the code_challenge');
      }
      const token = `gho_${random()}`;
      tokens.add(token);
      const granted = { access_token: token, token_type: 'bearer', scope: (code.scope ?? '').split(/[ ,]+/).filter(Boolean).join(',') };
      if (!/application\/json/.test(accept)) {
        // Without `Accept: application/json` GitHub answers form-encoded.
        complaints.push('token request without Accept: application/json');
        return res.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded' }).end(new URLSearchParams(granted).toString());
      }
      return json(res, 200, granted);
    }

    if (route === 'GET /api/user') {
      if (!authorized(req, res)) return;
      const { emails, ...user } = account;
      const primary = emails.find((e) => e.primary)?.email ?? null;
      return json(res, 200, { ...user, type: 'User', email: primary });
    }

    if (route === 'GET /api/user/emails') {
      if (!authorized(req, res)) return;
      return json(res, 200, account.emails.map((e) => ({ visibility: e.primary ? 'public' : null, ...e })));
    }

    json(res, 404, { message: 'Not Found' });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    apiUrl: `${url}/api`,
    // Registers the OAuth App (GitHub: Settings, Developer settings, OAuth Apps, New OAuth App).
    register({ name, clientId, clientSecret, callback }) {
      app = { name, clientId, clientSecret, callback };
    },
    complaints,
    seen,
    close: () => server.close(),
  };
}
