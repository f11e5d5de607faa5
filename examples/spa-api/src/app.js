// Auth0's "SPA + API" scenario (timesheets): the user logs in, and the app calls the
// timesheets API with an access token for it. The token's permissions decide what the page
// offers; the API decides what is allowed, whatever the page shows.
import { createAuth0Client } from '@auth0/auth0-spa-js';

const config = await (await fetch('/config.json')).json();
const appUrl = window.location.origin;
const READ = 'read:timesheets';
const CREATE = 'create:timesheets';
const APPROVE = 'approve:timesheets';
// Every permission the app can use: the token carries those the user holds (RBAC).
const SCOPE = `openid profile email ${READ} ${CREATE} ${APPROVE}`;

// createAuth0Client (rather than `new Auth0Client`) first tries a silent login, so a reload
// finds the user again through gatehouse's session without keeping tokens in localStorage.
const auth0 = await createAuth0Client({
  domain: config.domain,
  clientId: config.clientId,
  authorizationParams: { redirect_uri: appUrl, audience: config.audience, scope: SCOPE },
});

const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(method, path, status, body, challenge) {
    const detail = body?.error_description || body?.error || challenge;
    super(`${method} ${path} answered ${status}${detail ? `: ${detail}` : ''}`);
    this.status = status;
  }
}

// Calls the timesheets API with the user's access token.
async function api(method, path, body) {
  const token = await auth0.getTokenSilently();
  const headers = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let r;
  try {
    r = await fetch(`${config.apiUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    // A network error, or an answer this page may not read (CORS).
    throw new Error(`${method} ${path}: no answer this page may read (${e.message}). Is the API running, with CORS_ORIGIN=${appUrl}?`);
  }
  const text = await r.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!r.ok) throw new ApiError(method, path, r.status, data, r.headers.get('www-authenticate'));
  return data;
}

// What the access token says the user may do: its `permissions` (RBAC with the
// access_token_authz dialect) and its granted `scope`. Only for choosing what to show: the
// page reads the token, it does not trust it; the API checks it.
async function permissions() {
  const token = await auth0.getTokenSilently();
  const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
  const claims = JSON.parse(atob(payload));
  return new Set([...(claims.permissions ?? []), ...(claims.scope ?? '').split(' ')]);
}

function setStatus(text) {
  $('status').textContent = text;
}

function showError(e) {
  $('error').textContent = e?.error_description || e?.message || String(e);
  $('error').hidden = false;
  setStatus('');
  console.error(e);
}

function clearError() {
  $('error').hidden = true;
  $('error').textContent = '';
}

let me;

async function render() {
  const user = await auth0.getUser();
  const may = await permissions();
  me = { sub: user.sub, may };
  $('user-name').textContent = user.name || '';
  $('user-email').textContent = user.email || '';
  $('user-id').textContent = user.sub;
  $('permissions').textContent = [READ, CREATE, APPROVE].filter((p) => may.has(p)).join(', ') || 'none';
  $('entry-form').hidden = !may.has(CREATE);
  $('entries-caption').textContent = may.has(APPROVE) ? "Everyone's entries" : 'Your entries';
  $('logged-out').hidden = true;
  $('logged-in').hidden = false;
  if (may.has(READ) || may.has(APPROVE)) {
    renderEntries(await api('GET', '/timesheets'));
  } else {
    renderEntries([]);
    setStatus('You may not read timesheets: ask for the read:timesheets permission.');
  }
}

function renderEntries(entries) {
  const tbody = $('entries').querySelector('tbody');
  tbody.replaceChildren();
  $('no-entries').hidden = entries.length > 0;
  for (const entry of entries) {
    const row = document.createElement('tr');
    row.dataset.id = entry.id;
    const owner = entry.owner === me.sub ? 'you' : entry.owner;
    for (const text of [entry.date, entry.project, String(entry.hours), entry.notes, owner, entry.status]) {
      const cell = document.createElement('td');
      cell.textContent = text;
      row.append(cell);
    }
    const actions = document.createElement('td');
    if (me.may.has(APPROVE) && entry.status === 'submitted') {
      const approve = document.createElement('button');
      approve.type = 'button';
      approve.textContent = 'Approve';
      approve.setAttribute('aria-label', `Approve entry ${entry.id}`);
      approve.addEventListener('click', () => approveEntry(entry));
      actions.append(approve);
    }
    row.append(actions);
    tbody.append(row);
  }
}

async function submitEntry(event) {
  event.preventDefault();
  clearError();
  const form = new FormData($('entry-form'));
  try {
    const entry = await api('POST', '/timesheets', {
      date: form.get('date'),
      project: form.get('project'),
      hours: Number(form.get('hours')),
      notes: form.get('notes'),
    });
    $('entry-form').reset();
    await render();
    setStatus(`Submitted entry ${entry.id} for approval.`);
  } catch (e) {
    showError(e);
  }
}

async function approveEntry(entry) {
  clearError();
  try {
    await api('POST', `/timesheets/${entry.id}/approve`);
    await render();
    setStatus(`Approved entry ${entry.id}.`);
  } catch (e) {
    showError(e);
  }
}

async function refresh() {
  clearError();
  try {
    await render();
    setStatus('Up to date.');
  } catch (e) {
    showError(e);
  }
}

$('login').addEventListener('click', () => auth0.loginWithRedirect());
$('logout').addEventListener('click', () => auth0.logout({ logoutParams: { returnTo: appUrl } }));
$('refresh').addEventListener('click', refresh);
$('entry-form').addEventListener('submit', submitEntry);

// Back from the login page with a code (or an error), or a plain visit.
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
