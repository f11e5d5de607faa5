// Serves the built app (dist/) and /config.json, which tells the page where gatehouse is and
// which application it is.
//
//   PORT              port to listen on (default 3000)
//   HOST              address to listen on (default 127.0.0.1)
//   GATEHOUSE_DOMAIN  gatehouse's base URL, e.g. http://localhost:8080 (or a bare https host)
//   CLIENT_ID         the single-page application's client_id
//   OIDC_CONNECTION   the `oidc` connection behind "Link an OpenID Connect account"
//                     (default oidc-upstream; empty hides the button)
//   GITHUB_CONNECTION the `github` connection behind "Link GitHub" (default github; empty
//                     hides the button)
//   SAML_CONNECTION   the `samlp` connection behind "Link a SAML account" (default corp-saml;
//                     empty hides the button)
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), 'dist');
const PORT = Number(process.env.PORT || 3000);
const HOST = process.env.HOST || '127.0.0.1';
const DOMAIN = (process.env.GATEHOUSE_DOMAIN || 'http://localhost:8080').replace(/\/+$/, '');
const CLIENT_ID = process.env.CLIENT_ID;
// Connections of upstream identity providers, by name (set but empty: no such button).
const OIDC_CONNECTION = process.env.OIDC_CONNECTION ?? 'oidc-upstream';
const GITHUB_CONNECTION = process.env.GITHUB_CONNECTION ?? 'github';
const SAML_CONNECTION = process.env.SAML_CONNECTION ?? 'corp-saml';

if (!CLIENT_ID) {
  console.error('server.mjs: set CLIENT_ID to the client_id of the single-page application');
  process.exit(2);
}
if (!existsSync(join(dist, 'index.html'))) {
  console.error('server.mjs: no dist/ yet: run `npm run build` first');
  process.exit(2);
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
};
const gatehouseOrigin = new URL(/^https?:\/\//.test(DOMAIN) ? DOMAIN : `https://${DOMAIN}`).origin;
const CONFIG = JSON.stringify({
  domain: DOMAIN,
  clientId: CLIENT_ID,
  connections: { oidc: OIDC_CONNECTION, github: GITHUB_CONNECTION, saml: SAML_CONNECTION },
});
// The page talks to gatehouse only: fetch (tokens, Management API) and the hidden iframe of
// silent authentication.
const CSP = [
  "default-src 'self'",
  `connect-src 'self' ${gatehouseOrigin}`,
  `frame-src ${gatehouseOrigin}`,
  "img-src 'self' https: data:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const server = createServer((req, res) => {
  const headers = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };
  let path;
  try {
    path = decodeURIComponent(new URL(req.url, 'http://app').pathname);
  } catch {
    res.writeHead(400, headers).end();
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { ...headers, allow: 'GET, HEAD' }).end();
    return;
  }
  if (path === '/config.json') {
    res.writeHead(200, { ...headers, 'content-type': 'application/json' }).end(CONFIG);
    return;
  }
  const file = normalize(join(dist, path === '/' ? 'index.html' : path));
  if (!file.startsWith(dist + sep) || !TYPES[extname(file)] || !existsSync(file)) {
    res.writeHead(404, { ...headers, 'content-type': 'text/plain' }).end('Not found');
    return;
  }
  res
    .writeHead(200, { ...headers, 'content-type': TYPES[extname(file)], 'content-security-policy': CSP })
    .end(req.method === 'HEAD' ? undefined : readFileSync(file));
});
server.listen(PORT, HOST, () => {
  console.log(`account linking sample on http://localhost:${server.address().port}/ (gatehouse: ${DOMAIN})`);
});
