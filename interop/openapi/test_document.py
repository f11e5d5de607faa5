"""The Management API's OpenAPI document (GET /api/v2/openapi.json) is valid OpenAPI 3.1, and
every JSON request body has a real schema (the crate's tests check the responses)."""

import json
import urllib.request

from openapi_spec_validator import validate


def document(gatehouse):
    with urllib.request.urlopen(f"{gatehouse.base}/api/v2/openapi.json") as r:
        return json.load(r)


def test_the_document_is_valid_openapi_3_1(gatehouse):
    doc = document(gatehouse)
    assert doc["openapi"].startswith("3.1")
    validate(doc)  # raises on the first error


def test_every_body_has_a_schema(gatehouse):
    doc = document(gatehouse)
    schemas = doc["components"]["schemas"]
    missing = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            body = op.get("requestBody")
            if body and "application/json" in body["content"]:
                schema = body["content"]["application/json"]["schema"]
                if schema == {"type": ["object", "array"]}:
                    missing.append(f"request {method} {path}")
    assert not missing, missing

    def refs(v):
        if isinstance(v, dict):
            if "$ref" in v:
                yield v["$ref"]
            for x in v.values():
                yield from refs(x)
        elif isinstance(v, list):
            for x in v:
                yield from refs(x)

    for ref in refs(doc):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
