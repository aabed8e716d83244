"""Check an HTTP answer against the published OpenAPI schema, as a strictly typed client
would decode it: the status is one the operation lists (or its ``default``), the content type
one that status lists, and a JSON body valid for that content's schema (JSON Schema 2020-12,
as OpenAPI 3.1 says; ``$ref``s resolve into the document's ``components``; formats such as
``date-time`` are checked).

    schema = client.get("/openapi.json").json()
    response = client.get("/v1/reps/R1/routes/today", headers=...)
    check(schema, response)                      # method and path from the response's request
    check_response(schema, "GET", "/v1/reps/{rep_id}/routes/{date}", response)

Works with any response that has ``status_code``, ``headers`` and ``content`` (httpx, which
FastAPI's TestClient returns, or requests)."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import jsonschema_rs

#: Media types whose bodies are JSON.
_JSON = re.compile(r"^application/(?:json|[\w.+-]+\+json)$")


class SchemaViolation(AssertionError):
    """An answer the published schema does not allow."""


def path_template(schema: dict, path: str) -> str:
    """The OpenAPI path template that a concrete URL path (a query string is ignored)
    matches: ``/v1/reps/R1/routes/today`` -> ``/v1/reps/{rep_id}/routes/{date}``. A literal
    segment beats a parameter (``/v1/stores/import`` before ``/v1/stores/{store_id}``)."""
    path = urlsplit(path).path
    matches = [t for t in schema["paths"] if _template_regex(t).fullmatch(path)]
    if not matches:
        raise SchemaViolation(f"no path of the schema matches {path!r}")
    return min(matches, key=lambda t: [seg.startswith("{") for seg in t.split("/")])


@lru_cache(maxsize=None)
def _template_regex(template: str) -> re.Pattern:
    parts = re.split(r"(\{[^}/]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


def check(schema: dict, response) -> None:
    """``check_response`` for the method and path of the request that ``response`` answers."""
    request = response.request
    check_response(schema, request.method, path_template(schema, str(request.url)), response)


def check_response(schema: dict, method: str, path_template: str, response) -> None:
    """Assert that ``response`` is an answer the schema allows for ``method path_template``:
    status listed (exact, ``4XX``-style range, or ``default``), content type listed for it,
    and a JSON body valid for that content's schema. Raises ``SchemaViolation``."""
    where = f"{method.upper()} {path_template} -> {response.status_code}"
    try:
        operation = schema["paths"][path_template][method.lower()]
    except KeyError:
        raise SchemaViolation(f"{method.upper()} {path_template}: no such operation in the schema") from None
    spec = _response_spec(operation["responses"], response.status_code)
    if spec is None:
        raise SchemaViolation(f"{where}: status not listed (listed: {', '.join(operation['responses'])})")
    content = spec.get("content")
    body = response.content
    if not content:
        if body:
            raise SchemaViolation(f"{where}: the schema lists no content, got {len(body)} bytes")
        return
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    media = _media_spec(content, media_type)
    if media is None:
        raise SchemaViolation(f"{where}: content type {media_type or '(none)'!r} not listed ({', '.join(content)})")
    if "schema" in media and _JSON.match(media_type):
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise SchemaViolation(f"{where}: the body is not JSON ({exc})") from None
        errors = list(_validator(json.dumps(schema["components"], sort_keys=True), json.dumps(media["schema"], sort_keys=True))
                      .iter_errors(document))
        if errors:
            shown = "; ".join(f"{'/' + '/'.join(map(str, e.instance_path))}: {e.message}" for e in errors[:5])
            raise SchemaViolation(f"{where} ({media_type}): the body violates the schema ({len(errors)} errors): {shown}")


def _response_spec(responses: dict, status: int) -> dict | None:
    """The operation's response object for ``status``: exact, then ``4XX``, then ``default``."""
    return responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")


def _media_spec(content: dict, media_type: str) -> dict | None:
    """The content entry for ``media_type``: exact, then ``type/*``, then ``*/*``."""
    if not media_type:
        return None
    wanted = (media_type, media_type.split("/")[0] + "/*", "*/*")
    return next((content[m] for m in wanted if m in content), None)


@lru_cache(maxsize=256)
def _validator(components: str, subschema: str) -> Any:
    """A 2020-12 validator of ``subschema`` whose ``#/components/...`` references resolve in
    ``components`` (both as JSON text, so they can be cache keys)."""
    root = {"$schema": "https://json-schema.org/draft/2020-12/schema", "components": json.loads(components)} | json.loads(subschema)
    return jsonschema_rs.Draft202012Validator(root, validate_formats=True)
