// The application's pages (browser side). window.CONFIG comes from app.mjs: gatehouse's
// origin as `domain` (no trailing slash), its issuer, the client id and which page this is.
// What the libraries report is kept in window.events and shown in <pre id="events">.
(function () {
  var C = window.CONFIG;
  window.events = [];
  function record(type, data) {
    window.events.push({ type: type, data: data === undefined ? null : JSON.parse(JSON.stringify(data)) });
    document.getElementById('events').textContent = JSON.stringify(window.events, null, 1);
  }
  window.record = record;
  var here = location.origin + location.pathname;

  if (C.page === 'webauth') {
    // auth0.js 10: webAuth.login({realm, username, password}) from the test; parseHash on return.
    window.webAuth = new auth0.WebAuth({
      domain: C.domain,
      clientID: C.clientID,
      redirectUri: here,
      responseType: 'token id_token',
      scope: 'openid profile email',
      overrides: { __token_issuer: C.issuer },
      __tryLocalStorageFirst: C.tryLocalStorageFirst === true,
    });
    if (location.hash) {
      window.webAuth.parseHash(function (err, authResult) {
        if (err) record('parse_error', err);
        else record('parsed', authResult);
      });
    } else {
      record('ready');
    }
    return;
  }

  if (C.page === 'verify') {
    // The Cross-Origin Verification Fallback page (the client's cross_origin_loc).
    new auth0.WebAuth({
      domain: C.domain,
      clientID: C.clientID,
      __tryLocalStorageFirst: C.tryLocalStorageFirst === true,
    }).crossOriginVerification();
    return;
  }

  // Lock: the classic widget or the passwordless one, configured for an http server.
  var options = {
    configurationBaseUrl: C.domain,
    languageBaseUrl: location.origin,
    overrides: { __token_issuer: C.issuer },
    auth: { redirectUrl: here, responseType: 'token id_token', params: { scope: 'openid profile email' } },
    theme: { logo: location.origin + '/logo.svg' },
    avatar: null,
  };
  var lock;
  if (C.page === 'lock') {
    options.allowedConnections = ['Username-Password-Authentication'];
    lock = new Auth0Lock(C.clientID, C.domain, options);
  } else {
    options.allowedConnections = [C.page === 'sms' ? 'sms' : 'email'];
    if (C.page === 'email-link') options.passwordlessMethod = 'link';
    lock = new Auth0LockPasswordless(C.clientID, C.domain, options);
  }
  window.lock = lock;
  ['authenticated', 'authorization_error', 'unrecoverable_error', 'hash_parsed', 'show'].forEach(function (name) {
    lock.on(name, function (data) {
      record(name, data);
    });
  });
  if (!location.hash) lock.show();
})();
