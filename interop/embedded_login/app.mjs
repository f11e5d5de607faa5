// The application: a small http server for the pages of page.js, with Lock 14.3.0 (npm's
// CommonJS lib/, and its own auth0-js 9.32.0) and auth0-js 10.2.1 bundled by esbuild in
// memory when the suite starts, and Lock's English dictionary served where Lock's
// `languageBaseUrl` makes it look (so it loads nothing from a CDN).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

async function bundle(contents) {
  const result = await build({
    stdin: { contents, resolveDir: here, loader: 'js' },
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    // Explicit, so that Lock's require('auth0-js') also takes auth0-js's ESM build: its `main`
    // is a UMD file in a "type": "module" package, which a bundler must not read as ESM.
    mainFields: ['browser', 'module', 'main'],
    target: 'chrome120',
    define: { 'process.env.NODE_ENV': '"production"', global: 'window' },
    logLevel: 'error',
  });
  return result.outputFiles[0].text;
}

export async function buildScripts() {
  const [libraries, english] = await Promise.all([
    bundle(`
      import Auth0Lock, { Auth0LockPasswordless } from 'auth0-lock';
      import auth0 from 'auth0-js';
      window.Auth0Lock = Auth0Lock;
      window.Auth0LockPasswordless = Auth0LockPasswordless;
      window.auth0 = auth0;
    `),
    // Lock creates window.Auth0 before it loads this script.
    bundle(`
      import en from 'auth0-lock/lib/i18n/en';
      window.Auth0.registerLanguageDictionary('en', en);
    `),
  ]);
  return { libraries, english, page: readFileSync(join(here, 'page.js'), 'utf8') };
}

export const PAGES = ['webauth', 'lock', 'email-code', 'email-link', 'sms', 'verify'];

const LOGO = '<svg xmlns="http://www.w3.org/2000/svg" width="58" height="58"><rect width="58" height="58" fill="#356"/></svg>';

// Serves the pages on `count` free ports of 127.0.0.1 (reached as localhost or 127.0.0.1: two
// origins per port); `configFor(origin)` gives the {domain, issuer, clientID,
// tryLocalStorageFirst} pages of that origin use, none for an origin the suite does not use.
// Returns the ports and `close`.
export async function startApp(scripts, configFor, count = 1) {
  const handler = (req, res) => {
    const url = new URL(req.url, 'http://x');
    const origin = `http://${req.headers.host}`;
    const name = /^\/([a-z-]+)\.html$/.exec(url.pathname)?.[1];
    if (url.pathname === '/embedded.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(scripts.libraries);
    } else if (url.pathname === '/js/lock/14.3.0/en.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(scripts.english);
    } else if (url.pathname === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(scripts.page);
    } else if (url.pathname === '/favicon.ico') {
      res.writeHead(204).end();
    } else if (url.pathname === '/logo.svg') {
      res.writeHead(200, { 'content-type': 'image/svg+xml' }).end(LOGO);
    } else if (PAGES.includes(name) && configFor(origin)) {
      const config = JSON.stringify({ ...configFor(origin), page: name }).replace(/</g, '\\u003c');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(
        `<!doctype html><html><head><meta charset="utf-8"><title>${name}</title></head><body>` +
          `<h1>${name}</h1><pre id="events"></pre>` +
          `<script>window.CONFIG = ${config};</script>` +
          `<script src="/embedded.js"></script><script src="/page.js"></script></body></html>`,
      );
    } else {
      res.writeHead(404).end();
    }
  };
  const servers = [];
  for (let i = 0; i < count; i++) {
    const server = createServer(handler);
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
  }
  return { ports: servers.map((s) => s.address().port), close: () => servers.forEach((s) => s.close()) };
}
