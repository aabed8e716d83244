"""Follow-up reports at scale (issue 21): import 100,000 made visits over HTTP and ask for the
visit reports of a week and of a whole 8-week cycle, on SQLite and PostgreSQL.

    python bench/reports.py [--json FILE] [--repeat 5] [--backends sqlite,postgresql]
                            [--reps 200] [--stores 20000] [--weeks 8] [--visits 100000] [--profile]

What it does, for each backend (seeded, no solver, nothing downloaded):

1. Synthesises a team (once, reused by both backends): a policy (Europe/Monaco; classes A
   2 visits a week 25 min, B weekly 15 min, C every two weeks 12 min), ``--reps`` reps
   (08:30-17:30 Mo-Fr, lunch 45 min between 12:00 and 14:00), ``--stores`` stores, each owned
   by a rep (stores / reps each) and in one of 20 areas (10 reps' territories an area), and
   ``--weeks`` weeks of routes at the class frequencies: each rep-day about 15 visits of its
   own stores (weekdays chosen to balance the days), ordered nearest-first from home, with
   straight-line travel (x 1.4 at 25 km/h), waits for opening, the lunch break, the stop
   format ``routing.io.route_to_dict`` writes (start/visit/break/end stops with ISO times
   and offsets, travel_s, distance_m, wait_s, store_id; a summary). The made visits:
   ``--visits`` of them, 96 % at a planned visit's store (92 % of them on its date around its
   planned start, 8 % a working day before or after), 4 % extra visits at one of the rep's
   stores; 45 % orders (with a value in EUR), 45 % no order, 10 % refused; half with
   checklist steps; ids unique.
2. Loads the policy, reps and stores in-process through ``api.records`` (``put_policy``,
   ``import_records``: the validation and versioning of the import endpoints), then writes
   the routes straight into the database: ONE published ``Plan`` (start a Monday, weeks
   ``--weeks``, ``inputs`` = ``records.snapshot``, as a plan job writes it) and a
   ``RouteRow`` version 1 per rep and working day. A supervisor token (``api.auth``).
   PostgreSQL: a fresh database ``fieldroute_bench_reports`` (psycopg; dropped at the end,
   also one left by an interrupted run at the start); SQLite: a file in a temporary folder.
3. Starts ``fieldroute serve`` (one worker) on 127.0.0.1 on a free port with ``--clock`` on
   the Monday after the cycle (every date is over), checks that the plan's pages answer
   (the plan, a rep's route, the plan's map), and imports the made visits with
   ``POST /v1/visits/import`` as JSON, ``--batch`` (10,000) a request in date order, the
   bodies serialised before the clock starts: the total time and visits/s. The largest body
   must stay under half the server's limit (``FIELDROUTE_MAX_BODY_MB``, default 50 MiB;
   10,000 visits are about 2.1 MiB).
4. On the warm server (one warm-up call first): ``--repeat`` rounds of
   ``GET /v1/reports/visits`` for the cycle's last week by rep, the same week by class, and
   the whole cycle by rep (each period's report reads the period before it too, for the
   changes), interleaved; medians reported, with the server process's CPU time per call and
   its peak RSS. The cycle-by-team report is checked to count every imported visit.
5. ``--profile``: before the database goes, cProfile (in this process, on the same database)
   of ``api.followup.Inputs`` + ``routing.followup.report`` for the week and the cycle by
   rep, with the time spent in each SQL statement: where the time goes.

The goals (issue 21): a week's report under 1 s on both databases, 100,000 visits imported in
under 30 s. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import json
import math
import os
import pstats
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"
ZONE = "Europe/Monaco"
START = dt.date(2026, 9, 7)  # a Monday; the cycle crosses the end of summer time (25 October)
PG_DATABASE = "fieldroute_bench_reports"
PG_SERVER = os.environ.get("FIELDROUTE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
WEEK_GOAL_S, IMPORT_GOAL_S = 1.0, 30.0
POLICY = {
    "time_zone": ZONE, "speed_kmh": 25, "circuity": 1.4,
    "classes": {
        "A": {"visits_per_week": 2, "service_min": 25, "priority": 3, "min_gap_days": 2},
        "B": {"visits_per_week": 1, "service_min": 15, "priority": 2},
        "C": {"visits_per_week": 0.5, "service_min": 12, "priority": 1},
    },
}
HOURS = {"A": ("Mo-Sa 07:30-20:00", 7.5), "B": ("Mo-Su 08:00-19:00", 8.0), "C": ("Mo-Fr 09:00-18:00", 9.0)}
#: A store's weekdays in a week: A twice (at least 2 days apart), B once, C once every two weeks.
A_PATTERNS = ((0, 2), (0, 3), (1, 3), (1, 4), (2, 4))
SHIFT_START_S, LUNCH_S, LUNCH_FROM_S = 8 * 3600 + 1800, 45 * 60, 12 * 3600
STEPS = ("enter", "check_shelf", "fix_display", "tell_promotions", "take_order", "train_staff", "leave")


# --- the synthetic team ----------------------------------------------------------------------


@dataclass
class Team:
    reps: list[dict]
    stores: list[dict]
    routes: list[dict]  # route_to_dict's, one per rep and working day
    made: list[dict]  # the made visits as the import endpoint reads them
    start: dt.date
    weeks: int
    info: dict = field(default_factory=dict)

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=7 * self.weeks - 1)


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


def synthesise(n_reps: int, n_stores: int, weeks: int, n_visits: int, seed: int = 0) -> Team:
    """The team, its routes and its made visits (see the module's docstring)."""
    from routing.io import route_to_dict
    from routing.model import Route, Stop

    rng = random.Random(seed)
    zone = ZoneInfo(ZONE)
    per_rep = n_stores // n_reps
    reps, stores = [], []
    home: dict[str, tuple[float, float]] = {}
    where: dict[str, tuple[float, float]] = {}
    klass: dict[str, str] = {}
    owned: dict[str, list[str]] = defaultdict(list)
    for i in range(n_reps):
        rep_id = f"R{i + 1:03d}"
        centre = (43.45 + (i // 20) * 0.045, 6.85 + (i % 20) * 0.05)
        home[rep_id] = (round(centre[0] + rng.uniform(-0.01, 0.01), 6), round(centre[1] + rng.uniform(-0.01, 0.01), 6))
        reps.append({"id": rep_id, "name": f"Rep {i + 1}", "start_lat": home[rep_id][0], "start_lon": home[rep_id][1],
                     "shift_start": "08:30", "shift_end": "17:30", "break_start": "12:00", "break_end": "14:00",
                     "break_min": 45, "working_days": "Mo-Fr", "max_visits": 25})
        n_a = rng.randint(4, 8)
        n_b = rng.randint(28, 36)
        mine = per_rep + (1 if i < n_stores % n_reps else 0)
        classes = ["A"] * n_a + ["B"] * n_b + ["C"] * (mine - n_a - n_b)
        rng.shuffle(classes)
        for c in classes:
            store_id = f"S{len(stores) + 1:05d}"
            where[store_id] = (round(centre[0] + rng.uniform(-0.02, 0.02), 6), round(centre[1] + rng.uniform(-0.025, 0.025), 6))
            klass[store_id] = c
            owned[rep_id].append(store_id)
            stores.append({"id": store_id, "name": f"Store {len(stores) + 1}", "lat": where[store_id][0],
                           "lon": where[store_id][1], "class": c, "opening_hours": HOURS[c][0], "rep_id": rep_id,
                           "area": f"Area {i // max(1, n_reps // 20) + 1:02d}"})

    # each store's weekdays, greedily balancing the rep's days (load by [week parity][weekday])
    days: dict[tuple[str, dt.date], list[str]] = defaultdict(list)
    dates = [START + dt.timedelta(days=d) for d in range(7 * weeks) if (START + dt.timedelta(days=d)).weekday() < 5]
    for rep in reps:
        load = [[0] * 5, [0] * 5]
        slots: dict[str, list[tuple[int | None, int]]] = {}  # store -> (parity or None for every week, weekday)
        for store_id in sorted(owned[rep["id"]], key=lambda s: "ABC".index(klass[s])):
            c = klass[store_id]
            if c == "A":
                pattern = min(A_PATTERNS, key=lambda p: (sum(load[0][d] + load[1][d] for d in p), rng.random()))
                slots[store_id] = [(None, d) for d in pattern]
            elif c == "B":
                slots[store_id] = [(None, min(range(5), key=lambda d: (load[0][d] + load[1][d], rng.random())))]
            else:
                parity, day = min(((p, d) for p in (0, 1) for d in range(5)), key=lambda pd: (load[pd[0]][pd[1]], rng.random()))
                slots[store_id] = [(parity, day)]
            for parity, day in slots[store_id]:
                for p in (0, 1) if parity is None else (parity,):
                    load[p][day] += 1
        for date in dates:
            week = (date - START).days // 7
            for store_id, ss in slots.items():
                if any(day == date.weekday() and (parity is None or parity == week % 2) for parity, day in ss):
                    days[rep["id"], date].append(store_id)

    speed = POLICY["speed_kmh"] / 3.6
    service = {c: spec["service_min"] * 60 for c, spec in POLICY["classes"].items()}
    routes, planned = [], []
    for (rep_id, date), todo in sorted(days.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        here, t = home[rep_id], SHIFT_START_S
        stops = [Stop("start", t, t, t)]
        left, lunch = set(todo), False
        while left:
            store_id = min(left, key=lambda s: (_metres(here, where[s]), s))
            left.remove(store_id)
            metres = round(_metres(here, where[store_id]) * POLICY["circuity"])
            travel = round(metres / speed)
            if not lunch and t + travel >= LUNCH_FROM_S:  # the break before the first visit that would begin after 12:00
                stops.append(Stop("break", t, max(t, LUNCH_FROM_S), max(t, LUNCH_FROM_S) + LUNCH_S))
                t, lunch = stops[-1].end_s, True
            arrival = t + travel
            begin = max(arrival, int(HOURS[klass[store_id]][1] * 3600))  # waits for the opening
            end = begin + service[klass[store_id]]
            stops.append(Stop("visit", arrival, begin, end, store_id, travel, metres, begin - arrival))
            planned.append((rep_id, date, store_id, begin, end))
            here, t = where[store_id], end
        if not lunch:
            stops.append(Stop("break", t, max(t, LUNCH_FROM_S), max(t, LUNCH_FROM_S) + LUNCH_S))
            t = stops[-1].end_s
        metres = round(_metres(here, home[rep_id]) * POLICY["circuity"])
        arrival = t + round(metres / speed)
        stops.append(Stop("end", arrival, arrival, arrival, None, round(metres / speed), metres))
        routes.append(route_to_dict(Route(rep_id, date.isoformat(), tuple(stops)), zone))

    # the made visits: most at planned visits (some a working day off), a few extra
    n_matched = min(len(planned), round(n_visits * 0.96))
    chosen = rng.sample(range(len(planned)), n_matched)
    made = []
    workdays = dates  # sorted

    def instant(date: dt.date, seconds: float) -> dt.datetime:
        return dt.datetime.combine(date, dt.time(), tzinfo=zone) + dt.timedelta(seconds=seconds)  # wall clock (no visit at a DST change)

    def visit(rep_id: str, store_id: str, date: dt.date, begin_s: float, minutes: float) -> dict:
        roll = rng.random()
        outcome = "order" if roll < 0.45 else "no_order" if roll < 0.9 else "refused"
        row = {"id": f"CRM-{len(made) + 1:07d}", "rep_id": rep_id, "store_id": store_id,
               "checked_in": instant(date, begin_s).isoformat(timespec="seconds"),
               "checked_out": instant(date, begin_s + minutes * 60).isoformat(timespec="seconds"), "outcome": outcome}
        if outcome == "order":
            row |= {"order_value": round(rng.uniform(40, 600), 2), "currency": "EUR"}
        if rng.random() < 0.5:
            row["steps"] = sorted(rng.sample(STEPS, rng.randint(2, 6)), key=STEPS.index)
        return row

    other_day = 0
    for k in chosen:
        rep_id, date, store_id, begin, end = planned[k]
        if rng.random() < 0.08:  # made the working day before or after
            i = workdays.index(date)
            date = rng.choice(workdays[max(0, i - 1):i] + workdays[i + 1:i + 2])
            other_day += 1
        late = rng.random() < 0.1
        made.append(visit(rep_id, store_id, date, begin + (rng.uniform(360, 1500) if late else rng.gauss(0, 150)),
                          (end - begin) / 60 * rng.uniform(0.7, 1.4)))
    extra = 0
    while len(made) < n_visits:
        rep_id = rng.choice(reps)["id"]
        made.append(visit(rep_id, rng.choice(owned[rep_id]), rng.choice(dates), rng.uniform(16 * 3600, 17 * 3600), rng.uniform(8, 20)))
        extra += 1
    made.sort(key=lambda m: (m["checked_in"][:10], m["rep_id"], m["checked_in"]))
    sizes = [len(v) for v in days.values()]
    info = {"rep_days": len(routes), "planned_visits": len(planned), "visits_per_rep_day_mean": round(statistics.fmean(sizes), 2),
            "visits_per_rep_day_min": min(sizes), "visits_per_rep_day_max": max(sizes), "made_visits": len(made),
            "made_at_planned": n_matched, "made_other_day": other_day, "made_extra": extra,
            "made_share_of_planned": round(n_matched / len(planned), 3),
            "classes": dict(sorted(Counter(klass.values()).items()))}
    return Team(reps, stores, routes, made, START, weeks, info)


# --- the database ----------------------------------------------------------------------------


def load(url: str, team: Team) -> dict:
    """The team in a fresh database: migrations, policy, reps and stores through ``api.records``,
    one published plan with its routes written straight in, a supervisor token. Returns the
    plan's id, the token and the times."""
    from sqlalchemy import insert

    from api import auth, records
    from api.db import make_engine, session_factory, transaction, upgrade
    from api.models import Plan, RouteRow, utcnow
    from routing.model import SUMMARY_KEYS

    engine = make_engine(url)
    times = {}
    t = time.perf_counter()
    upgrade(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        records.put_policy(session, POLICY)
        records.import_records(session, records.REPS, team.reps, "json", sync=False, dry_run=False)
    with transaction(sessions) as session:
        report = records.import_records(session, records.STORES, team.stores, "json", sync=False, dry_run=False)
        assert len(report.added) == len(team.stores), report
    times["load_inputs_s"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    totals = {k: sum(r["summary"][k] for r in team.routes) for k in SUMMARY_KEYS}
    by_rep: dict[str, list[dict]] = defaultdict(list)
    for r in team.routes:
        by_rep[r["rep_id"]].append(r)
    params = {"start": team.start.isoformat(), "weeks": team.weeks, "time_limit_s": 60, "solution_limit": None, "seed": 0,
              "balance": 0, "holidays": [], "network": "straight"}
    result = {
        "cycle": {"start": team.start.isoformat(), "weeks": team.weeks, "holidays": []}, "time_zone": ZONE,
        "params": {"time_limit_s": 60, "solution_limit": None, "seed": 0, "balance_weight": 0,
                   "travel": "straight line x 1.4 at 25.0 km/h"},
        "summary": totals | {"unassigned": 0},
        "capacity": [{"rep_id": rep_id, "required_h": round(sum(r["summary"]["service_s"] + r["summary"]["travel_s"]
                                                                for r in rs) / 3600, 2),
                      "available_h": round(len(rs) * 8.25, 2), "working_days": len(rs),
                      "utilisation": round(sum(r["summary"]["span_s"] for r in rs) / 3600 / (len(rs) * 8.25), 3)}
                     for rep_id, rs in sorted(by_rep.items())],
        "suggestions": [], "unassigned": [], "synthetic": "bench/reports.py: routes at the class frequencies, no solver",
    }
    with transaction(sessions) as session:
        plan = Plan(status="published", start=team.start.isoformat(), end=team.end.isoformat(), weeks=team.weeks,
                    time_zone=ZONE, network="straight", inputs=records.snapshot(session), params=params, result=result,
                    job_id=None, published_at=utcnow())
        session.add(plan)
        session.flush()
        plan_id = plan.id
        for n in range(0, len(team.routes), 1000):
            session.execute(insert(RouteRow), [{"plan_id": plan_id, "rep_id": r["rep_id"], "date": r["date"], "version": 1,
                                                "data": r} for r in team.routes[n:n + 1000]])
        _, token = auth.create_token(session, name="bench reports", role="supervisor")
    times["load_routes_s"] = round(time.perf_counter() - t, 2)
    engine.dispose()
    return {"plan_id": plan_id, "token": token} | times


@contextlib.contextmanager
def database(backend: str, folder: Path):
    """The URL of a fresh database of the backend, dropped (PostgreSQL) when the block ends."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'reports.db'}"
        return
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(PG_SERVER)
    conninfo = dict(host=server.host or HOST, port=server.port or 5432, user=server.username or "postgres",
                    password=server.password, dbname=server.database or "postgres")
    if conninfo["host"] not in (HOST, "localhost"):
        raise SystemExit(f"PostgreSQL at {conninfo['host']}: this benchmark contacts 127.0.0.1 only")

    def admin(sql: str) -> None:
        with psycopg.connect(**{k: v for k, v in conninfo.items() if v is not None}, autocommit=True) as c:
            c.execute(sql)

    admin(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')  # left by an interrupted run
    admin(f'CREATE DATABASE "{PG_DATABASE}"')
    try:
        yield server.set(database=PG_DATABASE).render_as_string(hide_password=False)
    finally:
        admin(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')


# --- the server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """``fieldroute serve`` (one worker) on 127.0.0.1 in its own session, output in a log file."""

    def __init__(self, url: str, clock: str, folder: Path):
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
                            "FIELDROUTE_LOG_LEVEL": "warning", "FIELDROUTE_NETWORK": "straight",
                            "FIELDROUTE_DATA_DIR": str(folder), "FIELDROUTE_CACHE_DIR": str(folder / "cache")}
        self.log_path = folder / f"server-{self.port}.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--db", url, "--host", HOST,
                                         "--port", str(self.port), "--clock", clock],
                                        env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while True:
            if self.process.poll() is not None:
                self.log.close()
                tail = "\n".join(self.log_path.read_text().splitlines()[-15:])
                raise RuntimeError(f"the server stopped (exit code {self.process.returncode}):\n{tail}")
            with contextlib.suppress(OSError):
                if call("GET", f"{self.base}/healthz", timeout=2)[0] == 200:
                    return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the server did not answer within 120 s")
            time.sleep(0.2)

    def cpu_s(self) -> float:
        """CPU time so far of the server's processes (its session), Linux."""
        total = 0.0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == self.process.pid:
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
        return float("nan")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def call(method: str, url: str, token: str | None = None, body: bytes | None = None, timeout: float = 600,
         accept: str = "application/json") -> tuple[int, bytes]:
    headers = {"Accept": accept} | ({"Content-Type": "application/json"} if body is not None else {}) | (
        {"Authorization": f"Bearer {token}"} if token else {})
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


# --- the measurements ------------------------------------------------------------------------


def import_visits(server: Server, token: str, made: list[dict], batch: int, limit_mb: float) -> dict:
    bodies = [json.dumps(made[n:n + batch]).encode() for n in range(0, len(made), batch)]
    largest = max(len(b) for b in bodies)
    if largest > limit_mb * 2**20 / 2:
        raise SystemExit(f"--batch {batch}: a body of {largest / 2**20:.1f} MiB, over half the server's limit "
                         f"({limit_mb:g} MiB, FIELDROUTE_MAX_BODY_MB); ask for a smaller batch")
    times, cpu = [], server.cpu_s()
    start = time.perf_counter()
    for body in bodies:
        t = time.perf_counter()
        status, answer = call("POST", f"{server.base}/v1/visits/import", token, body)
        times.append(time.perf_counter() - t)
        if status != 200:
            raise RuntimeError(f"POST /v1/visits/import answered {status}: {answer[:500]!r}")
        done = json.loads(answer)
        if done["added"] != len(json.loads(body)):
            raise RuntimeError(f"the import added {done['added']} visits of {len(json.loads(body))}: {done}")
    total = time.perf_counter() - start
    return {"visits": len(made), "requests": len(bodies), "batch": batch, "largest_body_mib": round(largest / 2**20, 2),
            "body_limit_mib": limit_mb, "total_s": round(total, 2), "visits_per_s": round(len(made) / total),
            "per_100k_s": round(total * 100_000 / len(made), 2), "request_s_min": round(min(times), 2),
            "request_s_median": round(statistics.median(times), 2), "request_s_max": round(max(times), 2),
            "server_cpu_s": round(server.cpu_s() - cpu, 2)}


def report(server: Server, token: str, start: dt.date, end: dt.date, group: str) -> dict:
    cpu = server.cpu_s()
    t = time.perf_counter()
    status, body = call("GET", f"{server.base}/v1/reports/visits?from={start}&to={end}&group={group}", token)
    wall = time.perf_counter() - t
    if status != 200:
        raise RuntimeError(f"GET /v1/reports/visits {start}..{end} by {group} answered {status}: {body[:500]!r}")
    rows = json.loads(body)
    return {"s": wall, "cpu_s": server.cpu_s() - cpu, "rows": len(rows), "bytes": len(body), "data": rows}


def suggestions(server: Server, token: str, repeat: int) -> dict:
    """``GET /v1/suggestions`` (learned from the last two cycles' visits) ``repeat`` times."""
    times, count = [], {}
    for _ in range(repeat):
        began = time.perf_counter()
        status, body = call("GET", f"{server.base}/v1/suggestions", token)
        times.append(time.perf_counter() - began)
        if status != 200:
            raise RuntimeError(f"GET /v1/suggestions answered {status}: {body[:500]!r}")
        count = dict(Counter(s["kind"] for s in json.loads(body)))
    return {"median_s": round(statistics.median(times), 3), "runs_s": [round(t, 3) for t in times], "count": count}


def smoke(server: Server, token: str, plan_id: int, team: Team) -> dict:
    """The plan's pages answer on the synthetic plan (times, not measured with care)."""
    date, rep = team.routes[0]["date"], team.routes[0]["rep_id"]
    out = {}
    for name, path, accept in (("plan", f"/v1/plans/{plan_id}", "application/json"),
                               ("rep_route", f"/v1/reps/{rep}/routes/{date}", "application/json"),
                               ("plan_map", f"/v1/plans/{plan_id}/map?date={date}", "text/html"),
                               ("missing", f"/v1/plans/{plan_id}/missing", "application/json")):
        t = time.perf_counter()
        status, body = call("GET", server.base + path, token, accept=accept)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
        out[name + "_s"] = round(time.perf_counter() - t, 3)
    return out


def run_backend(backend: str, team: Team, args, folder: Path) -> dict:
    week = (team.end - dt.timedelta(days=6), team.end)
    cycle = (team.start, team.end)
    clock = f"{team.end + dt.timedelta(days=1)}T09:00"
    with database(backend, folder) as url:
        print(f"[{backend}] loading {len(team.reps)} reps, {len(team.stores)} stores, {len(team.routes)} routes ...",
              file=sys.stderr, flush=True)
        seeded = load(url, team)
        server = Server(url, clock, folder)
        try:
            pages = smoke(server, seeded["token"], seeded["plan_id"], team)
            print(f"[{backend}] server on {server.base}, clock {clock}; importing {len(team.made)} visits ...",
                  file=sys.stderr, flush=True)
            imported = import_visits(server, seeded["token"], team.made, args.batch, args.max_body_mb)
            print(f"[{backend}] imported in {imported['total_s']} s ({imported['visits_per_s']}/s)", file=sys.stderr, flush=True)
            team_rows = report(server, seeded["token"], *cycle, "team")["data"]
            counted = sum(r["made"] + r["extra"] for r in team_rows)
            if counted != len(team.made):
                raise RuntimeError(f"the cycle's team report counts {counted} made visits, {len(team.made)} were imported")
            first = report(server, seeded["token"], *week, "rep")  # the warm-up
            kinds = {"week_rep": (*week, "rep"), "week_class": (*week, "class"), "cycle_rep": (*cycle, "rep")}
            runs: dict[str, list[dict]] = {k: [] for k in kinds}
            for k in range(args.repeat):
                for name, (start, end, group) in kinds.items():
                    runs[name].append(report(server, seeded["token"], start, end, group))
                print(f"[{backend}] round {k + 1}: " + ", ".join(f"{n} {r[-1]['s']:.2f} s" for n, r in runs.items()),
                      file=sys.stderr, flush=True)
            learned = suggestions(server, seeded["token"], args.repeat)
            print(f"[{backend}] suggestions: {learned['median_s']} s, {learned['count']}", file=sys.stderr, flush=True)
            peak = server.peak_rss_mb()
        finally:
            server.stop()
        team_row = team_rows[0]
        result = {"backend": backend, "load": seeded | {"token": None}, "pages": pages, "import": imported,
                  "server_peak_rss_mb": peak, "warmup_week_rep_s": round(first["s"], 3), "suggestions": learned,
                  "week": [str(d) for d in week], "cycle": [str(d) for d in cycle],
                  "cycle_team_row": {k: team_row[k] for k in ("planned", "made", "made_other_day", "extra", "missed", "due")}}
        for name, rs in runs.items():
            result[name] = {"median_s": round(statistics.median(r["s"] for r in rs), 3),
                            "min_s": round(min(r["s"] for r in rs), 3), "max_s": round(max(r["s"] for r in rs), 3),
                            "server_cpu_s_median": round(statistics.median(r["cpu_s"] for r in rs), 2),
                            "rows": rs[0]["rows"], "kib": round(rs[0]["bytes"] / 1024, 1),
                            "runs_s": [round(r["s"], 3) for r in rs]}
        if args.profile:
            result["profile"] = {"week_rep": profile(url, *week, team.end + dt.timedelta(days=1), "rep"),
                                 "cycle_rep": profile(url, *cycle, team.end + dt.timedelta(days=1), "rep")}
    return result


# --- the profile -----------------------------------------------------------------------------

#: The steps of a report, by (file suffix, function name), as cProfile names them.
PHASES = (
    ("api/followup.py", "planned_visits", "planned visits (routes read and walked)"),
    ("api/plans.py", "plan_of_day", "  the plan of each date"),
    ("api/followup.py", "_day", "  a date's routes"),
    ("api/followup.py", "made_visits", "made visits (visits read)"),
    ("routing/io.py", "parse_stores", "stores parsed (all of them)"),
    ("routing/io.py", "parse_reps", "reps parsed"),
    ("routing/followup.py", "match", "match"),
    ("routing/followup.py", "report", "report"),
    ("routing/followup.py", "_keys", "  _keys"),
    ("routing/followup.py", "_numbers", "  _numbers"),
)


@contextlib.contextmanager
def _timed(steps: dict[str, float]):
    """The functions ``api.followup.Inputs`` calls, timed into ``steps`` (plain wall time, no profiler)."""
    import api.followup as inputs_module
    import routing.followup as followup_module

    names = {"planned_visits": "Inputs: planned_visits (routes)", "made_visits": "Inputs: made_visits (visits)",
             "parse_stores": "Inputs: parse_stores", "parse_reps": "Inputs: parse_reps", "targets": "Inputs: targets",
             "current_policy": "Inputs: current_policy"}
    saved = {name: getattr(inputs_module, name) for name in names} | {"match": followup_module.match}

    def wrap(function, label):
        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                steps[label] += time.perf_counter() - t
        return timed

    for name, label in names.items():
        setattr(inputs_module, name, wrap(saved[name], label))
    followup_module.match = wrap(saved["match"], "Inputs: match")
    try:
        yield
    finally:
        for name in names:
            setattr(inputs_module, name, saved[name])
        followup_module.match = saved["match"]


def profile(url: str, start: dt.date, end: dt.date, today: dt.date, group: str) -> dict:
    """cProfile of what ``GET /v1/reports/visits`` runs (``Inputs`` + ``report``), in this
    process on the same database, and the time of each SQL statement (by its text)."""
    from sqlalchemy import event

    from api.db import make_engine, session_factory
    from api.followup import Inputs
    from routing import followup
    from routing.followup import Period

    engine = make_engine(url)
    sql: dict[str, list[float]] = defaultdict(list)

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("t", []).append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        key = " ".join(statement.split())
        if key.startswith("SELECT"):
            key = key[:60] + " ... " + key[key.find(" FROM "):][:110] if " FROM " in key else key[:170]
        sql[key].append(time.perf_counter() - conn.info["t"].pop())

    period = Period(start, end)
    steps: dict[str, float] = defaultdict(float)
    with session_factory(engine)() as session, _timed(steps):  # the plain run first: the steps without cProfile
        t = time.perf_counter()
        inputs = Inputs(session, period, today)
        steps["Inputs (all)"] = time.perf_counter() - t
        t = time.perf_counter()
        followup.report(inputs.lines, inputs.data, period, group)
        steps["report"] = time.perf_counter() - t
        plain = steps["Inputs (all)"] + steps["report"]
    whole = steps.pop("Inputs (all)")
    steps["Inputs: the rest (store rows read, active ids, ...)"] = whole - sum(v for k, v in steps.items() if k.startswith("Inputs: "))
    steps["Inputs (all)"] = whole
    steps["report"] = steps.pop("report")
    sql.clear()
    profiler = cProfile.Profile()
    with session_factory(engine)() as session:
        t = time.perf_counter()
        profiler.enable()
        inputs = Inputs(session, period, today)
        rows = followup.report(inputs.lines, inputs.data, period, group)
        profiler.disable()
        profiled = time.perf_counter() - t
    engine.dispose()
    stats = pstats.Stats(profiler)
    entries = stats.stats  # (file, line, name) -> (primitive calls, calls, tottime, cumtime, callers)
    phases = {}
    for suffix, name, label in PHASES:
        found = [v for (f, _, n), v in entries.items() if n == name and f.endswith(suffix)]
        if found:
            phases[label] = {"cum_s": round(sum(v[3] for v in found), 3), "calls": sum(v[1] for v in found)}
    top = sorted(entries.items(), key=lambda kv: kv[1][2], reverse=True)[:20]
    statements = sorted(((k, len(v), sum(v)) for k, v in sql.items()), key=lambda x: x[2], reverse=True)
    return {
        "period": [str(start), str(end)], "group": group, "rows": len(rows), "lines": len(inputs.lines),
        "plain_s": round(plain, 3), "profiled_s": round(profiled, 3), "steps_plain_s": {k: round(v, 3) for k, v in steps.items()},
        "phases": phases,
        "top_tottime": [{"function": f"{_where(f)}:{line}({name})", "calls": v[1], "tottime_s": round(v[2], 3),
                         "cumtime_s": round(v[3], 3)} for (f, line, name), v in top],
        "sql_s": round(sum(x[2] for x in statements), 3), "sql_statements": sum(x[1] for x in statements),
        "sql_top": [{"statement": k, "count": n, "total_s": round(s, 3)} for k, n, s in statements[:8]],
    }


def _where(path: str) -> str:
    """A profiled function's file: the project's relative to it, others by their package."""
    if path.startswith(str(ROOT)) and "site-packages" not in path:
        return os.path.relpath(path, ROOT)
    parts = Path(path).parts
    return "/".join(parts[parts.index("site-packages") + 1:]) if "site-packages" in parts else Path(path).name


# --- output ----------------------------------------------------------------------------------


def print_tables(result: dict) -> None:
    info = result["team"]
    print(f"\nFollow-up reports: {result['reps']} reps, {result['stores']} stores, {result['weeks']} weeks from "
          f"{result['start']}: {info['rep_days']} routes, {info['planned_visits']} planned visits "
          f"({info['visits_per_rep_day_mean']} a rep-day, {info['visits_per_rep_day_min']}-{info['visits_per_rep_day_max']}); "
          f"{info['made_visits']} made ({info['made_at_planned']} at planned visits, {info['made_other_day']} of them a day off, "
          f"{info['made_extra']} extra; {info['made_share_of_planned']:.0%} of the planned); medians of {result['repeat']}; "
          f"{result['cpus']} CPUs, load {result['loadavg_before']:.1f} -> {result['loadavg_after']:.1f}")
    for b in result["backends"]:
        r = result[b]
        imp = r["import"]
        print(f"\n{b}: import {imp['visits']} visits, {imp['requests']} requests of {imp['batch']} "
              f"(largest {imp['largest_body_mib']} MiB, limit {imp['body_limit_mib']:g}): {imp['total_s']:.1f} s, "
              f"{imp['visits_per_s']:,} visits/s, per 100k {imp['per_100k_s']:.1f} s "
              f"(goal < {IMPORT_GOAL_S:g} s: {'met' if imp['per_100k_s'] < IMPORT_GOAL_S else 'NOT met'}); "
              f"request {imp['request_s_min']}-{imp['request_s_max']} s")
        print(f"{'report':<28} {'median s':>9} {'min s':>7} {'max s':>7} {'CPU s':>7} {'rows':>5} {'KiB':>7}  goal")
        for name, label in (("week_rep", f"week {r['week'][0]} by rep"), ("week_class", "  same week by class"),
                            ("cycle_rep", "cycle by rep")):
            x = r[name]
            goal = (f"< {WEEK_GOAL_S:g} s: {'met' if x['median_s'] < WEEK_GOAL_S else 'NOT met'}" if name.startswith("week")
                    else "-")
            print(f"{label:<28} {x['median_s']:>9.2f} {x['min_s']:>7.2f} {x['max_s']:>7.2f} {x['server_cpu_s_median']:>7.2f} "
                  f"{x['rows']:>5} {x['kib']:>7.1f}  {goal}")
        print(f"suggestions (GET /v1/suggestions, two cycles learned) {r['suggestions']['median_s']:.2f} s: "
              f"{r['suggestions']['count']}")
        print(f"warm-up (first) week by rep {r['warmup_week_rep_s']:.2f} s; server peak RSS {r['server_peak_rss_mb']:.0f} MB; "
              f"load: inputs {r['load']['load_inputs_s']} s, routes {r['load']['load_routes_s']} s")
        for name, p in r.get("profile", {}).items():
            print(f"\n  profile {b} {name} ({p['period'][0]}..{p['period'][1]}): {p['plain_s']:.2f} s plain, "
                  f"{p['profiled_s']:.2f} s under cProfile, {p['lines']} visit lines; SQL execute {p['sql_s']:.2f} s in "
                  f"{p['sql_statements']} statements" + (" (SQLite fetches the rows after execute: see fetchall)" if b == "sqlite" else ""))
            print("    steps, plain wall time:")
            for label, v in p["steps_plain_s"].items():
                print(f"    {label:<52} {v:>7.2f} s")
            print("    under cProfile (cumulative):")
            for label, v in p["phases"].items():
                print(f"    {label:<52} {v['cum_s']:>7.2f} s  {v['calls']:>6} calls")
            print("    slowest statements:")
            for s in p["sql_top"][:5]:
                print(f"    {s['total_s']:>7.2f} s {s['count']:>5} x  {s['statement'][:150]}")
            print("    own time (tottime):")
            for f in p["top_tottime"][:10]:
                print(f"    {f['tottime_s']:>7.2f} s {f['calls']:>9} calls  {f['function']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--repeat", type=int, default=5, help="rounds of the three reports, medians reported (default 5)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql (default both)")
    parser.add_argument("--reps", type=int, default=200, help="reps (default 200)")
    parser.add_argument("--stores", type=int, default=20000, help="stores, owned evenly by the reps (default 20000)")
    parser.add_argument("--weeks", type=int, default=8, help="weeks of the published cycle (default 8)")
    parser.add_argument("--visits", type=int, default=100000, help="made visits imported (default 100000)")
    parser.add_argument("--batch", type=int, default=10000, help="visits a POST /v1/visits/import request (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="the synthetic team's seed (default 0)")
    parser.add_argument("--profile", action="store_true", help="cProfile the week's and the cycle's report by rep in-process")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if unknown := set(backends) - {"sqlite", "postgresql"}:
        parser.error(f"--backends: unknown {', '.join(sorted(unknown))}")
    if args.weeks < 2 or args.repeat < 1 or args.stores < args.reps:
        parser.error("needs --weeks 2 or more, --repeat 1 or more, at least as many stores as reps")
    args.max_body_mb = float(os.environ.get("FIELDROUTE_MAX_BODY_MB", 50))

    t = time.perf_counter()
    team = synthesise(args.reps, args.stores, args.weeks, args.visits, args.seed)
    print(f"synthesised in {time.perf_counter() - t:.1f} s: {team.info}", file=sys.stderr, flush=True)
    result = {"reps": args.reps, "stores": args.stores, "weeks": args.weeks, "visits": args.visits, "start": str(team.start),
              "repeat": args.repeat, "seed": args.seed, "team": team.info, "backends": backends, "cpus": os.cpu_count(),
              "loadavg_before": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory(prefix="fieldroute-reports-") as tmp:
        for backend in backends:
            result[backend] = run_backend(backend, team, args, Path(tmp))
    result["loadavg_after"] = round(os.getloadavg()[0], 2)
    for backend, key in (("sqlite", "sqlite"), ("postgresql", "postgres")):
        if backend in result:
            r = result[backend]
            result[f"week_report_s_{key}"] = r["week_rep"]["median_s"]
            result[f"week_class_report_s_{key}"] = r["week_class"]["median_s"]
            result[f"cycle_report_s_{key}"] = r["cycle_rep"]["median_s"]
            result[f"import_100k_s_{key}"] = r["import"]["per_100k_s"]
    first = result.get("sqlite") or result[backends[0]]
    result["import_100k_s"] = first["import"]["per_100k_s"]
    result["import_backend"] = "sqlite" if "sqlite" in result else backends[0]
    result["full_size"] = args.reps >= 200 and args.stores >= 20000 and args.visits >= 100000 and args.weeks >= 8
    result["goals"] = {"week_under_1_s": all(result[b]["week_rep"]["median_s"] < WEEK_GOAL_S
                                             and result[b]["week_class"]["median_s"] < WEEK_GOAL_S for b in backends),
                       "import_100k_under_30_s": all(result[b]["import"]["per_100k_s"] < IMPORT_GOAL_S for b in backends)}
    print_tables(result)
    print(f"\ngoals: a week's report under {WEEK_GOAL_S:g} s on {' and '.join(backends)}: "
          f"{'met' if result['goals']['week_under_1_s'] else 'NOT met'}; 100,000 visits imported under {IMPORT_GOAL_S:g} s: "
          f"{'met' if result['goals']['import_100k_under_30_s'] else 'NOT met'}"
          + ("" if result["full_size"] else "  (NOT the issue's size: the import scaled to 100,000 visits, the reports as measured; "
                  "PostgreSQL's import slows down with the table's size, see bench/README.md)"))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
