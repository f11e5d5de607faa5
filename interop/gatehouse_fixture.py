"""Shared pytest fixtures: a real gatehouse server per test module, and auth0-python clients
pointed at it. Each suite's conftest.py imports them."""

import os
import re
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest
from auth0.authentication import GetToken
from auth0.management import Auth0


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gatehouse:
    def __init__(self, proc, port, client_id, client_secret, workdir):
        self.proc = proc
        self.port = port
        self.domain = f"127.0.0.1:{port}"
        self.base = f"http://{self.domain}"
        self.audience = f"{self.base}/api/v2/"
        self.client_id = client_id
        self.client_secret = client_secret
        self.workdir = workdir


@pytest.fixture(scope="module")
def gatehouse():
    workdir = tempfile.TemporaryDirectory()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEHOUSE_")}
    env["GATEHOUSE_LOG_LEVEL"] = "warn"
    # One delivery attempt: a retry of a message a test made fail would reach a later test.
    env["GATEHOUSE_OUTBOX_RETRY"] = "1:1"
    proc = subprocess.Popen(
        [os.environ["GATEHOUSE_BIN"], "serve", "--listen", f"127.0.0.1:{port}"],
        cwd=workdir.name,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 20
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError("gatehouse did not start: " + proc.stderr.read())
        time.sleep(0.05)
    # The one-time bootstrap credentials are printed before the server is ready.
    printed = ""
    while "SECRET=" not in printed:
        printed += proc.stdout.readline()
    client_id = re.search(r"GATEHOUSE_BOOTSTRAP_CLIENT_ID=(\S+)", printed).group(1)
    secret = re.search(r"GATEHOUSE_BOOTSTRAP_CLIENT_SECRET=(\S+)", printed).group(1)
    yield Gatehouse(proc, port, client_id, secret, workdir)
    proc.terminate()
    proc.wait(timeout=10)
    workdir.cleanup()


@pytest.fixture(scope="module")
def get_token(gatehouse):
    return GetToken(
        gatehouse.domain,
        gatehouse.client_id,
        client_secret=gatehouse.client_secret,
        protocol="http",
    )


@pytest.fixture(scope="module")
def mgmt(gatehouse, get_token):
    token = get_token.client_credentials(gatehouse.audience)["access_token"]
    # max_retries=0: a retried request would hide what the first answer was.
    return Auth0(base_url=f"{gatehouse.base}/api/v2", token=token, max_retries=0)
