"""Same-day events as a rep's phone sends them: one rep's event re-plans only that rep, a
store found closed at the door after a position, a morning synced late in one post, a phone
clock a little ahead. Every answer is checked against the published OpenAPI schema and the
day against the checker."""

from __future__ import annotations

import datetime as dt

import pytest

from .conftest import make_token
from .openapi_check import check
from .test_events import _check, _post, _route, day  # noqa: F401 - the fixture


@pytest.fixture
def backend() -> str:
    """SQLite only: the re-plan rules do not depend on the database (the two-process test and
    the route tests run on PostgreSQL too)."""
    return "sqlite"


def _versions(client, headers, day) -> dict[str, int]:
    out = {}
    for rep_id in ("R1", "R2", "R3", "R4"):
        r = client.get(f"/v1/reps/{rep_id}/routes/{day.date}", headers=headers)
        if r.status_code == 200:
            out[rep_id] = r.json()["version"]
    return out


def test_one_reps_event_re_plans_only_that_rep(app, client, admin, day):
    """An urgent visit to a store without an owner goes to one rep; that rep's next report
    re-plans that rep alone (it used to re-plan every rep, whose routes then moved)."""
    schema = client.get("/openapi.json").json()
    supervisor = make_token(app, "supervisor")
    on_routes = {s["store_id"] for rep_id in ("R1", "R2", "R3", "R4")
                 for r in [client.get(f"/v1/reps/{rep_id}/routes/{day.date}", headers=admin)] if r.status_code == 200
                 for s in r.json()["stops"] if s.get("store_id")}
    free = next(s for s in client.get("/v1/stores", headers=admin, params={"limit": 100}).json()["items"]
                if s["id"] not in on_routes and not s.get("rep_id"))
    r = client.post(f"/v1/plans/{day.plan['id']}/events", headers=supervisor,
                    json={"kind": "urgent_visit", "time": day.at(0), "store_id": free["id"]})
    check(schema, r)
    assert r.status_code == 200, r.text
    taker = [x["rep_id"] for x in r.json()["routes"]]
    assert len(taker) == 1 and [a["rep_id"] for a in r.json()["diff"]["added"]] == taker
    before = _versions(client, admin, day)
    rep = make_token(app, "rep", taker[0])
    stops = [s for s in _route(client, admin, day, taker[0]).json()["stops"] if s["type"] == "visit" and not s.get("status")]
    closed = next(s["store_id"] for s in stops if s["store_id"] != free["id"])
    r = _post(client, rep, day, {"kind": "store_closed", "time": day.at(0), "store_id": closed}, rep_id=taker[0])
    check(schema, r)
    assert r.status_code == 200, r.text
    assert [x["rep_id"] for x in r.json()["routes"]] == taker
    after = _versions(client, admin, day)
    assert {k: v for k, v in after.items() if k != taker[0]} == {k: v for k, v in before.items() if k != taker[0]}
    assert not _check(app, day)


def test_a_store_found_closed_at_the_door_after_a_position(app, client, admin, day):
    """The rep reports where it is, drives on, finds the next store closed: accepted (the
    clock had assumed that visit begun; only a check-in says it was)."""
    schema = client.get("/openapi.json").json()
    rep = make_token(app, "rep", day.rep_id)
    first = _route(client, rep, day).json()["stops"][1]
    day.now = dt.datetime.fromisoformat(first["end"]) + dt.timedelta(seconds=30)
    r = _post(client, rep, day, {"kind": "position", "time": day.at(0)})
    check(schema, r)
    assert r.status_code == 200, r.text
    nxt = next(s for s in r.json()["route"]["stops"] if s["type"] == "visit" and not s.get("reported")
               and s["store_id"] != first["store_id"])
    day.now = max(day.now + dt.timedelta(minutes=5), dt.datetime.fromisoformat(nxt["start"]) + dt.timedelta(minutes=1))
    r = _post(client, rep, day, {"kind": "store_closed", "time": day.at(0), "store_id": nxt["store_id"]})
    check(schema, r)
    assert r.status_code == 200, r.text
    assert nxt["store_id"] not in {s.get("store_id") for s in r.json()["route"]["stops"]}
    assert not _check(app, day)


def test_a_morning_synced_in_the_afternoon_in_one_post(app, client, admin, day):
    """A phone offline all morning sends its check-ins and check-outs at once, more than ten:
    all applied in one re-plan, the visits reported at their own times and in time order,
    nothing the rep did not report marked done; a late position that contradicts nothing is
    accepted, a late check-in that does is refused and changes nothing."""
    schema = client.get("/openapi.json").json()
    rep = make_token(app, "rep", day.rep_id)
    planned = [s for s in _route(client, rep, day).json()["stops"] if s["type"] == "visit"][:7]
    assert len(planned) >= 6
    events = []
    for s in planned:
        events += [{"kind": "visit_started", "time": s["start"], "store_id": s["store_id"]},
                   {"kind": "visit_done", "time": s["end"], "store_id": s["store_id"]}]
    day.now = dt.datetime.fromisoformat(planned[-1]["end"]) + dt.timedelta(hours=1)
    r = _post(client, rep, day, events)
    check(schema, r)
    assert r.status_code == 200, r.text
    stops = r.json()["route"]["stops"]
    reported = [s for s in stops if s.get("reported")]
    assert [(s["store_id"], s["end"]) for s in reported] == [(s["store_id"], s["end"]) for s in planned]
    assert all(s.get("status") != "done" for s in stops if s["type"] == "visit" and not s.get("reported"))
    starts = [dt.datetime.fromisoformat(s["start"]) for s in stops]
    assert starts == sorted(starts)
    late = _post(client, rep, day, {"kind": "position", "time": planned[2]["end"]})  # between two visits
    check(schema, late)
    assert late.status_code == 200, late.text
    version = late.json()["route"]["version"]
    bad = _post(client, rep, day, {"kind": "visit_started", "time": planned[1]["start"], "store_id": planned[-1]["store_id"]})
    check(schema, bad)
    assert bad.status_code == 409 and "under way" in bad.json()["detail"], bad.text
    assert _route(client, rep, day).json()["version"] == version
    assert not _check(app, day)


def test_a_phone_clock_a_few_seconds_ahead_counts_as_now(app, client, admin, day):
    schema = client.get("/openapi.json").json()
    rep = make_token(app, "rep", day.rep_id)
    r = _post(client, rep, day, {"kind": "position", "time": (day.now + dt.timedelta(seconds=5)).isoformat()})
    check(schema, r)
    assert r.status_code == 200, r.text
    too_far = _post(client, rep, day, {"kind": "position", "time": (day.now + dt.timedelta(minutes=5)).isoformat()})
    check(schema, too_far)
    assert too_far.status_code == 422 and "after now" in too_far.json()["detail"]
    assert not _check(app, day)


def test_the_days_missing_visits_as_they_stand(app, client, admin, day):
    """An urgent visit that fits nowhere today is acknowledged, then listed among the day's
    missing visits with its reason (``GET /v1/plans/{id}/missing``)."""
    schema = client.get("/openapi.json").json()
    supervisor = make_token(app, "supervisor")
    late = day.later[-1]["store_id"]
    r = client.post(f"/v1/plans/{day.plan['id']}/events", headers=supervisor,
                    json={"kind": "urgent_visit", "time": day.at(0), "store_id": late, "latest": day.at(1)[11:16]})
    check(schema, r)
    assert r.status_code == 200, r.text
    r = client.get(f"/v1/plans/{day.plan['id']}/missing", headers=supervisor, params={"date": str(day.date)})
    check(schema, r)
    assert r.status_code == 200
    assert [(m["store_id"], m["date"]) for m in r.json() if m["store_id"] == late] == [(late, str(day.date))]
    assert all(m["date"] == str(day.date) for m in r.json())
    assert not _check(app, day)


def test_an_event_sent_twice_in_one_post_is_applied_once(app, client, admin, day):
    """A phone's offline queue that holds an event twice: applied once, not refused; the
    events log shows it once, received at the service's clock."""
    schema = client.get("/openapi.json").json()
    rep = make_token(app, "rep", day.rep_id)
    first = day.later[0]["store_id"]
    twice = {"kind": "store_closed", "time": day.at(0), "store_id": first}
    r = _post(client, rep, day, [twice, twice])
    check(schema, r)
    assert r.status_code == 200, r.text
    assert len(r.json()["applied"]) == 1
    log = client.get(f"/v1/plans/{day.plan['id']}/events", headers=admin, params={"date": str(day.date)})
    check(schema, log)
    assert [(e["kind"], e["store_id"]) for e in log.json()["items"]] == [("store_closed", first)]
    assert dt.datetime.fromisoformat(log.json()["items"][0]["received_at"]) == day.now


def test_the_route_says_which_visits_left_it_and_where_they_went(app, client, admin, day):
    """The rep's route lists the day's visits that re-plans took off it (issue 20): a closed
    store (carried to a later date or missing, with the reason), then the rest of the day
    when the rep cannot go on (each on another rep's route today, a later date, or missing),
    and a visit that comes back is no longer listed. Before any event, nothing left."""
    schema = client.get("/openapi.json").json()
    rep = make_token(app, "rep", day.rep_id)
    r = _route(client, rep, day)
    check(schema, r)
    assert r.json()["left"] == [] and r.json()["day_off"] is False
    published = [s["store_id"] for s in r.json()["stops"] if s["type"] == "visit"]
    closed = day.later[0]["store_id"]
    r = _post(client, rep, day, {"kind": "store_closed", "time": day.at(0), "store_id": closed})
    check(schema, r)
    assert r.status_code == 200, r.text
    left = r.json()["route"]["left"]
    assert [x["store_id"] for x in left] == [closed], left
    assert left[0]["how"] in ("carried", "missing") and left[0]["name"]
    if left[0]["how"] == "missing":
        assert left[0]["reason"] == "store_closed"
    day.now += dt.timedelta(minutes=20)
    r = _post(client, rep, day, {"kind": "rep_unavailable", "time": day.at(0)})
    check(schema, r)
    assert r.status_code == 200, r.text
    r = _route(client, rep, day)
    check(schema, r)
    on_route = {s.get("store_id") for s in r.json()["stops"]}
    left = {x["store_id"]: x for x in r.json()["left"]}
    assert set(published) == on_route - {None} | set(left), (published, on_route, left)
    for store_id, item in left.items():
        if item["how"] == "moved":
            other = _route(client, admin, day, item["rep_id"]).json()["stops"]
            assert store_id in {s.get("store_id") for s in other}
        elif item["how"] == "carried":
            later = client.get(f"/v1/reps/{item['rep_id']}/routes/{item['to_date']}", headers=admin).json()["stops"]
            assert store_id in {s.get("store_id") for s in later}
        else:
            assert item["reason"]
    assert not _check(app, day)


def test_a_day_off_says_so(app, client, admin, day):
    """A date the rep does not work answers day_off (the demo's reps work Mo-Fr); a working
    date does not, even with no visits."""
    schema = client.get("/openapi.json").json()
    monday = day.date - dt.timedelta(days=day.date.weekday())
    for offset, off in ((5, True), (6, True), (0, False)):
        r = client.get(f"/v1/reps/{day.rep_id}/routes/{monday + dt.timedelta(days=offset)}", headers=admin)
        check(schema, r)
        assert r.status_code == 200 and r.json()["day_off"] is off, (offset, r.text[:200])
        if off:
            assert not [s for s in r.json()["stops"] if s["type"] == "visit"]
