"""The cron job of the Server Client + API scenario: a machine-to-machine client gets an
access token with the client-credentials grant (auth0-python, unchanged), keeps it until it
nears expiry, and calls the reports API with it.

Settings: GATEHOUSE_DOMAIN (host:port), GATEHOUSE_PROTOCOL (http or https), CLIENT_ID,
CLIENT_SECRET, AUDIENCE, API_URL. Usage: python job.py [runs] [seconds between runs]
"""

import os
import sys
import time

import requests
from auth0.authentication import GetToken

# Renew this long before expiry, so a token never dies on its way to the API.
RENEW_BEFORE = 60


class TokenCache:
    def __init__(self):
        self.get_token = GetToken(
            os.environ["GATEHOUSE_DOMAIN"],
            os.environ["CLIENT_ID"],
            client_secret=os.environ["CLIENT_SECRET"],
            protocol=os.environ.get("GATEHOUSE_PROTOCOL", "https"),
        )
        self.token = None
        self.expires_at = 0.0
        self.fetches = 0

    def access_token(self):
        if self.token is None or time.time() >= self.expires_at - RENEW_BEFORE:
            response = self.get_token.client_credentials(os.environ["AUDIENCE"])
            self.token = response["access_token"]
            self.expires_at = time.time() + response["expires_in"]
            self.fetches += 1
        return self.token


def run(runs, pause):
    cache = TokenCache()
    for i in range(runs):
        r = requests.get(
            os.environ["API_URL"] + "/reports",
            headers={"Authorization": f"Bearer {cache.access_token()}"},
            timeout=5,
        )
        r.raise_for_status()
        titles = ", ".join(rep["title"] for rep in r.json()["reports"])
        print(f"run {i + 1}: {len(r.json()['reports'])} reports ({titles})", flush=True)
        if i + 1 < runs:
            time.sleep(pause)
    print(f"token requests: {cache.fetches}", flush=True)
    return cache


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 1, float(sys.argv[2]) if len(sys.argv) > 2 else 60)
