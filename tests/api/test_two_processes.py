"""Two server processes on one database (SQLite and PostgreSQL): no event the service
acknowledged is ever missing from the latest route version of the day or from the day's
missing visits (issue 18, item 7 and build item 4).

The first test forces the interleaving that lost a supervisor's urgent visit on SQLite: two
processes, each with the service on the same database, both read the day before either
writes. The second drives the demo day through ``fieldroute serve --workers 2`` with
concurrent clients."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import multiprocessing
import statistics
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from api import replans
from api.main import create_app
from api.models import Plan
from api.serve import seed_demo
from routing.hours import open_windows

from .conftest import fresh_database, serve_demo, settings_for
from .openapi_check import SchemaViolation, check

ZONE = ZoneInfo("Europe/Monaco")
#: A Tuesday of the demo's cycle (the cycle starts that week's Monday): every rep works.
DAY = dt.date(2026, 12, 8)
#: How long a process that has read the day waits for the other process to read it too: the
#: other needs well under a second when nothing holds it; with the database's write lock taken
#: before the read, it cannot read until this one has written, and the wait runs out.
READ_WAIT_S = 3.0
#: The demo day through two server processes: each rep checks in and out of this many of its
#: next stops; the supervisor sends this many urgent visits, and closes a later stop of each rep.
VISITS_PER_REP, URGENT_VISITS = 5, 8
CLOCK = f"{DAY}T10:30"


# --- what an acknowledged event leaves behind ------------------------------------------------


def lost_events(acknowledged: list[dict], routes: dict[str, dict], missing: set[str]) -> list[dict]:
    """The acknowledged events whose effect is not in the day's latest routes (rep id -> the
    route's JSON) or its missing visits (store ids): a check-in's or check-out's stop on the
    rep's route with that status, an urgent visit's store on some route or missing, a closed
    store on no route."""
    status = {(rep_id, s["store_id"]): s.get("status") for rep_id, route in routes.items()
              for s in route["stops"] if s["type"] == "visit"}
    on_routes = {store_id for _, store_id in status}

    def present(event: dict) -> bool:
        kind, store_id = event["kind"], event["store_id"]
        if kind == "visit_started":
            return status.get((event["rep_id"], store_id)) in ("under_way", "done")
        if kind == "visit_done":
            return status.get((event["rep_id"], store_id)) == "done"
        if kind == "urgent_visit":
            return store_id in on_routes or store_id in missing
        if kind == "store_closed":
            return store_id not in on_routes
        raise AssertionError(f"no check for {kind}")

    return [e for e in acknowledged if not present(e)]


def missing_today(db_url: str, plan_id: int, day: dt.date) -> set[str]:
    """The stores of the day's missing visits after its last re-plan: no endpoint answers them
    (``GET /v1/plans/{id}`` lists the plan's own), so read as the service does."""
    engine = create_engine(db_url)
    try:
        with Session(engine) as session:
            _, missing = replans.plan_state(session, session.get(Plan, plan_id))
    finally:
        engine.dispose()
    return {u.store_id for u in missing if u.date in (None, day.isoformat())}


def visits(route: dict) -> list[dict]:
    return [s for s in route["stops"] if s["type"] == "visit"]


def open_late(store: dict, day: dt.date, after: dt.datetime) -> bool:
    """Whether ``store`` is open for an hour from an hour after ``after`` (local) on ``day``."""
    start = (after - dt.datetime.combine(day, dt.time(), ZONE)).total_seconds() + 3600
    return any(a <= start and start + 3600 <= b for a, b in open_windows(store.get("opening_hours") or "", day))


def nearest(stores: list[dict], lat: float, lon: float) -> dict:
    return min(stores, key=lambda s: math.hypot(s["lat"] - lat, (s["lon"] - lon) * math.cos(math.radians(lat))))


# --- the forced interleaving -------------------------------------------------------------------


@dataclass
class Turn:
    """One process's part in the race: it posts ``body`` to ``path`` with ``token`` once
    ``go`` is set (None: at once); after reading the day (``replans.situation``) it sets
    ``read`` and waits for ``proceed`` (at most ``proceed_s``) before it re-plans and writes;
    once answered it sets ``answered`` (if given)."""

    name: str
    path: str
    body: dict
    token: str
    go: Any
    read: Any
    proceed: Any
    proceed_s: float
    answered: Any = None


def _take_turn(turn: Turn, db_url: str, folder: str, plan_id: int, now: str, ready, results) -> None:
    """A server process of its own (the service's app on the database, its clock at ``now``)
    taking ``turn`` once both processes are ``ready``; puts (name, status, answer, whether
    ``proceed`` was set when its wait ended, how the answer breaks the schema or None) on ``results``."""
    from pathlib import Path

    app = create_app(settings_for(db_url, Path(folder)))
    instant = dt.datetime.fromisoformat(now)
    app.state.clock = lambda: instant
    situation, waited = replans.situation, []

    def read_then_wait(*args, **kwargs):
        sit = situation(*args, **kwargs)
        turn.read.set()
        waited.append(turn.proceed.wait(turn.proceed_s))
        return sit

    replans.situation = read_then_wait
    with TestClient(app) as client:
        with app.state.sessions() as session:  # this process's travel matrix of the plan, built before the race
            app.state.replan_bases.get(session, session.get(Plan, plan_id), app.state.road_network, app.state.settings.cache_dir)
        ready.wait(120)
        if turn.go is not None:
            turn.go.wait(120)
        r = client.post(turn.path, json=turn.body, headers={"Authorization": f"Bearer {turn.token}"})
        if turn.answered is not None:
            turn.answered.set()
    try:  # this process's answer against the schema (the conftest's check sees the test's own process only)
        check(app.openapi(), r)
        violation = None
    except SchemaViolation as exc:
        violation = str(exc)
    results.put((turn.name, r.status_code, r.json(), waited, violation))


@pytest.fixture(scope="module")
def forced_day(backend, tmp_path_factory):
    """The demo's published cycle on a fresh database of the backend (no server): its URL, the
    folder, the tokens, the plan id, the day's routes and stores, a client of the service."""
    folder = tmp_path_factory.mktemp(f"forced-{backend}")
    with fresh_database(backend, folder) as db_url:
        settings = settings_for(db_url, folder)
        tokens = seed_demo(settings, time_limit_s=4, today=DAY)
        app = create_app(settings)
        with TestClient(app) as client:
            supervisor = {"Authorization": f"Bearer {tokens['supervisor']}"}
            (plan,) = client.get("/v1/plans", params={"status": "published"}, headers=supervisor).json()["items"]
            routes = {rep_id: client.get(f"/v1/reps/{rep_id}/routes/{DAY}", headers=supervisor).json()
                      for rep_id in sorted(tokens) if rep_id != "supervisor"}
            stores = client.get("/v1/stores", params={"limit": 1000}, headers=supervisor).json()["items"]
            yield {"db_url": db_url, "folder": folder, "tokens": tokens, "plan_id": plan["id"], "routes": routes,
                   "stores": stores, "client": client, "supervisor": supervisor}


def test_two_processes_reading_the_day_at_once_lose_no_acknowledged_event(forced_day):
    """A supervisor's urgent visit for a rep (process A) and the rep's check-in (process B),
    with a barrier between reading the day and writing: A reads, then waits for B to read; B
    posts once A has read, and writes once A has answered. Before, on SQLite both read the
    same day and B's newer route version dropped A's acknowledged urgent visit (on every
    run); now B's transaction waits for the write lock until A has written, A's wait for
    B's read runs out, and B reads the day with the urgent visit on it."""
    d = forced_day
    rep_id = max(d["routes"], key=lambda r: len(visits(d["routes"][r])))
    first = visits(d["routes"][rep_id])[0]
    now = dt.datetime.fromisoformat(first["start"]) + dt.timedelta(minutes=1)
    today = {s["store_id"] for route in d["routes"].values() for s in visits(route)}
    free = [s for s in d["stores"] if s["id"] not in today and open_late(s, DAY, now)]
    urgent = nearest(free, first["lat"], first["lon"])["id"]
    sent = [{"kind": "urgent_visit", "time": now.isoformat(), "store_id": urgent, "rep_id": rep_id},
            {"kind": "visit_started", "time": now.isoformat(), "store_id": first["store_id"], "rep_id": rep_id}]

    ctx = multiprocessing.get_context("spawn")
    a_read, b_read, a_answered = ctx.Event(), ctx.Event(), ctx.Event()
    turns = [  # A reads first and waits for B to read; B posts once A has read, and writes once A has answered
        Turn("A", f"/v1/plans/{d['plan_id']}/events", sent[0], d["tokens"]["supervisor"], None, a_read, b_read,
             READ_WAIT_S, a_answered),
        Turn("B", f"/v1/reps/{rep_id}/routes/{DAY}/events", sent[1], d["tokens"][rep_id], a_read, b_read, a_answered, 120),
    ]
    ready, results = ctx.Barrier(len(turns)), ctx.Queue()
    processes = [ctx.Process(target=_take_turn, args=(turn, d["db_url"], str(d["folder"]), d["plan_id"], now.isoformat(),
                                                      ready, results)) for turn in turns]
    for process in processes:
        process.start()
    answers = {name: (status, body, waited, violation)
               for name, status, body, waited, violation in (results.get(timeout=240) for _ in turns)}
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    assert answers["A"][0] == 200 and answers["B"][0] == 200, answers
    assert answers["A"][3] is None and answers["B"][3] is None, answers

    client = d["client"]
    routes = {r: client.get(f"/v1/reps/{r}/routes/{DAY}", headers=d["supervisor"]).json() for r in d["routes"]}
    missing = missing_today(d["db_url"], d["plan_id"], DAY)
    assert lost_events(sent, routes, missing) == []
    assert answers["A"][2] == [False], "B read the day while A held it"


# --- the demo day through two server processes ----------------------------------------------


class Service:
    """HTTP calls to the running service, each logged: (method, path, status, seconds)."""

    def __init__(self, base: str):
        self.base, self.log, self._lock = base, [], threading.Lock()

    def call(self, method: str, path: str, token: str, body: dict | None = None, key: str | None = None) -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        request = urllib.request.Request(self.base + path, method=method, headers=headers,
                                         data=None if body is None else json.dumps(body).encode())
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                status, data = response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            status, data = exc.code, json.loads(exc.read() or b"{}")
        with self._lock:
            self.log.append((method, path, status, time.monotonic() - started))
        return status, data


class Sender:
    """Posts events, retrying a 409 (with the same Idempotency-Key) up to 3 times; keeps
    every event sent with its final status and its number of tries."""

    def __init__(self, client: Service, offset_s: float):
        self.client, self.offset_s = client, offset_s
        self.sent: list[dict] = []
        self._lock = threading.Lock()

    def now(self) -> str:
        """The service's clock now (a second back, so never ahead of it)."""
        return dt.datetime.fromtimestamp(time.time() + self.offset_s - 1, ZONE).isoformat()

    def post(self, path: str, token: str, event: dict) -> int:
        key, tries = uuid.uuid4().hex, 0
        while True:
            tries += 1
            status, body = self.client.call("POST", path, token, event | {"time": self.now()}, key)
            if status != 409 or tries == 3:
                break
        with self._lock:
            self.sent.append(event | {"status": status, "tries": tries, "detail": body.get("detail")})
        return status


@pytest.fixture(scope="module")
def served(backend, tmp_path_factory):
    """``fieldroute serve --demo --workers 2 --clock`` on a fresh database of the backend."""
    folder = tmp_path_factory.mktemp(f"served-{backend}")
    with fresh_database(backend, folder) as db_url, serve_demo(db_url, "straight", clock=CLOCK, workers=2) as running:
        base, tokens, _ = running
        yield base, tokens, db_url


def test_the_demo_day_through_two_server_processes_loses_no_acknowledged_event(served):
    """Reps check in and out of their next stops while the supervisor sends urgent visits and
    closes a later stop of each rep, all at once, on two server processes; at the end every
    acknowledged event's effect is in the reps' latest routes or the day's missing visits."""
    base, tokens, db_url = served
    client = Service(base)
    supervisor = tokens["supervisor"]
    _, health = client.call("GET", "/healthz", supervisor)
    sender = Sender(client, (dt.datetime.fromisoformat(health["time"]) - dt.datetime.now(dt.timezone.utc)).total_seconds())
    reps = sorted(r for r in tokens if r != "supervisor")
    routes = {r: client.call("GET", f"/v1/reps/{r}/routes/{DAY}", supervisor)[1] for r in reps}
    plan_id = routes[reps[0]]["plan_id"]
    working = [r for r in reps if len(visits(routes[r])) >= 2]
    closing = {r: visits(routes[r])[-1]["store_id"] for r in working if len(visits(routes[r])) > VISITS_PER_REP + 1}
    today = {s["store_id"] for route in routes.values() for s in visits(route)}
    now = dt.datetime.fromisoformat(sender.now())
    stores = client.call("GET", "/v1/stores?limit=1000", supervisor)[1]["items"]
    urgent = [s["id"] for s in stores if s["id"] not in today and open_late(s, DAY, now)][:URGENT_VISITS]

    def rep_day(rep_id: str) -> None:
        path = f"/v1/reps/{rep_id}/routes/{DAY}/events"
        for _ in range(VISITS_PER_REP):
            _, route = client.call("GET", f"/v1/reps/{rep_id}/routes/{DAY}", tokens[rep_id])
            nxt = next((s for s in visits(route) if s.get("status") in (None, "next")
                        and s["store_id"] not in closing.values()), None)
            if nxt is None:
                return
            for kind in ("visit_started", "visit_done"):
                if sender.post(path, tokens[rep_id], {"kind": kind, "store_id": nxt["store_id"], "rep_id": rep_id}) != 200:
                    return

    def supervisor_day() -> None:
        path = f"/v1/plans/{plan_id}/events"
        asked = [{"kind": "urgent_visit", "store_id": s} for s in urgent]
        closed = [{"kind": "store_closed", "store_id": s} for s in closing.values()]
        for pair in itertools.zip_longest(asked, closed):
            for event in filter(None, pair):
                sender.post(path, supervisor, event)

    threads = [threading.Thread(target=rep_day, args=(r,)) for r in working] + [threading.Thread(target=supervisor_day)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    took = time.monotonic() - started

    final = {r: client.call("GET", f"/v1/reps/{r}/routes/{DAY}", supervisor)[1] for r in reps}
    missing = missing_today(db_url, plan_id, DAY)
    acknowledged = [e for e in sender.sent if e["status"] == 200]
    lost = lost_events(acknowledged, final, missing)
    posts = sorted(s for m, _, _, s in client.log if m == "POST")
    gets = sorted(s for m, p, _, s in client.log if m == "GET" and "/routes/" in p)
    print(f"\n{db_url.split(':')[0]}: {len(sender.sent)} events sent, {len(acknowledged)} acknowledged, "
          f"{len(acknowledged) - len(lost)} present at the end; retried {sum(e['tries'] > 1 for e in sender.sent)}; "
          f"refused {[(e['kind'], e['status'], e['detail']) for e in sender.sent if e['status'] != 200]}; {took:.1f} s; "
          f"posts p50 {statistics.median(posts):.2f} s max {posts[-1]:.2f} s; "
          f"route GETs p50 {statistics.median(gets) * 1000:.0f} ms max {gets[-1] * 1000:.0f} ms")
    assert lost == []
    assert all(status < 500 for _, _, status, _ in client.log)
    assert len(sender.sent) >= 40 and len(acknowledged) >= 0.9 * len(sender.sent)
