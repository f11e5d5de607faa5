"""auth0-python's passwordless client logging people in with codes: `Passwordless.email` /
`Passwordless.sms` start the flow, `GetToken.passwordless_login` finishes it. The codes are read
from a real SMTP conversation and a real HTTP SMS gateway, both on loopback in this process."""

import email
import email.policy
import http.server
import json
import queue
import re
import socketserver
import threading

import pytest
from auth0.authentication import GetToken, Passwordless
from auth0.authentication.exceptions import Auth0Error
from auth0.authentication.token_verifier import AsymmetricSignatureVerifier, TokenVerifier

OTP = "http://auth0.com/oauth/grant-type/passwordless/otp"
PHONE = "+14155550123"


class SmtpReceiver(socketserver.ThreadingTCPServer):
    """Just enough SMTP (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) to take mail and queue it."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.mails = queue.Queue()
        super().__init__(("127.0.0.1", 0), _SmtpSession)
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def next_mail(self, timeout=10):
        return self.mails.get(timeout=timeout)


class _SmtpSession(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"220 localhost ESMTP interop\r\n")
        data = None
        for raw in self.rfile:
            line = raw.rstrip(b"\r\n")
            if data is not None:
                if line == b".":
                    self.server.mails.put(b"\r\n".join(data).decode("utf-8", "replace"))
                    data = None
                    self.wfile.write(b"250 queued\r\n")
                else:
                    data.append(line[1:] if line.startswith(b".") else line)
                continue
            verb = line.split(b" ", 1)[0].upper()
            if verb == b"EHLO":
                self.wfile.write(b"250-localhost\r\n250 8BITMIME\r\n")
            elif verb in (b"HELO", b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                self.wfile.write(b"250 ok\r\n")
            elif verb == b"DATA":
                data = []
                self.wfile.write(b"354 go ahead\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"502 not implemented\r\n")


class SmsGateway(http.server.ThreadingHTTPServer):
    """An SMS gateway: records each POSTed JSON body and answers `status` (200 unless changed)."""

    daemon_threads = True

    def __init__(self):
        self.requests = queue.Queue()
        self.status = 200
        super().__init__(("127.0.0.1", 0), _GatewayHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def next(self, timeout=10):
        return self.requests.get(timeout=timeout)


class _GatewayHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.server.requests.put((self.path, json.loads(body)))
        self.send_response(self.server.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def _text(mail):
    """The decoded text of a mail, all text parts joined (as a mail client would show it)."""
    msg = email.message_from_string(mail, policy=email.policy.default)
    parts = [p.get_content() for p in msg.walk() if p.get_content_maintype() == "text"]
    return "\n".join(parts)


def _code_after(text, marker):
    m = re.search(re.escape(marker) + r"\D*(\d+)", text)
    assert m, f"no {marker} code in {text!r}"
    return m.group(1)


def _wrong(code):
    return "".join("0" if c == "9" else str(int(c) + 1) for c in code)


@pytest.fixture(scope="module")
def smtp():
    server = SmtpReceiver()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def gateway():
    server = SmsGateway()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def app(gatehouse, mgmt, smtp, gateway):
    mgmt.emails.provider.create(
        name="smtp",
        default_from_address="id@example.com",
        credentials={"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_user": "", "smtp_pass": ""},
    )
    client = mgmt.clients.create(name="Acme backend", app_type="regular_web", grant_types=[OTP])
    mgmt.connections.create(
        name="email",
        strategy="email",
        options={"email": {"body": "Code: {{ code }}"}},
        enabled_clients=[client.client_id],
    )
    mgmt.connections.create(
        name="sms",
        strategy="sms",
        options={
            "provider": "sms_gateway",
            "gateway_url": f"{gateway.url}/send",
            "from": "+15550000000",
            "template": "Code @@password@@",
        },
        enabled_clients=[client.client_id],
    )
    return client


def _passwordless(gatehouse, app):
    return Passwordless(gatehouse.domain, app.client_id, client_secret=app.client_secret, protocol="http")


def _get_token(gatehouse, app):
    return GetToken(gatehouse.domain, app.client_id, client_secret=app.client_secret, protocol="http")


def _verifier(gatehouse, app):
    return TokenVerifier(
        signature_verifier=AsymmetricSignatureVerifier(f"{gatehouse.base}/.well-known/jwks.json"),
        issuer=f"{gatehouse.base}/",
        audience=app.client_id,
    )


def test_email_code_login(gatehouse, app, smtp):
    passwordless, get_token = _passwordless(gatehouse, app), _get_token(gatehouse, app)
    verifier = _verifier(gatehouse, app)

    def send_code():
        started = passwordless.email("Sam@Example.com", send="code")
        assert started["email"] == "sam@example.com"
        return _code_after(_text(smtp.next_mail()), "Code:")

    def login(otp):
        return get_token.passwordless_login(
            username="sam@example.com", otp=otp, realm="email", scope="openid email", audience=None
        )

    code = send_code()
    claims = verifier.verify(login(code)["id_token"])
    sub = claims["sub"]
    assert sub.startswith("email|"), sub
    assert claims["email"] == "sam@example.com"
    assert claims["email_verified"] is True

    # A code works once.
    with pytest.raises(Auth0Error) as err:
        login(code)
    assert err.value.status_code == 403
    assert err.value.error_code == "invalid_grant"
    assert err.value.message == "Wrong email or verification code."

    # The next login finds the same user.
    assert verifier.verify(login(send_code())["id_token"])["sub"] == sub

    # Three wrong guesses end a code, even the right one after them.
    code = send_code()
    for _ in range(3):
        with pytest.raises(Auth0Error) as err:
            login(_wrong(code))
        assert (err.value.error_code, err.value.message) == ("invalid_grant", "Wrong email or verification code.")
    with pytest.raises(Auth0Error) as err:
        login(code)
    assert err.value.error_code == "invalid_grant"


def test_sms_code_login(gatehouse, app, gateway):
    passwordless, get_token = _passwordless(gatehouse, app), _get_token(gatehouse, app)

    def login(otp):
        return get_token.passwordless_login(username=PHONE, otp=otp, realm="sms", scope="openid", audience=None)

    started = passwordless.sms(PHONE)
    assert started["phone_number"] == PHONE
    path, sent = gateway.next()
    assert path == "/send"
    assert (sent["recipient"], sent["sender"]) == (PHONE, "+15550000000")
    code = _code_after(sent["body"], "Code")

    with pytest.raises(Auth0Error) as err:
        login(_wrong(code))
    assert err.value.status_code == 403
    assert err.value.error_code == "invalid_grant"
    assert err.value.message == "Wrong phone number or verification code."

    claims = _verifier(gatehouse, app).verify(login(code)["id_token"])
    assert claims["sub"].startswith("sms|"), claims["sub"]

    # A gateway that fails: the caller is told nothing about it (the message is queued and
    # the failure goes to the tenant logs as `fn`), so anonymous callers learn nothing about
    # the gateway.
    gateway.status = 500
    try:
        started = passwordless.sms(PHONE)
        assert started["phone_number"] == PHONE
        gateway.next()
    finally:
        gateway.status = 200


def test_start_errors_the_sdk_surfaces(gatehouse, app, mgmt):
    # A connection that does not exist.
    passwordless = _passwordless(gatehouse, app)
    with pytest.raises(Auth0Error) as err:
        passwordless.authenticated_post(
            f"http://{gatehouse.domain}/passwordless/start",
            data={"client_id": app.client_id, "connection": "nope", "email": "a@example.com", "send": "code"},
        )
    assert err.value.status_code == 400
    assert err.value.error_code == "bad.connection"

    # The SDK's own `email`, from a client the email connection is not enabled for.
    other = mgmt.clients.create(name="Other backend", app_type="regular_web", grant_types=[OTP])
    # A new client starts on every connection (Auth0's flags.enable_client_connections).
    email = next(c for c in mgmt.connections.list(name="email"))
    mgmt.connections.clients.update(email.id, request=[{"client_id": other.client_id, "status": False}])
    with pytest.raises(Auth0Error) as err:
        _passwordless(gatehouse, other).email("a@example.com", send="code")
    assert err.value.status_code == 400
    assert err.value.error_code == "bad.connection"

    # A wrong client secret.
    wrong = Passwordless(gatehouse.domain, app.client_id, client_secret="wrong", protocol="http")
    with pytest.raises(Auth0Error) as err:
        wrong.email("a@example.com", send="code")
    assert (err.value.status_code, err.value.error_code) == (401, "invalid_client")
