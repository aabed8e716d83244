"""Plans as jobs in worker processes; publishing; what reps read; exports; restarts."""

from __future__ import annotations

import csv
import datetime as dt
import time
from io import StringIO
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.db import transaction
from api.main import create_app
from api.models import Job, Plan, RouteRow, utcnow

from .conftest import MONDAY, STORES, load_team, make_token, plan_and_publish, settings_for, wait_job


def test_plan_job_publish_and_the_reps_route(client, admin, app):
    """A plan is a 202 job with phase and progress; once published, a rep reads its routes:
    stops with ETAs and store details, an ETag that answers 304, GeoJSON, the HTML map,
    several days at once; the export has one row per visit."""
    load_team(client, admin)
    r = client.post("/v1/plans", json={"start": MONDAY, "weeks": 1, "time_limit_s": 5, "solution_limit": 20}, headers=admin)
    assert r.status_code == 202 and r.headers["location"] == f"/v1/jobs/{r.json()['id']}"
    assert r.json()["status"] in ("queued", "running") and 0 <= r.json()["progress"] <= 1
    job = wait_job(client, admin, r.json()["id"])
    assert job["status"] == "succeeded" and job["progress"] == 1 and job["plan"]["status"] == "draft"
    plan = client.get(f"/v1/plans/{job['plan_id']}", headers=admin).json()
    assert plan["result"]["check"]["ok"] is True and plan["inputs"] == {"policy_version": 1, "stores": len(STORES), "reps": 4}
    visits = plan["result"]["summary"]["visits"]
    assert visits > 0

    rep = make_token(app, "rep", rep_id="R1")
    assert client.get(f"/v1/reps/R1/routes/{MONDAY}", headers=rep).status_code == 404  # a draft is not shown
    client.post(f"/v1/plans/{plan['id']}/publish", headers=admin)
    export = list(csv.DictReader(StringIO(client.get(f"/v1/plans/{plan['id']}/export.csv", headers=admin).text)))
    assert len(export) == visits
    day = next(row["date"] for row in export if row["rep_id"] == "R1")
    r = client.get(f"/v1/reps/R1/routes/{day}", headers=rep)
    assert r.status_code == 200
    route = r.json()
    mine = [row for row in export if row["rep_id"] == "R1" and row["date"] == day]
    shown = [s for s in route["stops"] if s["type"] == "visit"]
    assert [s["store_id"] for s in shown] == [row["store_id"] for row in mine]
    assert [s["start"] for s in shown] == [row["start"] for row in mine]
    by_id = {s["id"]: s for s in STORES}
    assert all(s["name"] == by_id[s["store_id"]]["name"] and s["lat"] == by_id[s["store_id"]]["lat"] for s in shown)
    assert route["stops"][0]["type"] == "start" and route["summary"]["visits"] == len(shown)

    etag = r.headers["etag"]
    again = client.get(f"/v1/reps/R1/routes/{day}", headers=rep | {"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert client.get(f"/v1/reps/R1/routes/{day}", headers=rep | {"If-None-Match": '"stale"'}).status_code == 200
    assert r.headers.get("content-encoding") == "gzip"  # larger answers are compressed

    geo = client.get(f"/v1/reps/R1/routes/{day}?format=geojson", headers=rep)
    assert geo.headers["content-type"].startswith("application/geo+json")
    features = geo.json()["features"]
    assert [f["geometry"]["type"] for f in features].count("Point") == len(route["stops"])
    assert features[-1]["geometry"]["type"] == "LineString"

    page = client.get(f"/v1/reps/R1/routes/{day}/map", headers=rep)
    assert page.status_code == 200 and "leaflet" in page.text.lower() and by_id[shown[0]["store_id"]]["name"] in page.text

    days = client.get(f"/v1/reps/R1/routes?from={MONDAY}&to=2026-12-06", headers=rep).json()
    assert [d["date"] for d in days] == [str(dt.date(2026, 11, 30) + dt.timedelta(days=n)) for n in range(7)]
    assert sum(d["summary"]["visits"] for d in days) == sum(row["rep_id"] == "R1" for row in export)

    assert client.get(f"/v1/plans/{plan['id']}/map?date={day}", headers=admin).status_code == 200
    assert client.get(f"/v1/plans/{plan['id']}/map?date=2027-01-01", headers=admin).status_code == 422


def test_calendar_feed_with_a_revocable_key(client, admin, app):
    """The rep's published visits as iCalendar behind a secret key; a new key revokes the old."""
    load_team(client, admin)
    today = dt.datetime.now(ZoneInfo("Europe/Monaco")).date()
    monday = today - dt.timedelta(days=today.weekday())
    plan_and_publish(client, admin, start=monday.isoformat())
    rep = make_token(app, "rep", rep_id="R2")
    url = client.post("/v1/reps/R2/calendar-key", headers=rep).json()["url"]
    assert "key=" in url and client.get(url.split("?")[0], headers=rep).status_code == 401  # no key
    feed = client.get(url)  # no headers, as calendar apps do
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    week = client.get(f"/v1/reps/R2/routes?from={monday}&to={monday + dt.timedelta(days=6)}", headers=rep).json()
    assert feed.text.count("BEGIN:VEVENT") == sum(d["summary"]["visits"] for d in week) > 0
    newer = client.post("/v1/reps/R2/calendar-key", headers=rep).json()["url"]
    assert client.get(url).status_code == 401 and client.get(newer).status_code == 200
    assert client.post("/v1/reps/R1/calendar-key", headers=rep).status_code == 403
    assert client.delete("/v1/reps/R2/calendar-key", headers=rep).status_code == 204
    assert client.get(newer).status_code == 401
    today_route = client.get("/v1/reps/R2/routes/today", headers=rep)
    assert today_route.status_code == 200 and today_route.json()["date"] == today.isoformat()


def test_publish_keeps_earlier_dates_and_earlier_plans_readable(client, admin, app):
    """A plan published from its start on replaces what reps see from that date; dates before
    keep the earlier plan's routes; the earlier plan stays readable."""
    load_team(client, admin)
    first = plan_and_publish(client, admin, weeks=2)
    second = plan_and_publish(client, admin, start="2026-12-07", seed=3)
    rep = make_token(app, "rep", rep_id="R3")
    assert client.get(f"/v1/reps/R3/routes/{MONDAY}", headers=rep).json()["plan_id"] == first["id"]
    assert client.get("/v1/reps/R3/routes/2026-12-08", headers=rep).json()["plan_id"] == second["id"]
    assert client.get(f"/v1/plans/{first['id']}", headers=admin).json()["status"] == "published"
    listed = client.get("/v1/plans", headers=admin).json()
    assert [p["id"] for p in listed["items"]] == [second["id"], first["id"]]


def test_cancel_a_running_job_keeps_nothing(client, admin, app):
    load_team(client, admin)
    r = client.post("/v1/plans", json={"start": MONDAY, "weeks": 4, "time_limit_s": 120}, headers=admin)
    job_id = r.json()["id"]
    deadline = time.monotonic() + 60
    while client.get(f"/v1/jobs/{job_id}", headers=admin).json()["phase"] in ("queued", "starting", "loading inputs"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    r = client.delete(f"/v1/jobs/{job_id}", headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert client.delete(f"/v1/jobs/{job_id}", headers=admin).status_code == 409
    time.sleep(1.5)
    with app.state.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Plan)) == 0
        assert s.get(Job, job_id).status == "cancelled"
    assert not any(p.is_alive() for p in app.state.jobs.processes.values())


def test_restart_keeps_everything_and_fails_orphaned_jobs(db_url, tmp_path):
    """Data written through one app is read back by a new app on the same database; a job
    left "running" whose lease ran out is marked failed when the new app starts."""
    settings = settings_for(db_url, tmp_path)
    app = create_app(settings)
    with TestClient(app) as client:
        admin = make_token(app, "admin")
        load_team(client, admin)
        plan = plan_and_publish(client, admin)
        route = client.get(f"/v1/reps/R1/routes/{MONDAY}", headers=admin).json()
        with transaction(app.state.sessions) as s:
            s.add(Job(id="orphan", status="running", phase="routing days", progress=0.4, params={},
                      lease_until=utcnow() - dt.timedelta(seconds=1)))
    again = create_app(settings)
    with TestClient(again) as client:
        assert client.get(f"/v1/reps/R1/routes/{MONDAY}", headers=admin).json() == route  # the old token works too
        assert client.get("/v1/stores", headers=admin).json()["count"] == len(STORES)
        assert client.get(f"/v1/plans/{plan['id']}", headers=admin).json()["status"] == "published"
        orphan = client.get("/v1/jobs/orphan", headers=admin).json()
        assert orphan["status"] == "failed" and "stopped renewing its lease" in orphan["error"]


def test_stopping_the_service_fails_its_running_job(db_url, tmp_path):
    settings = settings_for(db_url, tmp_path)
    app = create_app(settings)
    with TestClient(app) as client:
        admin = make_token(app, "admin")
        load_team(client, admin)
        job_id = client.post("/v1/plans", json={"start": MONDAY, "weeks": 4, "time_limit_s": 120}, headers=admin).json()["id"]
        time.sleep(0.5)
    with app.state.sessions() as s:
        job = s.get(Job, job_id)
        assert job.status == "failed" and "stopped" in job.error
        assert s.scalar(select(func.count()).select_from(RouteRow)) == 0


def test_plan_request_is_validated(client, admin):
    r = client.post("/v1/plans", json={"start": "2026-13-01"}, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["pointer"] == "/start"
    r = client.post("/v1/plans", json={"start": MONDAY}, headers=admin)
    assert r.status_code == 409 and "policy" in r.json()["detail"]
    assert client.post("/v1/plans", json={"start": MONDAY, "weeks": 0}, headers=admin).status_code == 422
