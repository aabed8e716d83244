"""Check an HTTP answer against the published OpenAPI schema, as a strictly typed client
would decode it: the status is one the operation lists (or its ``default``), the content type
one that status lists, and a JSON body valid for that content's schema (JSON Schema 2020-12,
as OpenAPI 3.1 says; ``$ref``s resolve into the document's ``components``; formats such as
``date-time`` are checked); the headers that status documents as required are there and
match their schemas, and a header a client acts on (``SIGNIFICANT_HEADERS``: ``ETag``,
``Location``, ...) is sent only where it is documented.

    schema = client.get("/openapi.json").json()
    response = client.get("/v1/reps/R1/routes/today", headers=...)
    check(schema, response)                      # method and path from the response's request
    check_response(schema, "GET", "/v1/reps/{rep_id}/routes/{date}", response)

Works with any response that has ``status_code``, ``headers`` and ``content`` (httpx, which
FastAPI's TestClient returns, or requests); ``answer`` makes one of what urllib or http.client
read. ``conforms`` is ``check`` for any answer a test receives (tests/api/conftest.py applies
it to every one): requests no operation of the schema is for (a page outside the schema, a
CORS preflight) are let through."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema_rs

#: Media types whose bodies are JSON.
_JSON = re.compile(r"^application/(?:json|[\w.+-]+\+json)$")
#: Response headers a client acts on: an answer that sends one must document it for its
#: operation and status (lower case).
SIGNIFICANT_HEADERS = ("etag", "location", "idempotent-replayed", "retry-after", "www-authenticate", "content-disposition")


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
    _check_headers(schema, where, spec.get("headers") or {}, response.headers)


def _check_headers(schema: dict, where: str, documented: dict, headers) -> None:
    """The documented headers marked required are sent, those sent match their schemas, and
    every significant header sent is documented."""
    documented = {name.lower(): _resolved(schema, spec) for name, spec in documented.items()}
    for name, spec in documented.items():
        value = headers.get(name)
        if value is None:
            if spec.get("required"):
                raise SchemaViolation(f"{where}: the required header {name!r} is missing")
            continue
        if "schema" in spec:
            typed = int(value) if spec["schema"].get("type") == "integer" and value.isdigit() else value
            errors = list(_validator(json.dumps(schema.get("components", {}), sort_keys=True),
                                     json.dumps(spec["schema"], sort_keys=True)).iter_errors(typed))
            if errors:
                raise SchemaViolation(f"{where}: header {name}: {value!r}: {errors[0].message}")
    sent = [name for name in SIGNIFICANT_HEADERS if name in headers and name not in documented]
    if sent:
        raise SchemaViolation(f"{where}: header(s) {', '.join(sent)} sent but not documented for this status")


def _resolved(schema: dict, item: dict) -> dict:
    """``item``, or what its ``$ref`` (``#/components/...``) names."""
    while "$ref" in item:
        target = schema
        for part in item["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        item = target
    return item


def conforms(schema: dict, response) -> None:
    """``check`` for any answer a test receives; let through: a request whose path no
    operation of the schema has (``/docs``, ``/login``, a 404 for an unknown path) and a CORS
    preflight (``OPTIONS`` with ``Access-Control-Request-Method``). A path of the schema asked
    with a method it does not offer must answer 405."""
    request = response.request
    path = urlsplit(str(request.url)).path
    if not any(_template_regex(t).fullmatch(path) for t in schema["paths"]):
        return
    template = path_template(schema, path)
    method = request.method.lower()
    if method == "options" and "access-control-request-method" in request.headers:
        return
    if method not in schema["paths"][template]:
        if response.status_code != 405:
            raise SchemaViolation(f"{request.method} {template}: no such operation, and the answer is "
                                  f"{response.status_code}, not 405")
        return
    check_response(schema, method, template, response)


def answer(method: str, url: str, status: int, headers, body: bytes, request_headers=None) -> httpx.Response:
    """An answer read with urllib, http.client or a browser (``headers``: its header pairs or
    message; ``body``: as read, decoded) as an httpx response that the functions above check."""
    pairs = [(k, v) for k, v in (headers.items() if hasattr(headers, "items") else headers)
             if k.lower() not in ("content-encoding", "content-length")]
    request = httpx.Request(method, url, headers=dict(request_headers or {}))
    return httpx.Response(status, headers=list(pairs), content=body, request=request)


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
