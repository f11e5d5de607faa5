// User-initiated account linking with Lock, in a single-page app: the user logs in with Lock,
// then logs in again with Lock as another account (a password account, a phone number, an
// email address), and the page links that account to the first one through the Management
// API, with the first account's own access token.
//
// Lock runs in redirect mode: every login leaves the page and comes back with the tokens in
// the URL fragment. So the first account's tokens live in localStorage, and so does the
// intent to link ("the next login is an account to link, not a new login").
import { Auth0Lock, Auth0LockPasswordless } from 'auth0-lock';
import english from 'auth0-lock/lib/i18n/en.js';

const config = await (await fetch('/config.json')).json();
// `domain` may be a bare host (as with Auth0) or a URL (a local gatehouse on plain http).
// Lock wants the exact origin, without a trailing slash.
const domainUrl = (/^https?:\/\//.test(config.domain) ? config.domain : `https://${config.domain}`).replace(/\/+$/, '');
const issuer = `${domainUrl}/`;
// The Management API, whose `*:current_user*` scopes let a user act on their own account.
const audience = `${issuer}api/v2/`;
const appUrl = window.location.origin;

const SCOPE = 'openid profile email read:current_user update:current_user_identities update:current_user_metadata';
// The account being linked only needs to read its own profile (for its user_metadata).
const LINK_SCOPE = 'openid profile email read:current_user';
// A linking login started longer ago than this is not finished any more (a magic link lives
// a few minutes).
const INTENT_MAX_AGE_MS = 15 * 60 * 1000;

// Lock fetches its texts from Auth0's CDN unless the language is registered already: register
// the English one it ships, so the page loads nothing from elsewhere. (`window.Auth0` is made
// by Lock's module as it loads.)
window.Auth0.registerLanguageDictionary('en', english.default ?? english);

// Options every Lock of this page shares. With gatehouse on http (or any domain given as a
// URL) Lock needs to be told where the application's settings (`client/<id>.js`) are, and
// which `iss` its ID tokens carry; `avatar: null` and a local logo keep it off gravatar.com
// and Auth0's CDN.
function lockOptions({ auth = {}, ...options } = {}) {
  return {
    configurationBaseUrl: domainUrl,
    languageBaseUrl: domainUrl,
    overrides: { __token_issuer: issuer },
    avatar: null,
    theme: { logo: `${appUrl}/logo.svg`, primaryColor: '#1d4ed8' },
    ...options,
    auth: { redirectUrl: appUrl, responseType: 'token id_token', ...auth },
  };
}

const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

// --- Storage: the primary's tokens, and the intent to link ---------------------------------

function savePrimary(authResult) {
  localStorage.setItem(
    'primary',
    JSON.stringify({
      sub: authResult.idTokenPayload.sub,
      accessToken: authResult.accessToken,
      idToken: authResult.idToken,
      expiresAt: Date.now() + (authResult.expiresIn ?? 0) * 1000,
    }),
  );
}

// The logged-in (primary) user, or null (never logged in, logged out, or the token expired).
function loadPrimary() {
  try {
    const p = JSON.parse(localStorage.getItem('primary'));
    return p && p.accessToken && p.expiresAt > Date.now() + 5000 ? p : null;
  } catch {
    return null;
  }
}

function setIntent(kind) {
  localStorage.setItem('linking', JSON.stringify({ kind, merge: $('merge-metadata').checked, at: Date.now() }));
}

function takeIntent() {
  const raw = localStorage.getItem('linking');
  localStorage.removeItem('linking');
  try {
    const intent = JSON.parse(raw);
    return intent && Date.now() - intent.at < INTENT_MAX_AGE_MS ? intent : null;
  } catch {
    return null;
  }
}

// --- The Management API ---------------------------------------------------------------------

class ApiError extends Error {
  constructor(method, path, status, body) {
    const detail = body && typeof body === 'object' ? body.message || body.error_description || body.error : body;
    super(`${method} /api/v2/${path} answered ${status}${detail ? `: ${detail}` : ''}`);
    this.status = status;
    this.body = body;
  }
}

// Calls the Management API with a user's access token. (auth0-js's `Management` client
// always uses https://<domain>, so plain fetch it is.)
async function api(method, path, token, body) {
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let r;
  try {
    r = await fetch(`${audience}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    // A network error, or an answer this page may not read (CORS).
    throw new Error(`${method} /api/v2/${path}: no answer this page may read (${e.message}). Is ${appUrl} among the application's Allowed Origins?`);
  }
  const text = await r.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!r.ok) throw new ApiError(method, path, r.status, data);
  return data;
}

// --- The page -------------------------------------------------------------------------------

function setStatus(text) {
  $('status').textContent = text;
}

function showError(e) {
  const message = e?.errorDescription || e?.error_description || e?.description || e?.message || e?.error || String(e);
  $('error').textContent = message;
  $('error').hidden = false;
  setStatus('');
  console.error(e);
}

function clearError() {
  $('error').hidden = true;
  $('error').textContent = '';
}

function showLoggedOut() {
  $('logged-in').hidden = true;
  $('logged-out').hidden = false;
}

function identityDetails(identity) {
  const p = identity.profileData || {};
  return p.email || p.phone_number || p.name || p.username || '';
}

async function render() {
  const me = loadPrimary();
  if (!me) {
    showLoggedOut();
    return;
  }
  let user;
  try {
    user = await api('GET', `users/${enc(me.sub)}`, me.accessToken);
  } catch (e) {
    if (e.status === 401) {
      // The token is not good any more (revoked, or signed with a key since rotated).
      localStorage.removeItem('primary');
      showLoggedOut();
    }
    throw e;
  }
  $('user-name').textContent = user.name || user.nickname || '';
  $('user-email').textContent = user.email || user.phone_number || '';
  $('user-id').textContent = user.user_id;
  $('metadata').textContent = JSON.stringify(user.user_metadata || {}, null, 2);
  renderIdentities(user);
  $('logged-out').hidden = true;
  $('logged-in').hidden = false;
}

function renderIdentities(user) {
  const tbody = $('identities').querySelector('tbody');
  tbody.replaceChildren();
  (user.identities || []).forEach((identity, i) => {
    const row = document.createElement('tr');
    const details = identityDetails(identity) || (i === 0 ? user.email || user.phone_number || '' : '');
    for (const text of [identity.connection, identity.provider, identity.user_id, i === 0 ? `${details} (primary)` : details]) {
      const cell = document.createElement('td');
      cell.textContent = text;
      row.append(cell);
    }
    const actions = document.createElement('td');
    if (i > 0) {
      const unlink = document.createElement('button');
      unlink.type = 'button';
      unlink.textContent = 'Unlink';
      unlink.setAttribute('aria-label', `Unlink ${identity.provider}|${identity.user_id}`);
      unlink.addEventListener('click', () => unlinkIdentity(user.user_id, identity));
      actions.append(unlink);
    }
    row.append(actions);
    tbody.append(row);
  });
}

// --- Logging in -----------------------------------------------------------------------------

// Shows Lock for the primary login: the database connection (kind 'database') or a
// passwordless one ('sms' or 'email', by code). The token it asks for is the Management API's,
// with the scopes a person has on their own account.
function login(kind) {
  clearError();
  localStorage.removeItem('linking');
  const options = { auth: { audience, params: { scope: SCOPE } }, languageDictionary: { title: 'Account linking' } };
  const lock =
    kind === 'database'
      ? new Auth0Lock(config.clientId, domainUrl, lockOptions({ ...options, allowedConnections: [config.database] }))
      : new Auth0LockPasswordless(config.clientId, domainUrl, lockOptions({ ...options, allowedConnections: [kind], passwordlessMethod: 'code' }));
  lock.on('unrecoverable_error', showError);
  lock.show();
}

// --- Linking --------------------------------------------------------------------------------

// Shows Lock for the account to link. It must be a fresh login (so no "last time you logged
// in with" screen: rememberLastLogin false), and it comes back through the redirect, so what
// to do then goes to localStorage first.
function linkWith(kind) {
  clearError();
  if (!loadPrimary()) {
    showError(new Error('Your session on this page has expired: log out and log in again.'));
    return;
  }
  setIntent(kind);
  const common = {
    rememberLastLogin: false,
    auth: { audience, params: { scope: LINK_SCOPE } },
  };
  let lock;
  if (kind === 'password') {
    lock = new Auth0Lock(config.clientId, domainUrl, lockOptions({
      ...common,
      allowedConnections: [config.database],
      languageDictionary: { title: 'Link a password account' },
    }));
  } else if (kind === 'sms') {
    lock = new Auth0LockPasswordless(config.clientId, domainUrl, lockOptions({
      ...common,
      allowedConnections: ['sms'],
      passwordlessMethod: 'code',
      languageDictionary: { title: 'Link a phone number' },
    }));
  } else {
    lock = new Auth0LockPasswordless(config.clientId, domainUrl, lockOptions({
      ...common,
      allowedConnections: ['email'],
      passwordlessMethod: kind === 'email-link' ? 'link' : 'code',
      // Lock 14.3.0 crashes (and closes) as it shows its "we sent you a link" pane with
      // autofocus on, as it is on a large screen: it looks for an input to focus in a React
      // component instead of an element. The link is sent all the same; without autofocus
      // the pane shows.
      autofocus: kind === 'email-link' ? false : undefined,
      languageDictionary: { title: 'Link an email address' },
    }));
  }
  lock.on('unrecoverable_error', showError);
  lock.show();
}

// Keeps the primary's values; adds the other's; concatenates arrays; merges objects key by key.
function mergeMetadata(primary = {}, other = {}) {
  const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  const merged = { ...other };
  for (const [key, value] of Object.entries(primary ?? {})) {
    const theirs = merged[key];
    if (Array.isArray(value) && Array.isArray(theirs)) merged[key] = [...value, ...theirs];
    else if (isObject(value) && isObject(theirs)) merged[key] = mergeMetadata(value, theirs);
    else merged[key] = value;
  }
  return merged;
}

// Back from Lock with the account to link.
async function linkAccount(authResult, intent) {
  const me = loadPrimary();
  if (!me) throw new Error('Your session on this page expired before the link: log in again, then link again.');
  const other = { sub: authResult.idTokenPayload.sub, idToken: authResult.idToken, token: authResult.accessToken };
  if (other.sub === me.sub) {
    throw new Error('That login is already yours: it is the account you are logged in with, or linked to it.');
  }
  if (intent.merge) {
    // Linking discards the other account's user_metadata: copy it over first, each read with
    // its own account's token.
    setStatus('Merging user_metadata…');
    const [mine, theirs] = await Promise.all([
      api('GET', `users/${enc(me.sub)}`, me.accessToken),
      api('GET', `users/${enc(other.sub)}`, other.token),
    ]);
    const merged = mergeMetadata(mine.user_metadata, theirs.user_metadata);
    await api('PATCH', `users/${enc(me.sub)}`, me.accessToken, { user_metadata: merged });
  }
  setStatus('Linking…');
  const identities = await api('POST', `users/${enc(me.sub)}/identities`, me.accessToken, { link_with: other.idToken });
  await render();
  setStatus(`Linked ${other.sub}: ${identities.length} identities on ${me.sub}.`);
}

async function unlinkIdentity(userId, identity) {
  clearError();
  try {
    const me = loadPrimary();
    if (!me) throw new Error('Your session on this page has expired: log out and log in again.');
    const remaining = await api(
      'DELETE',
      `users/${enc(userId)}/identities/${enc(identity.provider)}/${enc(identity.user_id)}`,
      me.accessToken,
    );
    await render();
    setStatus(`Unlinked ${identity.provider}|${identity.user_id}: ${remaining.length} identities left.`);
  } catch (e) {
    showError(e);
  }
}

// --- Start ------------------------------------------------------------------------------------

// The page's own Lock, never shown: as the page loads it reads the login result in the URL
// fragment (checking the ID token and the state), and tells it with `authenticated` (or
// `authorization_error`); `hash_parsed` with nothing means there was no login result.
const lock = new Auth0Lock(config.clientId, domainUrl, lockOptions({ rememberLastLogin: false }));

function ready() {
  document.body.dataset.ready = 'true';
}

async function afterLogin(authResult) {
  const intent = takeIntent();
  if (intent) {
    await linkAccount(authResult, intent);
  } else {
    savePrimary(authResult);
    await render();
    setStatus('Logged in.');
  }
}

lock.on('authenticated', (authResult) => {
  afterLogin(authResult)
    .catch(async (e) => {
      showError(e);
      await render().catch(() => {});
    })
    .finally(ready);
});
lock.on('authorization_error', (e) => {
  localStorage.removeItem('linking');
  showError(e);
  render().catch(() => {}).finally(ready);
});
lock.on('hash_parsed', (result) => {
  if (result) return; // `authenticated` or `authorization_error` follows
  render().catch(showError).finally(ready);
});
lock.on('unrecoverable_error', showError);

$('login').addEventListener('click', () => login('database'));
$('login-sms').addEventListener('click', () => login('sms'));
$('login-email').addEventListener('click', () => login('email'));
$('link-password').addEventListener('click', () => linkWith('password'));
$('link-sms').addEventListener('click', () => linkWith('sms'));
$('link-email-code').addEventListener('click', () => linkWith('email-code'));
$('link-email-link').addEventListener('click', () => linkWith('email-link'));
$('logout').addEventListener('click', () => {
  localStorage.removeItem('primary');
  localStorage.removeItem('linking');
  // gatehouse's /v2/logout ends its session and comes back (returnTo is an Allowed Logout URL).
  lock.logout({ returnTo: appUrl });
});
