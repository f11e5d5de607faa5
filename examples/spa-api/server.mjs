// Serves the built app (dist/) and /config.json, which tells the page where gatehouse and the
// API are and which application it is.
//
//   PORT              port to listen on (default 3000)
//   HOST              address to listen on (default 127.0.0.1)
//   GATEHOUSE_DOMAIN  gatehouse's base URL, e.g. http://localhost:8080 (or a bare https host)
//   CLIENT_ID         the single-page application's client_id
//   API_URL           the timesheets API (reports-api), default http://localhost:4000
//   AUDIENCE          that API's identifier at gatehouse, default https://timesheets.example/
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), 'dist');
const PORT = Number(process.env.PORT || 3000);
const HOST = process.env.HOST || '127.0.0.1';
const DOMAIN = (process.env.GATEHOUSE_DOMAIN || 'http://localhost:8080').replace(/\/+$/, '');
const CLIENT_ID = process.env.CLIENT_ID;
const API_URL = (process.env.API_URL || 'http://localhost:4000').replace(/\/+$/, '');
const AUDIENCE = process.env.AUDIENCE || 'https://timesheets.example/';

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
const apiOrigin = new URL(API_URL).origin;
const CONFIG = JSON.stringify({ domain: DOMAIN, clientId: CLIENT_ID, apiUrl: API_URL, audience: AUDIENCE });
// The page talks to gatehouse (tokens, and the hidden iframe of silent authentication) and
// to the API, nothing else.
const CSP = [
  "default-src 'self'",
  `connect-src 'self' ${gatehouseOrigin} ${apiOrigin}`,
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
  console.log(`timesheets sample on http://localhost:${server.address().port}/ (gatehouse: ${DOMAIN}, API: ${API_URL})`);
});
