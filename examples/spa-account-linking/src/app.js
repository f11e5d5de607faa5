// User-initiated account linking in a single-page app ("Account Linking Using Client Side
// Code"): the user logs in, then logs in again in a popup with another account, and the app
// links the two through the Management API with the user's own access token.
import { Auth0Client } from '@auth0/auth0-spa-js';

const config = await (await fetch('/config.json')).json();
// `domain` may be a bare host (as with Auth0) or a URL (a local gatehouse on plain http).
const domainUrl = (/^https?:\/\//.test(config.domain) ? config.domain : `https://${config.domain}`).replace(/\/+$/, '');
const issuer = `${domainUrl}/`;
// The Management API, whose `*:current_user*` scopes let a user act on their own account.
const audience = `${issuer}api/v2/`;
const appUrl = window.location.origin;

const SCOPE = 'openid profile email read:current_user update:current_user_identities update:current_user_metadata';
// The account being linked only needs to read its own profile (for its user_metadata).
// (If it is to stay primary, it asks for SCOPE instead: see linkAccount.)
const LINK_SCOPE = 'openid profile email read:current_user';

// The logged-in (primary) user. Its tokens are cached in localStorage, so a reload keeps them
// even though every popup login below replaces the session the browser has at the server.
const auth0 = new Auth0Client({
  domain: config.domain,
  clientId: config.clientId,
  cacheLocation: 'localstorage',
  authorizationParams: { redirect_uri: appUrl, audience, scope: SCOPE },
});

const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

class ApiError extends Error {
  constructor(method, path, status, body) {
    const detail = body && typeof body === 'object' ? body.message || body.error_description || body.error : body;
    super(`${method} /api/v2/${path} answered ${status}${detail ? `: ${detail}` : ''}`);
    this.status = status;
    this.body = body;
  }
}

// Calls the Management API with a user's access token.
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

function setStatus(text) {
  $('status').textContent = text;
}

function showError(e) {
  const message = e?.error_description || e?.message || String(e);
  $('error').textContent = message;
  $('error').hidden = false;
  setStatus('');
  console.error(e);
}

function clearError() {
  $('error').hidden = true;
  $('error').textContent = '';
}

// The primary user as the logged-in session sees it.
async function primary() {
  const claims = await auth0.getIdTokenClaims();
  return { sub: claims.sub, idToken: claims.__raw, token: await auth0.getTokenSilently() };
}

// Keeps the primary's values; adds the other's; concatenates arrays (the merge of Auth0's guide).
function mergeMetadata(keep = {}, other = {}) {
  const plain = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  const out = { ...other };
  for (const [k, v] of Object.entries(keep ?? {})) {
    const o = out[k];
    if (Array.isArray(v) && Array.isArray(o)) out[k] = [...v, ...o];
    else if (plain(v) && plain(o)) out[k] = mergeMetadata(v, o);
    else out[k] = v;
  }
  return out;
}

function identityDetails(identity) {
  const p = identity.profileData || {};
  return p.email || p.phone_number || p.name || p.username || '';
}

async function render() {
  const me = await primary();
  const user = await api('GET', `users/${enc(me.sub)}`, me.token);
  $('user-name').textContent = user.name || '';
  $('user-email').textContent = user.email || user.phone_number || '';
  $('user-id').textContent = user.user_id;
  $('metadata').value = JSON.stringify(user.user_metadata || {}, null, 2);
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

// Step 2 and 3 of the guide: authenticate the other account in a popup (a second client with
// its own in-memory cache, so the logged-in user's tokens stay as they are), then link.
async function linkAccount(connection) {
  clearError();
  const keepOther = new FormData($('link-form')).get('primary') === 'other';
  const merge = $('merge-metadata').checked;
  if (keepOther && $('identities').querySelectorAll('tbody tr').length > 1) {
    // Linking is one level deep: an account with linked identities cannot become a secondary.
    showError(new Error('To make the other account the primary, first unlink the identities linked to this one.'));
    return;
  }
  // An account that is to stay primary calls the link endpoint (and writes its metadata)
  // itself, so it needs the same scopes as the logged-in user.
  const scope = keepOther ? SCOPE : LINK_SCOPE;
  const second = new Auth0Client({
    domain: config.domain,
    clientId: config.clientId,
    cacheLocation: 'memory',
    authorizationParams: { redirect_uri: appUrl, audience, scope },
  });
  // Called first thing in the click handler: the popup opens before anything is awaited.
  const login = second.loginWithPopup({
    authorizationParams: { connection, prompt: 'login', max_age: 0, audience, scope },
  });
  setStatus('Log in with the account to link, in the popup window.');
  try {
    await login;
    const claims = await second.getIdTokenClaims();
    const other = {
      sub: claims.sub,
      idToken: claims.__raw,
      token: await second.getTokenSilently({ authorizationParams: { audience, scope } }),
    };
    const me = await primary();
    if (other.sub === me.sub) throw new Error('That is the account you are logged in with already.');
    const [keep, linked] = keepOther ? [other, me] : [me, other];

    if (merge) {
      // The linked account's user_metadata is discarded by the link: copy it over first.
      setStatus('Merging user_metadata…');
      const [keepUser, linkedUser] = await Promise.all([
        api('GET', `users/${enc(keep.sub)}`, keep.token),
        api('GET', `users/${enc(linked.sub)}`, linked.token),
      ]);
      const merged = mergeMetadata(keepUser.user_metadata, linkedUser.user_metadata);
      await api('PATCH', `users/${enc(keep.sub)}`, keep.token, { user_metadata: merged });
    }

    setStatus('Linking…');
    const identities = await api('POST', `users/${enc(keep.sub)}/identities`, keep.token, { link_with: linked.idToken });
    if (keepOther) {
      // The account this page was logged in with no longer exists on its own. The popup's
      // login left a session for the account that stayed: take its tokens silently.
      await auth0.getTokenSilently({ cacheMode: 'off' });
    }
    await render();
    setStatus(`Linked: ${identities.length} identities on ${keep.sub}.`);
  } catch (e) {
    showError(e);
  }
}

async function unlinkIdentity(userId, identity) {
  clearError();
  try {
    const me = await primary();
    const remaining = await api(
      'DELETE',
      `users/${enc(userId)}/identities/${enc(identity.provider)}/${enc(identity.user_id)}`,
      me.token,
    );
    await render();
    setStatus(`Unlinked ${identity.provider}|${identity.user_id}: ${remaining.length} identities left.`);
  } catch (e) {
    showError(e);
  }
}

async function saveMetadata(event) {
  event.preventDefault();
  clearError();
  try {
    const metadata = JSON.parse($('metadata').value || '{}');
    const me = await primary();
    await api('PATCH', `users/${enc(me.sub)}`, me.token, { user_metadata: metadata });
    await render();
    setStatus('Metadata saved.');
  } catch (e) {
    showError(e);
  }
}

$('login').addEventListener('click', () => auth0.loginWithRedirect());
$('signup').addEventListener('click', () => auth0.loginWithRedirect({ authorizationParams: { screen_hint: 'signup' } }));
$('logout').addEventListener('click', () => auth0.logout({ logoutParams: { returnTo: appUrl } }));
$('metadata-form').addEventListener('submit', saveMetadata);
// The upstream providers' buttons name their connection in the configuration (none: no button).
for (const button of $('link-form').querySelectorAll('button[data-connection-of]')) {
  const connection = config.connections?.[button.dataset.connectionOf];
  if (connection) {
    button.dataset.connection = connection;
    button.hidden = false;
  }
}
for (const button of $('link-form').querySelectorAll('button[data-connection]')) {
  button.addEventListener('click', () => linkAccount(button.dataset.connection));
}

// Step 1: back from the login page with a code (or an error), or a plain visit.
const query = new URLSearchParams(window.location.search);
if (query.has('state') && (query.has('code') || query.has('error'))) {
  try {
    await auth0.handleRedirectCallback();
  } catch (e) {
    showError(e);
  }
  window.history.replaceState({}, document.title, '/');
}
try {
  if (await auth0.isAuthenticated()) {
    await render();
  } else {
    $('logged-out').hidden = false;
  }
} catch (e) {
  showError(e);
  $('logged-out').hidden = false;
}
document.body.dataset.ready = 'true';
