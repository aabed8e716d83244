"""Same-day events: the re-plan keeps what is frozen, loses no visit, carries what no longer
fits, and the checker proves every version (and rejects wrong ones)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing.calendar import Cycle, min_gap
from routing.check import check_cycle
from routing.cycle import plan_cycle
from routing.daily import day_matrix
from routing.events import Event, EventRejected
from routing.model import Policy, ClassPolicy, SolveParams, Store, Unassigned
from routing.replan import ReplanParams, Situation, apply_events, travel_with_events

from .conftest import DEMO, rep, store

H = 3600
MONDAY = dt.date(2026, 11, 30)
POLICY = Policy("Europe/Helsinki", {
    "A": ClassPolicy("A", 2, 30, 3, min_gap_days=2),
    "B": ClassPolicy("B", 1, 20, 2),
    "C": ClassPolicy("C", 0.5, 15, 1),
}, speed_kmh=30, circuity=1.3)
PARAMS = ReplanParams(time_limit_s=5.0, solution_limit=2)


def _team():
    reps = [rep("R1", 60.17, 24.90, shift=(8, 17), lunch=(11.5, 13.5, 30)), rep("R2", 60.18, 24.98, shift=(8, 17))]
    offsets = [(0.01 * (i % 6) - 0.025, 0.012 * (i // 6) - 0.04) for i in range(36)]
    stores = [store(f"S{i:02d}", dlat, dlon, cls="ABC"[i % 3], hours="Mo-Sa 08:00-19:00") for i, (dlat, dlon) in enumerate(offsets)]
    stores[7] = dataclasses.replace(stores[7], rep_id="R2")  # an owned store
    return stores, reps


@pytest.fixture(scope="module")
def base() -> Situation:
    stores, reps = _team()
    cycle = Cycle(MONDAY, 1)
    travel = day_matrix(stores, reps, POLICY)
    plan = plan_cycle(stores, reps, POLICY, cycle, travel=travel, params=SolveParams(time_limit_s=30, solution_limit=2))
    assert not check_cycle(plan.routes, plan.unassigned, stores, reps, POLICY, cycle, travel)

    def busy(date: dt.date) -> int:
        return min(sum(len(r.visits) for r in plan.routes if r.date == date.isoformat() and r.rep_id == rid) for rid in ("R1", "R2"))

    day = max(cycle.dates[:6], key=busy)
    assert busy(day) >= 3
    return Situation(day, tuple(stores), tuple(reps), POLICY, cycle, travel, plan.routes, plan.unassigned)


def _today(sit: Situation, rep_id: str):
    return next(r for r in sit.routes if r.date == sit.date.isoformat() and r.rep_id == rep_id)


def _violations(sit: Situation):
    travel = travel_with_events(sit.travel, sit.stores, sit.reps, sit.policy, sit.events)
    return check_cycle(sit.routes, sit.unassigned, sit.stores, sit.reps, sit.policy, sit.cycle, travel,
                       events=sit.events, events_date=sit.date.isoformat(), now_s=sit.now_s)


def _apply(sit, *events, now=None):
    return apply_events(sit, list(events), now if now is not None else events[-1].time_s, PARAMS)


def test_visit_done_freezes_it_and_retimes_the_rest(base):
    first = _today(base, "R1").visits[0]
    done_at = first.end_s + 20 * 60  # twenty minutes late
    result = _apply(base, Event("visit_done", done_at, "R1", first.store_id))
    route = _today(result.situation, "R1")
    frozen = route.stops[: route.resume.after]
    assert [s.store_id for s in frozen if s.type == "visit"] == [first.store_id]
    assert frozen[-1].status == "done" and frozen[-1].reported and frozen[-1].end_s == done_at
    assert route.resume.place == first.store_id and route.resume.time_s >= done_at
    assert all(s.start_s >= done_at for s in route.stops[route.resume.after:])
    assert {v.store_id for v in route.visits} | {c["store_id"] for c in result.diff.carried} \
        == {v.store_id for v in _today(base, "R1").visits}
    assert not _violations(result.situation)


def test_store_closed_carries_the_visit_to_a_later_day_keeping_the_spacing(base):
    route = _today(base, "R1")
    victim = route.visits[-1].store_id
    result = _apply(base, Event("store_closed", route.visits[0].start_s - 600, "R1", victim))
    after = result.situation
    assert victim not in {v.store_id for v in _today(after, "R1").visits}
    carried = [c for c in result.diff.carried if c["store_id"] == victim]
    missing = [u for u in after.unassigned if u.store_id == victim and u.date == base.date.isoformat()]
    assert len(carried) + len(missing) == 1  # carried, or missing with its reason: never lost
    if carried:
        to = dt.date.fromisoformat(carried[0]["to_date"])
        assert to > base.date
        cls = POLICY.classes[next(s for s in base.stores if s.id == victim).store_class]
        dates = sorted(dt.date.fromisoformat(r.date) for r in after.routes if any(v.store_id == victim for v in r.visits))
        assert all((b - a).days >= min_gap(cls, 1) for a, b in zip(dates, dates[1:]))
    assert not _violations(after)


def test_the_checker_rejects_a_visit_to_a_closed_store_and_a_silent_drop(base):
    route = _today(base, "R1")
    victim = route.visits[-1].store_id
    after = _apply(base, Event("store_closed", route.visits[0].start_s - 600, "R1", victim)).situation
    # Put the closed store's visit back on today's routes (and off the later date).
    original = {(r.rep_id, r.date): r for r in base.routes}
    wrong_routes = [original[r.rep_id, r.date] if r.date != base.date.isoformat() else r for r in after.routes]
    wrong_routes = [original["R1", base.date.isoformat()] if (r.rep_id, r.date) == ("R1", base.date.isoformat()) else r
                    for r in wrong_routes]
    bad = check_cycle(wrong_routes, after.unassigned, after.stores, after.reps, POLICY, after.cycle, after.travel,
                      events=after.events, events_date=base.date.isoformat(), now_s=after.now_s)
    assert any(v.code == "opening_hours" and v.store_id == victim for v in bad)
    # Drop a visit of the re-planned rest of the day without a word.
    today = _today(after, "R1")
    tail_visit = next(s for s in today.stops[today.resume.after:] if s.type == "visit")
    gone = dataclasses.replace(today, stops=tuple(s for s in today.stops if s is not tail_visit))
    routes = [gone if r is today else r for r in after.routes]
    bad = check_cycle(routes, after.unassigned, after.stores, after.reps, POLICY, after.cycle, after.travel,
                      events=after.events, events_date=base.date.isoformat(), now_s=after.now_s)
    assert any(v.code in ("frequency", "time", "travel") for v in bad)
    # ... or report it missing for lack of time while it fits the rest of the day.
    routes = [dataclasses.replace(gone, stops=_retimed(gone, after)) if r is today else r for r in after.routes]
    missing = (*after.unassigned, Unassigned(tail_visit.store_id, "not_enough_time", "full", base.date.isoformat()))
    bad = check_cycle(routes, missing, after.stores, after.reps, POLICY, after.cycle, after.travel,
                      events=after.events, events_date=base.date.isoformat(), now_s=after.now_s)
    assert any(v.code == "left_out_fits" and v.store_id == tail_visit.store_id for v in bad), [str(v) for v in bad]


def _retimed(route, sit):
    """The route's stops with the rest of the day re-timed by the solver's rule (for a
    corrupted plan that is otherwise consistent)."""
    from routing.day import Restart
    from routing.timing import build_route
    from routing.timing import time_route
    from routing.clock import day_clock
    from routing import vrptw
    from routing.day import start_windows
    from routing.hours import open_windows

    clock = day_clock(sit.date, POLICY.time_zone)
    r = clock.rep(next(x for x in sit.reps if x.id == route.rep_id))
    vehicle = Restart({r.id: (route.resume.place, route.resume.time_s)},
                      frozenset({r.id}) if any(s.type == "break" for s in route.stops[: route.resume.after]) else frozenset()
                      ).vehicle(r)
    by_id = {s.id: s for s in sit.stores}
    jobs = []
    for s in route.stops[route.resume.after:]:
        if s.type == "visit":
            st_ = by_id[s.store_id]
            svc = POLICY.service_s(st_)
            jobs.append(vrptw.Job(st_.id, st_.id, tuple(start_windows(clock.windows(open_windows(st_.opening_hours, sit.date)), svc)), svc))
    timing = time_route(vehicle, jobs, sit.travel)
    tail = build_route(vehicle, jobs, timing, date=sit.date.isoformat(), travel=sit.travel)
    return (*route.stops[: route.resume.after], *tail.stops[1:])


def test_a_rep_off_sick_hands_the_rest_of_the_day_to_others_or_later_days(base):
    r2 = _today(base, "R2")
    at = r2.visits[0].start_s - 1  # before the first visit: everything is still to do
    result = _apply(base, Event("rep_unavailable", at, "R2"))
    after = result.situation
    sick = _today(after, "R2")
    assert not sick.visits  # nothing left for R2 today
    planned = {v.store_id for v in r2.visits}
    covered = {m["store_id"] for m in result.diff.moved if m["from"] == "R2" and m["to"] == "R1"}
    carried = {c["store_id"] for c in result.diff.carried}
    missing = {u.store_id for u in after.unassigned if u.date == base.date.isoformat()}
    assert planned == covered | carried | (missing & planned)
    assert covered <= {v.store_id for v in _today(after, "R1").visits}  # covers are on R1's route (S07 too: its owner is off)
    assert not _violations(after)


def test_an_urgent_visit_takes_the_fast_path_within_its_latest_time(base):
    new = Store("U1", "Urgent", 60.175, 24.93, "A", "Mo-Su 08:00-20:00")
    at = 10 * H
    result = _apply(base, Event("urgent_visit", at, None, "U1", latest_s=12 * H, priority=9, store=new))
    assert result.info["fast_path"]
    stop = next(v for r in result.situation.routes if r.date == base.date.isoformat() for v in r.visits if v.store_id == "U1")
    assert at <= stop.start_s and stop.end_s <= 12 * H
    assert [a["store_id"] for a in result.diff.added] == ["U1"]
    assert not _violations(result.situation)


@pytest.mark.parametrize("case", ["out_of_order", "already_done", "not_on_route", "in_the_future", "unknown_store",
                                  "under_way"])
def test_events_that_cannot_apply_are_refused(base, case):
    route = _today(base, "R1")
    a, b = route.visits[0].store_id, route.visits[1].store_id
    other = next(v.store_id for v in _today(base, "R2").visits)
    sit = _apply(base, Event("visit_done", 9 * H, "R1", a)).situation
    bad = {
        "out_of_order": Event("visit_started", 8 * H, "R1", b),
        "already_done": Event("visit_started", 9 * H + 60, "R1", a),
        "not_on_route": Event("visit_started", 9 * H + 60, "R1", other),
        "in_the_future": Event("visit_started", 11 * H, "R1", b),
        "unknown_store": Event("store_closed", 9 * H + 60, "R1", "NOPE"),
        "under_way": Event("visit_started", 9 * H + 120, "R1", route.visits[2].store_id),
    }[case]
    if case == "under_way":
        sit = _apply(sit, Event("visit_started", 9 * H + 60, "R1", b)).situation
    with pytest.raises(EventRejected) as err:
        apply_events(sit, [bad], 10 * H, PARAMS)
    assert err.value.code == case


# --- any sequence of events -------------------------------------------------------------

KINDS = ["visit_started", "visit_done", "position", "overrun", "store_closed", "urgent_visit", "rep_unavailable",
         "rep_available"]


@st.composite
def _events(draw):
    """Event specs: a store is given as an index into the rep's route as it stands when the
    event comes (``_materialise``), so most events are about the rep's own visits."""
    times = sorted(draw(st.lists(st.integers(8 * H, 16 * H), min_size=2, max_size=6)))
    out = []
    for n, t in enumerate(times):
        kind = draw(st.sampled_from(KINDS))
        spec = {"kind": kind, "time_s": t, "rep_id": draw(st.sampled_from(["R1", "R2"])), "k": draw(st.integers(0, 12)),
                "other": draw(st.integers(0, 35))}
        if kind == "position":
            spec |= {"lat": 60.16 + draw(st.integers(0, 30)) / 1000, "lon": 24.90 + draw(st.integers(0, 60)) / 1000}
        if kind == "overrun":
            spec["minutes"] = draw(st.sampled_from([10, 45]))
        if kind == "urgent_visit":
            spec |= {"new": draw(st.booleans()), "n": n}
        out.append(spec)
    return out


def _materialise(spec: dict, sit: Situation) -> Event:
    kind, t, rep_id = spec["kind"], spec["time_s"], spec["rep_id"]
    route = next((r for r in sit.routes if r.date == sit.date.isoformat() and r.rep_id == rep_id), None)
    visits = [v.store_id for v in route.visits] if route else []
    store_id = visits[spec["k"] % len(visits)] if visits and spec["k"] < 10 else f"S{spec['other']:02d}"
    if kind in ("position", "rep_unavailable", "rep_available"):
        return Event(kind, t, rep_id, lat=spec.get("lat"), lon=spec.get("lon"))
    if kind == "overrun":
        return Event(kind, t, rep_id, store_id, minutes=spec["minutes"])
    if kind == "store_closed":
        return Event(kind, t, None, store_id)
    if kind == "urgent_visit":
        new = spec["new"]
        sid = f"U{spec['n']}" if new else f"S{spec['other']:02d}"
        return Event(kind, t, None, sid, latest_s=t + 3 * H, priority=9,
                     store=Store(sid, "New", 60.16, 24.95, "A", "Mo-Su 07:00-21:00") if new else None)
    return Event(kind, t, rep_id, store_id)


def _check_frozen_kept(before, after, event):
    """Reported stops never change (but for the check-out of a visit under way); frozen
    stops stay on their rep's route unless that rep's own report or absence says otherwise."""
    for old in (r for r in before.routes if r.date == before.date.isoformat() and r.resume):
        new = next(r for r in after.routes if r.date == old.date and r.rep_id == old.rep_id)
        new_stops = {s.store_id: s for s in new.stops if s.type == "visit"}
        for stop in old.stops[: old.resume.after]:
            if stop.type != "visit":
                continue
            if stop.reported:
                assert stop.store_id in new_stops, f"reported stop {stop.store_id} of {old.rep_id} vanished"
                kept = new_stops[stop.store_id]
                assert (kept.start_s, kept.store_id) == (stop.start_s, stop.store_id)
                if stop.status == "done":
                    assert kept.end_s == stop.end_s
            elif stop.status == "done" and event.rep_id != old.rep_id and event.kind != "store_closed":
                assert stop.store_id in new_stops, f"frozen stop {stop.store_id} of {old.rep_id} vanished after {event}"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(specs=_events())
def test_any_sequence_of_events_loses_no_visit_and_keeps_frozen_stops(base, specs):
    sit, applied = base, []
    for spec in specs:
        event = _materialise(spec, sit)
        try:
            result = apply_events(sit, [event], event.time_s, PARAMS)
        except EventRejected:
            continue
        _check_frozen_kept(sit, result.situation, event)
        sit = result.situation
        applied.append(event)
        problems = _violations(sit)
        assert not problems, ([str(p) for p in problems[:5]], applied)
    # Replaying the same events from the same plan gives the same plan (solution limit).
    again = base
    for event in applied:
        again = apply_events(again, [event], event.time_s, PARAMS).situation
    assert again.routes == sit.routes and again.unassigned == sit.unassigned


def test_cli_replan_prints_the_diff_and_writes_a_plan_the_checker_accepts(tmp_path):
    files = [f"--{k}={DEMO / f}" for k, f in (("stores", "stores.csv"), ("reps", "reps.csv"), ("policy", "policy.toml"))]
    run = [sys.executable, "-m", "api.cli"]
    cycle = tmp_path / "cycle.json"
    subprocess.run([*run, "plan-cycle", *files, "--start", "2026-11-30", "--weeks", "1", "--time-limit", "4",
                    "--out", str(cycle)], check=True, capture_output=True)
    territory = subprocess.run([*run, "territory", *files, "--plan", str(cycle), "--geojson", str(tmp_path / "t.geojson"),
                                "--headcount", "9"], capture_output=True, text=True)
    assert territory.returncode == 0, territory.stderr
    tried = re.findall(r"^\s+(\d+) reps: (fit|\d+ visits? \([\d.]+ h\) does? not fit|no assignment found in time)",
                       territory.stdout, re.M)
    fits = sorted(int(n) for n, verdict in tried if verdict == "fit")
    assert tried and (f"{fits[0]} reps fit every required visit" in territory.stdout if fits else "No team size" in territory.stdout)
    rows = [line.split() for line in territory.stdout.splitlines() if line.startswith("R")]
    routed = sum(s["type"] == "visit" for r in json.loads(cycle.read_text())["routes"] for s in r["stops"])
    assert len(rows) == 4 and sum(int(row[2]) for row in rows) == routed
    assert json.loads((tmp_path / "t.geojson").read_text())["type"] == "FeatureCollection"
    day = [r for r in json.loads(cycle.read_text())["routes"] if r["date"] == "2026-12-02"]
    r1 = next(r for r in day if r["rep_id"] == "R1")
    visits = [s for s in r1["stops"] if s["type"] == "visit"]
    events = [{"kind": "visit_done", "time": visits[0]["end"], "rep_id": "R1", "store_id": visits[0]["store_id"]},
              {"kind": "store_closed", "time": visits[0]["end"], "rep_id": "R1", "store_id": visits[-1]["store_id"]}]
    (tmp_path / "events.json").write_text(json.dumps(events))
    out = tmp_path / "after.json"
    done = subprocess.run([*run, "replan", *files, "--plan", str(cycle), "--events", str(tmp_path / "events.json"),
                           "--now", visits[0]["end"], "--solution-limit", "2", "--out", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert visits[-1]["store_id"] in done.stdout and ("carried" in done.stdout or "dropped" in done.stdout)
    assert "Checked" in done.stdout
    checked = subprocess.run([*run, "check", *files, "--plan", str(out)], capture_output=True, text=True)
    assert checked.returncode == 0 and checked.stdout.strip() == "ok", checked.stdout
    # An event the day refuses: exit 2, a message, nothing written.
    (tmp_path / "again.json").write_text(json.dumps(events[:1]))
    again = subprocess.run([*run, "replan", *files, "--plan", str(out), "--events", str(tmp_path / "again.json"),
                            "--now", visits[0]["end"], "--out", str(tmp_path / "x.json")], capture_output=True, text=True)
    assert again.returncode == 2 and "already" in again.stderr and not (tmp_path / "x.json").exists()


def test_a_late_check_out_re_times_what_the_clock_assumed_after_it(base):
    first, second = _today(base, "R1").visits[:2]
    sit = _apply(base, Event("visit_started", first.start_s, "R1", first.store_id)).situation
    late = second.end_s + 10 * 60  # out after the next visit should have ended
    result = _apply(sit, Event("visit_done", late, "R1", first.store_id))
    route = _today(result.situation, "R1")
    frozen = [s for s in route.stops[: route.resume.after] if s.type == "visit"]
    assert [s.store_id for s in frozen] == [first.store_id] and frozen[0].end_s == late
    assert second.store_id in {v.store_id for v in route.visits[1:]} | {c["store_id"] for c in result.diff.carried}
    assert not _violations(result.situation)


def test_an_urgent_visit_too_late_for_today_stays_missing_today_and_is_not_carried(base):
    sid = _today(base, "R2").visits[-1].store_id
    at = 9 * H
    result = _apply(base, Event("urgent_visit", at, None, sid, latest_s=at + 60, priority=9))
    after = result.situation
    assert any(u.store_id == sid and u.date == base.date.isoformat() for u in after.unassigned)
    assert not result.diff.carried
    assert not _violations(after)


def test_a_cap_on_changes_keeps_jobs_on_the_vehicle_they_were_on():
    """Jobs next to vehicle B's home but on vehicle A's route: a plain solve moves them to B;
    with ``max_changes=1`` at most one leaves A."""
    from routing import vrptw
    from routing.travel import Point, straight_line_matrix

    points = {"A": Point(60.17, 24.80), "B": Point(60.17, 25.00)} | {f"J{i}": Point(60.17 + 0.002 * i, 25.0) for i in range(4)}
    travel = straight_line_matrix(points, speed_kmh=30, circuity=1.3)
    jobs = [vrptw.Job(f"J{i}", f"J{i}", ((0, 86_400),), 300, penalty=10**7) for i in range(4)]
    vehicles = [vrptw.Vehicle(k, k, k, 0, 86_400) for k in "AB"]
    problem = vrptw.Problem(jobs, vehicles, travel, previous={"A": [j.key for j in jobs], "B": []})

    def left_a(p) -> int:
        solution = vrptw.solve(p, time_limit_s=10, solution_limit=20)
        assert not solution.dropped
        return sum(len(r.jobs) for r in solution.routes if r.vehicle == "B")

    assert left_a(problem) >= 2
    assert left_a(dataclasses.replace(problem, max_changes=1)) <= 1
    assert left_a(dataclasses.replace(problem, max_changes=0)) == 0


def test_a_refusal_names_the_clock_times_on_the_day_the_clocks_go_forward():
    """Helsinki skips 03:00-04:00 on 2026-03-29: an event at real 5 h 30 min after midnight
    posted at real 5 h 10 min is in the future, at 06:30 > 06:10 on the clock."""
    spring = dt.date(2026, 3, 29)
    stores, reps = [store("S1", 0.001, hours="Mo-Su 08:00-19:00")], [rep("R1", working_days="Mo-Su")]
    sit = Situation(spring, tuple(stores), tuple(reps), POLICY, Cycle(spring - dt.timedelta(days=6), 1),
                    day_matrix(stores, reps, POLICY), (), ())
    with pytest.raises(EventRejected) as err:
        apply_events(sit, [Event("rep_unavailable", 5 * H + 1800, "R1")], 5 * H + 600, PARAMS)
    assert (err.value.code, err.value.message) == ("in_the_future", "the event's time is after now (06:30 > 06:10)")


def test_every_refusal_code_is_listed_once_and_raised_somewhere():
    """``REFUSALS`` is the one list of codes: each code the re-plan raises is in it, and each
    listed code is raised."""
    from pathlib import Path

    from routing.events import REFUSALS

    source = "".join((Path(__file__).parents[1] / "routing" / f"{m}.py").read_text() for m in ("events", "replan"))
    raised = set(re.findall(r'(?:refuse|EventRejected)\(\s*"(\w+)"', source))
    assert raised == set(REFUSALS)
