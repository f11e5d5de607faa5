// Plays the browser with fetch: redirects followed by hand (redirect: 'manual'), cookies kept
// per host:port with their Path (gatehouse's `gh_upstream` lives at /login/callback,
// oidc-provider's interaction cookies at /interaction/<uid> and /auth/<uid>), and every hop
// written down so a failure shows what each server answered.

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

// The cookie's default path (RFC 6265 s5.1.4): the request path up to its last '/'.
const defaultPath = (path) => (path.lastIndexOf('/') > 0 ? path.slice(0, path.lastIndexOf('/')) : '/');

const pathMatches = (cookiePath, path) =>
  path === cookiePath ||
  (path.startsWith(cookiePath) && (cookiePath.endsWith('/') || path[cookiePath.length] === '/'));

const unescapeHtml = (s) =>
  s.replace(/&(amp|lt|gt|quot|#39|#x27|#x2F);/g, (_, e) =>
    ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'", '#x2F': '/' })[e]);

const attributes = (tag) => {
  const out = {};
  for (const m of tag.matchAll(/([a-zA-Z_:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/g)) {
    out[m[1].toLowerCase()] = unescapeHtml(m[2] ?? m[3] ?? m[4]);
  }
  return out;
};

// The first form of `html`: its action (absolute, against `base`), method and named inputs.
export function parseForm(html, base) {
  const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) throw new Error(`no form in the page:\n${html.slice(0, 2000)}`);
  const attrs = attributes(form[1]);
  const fields = new URLSearchParams();
  for (const m of form[2].matchAll(/<input\b([^>]*)>/gi)) {
    const a = attributes(m[1]);
    if (a.name) fields.append(a.name, a.value ?? '');
  }
  return {
    action: new URL(attrs.action ?? base, base),
    method: (attrs.method ?? 'get').toUpperCase(),
    fields,
  };
}

export class Browser {
  // `stopAt(url)`: a URL the browser does not load but hands back (the application's callback,
  // which has no server here).
  constructor({ stopAt = () => false } = {}) {
    this.stopAt = stopAt;
    this.jar = new Map(); // host:port -> Map(`${path} ${name}` -> {name, value, path})
    this.hops = [];
  }

  cookieHeader(url) {
    const site = this.jar.get(url.host);
    if (!site) return undefined;
    const pairs = [...site.values()]
      .filter((c) => pathMatches(c.path, url.pathname))
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`);
    return pairs.length ? pairs.join('; ') : undefined;
  }

  // The cookie named `name` that a request to `url` would carry.
  cookie(url, name) {
    const site = this.jar.get(new URL(url).host);
    return [...(site?.values() ?? [])].find((c) => c.name === name && pathMatches(c.path, new URL(url).pathname));
  }

  store(url, setCookies) {
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = defaultPath(url.pathname);
      let expired = false;
      for (const a of attrs) {
        const [k, v = ''] = a.split('=');
        const key = k.toLowerCase();
        if (key === 'path' && v.startsWith('/')) path = v;
        if (key === 'max-age' && Number(v) <= 0) expired = true;
        if (key === 'expires' && Date.parse(v) <= Date.now()) expired = true;
      }
      if (!this.jar.has(url.host)) this.jar.set(url.host, new Map());
      const site = this.jar.get(url.host);
      const key = `${path} ${name}`;
      if (expired) site.delete(key);
      else site.set(key, { name, value, path });
    }
  }

  // One request, cookies sent and stored, no redirect followed.
  async request(url, { method = 'GET', body, headers = {} } = {}) {
    url = new URL(url);
    const cookie = this.cookieHeader(url);
    const init = { method, redirect: 'manual', headers: { ...headers } };
    if (cookie) init.headers.cookie = cookie;
    if (body !== undefined) {
      init.body = body;
      if (body instanceof URLSearchParams) init.headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const response = await fetch(url, init);
    const setCookies = response.headers.getSetCookie();
    this.store(url, setCookies);
    this.hops.push({
      method, url: url.href, cookie, sent: body instanceof URLSearchParams ? body.toString() : undefined,
      status: response.status,
      location: response.headers.get('location') ?? undefined,
      setCookies: setCookies.length ? setCookies : undefined,
    });
    return response;
  }

  // Loads `url` and follows redirects until a page (returned with its text) or a URL that
  // `stopAt` claims (returned as `{ stoppedAt }`).
  async go(url, { method = 'GET', body } = {}) {
    let current = new URL(url);
    for (let i = 0; i < 20; i++) {
      if (this.stopAt(current)) return { stoppedAt: current };
      const response = await this.request(current, { method, body });
      if (!REDIRECTS.has(response.status)) {
        const text = await response.text();
        this.hops.at(-1).body = text.slice(0, 1500);
        return { url: current, response, status: response.status, text };
      }
      await response.arrayBuffer();
      const next = new URL(response.headers.get('location'), current);
      if (response.status === 303 || (method === 'POST' && response.status <= 302)) {
        method = 'GET';
        body = undefined;
      }
      current = next;
    }
    throw new Error(`too many redirects:\n${this.dump()}`);
  }

  // Submits the page's first form, with `values` set (a submit button's name/value included).
  submit(page, values = {}) {
    const form = parseForm(page.text, page.url);
    for (const [k, v] of Object.entries(values)) form.fields.set(k, v);
    if (form.method === 'POST') return this.go(form.action, { method: 'POST', body: form.fields });
    const target = new URL(form.action);
    for (const [k, v] of form.fields) target.searchParams.append(k, v);
    return this.go(target);
  }

  // The first hop whose URL starts with `prefix`.
  hop(prefix) {
    return this.hops.find((h) => h.url.startsWith(prefix));
  }

  dump() {
    return JSON.stringify(this.hops, null, 1);
  }
}
