"""A rep's day scripted over HTTP, as phones and a supervisor's screen drive it (issue 18,
build item 3): ``fieldroute serve --demo`` on a real uvicorn with its clock set to an
afternoon, one rep checking in and out, reporting its position, running late, a store
closed at the door and an urgent visit to a new store; a second rep's check-ins interleaved;
retries with one Idempotency-Key; a third rep's offline morning synced in one post, then a
late report it accepts and one it refuses; a phone clock a few seconds ahead; the day's
events log.

After every answer: it is one the published OpenAPI schema allows (status, content type,
body), the checker (``routing.check.check_cycle``) accepts the day as the server's database
holds it, and after every event post the other reps' routes changed only as the re-plan rule
allows (a rep's event re-plans that rep; an urgent visit it cannot fit goes to exactly one
other rep). The steps are tests run in order on one server; the last prints the answers'
latencies (``pytest -s``)."""

from __future__ import annotations

import datetime as dt
import math
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import sessionmaker

from api import replans
from api.db import make_engine, session_factory
from api.models import Event as EventRow
from api.models import Plan
from routing.network import road_network
from routing.check import check_cycle
from routing.replan import travel_with_events

from .conftest import serve_demo
from .openapi_check import check, path_template

ZONE = ZoneInfo("Europe/Monaco")
#: A Tuesday of the demo's cycle (every rep works); the clock starts when one rep's day is
#: under way and another's morning is over, never reported: the first such time from 14:00
#: (earlier, then later) in the plan the demo made (``a_clock_for_the_roles``).
DAY = dt.date(2026, 12, 8)
NEW_STORE = {"id": "NEW1", "name": "Pop-up", "lat": 43.738, "lon": 7.424, "class": "B", "opening_hours": "Mo-Su 08:00-20:00"}
#: The offline morning's batch: about this many events (positions on the way, a check-in and
#: a check-out per visit), of at most this many visits, within the service's 50 per post.
BATCH_EVENTS, BATCH_VISITS = 50, 8


@dataclass
class Answer:
    """One answer the script got: what it asked, the status, how long it took."""

    method: str
    template: str
    status: int
    seconds: float


@dataclass
class Roles:
    """The reps the script plays: ``main`` has most of its day ahead, ``offline`` did its
    morning without reporting, ``second`` reports alongside ``main``."""

    main: str
    second: str
    offline: str


@dataclass
class Service:
    """The running demo seen as a client: every answer checked against the schema, and the
    day checked in the server's database whenever an answer changed it."""

    base: str
    tokens: dict[str, str]
    db_url: str
    folder: Path
    http: httpx.Client = field(init=False)
    schema: dict = field(init=False)
    engine: Engine = field(init=False)
    sessions: sessionmaker = field(init=False)
    plan_id: int = field(init=False)
    answers: list[Answer] = field(default_factory=list)
    acknowledged: list[dict] = field(default_factory=list)  # the events of every 200 (not replayed) post, as applied
    batch: dict = field(default_factory=dict)
    _offset_s: float = 0.0
    _checked: int | None = -1
    _base: replans.PlanBase | None = None

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base, timeout=120)
        self.schema = self.http.get("/openapi.json").json()
        self.engine = make_engine(self.db_url)
        self.sessions = session_factory(self.engine)
        with self.sessions() as s:
            self.plan_id = s.scalar(select(Plan.id).where(Plan.status == "published"))
        health = self.call("GET", "/healthz").json()
        assert health["clock"] == "set", health
        self._offset_s = dt.datetime.fromisoformat(health["time"]).timestamp() - time.time()

    # --- asking ------------------------------------------------------------------------------

    def call(self, method: str, url: str, who: str | None = None, *, body=None, key: str | None = None,
             params: dict | None = None) -> httpx.Response:
        """One request (``who``: whose token; None: none); the answer is checked against the
        schema and, if the day changed, the day against the checker."""
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        if key is not None:
            headers["Idempotency-Key"] = key
        started = time.perf_counter()
        response = self.http.request(method, url, headers=headers, json=body, params=params)
        seconds = time.perf_counter() - started
        self.answers.append(Answer(method, path_template(self.schema, str(response.request.url)), response.status_code, seconds))
        assert response.status_code < 500, f"{method} {url} -> {response.status_code}: {response.text[:2000]}"
        check(self.schema, response)
        self.check_day()
        return response

    def now(self, seconds: float = 0) -> dt.datetime:
        """The service's clock (it runs on from the fixture's) to the second, ``seconds`` on."""
        return dt.datetime.fromtimestamp(math.floor(time.time() + self._offset_s + seconds), ZONE)

    def route(self, rep_id: str, who: str = "supervisor", **params) -> dict:
        r = self.call("GET", f"/v1/reps/{rep_id}/routes/today", who, params=params or None)
        assert r.status_code == 200, r.text
        return r.json()

    def routes(self) -> dict[str, dict]:
        """Every rep's latest route today."""
        return {rep_id: self.route(rep_id) for rep_id in reps_of(self.tokens)}

    # --- the day in the server's database -----------------------------------------------------

    def check_day(self) -> None:
        """The checker on the day as stored, when something was stored since the last check."""
        with self.sessions() as s:
            last = s.scalar(select(func.max(EventRow.id)))
            if last == self._checked:
                return
            plan = s.get(Plan, self.plan_id)
            if self._base is None:
                self._base = replans.base_of(s, plan, lambda name: road_network(name, cache=self.folder), self.folder)
            sit = replans.situation(s, plan, DAY, self._base)
        travel = travel_with_events(sit.travel, sit.stores, sit.reps, sit.policy, sit.events)
        problems = check_cycle(sit.routes, sit.unassigned, sit.stores, sit.reps, sit.policy, sit.cycle, travel,
                               events=sit.events, events_date=DAY.isoformat(), now_s=sit.now_s)
        assert problems == [], f"the checker refuses the day after event {last}: {problems[:5]}"
        self._checked = last

    def events_stored(self) -> int:
        with self.sessions() as s:
            return s.scalar(select(func.count()).select_from(EventRow))

    def close(self) -> None:
        self.http.close()
        self.engine.dispose()


def reps_of(tokens: dict[str, str]) -> list[str]:
    return sorted(t for t in tokens if t != "supervisor")


def visits(route: dict) -> list[dict]:
    return [s for s in route["stops"] if s["type"] == "visit"]


def at(stop_time: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stop_time)


def stops_monotone(route: dict) -> list[str]:
    """Where the route's stop times go back in list order (arrival <= start <= end <= the
    next stop's arrival)."""
    stops, bad = route["stops"], []
    for n, s in enumerate(stops):
        if not at(s["arrival"]) <= at(s["start"]) <= at(s["end"]):
            bad.append(f"stop {n} ({s.get('store_id') or s['type']}): {s['arrival']} {s['start']} {s['end']}")
        if n + 1 < len(stops) and at(stops[n + 1]["arrival"]) < at(s["end"]):
            bad.append(f"stop {n + 1} arrives at {stops[n + 1]['arrival']} before stop {n} ends at {s['end']}")
    return bad


def choose_roles(routes: dict[str, dict], clock: dt.datetime) -> Roles:
    """``main``: of the reps whose day had begun 5 minutes before the clock, the one with most
    visits still ahead; ``offline``: of the others, the one with most visits done by the
    clock; ``second``: the remaining one with most visits."""
    ahead = {r: sum(at(s["end"]) > clock for s in visits(route)) for r, route in routes.items()
             if visits(route) and at(visits(route)[0]["start"]) <= clock - dt.timedelta(minutes=5)}
    assert ahead, "no rep's day has begun by the clock"
    main = max(ahead, key=ahead.get)
    behind = {r: sum(at(s["end"]) <= clock for s in visits(route)) for r, route in routes.items() if r != main}
    offline = max(behind, key=behind.get)
    second = max((r for r in routes if r not in (main, offline)), key=lambda r: len(visits(routes[r])))
    assert ahead[main] >= 5 and behind[offline] >= 4 and visits(routes[second]), (ahead, behind)
    return Roles(main, second, offline)


@dataclass
class Day:
    """The script's state across its steps."""

    service: Service
    roles: Roles
    seen: dict[str, dict]  # each rep's latest route as last fetched

    def post(self, rep_id: str, who: str, body, *, key: str | None = None, status: int = 200) -> httpx.Response:
        """Post ``body`` (an event or a list) to ``rep_id``'s day; the answer has ``status``;
        afterwards the other reps' routes changed only as the rule allows and every route's
        stop times are monotone."""
        r = self.service.call("POST", f"/v1/reps/{rep_id}/routes/today/events", who, body=body, key=key)
        assert r.status_code == status, f"{body} -> {r.status_code} {r.text[:1500]}"
        after = self.service.routes()
        changed = {rep for rep in after if after[rep] != self.seen[rep]}
        events = body if isinstance(body, list) else [body]
        if status != 200 or r.headers.get("idempotent-replayed") == "true":
            assert changed == set(), f"a refused or replayed post changed {sorted(changed)}"
        else:
            assert changed <= {rep_id} | self._urgent_elsewhere(rep_id, events, after), \
                f"{rep_id}'s post {[e['kind'] for e in events]} changed {sorted(changed)}"
            assert {v["rep_id"] for v in r.json()["routes"]} == changed, (r.json()["routes"], changed)
            self.service.acknowledged += [e | {"routes": r.json()["routes"]} for e in r.json()["applied"]]
        if status == 200:
            assert r.json()["route"] == after[rep_id], "the answer's route is what the next fetch reads"
            assert [x["store_id"] for x in visits(after[rep_id]) if x.get("status") == "done" and not x["reported"]] == [], \
                "a stop nobody reported is not done"
        for rep, route in after.items():
            assert stops_monotone(route) == [], (rep, stops_monotone(route))
        self.seen = after
        return r

    def _urgent_elsewhere(self, rep_id: str, events: list[dict], after: dict[str, dict]) -> set[str]:
        """The one other rep an urgent visit went to when ``rep_id`` could not fit it."""
        urgent = {e["store_id"] for e in events if e["kind"] == "urgent_visit"}
        if not urgent or urgent & {s["store_id"] for s in visits(after[rep_id])}:
            return set()
        others = {r for r, route in after.items() if r != rep_id and urgent & {s["store_id"] for s in visits(route)}}
        assert len(others) <= 1, f"an urgent visit went to {sorted(others)}"
        return others

    def next_visits(self, rep_id: str) -> list[dict]:
        """The rep's visits not done yet, in route order."""
        return [s for s in visits(self.seen[rep_id]) if s.get("status") != "done"]


def a_clock_for_the_roles(routes: dict[str, dict]) -> dt.datetime:
    """The first time of ``DAY`` from 14:00 (earlier first, then later, by 5 min) at which
    ``choose_roles`` finds its three reps in ``routes`` (the demo's plan is made within a
    time limit: its days differ from run to run)."""
    for minutes in sorted(range(9 * 60, 17 * 60 + 1, 5), key=lambda m: (abs(m - 14 * 60), m)):
        clock = dt.datetime.combine(DAY, dt.time(minutes // 60, minutes % 60), ZONE)
        try:
            choose_roles(routes, clock)
            return clock
        except AssertionError:
            continue
    raise AssertionError(f"no time of {DAY} has a rep under way and another's morning over: {routes}")


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Day:
    folder = tmp_path_factory.mktemp("rep-day")
    db = folder / "fieldroute.db"
    with serve_demo(db, "straight", clock=f"{DAY}T07:00") as (base, tokens, _):  # the demo plans; its day is read
        planned = {rep: httpx.get(f"{base}/v1/reps/{rep}/routes/{DAY}", headers={"Authorization": f"Bearer {tokens[rep]}"})
                   .json() for rep in ("R1", "R2", "R3", "R4")}
    clock = a_clock_for_the_roles(planned)
    with serve_demo(db, "straight", clock=clock.strftime("%Y-%m-%dT%H:%M")) as (base, tokens, _):  # the same plan
        service = Service(base, tokens, f"sqlite:///{db}", folder)
        seen = service.routes()
        yield Day(service, choose_roles(seen, clock), seen)
        service.close()


def event(kind: str, when: dt.datetime, **fields) -> dict:
    return {"kind": kind, "time": when.isoformat()} | fields


# --- the script -------------------------------------------------------------------------------


def test_1_the_rep_fetches_its_route(day):
    """The rep's route today, with its own token; every rep's route is on version 1."""
    main = day.roles.main
    route = day.service.route(main, main)
    assert route["date"] == DAY.isoformat() and route == day.seen[main]
    assert {r: route["version"] for r, route in day.seen.items()} == {r: 1 for r in day.seen}
    assert len(day.next_visits(main)) >= 5


def test_2_at_the_door_of_a_closed_store(day):
    """The rep, who has reported nothing yet, sends the pings its phone kept: a position at
    the door of the visit the clock assumes begun (four minutes ago), a position two minutes
    later without one (still there: running late), then ``store_closed`` for that stop now,
    when the clock assumes the visit under way. Accepted (it was refused with 409 "rep R2 by
    the plan, was at store ..."); the store is off the rep's day."""
    main, s = day.roles.main, day.service
    at_door, now = s.now(-240), s.now()
    door = [x for x in visits(day.seen[main]) if at(x["start"]) <= at_door][-1]
    day.post(main, main, event("position", at_door, lat=door["lat"], lon=door["lon"]))
    late = day.post(main, main, event("position", at_door + dt.timedelta(minutes=2)))
    assert at(late.json()["route"]["resume"]["time"]) >= at_door + dt.timedelta(minutes=2), late.json()["route"]["resume"]
    closed = day.post(main, main, event("store_closed", now, store_id=door["store_id"]))
    diff = closed.json()["diff"]
    assert door["store_id"] not in {x["store_id"] for x in visits(day.seen[main])}
    assert door["store_id"] in {c["store_id"] for c in diff["carried"]} | {d["store_id"] for d in diff["dropped"]}


def test_3_check_in_and_out_of_the_next_two_stops(day):
    """Check-in and check-out at the clock's now, each its own post: the stops are done with
    the reported times, first in the route; only the rep's route gets new versions."""
    main, s = day.roles.main, day.service
    version = day.seen[main]["version"]
    for n, stop in enumerate(day.next_visits(main)[:2]):
        for kind in ("visit_started", "visit_done"):
            when = s.now()
            extra = {"lat": stop["lat"], "lon": stop["lon"]} if kind == "visit_started" else {}
            r = day.post(main, main, event(kind, when, store_id=stop["store_id"], **extra))
            assert r.json()["flags"] == []
            reported = visits(r.json()["route"])[n]
            assert reported["store_id"] == stop["store_id"] and reported["reported"]
            assert reported["status"] == ("under_way" if kind == "visit_started" else "done")
            assert at(reported["start" if kind == "visit_started" else "end"]) == when
    assert day.seen[main]["version"] == version + 4


def test_4_an_urgent_visit_to_a_new_store(day):
    """The rep's urgent visit to a store the plan does not know: the stop has the store's
    place and name; the plan's map, the rep's map, the GeoJSON and the calendar feed answer."""
    main, s = day.roles.main, day.service
    r = day.post(main, main, event("urgent_visit", s.now(), store_id=NEW_STORE["id"], store=NEW_STORE))
    holder = main if NEW_STORE["id"] in {x["store_id"] for x in visits(day.seen[main])} else next(
        rep for rep, route in day.seen.items() if NEW_STORE["id"] in {x["store_id"] for x in visits(route)})
    stop = next(x for x in visits(day.seen[holder]) if x["store_id"] == NEW_STORE["id"])
    assert (stop["lat"], stop["lon"], stop["name"], stop["class"], stop["opening_hours"]) == (
        NEW_STORE["lat"], NEW_STORE["lon"], NEW_STORE["name"], NEW_STORE["class"], NEW_STORE["opening_hours"])
    pages = [("GET", f"/v1/plans/{s.plan_id}/map", "supervisor", {"date": DAY.isoformat()}),
             ("GET", f"/v1/reps/{holder}/routes/today/map", holder, None),
             ("GET", f"/v1/reps/{holder}/routes/today", holder, {"format": "geojson"})]
    answers = {url: s.call(method, url, who, params=params) for method, url, who, params in pages}
    assert [a.status_code for a in answers.values()] == [200, 200, 200], {u: a.text[:500] for u, a in answers.items()}
    geojson = answers[pages[2][1]].json()
    assert [NEW_STORE["lon"], NEW_STORE["lat"]] in [f["geometry"]["coordinates"] for f in geojson["features"]
                                                    if f["geometry"]["type"] == "Point"]
    assert "Pop-up" in answers[pages[0][1]].text
    key = s.call("POST", f"/v1/reps/{holder}/calendar-key", holder)
    assert key.status_code == 200, key.text
    feed = s.call("GET", key.json()["url"])
    assert feed.status_code == 200 and "BEGIN:VCALENDAR" in feed.text and "Pop-up" in feed.text, feed.text[:500]


def test_5_a_second_reps_check_ins_interleaved(day):
    """The second rep checks in and out of its first stop between the main rep's check-in
    and check-out: each post changes its poster's route only (``Day.post`` compares)."""
    main, second, s = day.roles.main, day.roles.second, day.service
    mine, theirs = day.next_visits(main)[0], day.next_visits(second)[0]
    versions = {r: day.seen[r]["version"] for r in (main, second)}
    day.post(second, second, event("visit_started", s.now(), store_id=theirs["store_id"]))
    day.post(main, main, event("visit_started", s.now(), store_id=mine["store_id"]))
    day.post(second, second, event("visit_done", s.now(), store_id=theirs["store_id"]))
    day.post(main, main, event("visit_done", s.now(), store_id=mine["store_id"]))
    assert {r: day.seen[r]["version"] for r in (main, second)} == {r: v + 2 for r, v in versions.items()}
    assert [x["status"] for x in visits(day.seen[second]) if x["store_id"] == theirs["store_id"]] == ["done"]


def test_6_a_retry_with_the_same_idempotency_key(day):
    """The same post with the same key twice: the first answer again, marked replayed; no new
    route version, no new event stored."""
    main, s = day.roles.main, day.service
    body, key = event("position", s.now()), f"phone-{uuid.uuid4().hex}"
    first = day.post(main, main, body, key=key)
    version, stored = day.seen[main]["version"], s.events_stored()
    again = day.post(main, main, body, key=key)
    assert again.headers.get("idempotent-replayed") == "true" and first.headers.get("idempotent-replayed") is None
    assert again.json() == first.json()
    assert day.seen[main]["version"] == version and s.events_stored() == stored


def offline_morning(route: dict, now: dt.datetime) -> tuple[list[dict], list[dict]]:
    """A morning's reports of the route's first visits done by ``now`` (all but the last of
    them, so one stays unreported): per visit positions on the way there, a check-in at its
    planned start (or half a minute after the last position) and a check-out after its
    planned length; the reported visits and the events, in time order."""
    done = [s for s in visits(route) if at(s["end"]) < now - dt.timedelta(minutes=5)]
    reported = done[:min(len(done) - 1, BATCH_VISITS)]
    positions = max(1, (BATCH_EVENTS - 2 * len(reported)) // len(reported))
    half_minute = dt.timedelta(seconds=30)
    events, place, last = [], route["stops"][0], at(route["stops"][0]["start"])
    for stop in reported:
        check_in = max(at(stop["start"]), last + half_minute * (positions + 1))
        for n in range(positions):  # on the way from the last place to the store
            share = (n + 1) / (positions + 1)
            events.append(event("position", check_in - half_minute * (positions - n),
                                lat=place["lat"] + share * (stop["lat"] - place["lat"]),
                                lon=place["lon"] + share * (stop["lon"] - place["lon"])))
        events.append(event("visit_started", check_in, store_id=stop["store_id"], lat=stop["lat"], lon=stop["lon"]))
        place, last = stop, check_in + (at(stop["end"]) - at(stop["start"]))
        events.append(event("visit_done", last, store_id=stop["store_id"]))
    for n in range(BATCH_EVENTS - len(events)):  # the phone's pings at the last store: a post as large as allowed
        events.append(event("position", last + dt.timedelta(seconds=10 * (n + 1)), lat=place["lat"], lon=place["lon"]))
    return reported, events


def test_7_an_offline_morning_synced_at_once(day):
    """A rep that reported nothing all morning sends its morning's check-ins, positions and
    check-outs in one post: all applied, once; its route lists those stops done at the
    reported times, in time order, and no other stop done. Then a late position older than
    its last report (contradicting nothing) is accepted; a check-in overlapping a reported
    visit is refused with 409 and changes nothing."""
    offline, s = day.roles.offline, day.service
    reported, events = offline_morning(day.seen[offline], s.now())
    assert 20 <= len(events) <= 50 and [e["time"] for e in events] == sorted(e["time"] for e in events)
    started = time.perf_counter()
    r = day.post(offline, offline, events)
    s.batch = {"events": len(events), "visits": len(reported), "answer_s": time.perf_counter() - started,
               "wall_s": r.json()["info"].get("wall_s")}
    assert len(r.json()["applied"]) == len(events)
    times = {e["store_id"]: dt.datetime.fromisoformat(e["time"]) for e in events if e["kind"] == "visit_started"}
    ends = {e["store_id"]: dt.datetime.fromisoformat(e["time"]) for e in events if e["kind"] == "visit_done"}
    route = day.seen[offline]
    done = [x for x in visits(route) if x.get("status") == "done"]
    assert [x["store_id"] for x in done] == [x["store_id"] for x in reported], "done = exactly the reported, in order"
    assert all(x["reported"] for x in done)
    assert [(at(x["start"]), at(x["end"])) for x in done] == [(times[x["store_id"]], ends[x["store_id"]]) for x in done]
    assert [x["store_id"] for x in visits(route)][:len(done)] == [x["store_id"] for x in done], "the done stops come first"

    # A late report older than the last one that contradicts nothing: accepted, the reported visits stay.
    first, second = reported[:2]
    late = ends[first["store_id"]] + dt.timedelta(seconds=10)  # on the way to the second visit, before its positions
    halfway = {"lat": (first["lat"] + second["lat"]) / 2, "lon": (first["lon"] + second["lon"]) / 2}
    day.post(offline, offline, event("position", late, **halfway))
    assert [(x["store_id"], x["start"], x["end"]) for x in visits(day.seen[offline]) if x.get("status") == "done"] == \
        [(x["store_id"], x["start"], x["end"]) for x in done]
    # One that contradicts a reported visit: a check-in elsewhere while the rep was checked in at the third stop.
    stored = s.events_stored()
    elsewhere = next(x for x in visits(day.seen[offline]) if x.get("status") != "done")
    inside = times[reported[2]["store_id"]] + dt.timedelta(seconds=40)
    refused = day.post(offline, offline, event("visit_started", inside, store_id=elsewhere["store_id"]), status=409)
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert s.events_stored() == stored


def test_7b_a_ping_during_a_reported_visit_contradicts_nothing(day):
    """A late position at the store, between that visit's reported check-in and check-out
    (a phone pings while the rep is inside): it contradicts no reported fact, so by the rule
    it is accepted and the reported visits stay as they were."""
    offline, s = day.roles.offline, day.service
    done = [x for x in visits(day.seen[offline]) if x.get("status") == "done"]
    inside = at(done[0]["start"]) + dt.timedelta(seconds=60)
    day.post(offline, offline, event("position", inside, lat=done[0]["lat"], lon=done[0]["lon"]))
    assert [x for x in visits(day.seen[offline]) if x.get("status") == "done"] == done


def test_8_a_phone_clock_a_few_seconds_ahead(day):
    """An event stamped 5 s after the service's now is accepted and counts as now (it was
    refused with 422 "the event's time is after now")."""
    main, s = day.roles.main, day.service
    ahead = s.now(5)
    (applied,) = day.post(main, main, event("position", ahead)).json()["applied"]
    assert ahead - dt.timedelta(seconds=6) <= at(applied["time"]) <= ahead, (ahead, applied)  # the service's now when posted


def test_9_the_events_log_lists_every_acknowledged_event(day):
    """``GET /v1/plans/{id}/events?date=`` lists each event the service acknowledged, as its
    post answered it, with the route versions that post wrote; then the numbers."""
    s = day.service
    r = s.call("GET", f"/v1/plans/{s.plan_id}/events", "supervisor", params={"date": DAY.isoformat(), "limit": 1000})
    assert r.status_code == 200, r.text
    logged = r.json()["items"]
    fields = ("kind", "time", "rep_id", "store_id", "lat", "lon", "routes")

    def key(e: dict) -> tuple:
        return tuple(str(e.get(f)) if f != "time" else dt.datetime.fromisoformat(e[f]) for f in fields)

    assert Counter(map(key, logged)) == Counter(map(key, s.acknowledged))
    assert r.json()["count"] == len(s.acknowledged)
    print_numbers(s)


def print_numbers(s: Service) -> None:
    """The answers' count and latencies (event posts and GETs) and the synced batch's times."""
    def row(name: str, seconds: list[float]) -> str:
        p95 = statistics.quantiles(seconds, n=20, method="inclusive")[18] if len(seconds) > 1 else seconds[0]
        ms = [statistics.median(seconds) * 1000, p95 * 1000, max(seconds) * 1000]
        return f"{name:<12}{len(seconds):>8}" + "".join(f"{v:>9.0f}" for v in ms)

    posts = [a.seconds for a in s.answers if a.method == "POST" and a.template.endswith("/events")]
    gets = [a.seconds for a in s.answers if a.method == "GET"]
    print(f"\nscripted rep day: {len(s.answers)} answers, {len(s.acknowledged)} events acknowledged, "
          f"statuses {dict(Counter(a.status for a in s.answers))}")
    print(f"{'':<12}{'answers':>8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    print(row("event posts", posts))
    print(row("GETs", gets))
    b = s.batch
    if b:
        print(f"synced batch: {b['events']} events ({b['visits']} visits) in one post: answer {b['answer_s']:.2f} s, "
              f"re-plan (info.wall_s) {b['wall_s']} s")
