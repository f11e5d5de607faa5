"""Schemathesis hooks: a fresh Management token every second, since the run itself rotates
signing keys (two rotations retire the key an older token was signed with)."""

import json
import os
import urllib.parse
import urllib.request

import schemathesis


def fetch_token():
    base = os.environ["ST_BASE"]
    body = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": os.environ["ST_CLIENT_ID"],
            "client_secret": os.environ["ST_CLIENT_SECRET"],
            "audience": f"{base}/api/v2/",
        }
    ).encode()
    with urllib.request.urlopen(f"{base}/oauth/token", data=body) as r:
        return json.load(r)["access_token"]


@schemathesis.auth(refresh_interval=1)
class ManagementToken:
    def get(self, case, context):
        return fetch_token()

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
