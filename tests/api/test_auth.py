"""Roles: each role against each endpoint; reps see only their own routes; /login cookies."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from api.db import transaction
from api.models import Session as BrowserSession

from .conftest import MONDAY, POLICY, load_team, make_token, plan_and_publish

A, S, I, R = "admin", "supervisor", "integrator", "rep"


def _endpoints(plan_id: int, job_id: str, day: str, token_id: int):
    """(method, path, json body, roles allowed). The rep token is R1's."""
    return [
        ("GET", "/v1/stores", None, {A, S, I, R}),
        ("POST", "/v1/stores/import?dry_run=true", [], {A, S, I}),
        ("GET", "/v1/stores/nope", None, {A, S, I, R}),
        ("PATCH", "/v1/stores/nope", {}, {A, S}),
        ("DELETE", "/v1/stores/nope", None, {A, S}),
        ("GET", "/v1/reps", None, {A, S, I, R}),
        ("POST", "/v1/reps/import?dry_run=true", [], {A, S, I}),
        ("GET", "/v1/reps/R1", None, {A, S, I, R}),
        ("PATCH", "/v1/reps/nope", {}, {A, S}),
        ("DELETE", "/v1/reps/nope", None, {A, S}),
        ("GET", "/v1/policy", None, {A, S, I}),
        ("PUT", "/v1/policy", POLICY, {A, S, I}),
        ("POST", "/v1/plans", {"start": "2026-13-40"}, {A, S}),  # allowed roles get 422, the others 403
        ("GET", "/v1/plans", None, {A, S}),
        ("GET", f"/v1/plans/{plan_id}", None, {A, S}),
        ("POST", f"/v1/plans/{plan_id}/publish", None, {A, S}),
        ("GET", f"/v1/plans/{plan_id}/map?date={day}", None, {A, S}),
        ("GET", f"/v1/plans/{plan_id}/export.csv", None, {A, S, I}),
        ("GET", f"/v1/jobs/{job_id}", None, {A, S}),
        ("DELETE", f"/v1/jobs/{job_id}", None, {A, S}),
        ("GET", f"/v1/reps/R1/routes/{day}", None, {A, S, R}),
        ("GET", f"/v1/reps/R1/routes/{day}/map", None, {A, S, R}),
        ("GET", f"/v1/reps/R1/routes?from={MONDAY}&to={day}", None, {A, S, R}),
        ("POST", "/v1/reps/R1/calendar-key", None, {A, S, R}),
        ("GET", "/v1/tokens", None, {A}),
        ("POST", "/v1/tokens", {"name": "x", "role": "nope"}, {A}),
        ("DELETE", f"/v1/tokens/{token_id + 999}", None, {A}),
        ("POST", "/v1/reps/R1/sign-in-links", {"hours": 0}, {A, S}),
        ("GET", "/v1/reps/R1/sign-in-links", None, {A, S}),
        ("DELETE", "/v1/sign-in-links/999", None, {A, S}),
        ("GET", f"/v1/reports/page?from={MONDAY}&to={day}", None, {A, S}),
    ]


def test_each_role_against_each_endpoint(client, app):
    admin = make_token(app, A)
    load_team(client, admin)
    plan = plan_and_publish(client, admin)
    job_id = plan["job_id"]
    day = "2026-12-01"
    tokens = {A: admin, S: make_token(app, S), I: make_token(app, I), R: make_token(app, R, rep_id="R1")}
    for method, path, body, allowed in _endpoints(plan["id"], job_id, day, 1):
        none = client.request(method, path, json=body)
        assert none.status_code == 401 and none.headers["www-authenticate"] == "Bearer", (method, path)
        assert none.headers["content-type"].startswith("application/problem+json")
        bad = client.request(method, path, json=body, headers={"Authorization": "Bearer fr_nonsense"})
        assert bad.status_code == 401, (method, path)
        for role, headers in tokens.items():
            r = client.request(method, path, json=body, headers=headers)
            if role in allowed:
                assert r.status_code not in (401, 403), (role, method, path, r.status_code, r.text)
                assert r.status_code < 500, (role, method, path, r.text)
            else:
                assert r.status_code == 403, (role, method, path, r.status_code)


@pytest.mark.parametrize("path", ["/v1/reps/R2/routes/2026-12-01", "/v1/reps/R2/routes/2026-12-01/map",
                                  "/v1/reps/R2/routes?from=2026-11-30&to=2026-12-01"])
def test_a_rep_reads_only_its_own_routes(client, app, path):
    admin = make_token(app, A)
    load_team(client, admin)
    plan_and_publish(client, admin)
    r1 = make_token(app, R, rep_id="R1")
    assert client.get(path, headers=r1).status_code == 403
    assert client.get(path.replace("R2", "R1"), headers=r1).status_code == 200
    assert client.get(path, headers=make_token(app, R, rep_id="R2")).status_code == 200


def test_a_supervisor_limited_to_a_team(client, app):
    admin = make_token(app, A)
    load_team(client, admin)
    plan_and_publish(client, admin)
    team = make_token(app, S, team=["R2"])
    assert client.get("/v1/reps/R1/routes/2026-12-01", headers=team).status_code == 403
    assert client.get("/v1/reps/R2/routes/2026-12-01", headers=team).status_code == 200
    assert [r["id"] for r in client.get("/v1/reps", headers=team).json()["items"]] == ["R2"]
    assert client.get("/v1/reps/R1", headers=team).status_code == 404


def test_revoked_token_stops_working(client, app):
    admin = make_token(app, A)
    created = client.post("/v1/tokens", json={"name": "phone", "role": "rep", "rep_id": "R1"}, headers=admin).json()
    phone = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/v1/reps/R1/routes/today", headers=phone).status_code != 401
    listed = client.get("/v1/tokens", headers=admin).json()
    assert "token" not in listed[-1] and listed[-1]["prefix"] == created["token"][:10]
    assert client.delete(f"/v1/tokens/{created['id']}", headers=admin).json()["revoked_at"] is not None
    assert client.get("/v1/reps/R1/routes/today", headers=phone).status_code == 401
    r = client.post("/v1/tokens", json={"name": "x", "role": "rep"}, headers=admin)
    assert r.status_code == 422 and "rep" in r.json()["detail"]


def test_login_cookie_opens_pages_but_not_writes(client, app):
    """A browser signs in once; the HttpOnly SameSite cookie opens GET pages; writes still
    need a bearer token; a bad token, an expired session and logging out are refused."""
    admin = make_token(app, A)
    load_team(client, admin)
    plan = plan_and_publish(client, admin)
    secret = admin["Authorization"].split()[1]
    assert client.get("/login").status_code == 200
    bad = client.post("/login", data={"token": "fr_wrong"}, follow_redirects=False)
    assert bad.status_code == 401 and "unknown or revoked" in bad.text
    nxt = f"/v1/plans/{plan['id']}/map?date=2026-12-01"
    r = client.post("/login", data={"token": secret, "next": nxt}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == nxt
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=" in cookie
    assert client.get(nxt).status_code == 200  # the TestClient keeps the cookie, sends no header
    assert client.post(f"/v1/plans/{plan['id']}/publish").status_code == 401
    off_site = client.post("/login", data={"token": secret, "next": "https://evil.example/"}, follow_redirects=False)
    assert off_site.headers["location"] == "/docs"
    with transaction(app.state.sessions) as s:
        s.execute(update(BrowserSession).values(expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
    assert client.get(nxt).status_code == 401
    client.post("/login", data={"token": secret}, follow_redirects=False)
    assert client.get(nxt).status_code == 200
    client.post("/logout", follow_redirects=False)
    client.cookies.clear()
    assert client.get(nxt).status_code == 401


def test_openapi_lists_each_endpoints_roles(client):
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/v1/reps/{rep_id}/routes/{date}"]["get"]
    assert operation["x-roles"] == ["admin", "supervisor", "rep"] and "**Roles:** admin, supervisor, rep." in operation["description"]
    assert schema["paths"]["/v1/tokens"]["post"]["x-roles"] == ["admin"]
    assert "bearer" in str(schema["components"]["securitySchemes"]).lower()
    assert "/health" not in schema["paths"] and "/healthz" in schema["paths"]


def test_docs_page_works_offline(client):
    """/docs loads Swagger UI from this server only (no CDN), and those files are served."""
    import re

    page = client.get("/docs")
    assert page.status_code == 200 and "/openapi.json" in page.text
    urls = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
    assert urls and all(u.startswith("/static/swagger-ui/") for u in urls), urls
    assert all(client.get(u).status_code == 200 for u in urls)
    assert "cdn" not in page.text.lower()
