"""Same-day events over the API: a rep's report and a supervisor's re-plan the day, answer
new route versions and the diff, retries with an Idempotency-Key apply once, refused events
change nothing, and the checker accepts what is stored."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from api import replans
from api.models import Event as EventRow
from api.models import Plan
from routing.check import check_cycle
from routing.replan import travel_with_events

from .conftest import busiest_rep_day, load_team, make_token, plan_and_publish

ZONE = ZoneInfo("Europe/Monaco")


class Day:
    """A published week from Monday and its busiest rep-day; the service's clock set a minute
    into that rep's first visit, so the rest of its day is still to come."""

    def __init__(self, app, client, admin):
        load_team(client, admin)
        self.plan = plan_and_publish(client, admin)
        self.date, self.rep_id, visits = busiest_rep_day(client, admin)
        assert len(visits) >= 3
        self.now = dt.datetime.fromisoformat(visits[0]["start"]) + dt.timedelta(minutes=1)
        self.later = visits[1:]
        app.state.clock = lambda: self.now

    def at(self, minutes: float) -> str:
        """An event time ``minutes`` after the clock (negative: before)."""
        return (self.now + dt.timedelta(minutes=minutes)).isoformat()


@pytest.fixture
def day(app, client, admin) -> Day:
    return Day(app, client, admin)


def _route(client, headers, day, rep_id=None, **params):
    r = client.get(f"/v1/reps/{rep_id or day.rep_id}/routes/{day.date}", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return r


def _post(client, headers, day, body, key=None, rep_id=None):
    extra = {"Idempotency-Key": key} if key else {}
    return client.post(f"/v1/reps/{rep_id or day.rep_id}/routes/{day.date}/events", json=body, headers=headers | extra)


def _rows(app, **where) -> int:
    with app.state.sessions() as s:
        query = select(func.count()).select_from(EventRow)
        for k, v in where.items():
            query = query.where(getattr(EventRow, k) == v)
        return s.scalar(query)


def _check(app, day):
    with app.state.sessions() as s:
        plan = s.get(Plan, day.plan["id"])
        base = app.state.replan_bases.get(s, plan, app.state.road_network, app.state.settings.cache_dir)
        sit = replans.situation(s, plan, day.date, base)
    travel = travel_with_events(sit.travel, sit.stores, sit.reps, sit.policy, sit.events)
    return check_cycle(sit.routes, sit.unassigned, sit.stores, sit.reps, sit.policy, sit.cycle, travel,
                       events=sit.events, events_date=day.date.isoformat(), now_s=sit.now_s)


def test_a_reps_report_re_plans_its_day_and_a_retry_applies_once(app, client, admin, day):
    rep = make_token(app, "rep", day.rep_id)
    before = _route(client, rep, day)
    closed = day.later[-1]["store_id"]
    body = {"kind": "store_closed", "time": day.at(-0.5), "store_id": closed}
    r = _post(client, rep, day, body, key="phone-1")
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["route"]["version"] == 2 and closed not in {s.get("store_id") for s in answer["route"]["stops"]}
    diff = answer["diff"]
    assert closed in {c["store_id"] for c in diff["carried"]} | {d["store_id"] for d in diff["dropped"]}
    # The start is behind the rep; the visit the clock assumed begun is not (no check-in): re-planned.
    assert answer["route"]["resume"]["after"] >= 1 and answer["route"]["stops"][0]["type"] == "start"
    # The rep's next fetch sees the new version (a new ETag); version 1 can still be read.
    after = _route(client, rep, day)
    assert after.headers["etag"] != before.headers["etag"] and after.json()["version"] == 2
    assert _route(client, rep, day, version=1).json()["stops"] == before.json()["stops"]
    assert client.get(f"/v1/reps/{day.rep_id}/routes/{day.date}", headers=rep, params={"version": 9}).status_code == 404
    # A retry from the phone: the same answer, nothing more written.
    events = _rows(app, kind="store_closed")
    again = _post(client, rep, day, body, key="phone-1")
    assert again.status_code == 200 and again.json() == answer and again.headers.get("idempotent-replayed") == "true"
    assert _rows(app, kind="store_closed") == events == 1 and _route(client, rep, day).json()["version"] == 2
    # ... also after the phone signed in again (a new token of the same rep): keys are the rep's
    again = _post(client, make_token(app, "rep", day.rep_id), day, body, key="phone-1")
    assert again.status_code == 200 and again.headers.get("idempotent-replayed") == "true"
    assert _rows(app, kind="store_closed") == 1
    # The same key with another body is refused.
    other = _post(client, rep, day, body | {"store_id": day.later[0]["store_id"]}, key="phone-1")
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["detail"]
    assert not _check(app, day)


def test_refused_events_change_nothing(app, client, admin, day):
    rep = make_token(app, "rep", day.rep_id)
    version = _route(client, rep, day).json()["version"]
    stranger = next(s for s in ("R1", "R2", "R3", "R4") if s != day.rep_id)
    nxt = day.later[0]["store_id"]
    tomorrow = day.date + dt.timedelta(days=1)
    cases = [
        (_post(client, rep, day, {"kind": "visit_done", "time": day.at(-1), "store_id": "NOPE"}), 422),
        (_post(client, rep, day, {"kind": "visit_done", "time": day.at(30), "store_id": nxt}), 422),  # in the future
        (_post(client, rep, day, {"kind": "rep_available", "time": day.at(-1)}), 422),  # not a rep's to say
        (_post(client, rep, day, {"kind": "visit_done", "time": f"{tomorrow}T10:00", "store_id": nxt}), 422),
        (_post(client, rep, day, {"kind": "position", "time": day.at(-1)}, rep_id=stranger), 403),
        (client.post(f"/v1/reps/{day.rep_id}/routes/{tomorrow}/events", json={"kind": "position", "time": f"{tomorrow}T10:00"},
                     headers=rep), 409),
        (client.post(f"/v1/reps/{day.rep_id}/routes/{day.date}/events", json={"kind": "position", "time": day.at(-1)},
                     headers=rep, params={"max_moves": -1}), 422),
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    assert _post(client, rep, day, {"kind": "visit_done", "time": day.at(0), "store_id": nxt}).status_code == 200
    twice = _post(client, rep, day, {"kind": "visit_done", "time": day.at(0), "store_id": nxt})
    assert twice.status_code == 409 and "already" in twice.json()["detail"]
    # A late report that contradicts what the rep reported (a check-in while its last visit went on).
    late = _post(client, rep, day, {"kind": "visit_started", "time": day.at(-0.5), "store_id": day.later[1]["store_id"]})
    assert late.status_code == 409 and "contradicts" in late.json()["detail"], late.text
    assert _route(client, rep, day).json()["version"] == version + 1  # only the one good event
    assert _rows(app, kind="visit_done") == 1 and _rows(app, kind="visit_started") == 0
    assert not _check(app, day)


def test_a_supervisor_reports_a_rep_off_sick_and_the_others_cover(app, client, admin, day):
    supervisor = make_token(app, "supervisor")
    etags = {}
    for rep_id in ("R1", "R2", "R3", "R4"):
        r = client.get(f"/v1/reps/{rep_id}/routes/{day.date}", headers=admin)
        if r.status_code == 200:
            etags[rep_id] = r.headers["etag"]
    r = client.post(f"/v1/plans/{day.plan['id']}/events", json={"kind": "rep_unavailable", "time": day.at(0),
                                                                "rep_id": day.rep_id}, headers=supervisor,
                    params={"max_moves": 0})  # the sick rep's visits must move all the same
    assert r.status_code == 200, r.text
    diff = r.json()["diff"]
    handed = {m["store_id"] for m in diff["moved"] if m["from"] == day.rep_id} | {c["store_id"] for c in diff["carried"]} \
        | {d["store_id"] for d in diff["dropped"]}
    assert {s["store_id"] for s in day.later} <= handed
    stops = _route(client, admin, day).json()["stops"]
    assert [s["store_id"] for s in stops if s["type"] == "visit"] == [v["store_id"] for v in stops[1:2]]  # the visit under way
    for rep_id in {m["to"] for m in diff["moved"]}:  # covering reps see their new routes on their next fetch
        assert _route(client, admin, day, rep_id).headers["etag"] != etags[rep_id]
    assert not _check(app, day)
    # A rep may not say that.
    rep = make_token(app, "rep", day.rep_id)
    assert client.post(f"/v1/plans/{day.plan['id']}/events", json={"kind": "rep_available", "time": day.at(0),
                                                                   "rep_id": day.rep_id}, headers=rep).status_code == 403


def test_a_rep_says_it_cannot_go_on_and_the_others_cover(app, client, admin, day):
    """Issue 20, item 4 ("I can't go on today"): the rep's own ``rep_unavailable`` hands the
    rest of its day over as a supervisor's would; the answer's route keeps only the visit under way."""
    rep = make_token(app, "rep", day.rep_id)
    r = _post(client, rep, day, {"kind": "rep_unavailable", "time": day.at(0)})
    assert r.status_code == 200, r.text
    diff = r.json()["diff"]
    handed = {m["store_id"] for m in diff["moved"] if m["from"] == day.rep_id} | {c["store_id"] for c in diff["carried"]} \
        | {d["store_id"] for d in diff["dropped"]}
    assert {s["store_id"] for s in day.later} <= handed
    assert len([s for s in r.json()["route"]["stops"] if s["type"] == "visit"]) == 1
    assert not _check(app, day)
    other = next(s for s in ("R1", "R2", "R3", "R4") if s != day.rep_id)
    assert _post(client, rep, day, {"kind": "rep_unavailable", "time": day.at(0), "rep_id": other}).status_code == 422


def test_concurrent_posts_on_one_day_build_on_each_other(app, client, admin, day):
    """A rep closes a store while a supervisor posts for the same rep, at once, a few rounds:
    both apply in turn, the closed store never comes back, a retried key replays."""
    import threading

    rep, supervisor = make_token(app, "rep", day.rep_id), make_token(app, "supervisor")
    for k, closed in enumerate([s["store_id"] for s in day.later][::-1][:3]):
        now = day.now + dt.timedelta(minutes=k)
        app.state.clock = lambda now=now: now
        calls = [(rep, {"kind": "store_closed", "time": now.isoformat(), "store_id": closed}, None),
                 (supervisor, {"kind": "position", "time": now.isoformat()}, None),
                 (rep, {"kind": "position", "time": now.isoformat()}, f"same-{k}"),
                 (rep, {"kind": "position", "time": now.isoformat()}, f"same-{k}")]
        out: list = [None] * len(calls)
        barrier = threading.Barrier(len(calls))

        def go(i: int) -> None:
            headers, body, key = calls[i]
            barrier.wait()
            out[i] = _post(client, headers, day, body, key=key)

        threads = [threading.Thread(target=go, args=(i,)) for i in range(len(calls))]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert [r.status_code for r in out] == [200] * len(calls), [r.text for r in out]
        assert out[2].json() == out[3].json()  # one of the two was a replay
        route = _route(client, admin, day).json()
        assert closed not in {s.get("store_id") for s in route["stops"]}
    with app.state.sessions() as s:  # one event row per applied post (the replay wrote none)
        assert s.scalar(select(func.count()).select_from(EventRow).where(EventRow.kind == "position")) == 6
    assert not _check(app, day)


def test_bodies_that_cannot_be_kept_are_refused_before_anything_is_written(app, client, admin, day):
    rep = make_token(app, "rep", day.rep_id)
    before = _rows(app)
    bad = [
        {"kind": "urgent_visit", "time": day.at(-1), "store_id": "U1", "latest": "24:00",
         "store": {"id": "U1", "name": "x", "lat": 43.73, "lon": 7.42, "class": "A", "opening_hours": ""}},
        {"kind": "urgent_visit", "time": day.at(-1), "store_id": "NEW\udfffS",
         "store": {"id": "NEW\udfffS", "name": "x", "lat": 43.73, "lon": 7.42, "class": "A", "opening_hours": ""}},
        {"kind": ["visit_done"], "time": day.at(-1)},
        {"kind": "position", "time": "0001-01-01T00:00+05:00"},
    ]
    for body in bad:
        r = client.post(f"/v1/reps/{day.rep_id}/routes/{day.date}/events", headers=rep | {"Content-Type": "application/json"},
                        content=json.dumps(body).encode())
        assert r.status_code == 422, (body, r.text)
    deep = client.post(f"/v1/reps/{day.rep_id}/routes/{day.date}/events", headers=rep | {"Content-Type": "application/json"},
                       content=b"[" * 100_000)
    assert deep.status_code == 422
    assert _rows(app) == before
    assert _post(client, rep, day, {"kind": "position", "time": day.at(0)}).status_code == 200  # the day still takes events



def test_the_missing_visits_are_stored_again_only_when_they_change(app, client, admin, day):
    """Each re-plan records the cycle's missing visits; a re-plan that leaves them as they
    were points at the state that holds them instead of copying the whole list."""
    rep = make_token(app, "rep", day.rep_id)
    assert _post(client, rep, day, {"kind": "position", "time": day.at(-0.5)}).status_code == 200
    assert _post(client, rep, day, {"kind": "position", "time": day.at(0)}).status_code == 200
    with app.state.sessions() as s:
        plan = s.get(Plan, day.plan["id"])
        first, second = s.scalars(select(EventRow).where(EventRow.kind == replans.STATE).order_by(EventRow.id)).all()
        assert "unassigned" in first.data and second.data["unassigned_in"] == first.id
        assert second.data["now_s"] >= first.data["now_s"]
        _, missing = replans.plan_state(s, plan)
    assert [m.store_id for m in missing] == [u["store_id"] for u in first.data["unassigned"]]
    closed = day.later[-1]["store_id"]
    assert _post(client, rep, day, {"kind": "store_closed", "time": day.at(0), "store_id": closed}).status_code == 200
    with app.state.sessions() as s:
        third = s.scalars(select(EventRow).where(EventRow.kind == replans.STATE).order_by(EventRow.id.desc())).first()
        _, missing = replans.plan_state(s, s.get(Plan, day.plan["id"]))
    if "unassigned" in third.data:  # the closed store's visit went missing (else it was carried to another day)
        assert [m.store_id for m in missing] == [u["store_id"] for u in third.data["unassigned"]]
    assert not _check(app, day)
