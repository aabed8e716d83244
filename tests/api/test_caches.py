"""The hot read path's caches (api.cache): a rep's route answered from the route cache is never
stale (new plan, new route version, a day pinned by its events), the cache does not bypass
access rules, and a revoked bearer token stops working within the documented delay."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api import auth, plans
from api.db import transaction
from api.main import create_app
from api.models import Event, RouteRow, Token
from api.routes.rep_routes import route_body

from .conftest import MONDAY, load_team, make_token, plan_and_publish, settings_for


def _busy_day(client, headers, rep_id: str) -> str:
    """A date of the published week on which ``rep_id`` has visits."""
    days = client.get(f"/v1/reps/{rep_id}/routes?from={MONDAY}&to=2026-12-06", headers=headers).json()
    return next(d["date"] for d in days if d["summary"]["visits"] > 0)


def _uncached(app, rep_id: str, date: str) -> dict:
    """The route as it was computed before the cache: plan_for_rep, route_row, route_body."""
    with app.state.sessions() as session:
        plan = plans.plan_for_rep(session, rep_id, dt.date.fromisoformat(date))
        return route_body(session, plan, rep_id, date, plans.route_row(session, plan.id, rep_id, date))


def test_cached_route_is_the_computed_one_and_a_new_plan_replaces_it(client, admin, app):
    """The second read comes from the cache and equals the computed answer; after a new plan
    is published the same URL answers from the new plan (and the old ETag no longer matches)."""
    load_team(client, admin)
    first = plan_and_publish(client, admin)
    rep = make_token(app, "rep", rep_id="R1")
    day = _busy_day(client, rep, "R1")
    r1 = client.get(f"/v1/reps/R1/routes/{day}", headers=rep)
    assert r1.status_code == 200 and r1.json()["plan_id"] == first["id"]
    assert r1.json() == _uncached(app, "R1", day)
    assert len(app.state.route_cache) > 0
    again = client.get(f"/v1/reps/R1/routes/{day}", headers=rep)
    assert again.content == r1.content and again.headers["etag"] == r1.headers["etag"]
    assert client.get(f"/v1/reps/R1/routes/{day}", headers=rep | {"If-None-Match": r1.headers["etag"]}).status_code == 304

    second = plan_and_publish(client, admin, seed=1)
    r2 = client.get(f"/v1/reps/R1/routes/{day}", headers=rep | {"If-None-Match": r1.headers["etag"]})
    assert r2.status_code == 200 and r2.json()["plan_id"] == second["id"] != first["id"]
    assert r2.json() == _uncached(app, "R1", day)
    assert r2.headers["etag"] != r1.headers["etag"]


def test_a_new_route_version_replaces_the_cached_one(client, admin, app):
    """A re-solve adds a version of a route: the next read answers it."""
    load_team(client, admin)
    plan = plan_and_publish(client, admin)
    rep = make_token(app, "rep", rep_id="R2")
    day = _busy_day(client, rep, "R2")
    old = client.get(f"/v1/reps/R2/routes/{day}", headers=rep).json()
    with transaction(app.state.sessions) as session:
        row = plans.route_row(session, plan["id"], "R2", day)
        stops = list(row.data["stops"])
        del stops[next(i for i, s in enumerate(stops) if s["type"] == "visit")]
        data = row.data | {"stops": stops, "summary": row.data["summary"] | {"visits": row.data["summary"]["visits"] - 1}}
        session.add(RouteRow(plan_id=plan["id"], rep_id="R2", date=day, version=row.version + 1, data=data))
    new = client.get(f"/v1/reps/R2/routes/{day}", headers=rep).json()
    assert new["version"] == old["version"] + 1 and new["summary"]["visits"] == old["summary"]["visits"] - 1
    assert len(new["stops"]) == len(old["stops"]) - 1
    assert new == _uncached(app, "R2", day)


def test_a_day_with_events_keeps_its_plan_after_a_publish(client, admin, app):
    """A rep's day under way (it has events) keeps its plan's route when a new plan is
    published, cached or not; the rep's other days move to the new plan."""
    load_team(client, admin)
    first = plan_and_publish(client, admin)
    rep = make_token(app, "rep", rep_id="R1")
    day = _busy_day(client, rep, "R1")
    other = (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()
    assert client.get(f"/v1/reps/R1/routes/{day}", headers=rep).json()["plan_id"] == first["id"]
    assert client.get(f"/v1/reps/R1/routes/{other}", headers=rep).json()["plan_id"] == first["id"]
    with transaction(app.state.sessions) as session:
        session.add(Event(plan_id=first["id"], rep_id="R1", date=day, kind="visit_done", data={}))
    second = plan_and_publish(client, admin, seed=1)
    assert client.get(f"/v1/reps/R1/routes/{day}", headers=rep).json() == _uncached(app, "R1", day)
    assert client.get(f"/v1/reps/R1/routes/{day}", headers=rep).json()["plan_id"] == first["id"]
    assert client.get(f"/v1/reps/R1/routes/{other}", headers=rep).json()["plan_id"] == second["id"]


def test_the_cache_does_not_widen_access(client, admin, app):
    """R2's route cached for R2 is still 403 for R1; dates without a plan are 404."""
    load_team(client, admin)
    plan_and_publish(client, admin)
    r1, r2 = make_token(app, "rep", rep_id="R1"), make_token(app, "rep", rep_id="R2")
    day = _busy_day(client, r2, "R2")
    assert client.get(f"/v1/reps/R2/routes/{day}", headers=r2).status_code == 200
    denied = client.get(f"/v1/reps/R2/routes/{day}", headers=r1)
    assert denied.status_code == 403 and "R2" in denied.json()["detail"]
    assert client.get("/v1/reps/R1/routes/2031-01-01", headers=r1).status_code == 404
    assert client.get(f"/v1/reps/R2/routes/{day}", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_geojson_map_and_several_days_answer_the_same_route(client, admin, app):
    load_team(client, admin)
    plan_and_publish(client, admin)
    rep = make_token(app, "rep", rep_id="R1")
    day = _busy_day(client, rep, "R1")
    body = client.get(f"/v1/reps/R1/routes/{day}", headers=rep).json()
    geo = client.get(f"/v1/reps/R1/routes/{day}?format=geojson", headers=rep)
    assert geo.status_code == 200 and geo.headers["content-type"].startswith("application/geo+json")
    assert geo.json()["properties"]["plan_id"] == body["plan_id"]
    assert sum(f["geometry"]["type"] == "Point" for f in geo.json()["features"]) == len(body["stops"])
    assert client.get(f"/v1/reps/R1/routes?from={day}&to={day}", headers=rep).json() == [body]
    page = client.get(f"/v1/reps/R1/routes/{day}/map", headers=rep)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


@pytest.fixture
def short_memory(db_url, tmp_path):
    """A service that remembers tokens for 0.5 s."""
    with TestClient(create_app(settings_for(db_url, tmp_path, token_cache_s=0.5))) as client:
        yield client


def test_revoked_token_stops_working_within_the_delay(short_memory):
    """Revoked through this process's API: refused at once. Revoked elsewhere (the CLI, another
    worker process): accepted for at most token_cache_s, then refused. Unknown tokens are not
    remembered."""
    client, app = short_memory, short_memory.app
    admin = make_token(app, "admin")
    sup = make_token(app, "supervisor")
    assert client.get("/v1/plans", headers=sup).status_code == 200
    token_id = client.get("/v1/tokens", headers=admin).json()[-1]["id"]
    assert client.delete(f"/v1/tokens/{token_id}", headers=admin).status_code == 200
    assert client.get("/v1/plans", headers=sup).status_code == 401

    other = make_token(app, "supervisor")
    assert client.get("/v1/plans", headers=other).status_code == 200
    with transaction(app.state.sessions) as session:  # as `fieldroute token revoke` does
        token = session.scalar(select(Token).where(Token.token_hash == auth.digest(other["Authorization"].split()[1])))
        assert auth.revoke_token(session, token.id)
    assert client.get("/v1/plans", headers=other).status_code == 200  # remembered: within the delay
    time.sleep(0.6)
    assert client.get("/v1/plans", headers=other).status_code == 401

    remembered = len(app.state.token_cache._entries)
    for n in range(5):
        assert client.get("/v1/plans", headers={"Authorization": f"Bearer unknown-{n}"}).status_code == 401
    assert len(app.state.token_cache._entries) == remembered
