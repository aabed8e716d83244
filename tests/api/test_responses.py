"""Answers as the published schema says (issue 19, item 5): every operation's success body has
a real schema, the headers clients act on are documented, a browser app on another origin may
send and read them (CORS), request bodies take JSON's own numbers and booleans, ``active=``
lists both, and a 500 leaves a keep-alive connection serving the next request."""

from __future__ import annotations

import http.client
import json
import threading
import time

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from api.main import create_app

from .conftest import CONFORMANCE, MONDAY, STORES, _free_port, load_team, make_token, plan_and_publish, settings_for
from .openapi_check import SchemaViolation, check, check_response

ORIGIN = "https://phone-app.example"


def _resolved(schema: dict, item: dict) -> dict:
    while "$ref" in item:
        item = schema["components"]["schemas"][item["$ref"].rsplit("/", 1)[1]]
    return item


def _is_real(schema: dict, item: dict) -> bool:
    """A schema that says what the body holds: a model, an array of something real, a choice
    of real schemas, or a string (HTML, CSV, iCalendar); not ``{}`` or any object."""
    item = _resolved(schema, item)
    if "oneOf" in item or "anyOf" in item:
        return all(_is_real(schema, s) for s in item.get("oneOf", item.get("anyOf")))
    if item.get("type") == "array":
        return _is_real(schema, item.get("items", {}))
    if item.get("type") == "object" or "properties" in item:
        return bool(item.get("properties")) and item.get("additionalProperties") is not True
    return item.get("type") == "string"


def test_every_success_answer_has_a_real_schema(client):
    """Item 5a: each operation's 2XX answer with a body (all but a 204's) names what it holds,
    in every content type it lists; the events endpoints' too."""
    schema = client.get("/openapi.json").json()
    vague = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if not status.startswith("2") or status == "204":
                    continue
                content = response.get("content") or {}
                if not content:
                    vague.append(f"{method.upper()} {path} {status}: no content")
                vague += [f"{method.upper()} {path} {status} {media}: {json.dumps(spec.get('schema'))[:80]}"
                          for media, spec in content.items() if not _is_real(schema, spec.get("schema") or {})]
    assert vague == []
    events = [op for path, ops in schema["paths"].items() if "/events" in path for op in ops.values()]
    assert len(events) == 3 and all("200" in op["responses"] for op in events)


def test_the_checker_wants_significant_headers_documented(client):
    """An ETag, Location, Idempotent-Replayed or WWW-Authenticate sent where the schema does not
    document it is refused, and so is a documented required header that is missing."""
    schema = client.get("/openapi.json").json()
    problem = {"content-type": "application/problem+json"}
    body = b'{"title": "Not Found", "status": 404}'
    with pytest.raises(SchemaViolation, match="etag"):
        check_response(schema, "GET", "/v1/plans/{plan_id}", httpx.Response(404, headers=problem | {"ETag": '"x"'}, content=body))
    with pytest.raises(SchemaViolation, match="www-authenticate"):
        check_response(schema, "GET", "/v1/plans/{plan_id}", httpx.Response(401, headers=problem, content=body))
    with pytest.raises(SchemaViolation, match="idempotent-replayed"):
        check_response(schema, "POST", "/v1/plans/{plan_id}/events", httpx.Response(
            422, headers=problem | {"Idempotent-Replayed": "true"}, content=b'{"title": "Unprocessable Entity", "status": 422}'))


def test_headers_that_are_sent_are_documented(client, admin):
    """Item 5b: a 401's WWW-Authenticate, a planning job's Location, a route's ETag on its 200 and
    304 (and the Idempotent-Replayed of a replayed event post, checked where one is sent:
    test_events, test_http)."""
    schema = client.get("/openapi.json").json()
    refused = client.get("/v1/plans")
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    check(schema, refused)
    load_team(client, admin)
    job = client.post("/v1/plans", json={"start": MONDAY, "weeks": 1, "time_limit_s": 1, "solution_limit": 1}, headers=admin)
    assert job.status_code == 202 and job.headers["location"] == f"/v1/jobs/{job.json()['id']}"
    check(schema, job)
    operations = {(m, p): op for p, ops in schema["paths"].items() for m, op in ops.items()}
    route = operations["get", "/v1/reps/{rep_id}/routes/{date}"]["responses"]
    assert route["200"]["headers"]["ETag"]["required"] and route["304"]["headers"]["ETag"]["required"]
    for path in ("/v1/reps/{rep_id}/routes/{date}/events", "/v1/plans/{plan_id}/events"):
        assert "Idempotent-Replayed" in operations["post", path]["responses"]["200"]["headers"]


@pytest.fixture
def cors_app(db_url, tmp_path):
    return create_app(settings_for(db_url, tmp_path, cors_origins=[ORIGIN]))


def test_a_browser_app_on_another_origin_may_retry_and_read_the_headers(cors_app, admin_of):
    """Item 5c: the preflight of an event post with an Idempotency-Key (and of a route read with
    If-None-Match) is allowed, and every header the schema documents is exposed to the app's
    script (a replayed post's Idempotent-Replayed, a job's Location, a route's ETag)."""
    client, admin = admin_of(cors_app)
    preflight = client.options("/v1/reps/R1/routes/today/events", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key"})
    assert preflight.status_code == 200, preflight.text
    allowed = {h.strip().lower() for h in preflight.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key"} <= allowed
    read = client.options("/v1/reps/R1/routes/today", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization, if-none-match"})
    assert read.status_code == 200, read.text
    load_team(client, admin)
    job = client.post("/v1/plans", json={"start": MONDAY, "weeks": 1, "time_limit_s": 1, "solution_limit": 1},
                      headers=admin | {"Origin": ORIGIN})
    assert job.status_code == 202 and job.headers["access-control-allow-origin"] == ORIGIN
    exposed = {h.strip().lower() for h in job.headers["access-control-expose-headers"].split(",")}
    schema = client.get("/openapi.json").json()
    documented = {name.lower() for ops in schema["paths"].values() for op in ops.values()
                  for response in op["responses"].values() for name in response.get("headers", {})}
    assert {"etag", "location", "idempotent-replayed", "www-authenticate"} <= documented <= exposed


@pytest.fixture
def admin_of():
    """A started TestClient of an app, and an admin token's headers."""
    from fastapi.testclient import TestClient

    from .conftest import make_token

    clients = []

    def started(app):
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client, make_token(app, "admin")

    yield started
    for client in clients:
        client.__exit__(None, None, None)


def test_request_bodies_take_json_numbers_and_booleans_only(client, admin):
    """Item 5d: ``true`` and ``"5"`` are not numbers, ``"false"`` is not a boolean: 422 naming
    the field; an integer is a number, and dates are still ISO strings."""
    load_team(client, admin)
    plan = {"start": MONDAY, "weeks": 1, "solution_limit": 1}
    for field, value in (("time_limit_s", True), ("time_limit_s", "5"), ("weeks", "1"), ("seed", 1.5), ("balance", False)):
        r = client.post("/v1/plans", json=plan | {field: value}, headers=admin)
        assert r.status_code == 422, (field, value, r.text)
        assert [e["pointer"] for e in r.json()["errors"]] == [f"/{field}"], r.text
    for field, value in (("keep_edits", "false"), ("max_moves_pct", "10"), ("time_limit_s", True), ("plan_id", "1")):
        r = client.post("/v1/territories/proposals", json={field: value}, headers=admin)
        assert r.status_code == 422 and [e["pointer"] for e in r.json()["errors"]] == [f"/{field}"], r.text
    r = client.post("/v1/plans", json=plan | {"time_limit_s": 1, "holidays": ["2026-12-01"]}, headers=admin)
    assert r.status_code == 202, r.text


def test_texts_dates_and_defaults_as_the_schema_says(db_url, tmp_path):
    """Found by schemathesis against the served demo: a text field given ``true`` is refused
    (was stored as "True"), a date query of ``0`` is refused (pydantic took it for 1970-01-01),
    and a job sent without ``time_limit_s`` runs at the service's maximum when the default is
    above it (was a 422 about a limit the caller never sent)."""
    app = create_app(settings_for(db_url, tmp_path, max_plan_time_s=1.0))
    with TestClient(app) as client:
        admin = make_token(app, "admin")
        load_team(client, admin)
        r = client.patch("/v1/reps/R1", json={"name": False}, headers=admin)
        assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/name" and "got false" in r.text, r.text
        plan = plan_and_publish(client, admin, time_limit_s=1)
        for path in (f"/v1/plans/{plan['id']}/missing", f"/v1/plans/{plan['id']}/map", f"/v1/plans/{plan['id']}/events"):
            r = client.get(path, params={"date": "0"}, headers=admin)
            assert r.status_code == 422 and "YYYY-MM-DD" in r.text, (path, r.text)
        r = client.post("/v1/plans", json={"start": MONDAY, "weeks": 1, "solution_limit": 1}, headers=admin)
        assert r.status_code == 202, r.text
        r = client.post("/v1/plans", json={"start": MONDAY, "time_limit_s": 2}, headers=admin)
        assert r.status_code == 422 and "at most 1 s" in r.text


def test_a_405_lists_every_method_of_the_path(client):
    """RFC 9110: a 405 says in ``Allow`` what the path takes (Starlette named one route's)."""
    for method, path, allowed in (("PUT", "/v1/reps/R1", "DELETE, GET, PATCH"), ("DELETE", "/v1/plans", "GET, POST"),
                                  ("PUT", "/v1/stores/move", "POST"), ("PUT", "/v1/stores/S1", "DELETE, GET, PATCH")):
        r = client.request(method, path)
        assert r.status_code == 405 and r.headers["allow"] == allowed, (method, path, r.headers)


def test_an_empty_active_lists_both(client, admin):
    """Item 5e: ``GET /v1/stores?active=`` (and reps) lists the active and the deactivated."""
    load_team(client, admin)
    r = client.post("/v1/stores/import?sync=true", json=STORES[:-1], headers=admin)
    assert r.json()["deactivated"] == [STORES[-1]["id"]]
    counts = {q: client.get(f"/v1/stores?{q}", headers=admin).json()["count"] for q in ("", "active=", "active=false")}
    assert counts == {"": len(STORES) - 1, "active=": len(STORES), "active=false": 1}
    assert client.get("/v1/reps?active=", headers=admin).json()["count"] == 4
    assert client.get("/v1/stores?active=maybe", headers=admin).status_code == 422


@pytest.fixture
def crashing_server(db_url, tmp_path):
    """The service on a real uvicorn (127.0.0.1) with one more route, this test's own, that
    fails: its base URL."""
    app = create_app(settings_for(db_url, tmp_path))

    @app.get("/v1/test-crash")
    def crash() -> dict:
        raise RuntimeError("a bug")

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive()
        time.sleep(0.05)
    base = f"http://127.0.0.1:{server.config.port}"
    CONFORMANCE.serve(base)
    yield base, server.config.port
    server.should_exit = True
    thread.join(30)


def _ask(connection: http.client.HTTPConnection, base: str, path: str) -> tuple[int, bytes]:
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    CONFORMANCE.received("GET", base + path, response.status, response.getheaders(), body)
    return response.status, body


def test_a_500_keeps_the_connection_for_the_next_request(crashing_server):
    """Item 5f: on one keep-alive connection, a request that fails gets a whole problem+json 500
    (documented), and the next request on the same connection is answered (it was reset:
    uvicorn closed the connection after the 500, as Starlette raises the error again)."""
    base, port = crashing_server
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    status, body = _ask(connection, base, "/v1/test-crash")
    assert status == 500 and json.loads(body)["detail"] == "internal error; it has been logged"
    status, body = _ask(connection, base, "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"
    connection.close()


def test_links_name_operations_of_the_schema(client):
    """The schema's links (a job to its status, cancellation and plan; a proposal to its status
    and apply; a token to its revocation) name existing operations and their parameters."""
    schema = client.get("/openapi.json").json()
    operations = {op["operationId"]: op for ops in schema["paths"].values() for op in ops.values()}
    links = [link for op in operations.values() for response in op["responses"].values()
             for link in response.get("links", {}).values()]
    assert len(links) >= 6
    for link in links:
        target = operations[link["operationId"]]
        assert set(link["parameters"]) <= {p["name"] for p in target.get("parameters", [])}, link
