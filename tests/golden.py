"""Plans that must not change when the code around them is reshaped (a refactor changes no plan).

Each case solves with a fixed seed and a solution or iteration limit (the time limits are far
above what the runs take, so no deadline binds) and returns its plan as plain JSON, wall
times left out. ``tests/data/golden.json`` holds them as written on the main branch before the
day-problem refactor; ``tests/test_golden.py`` compares. After a change that is *meant* to
change plans, write them again and say so in the commit::

    python -m tests.golden --write
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "data" / "golden.json"
LONG = 600.0  # a time limit that never binds at these sizes


def _clean(value):
    """Plain JSON without wall times (they differ from run to run)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in ("wall_s", "params")}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _day(plan) -> dict:
    from routing.io import plan_to_dict

    return _clean(plan_to_dict(plan)) | {"status": plan.params.get("status")}


def _demo():
    from routing.io import load_inputs

    demo = ROOT / "data" / "demo"
    return load_inputs(demo / "stores.csv", demo / "reps.csv", demo / "policy.toml")


def demo_day() -> dict:
    from routing.daily import day_matrix, solve_day
    from routing.model import SolveParams

    stores, reps, policy = _demo()
    stores = [s for s in stores if s.store_class == "A"]
    date = dt.date(2026, 12, 3)
    plan = solve_day(date, stores, reps, policy, travel=day_matrix(stores, reps, policy),
                     params=SolveParams(time_limit_s=LONG, solution_limit=3, seed=1))
    return _day(plan)


def balanced_day() -> dict:
    from bench.synthetic import synthetic_day
    from routing.daily import day_matrix, solve_day
    from routing.model import SolveParams

    stores, reps, policy, date = synthetic_day(16, 2, seed=1)
    plan = solve_day(date, stores, reps, policy, travel=day_matrix(stores, reps, policy),
                     params=SolveParams(time_limit_s=LONG, solution_limit=2, seed=3, balance_weight=1))
    return _day(plan)


def big_day() -> dict:
    """Over ``ONE_MODEL_MAX_JOBS`` visits: the rep-by-rep search."""
    from bench.synthetic import synthetic_day
    from routing.daily import day_matrix, solve_day
    from routing.model import SolveParams

    stores, reps, policy, date = synthetic_day(340, 4, seed=2)
    plan = solve_day(date, stores, reps, policy, travel=day_matrix(stores, reps, policy),
                     params=SolveParams(time_limit_s=LONG, solution_limit=3, seed=0))
    return _day(plan)


def small_cases() -> dict:
    """The tests' tiny teams: lunch, owners, max visits, capacity, closed and short windows."""
    from routing.daily import day_matrix, solve_day
    from routing.model import SolveParams

    from .conftest import POLICY, THURSDAY, rep, store

    stores = [
        store("S1", 0.005, 0.0, "A", "Mo-Fr 09:00-17:00"),
        store("S2", -0.004, 0.01, "B", "Mo-Sa 08:00-12:00,13:00-18:00"),
        store("S3", 0.01, -0.01, "C"),
        store("S4", -0.01, -0.005, "B", "24/7"),
        store("S5", 0.02, 0.02, "A", "Th 12:00-12:10"),
        store("S6", 0.0, 0.03, "B", "Fr 09:00-17:00"),
        store("S7", 0.03, -0.02, "C", "Mo-Fr 06:00-07:00"),
        store("S8", -0.02, 0.02, "A", rep_id="R2", demand=3),
        store("S9", 0.015, 0.005, "B", "Th 11:45-13:15", demand=2),
        *(store(f"T{i}", 0.003 * i, -0.004 * i, "ABC"[i % 3], "Mo-Sa 09:00-16:00", demand=i % 3) for i in range(14)),
    ]
    reps = [rep("R1", lunch=(11.5, 13.5, 45), max_visits=9), rep("R2", 60.16, 24.97, shift=(9, 15), capacity=6)]
    out = {}
    for seed in (0, 5):
        plan = solve_day(THURSDAY, stores, reps, POLICY, travel=day_matrix(stores, reps, POLICY),
                         params=SolveParams(time_limit_s=LONG, solution_limit=15, seed=seed))
        out[f"seed{seed}"] = _day(plan)
    return out


def cycles() -> dict:
    from bench.synthetic import synthetic_cycle
    from routing.calendar import Cycle
    from routing.cycle import plan_cycle
    from routing.daily import day_matrix
    from routing.io import cycle_to_dict
    from routing.model import SolveParams

    stores, reps, policy = _demo()
    demo = plan_cycle(stores, reps, policy, Cycle(dt.date(2026, 11, 30), 2, frozenset({dt.date(2026, 12, 8)})),
                      travel=day_matrix(stores, reps, policy), params=SolveParams(time_limit_s=LONG, solution_limit=2, seed=1))
    stores, reps, policy, cycle = synthetic_cycle(90, 3, seed=4, owners=False, weeks=2)
    free = plan_cycle(stores, reps, policy, cycle, travel=day_matrix(stores, reps, policy),
                      params=SolveParams(time_limit_s=LONG, solution_limit=2, seed=0))
    return {"demo": _clean(cycle_to_dict(demo)), "synthetic_free": _clean(cycle_to_dict(free))}


def solomon() -> dict:
    from bench import solomon as bench_solomon
    from routing import vrptw

    data = Path(bench_solomon.DEFAULT_DATA)
    out = {}
    for name in ("C101", "R102", "RC105"):
        if not (data / f"{name}.txt").exists():
            continue
        problem, _ = bench_solomon.build(bench_solomon.read_instance(data / f"{name}.txt"))
        solution = vrptw.solve(problem, time_limit_s=LONG, solution_limit=40, seed=2)
        out[name] = {"routes": [[vr.vehicle, list(vr.jobs)] for vr in solution.routes],
                     "dropped": list(solution.dropped), "objective": solution.objective}
    return out


def pvrp() -> dict:
    from bench import pvrp as bench_pvrp
    from routing import periodic

    data = Path(bench_pvrp.DEFAULT_DATA)
    out = {}
    for name in ("p01", "p04"):
        if not (data / f"{name}.txt").exists():
            continue
        problem = bench_pvrp.build(bench_pvrp.read_instance(data / f"{name}.txt"))
        solution = periodic.solve(problem, time_limit_s=LONG, iterations=300, seed=1,
                                  search=periodic.Search(polish_share=0.0))
        out[name] = {"options": {k: list(v) for k, v in sorted(solution.options.items())},
                     "routes": [{k: list(v) for k, v in sorted(day.items())} for day in solution.routes],
                     "cost": solution.cost, "feasible": solution.feasible}
    return out


def replans() -> dict:
    """A week's plan of a small team, then a rep's day of events, a supervisor's and refused ones."""
    from routing.calendar import Cycle
    from routing.cycle import plan_cycle
    from routing.daily import day_matrix
    from routing.events import Event, EventRejected
    from routing.io import route_to_dict
    from routing.model import ClassPolicy, Policy, SolveParams
    from routing.replan import ReplanParams, Situation, apply_events
    from zoneinfo import ZoneInfo

    from .conftest import rep, store

    policy = Policy("Europe/Helsinki", {"A": ClassPolicy("A", 2, 30, 3, min_gap_days=2), "B": ClassPolicy("B", 1, 20, 2),
                                        "C": ClassPolicy("C", 0.5, 15, 1)}, speed_kmh=30, circuity=1.3)
    reps = [rep("R1", 60.17, 24.90, shift=(8, 17), lunch=(11.5, 13.5, 30)), rep("R2", 60.18, 24.98, shift=(8, 17)),
            rep("R3", 60.16, 24.95, shift=(9, 16))]
    offsets = [(0.01 * (i % 6) - 0.025, 0.012 * (i // 6) - 0.04) for i in range(48)]
    stores = [store(f"S{i:02d}", a, b, cls="ABC"[i % 3], hours="Mo-Sa 08:00-19:00") for i, (a, b) in enumerate(offsets)]
    stores[7] = dataclasses.replace(stores[7], rep_id="R2")
    cycle = Cycle(dt.date(2026, 11, 30), 1)
    travel = day_matrix(stores, reps, policy)
    plan = plan_cycle(stores, reps, policy, cycle, travel=travel, params=SolveParams(time_limit_s=LONG, solution_limit=2))
    date = dt.date(2026, 12, 2)
    sit = Situation(date, tuple(stores), tuple(reps), policy, cycle, travel, plan.routes, plan.unassigned)
    params = ReplanParams(time_limit_s=LONG, solution_limit=2, seed=1)
    zone = ZoneInfo(policy.time_zone)

    def today(s: Situation, rep_id: str):
        return next(r for r in s.routes if r.date == date.isoformat() and r.rep_id == rep_id)

    def record(result) -> dict:
        s = result.situation
        return {"routes": [route_to_dict(r, zone) for r in s.routes if r.date >= date.isoformat()],
                "unassigned": [dataclasses.asdict(u) for u in s.unassigned],
                "diff": _clean(dataclasses.asdict(result.diff)), "flags": list(result.flags)}

    out = {}
    r1, r2 = today(sit, "R1").visits, today(sit, "R2").visits
    steps = [
        [Event("visit_started", r1[0].start_s + 300, "R1", r1[0].store_id, lat=60.2, lon=24.9)],
        [Event("visit_done", r1[0].end_s + 1500, "R1", r1[0].store_id)],
        [Event("overrun", r2[0].start_s + 600, "R2", r2[0].store_id, minutes=25),
         Event("store_closed", r2[0].start_s + 700, store_id=(r2 + r1)[-1].store_id)],
        [Event("urgent_visit", r2[0].start_s + 900, "R2", "S05", latest_s=15 * 3600)],
        [Event("position", r1[0].end_s + 2400, "R1", lat=60.15, lon=24.93)],
        [Event("rep_unavailable", r2[0].start_s + 1200, "R2")],
        [Event("rep_available", r2[0].start_s + 3000, "R2")],
    ]
    for n, events in enumerate(steps):
        try:
            result = apply_events(sit, events, max(e.time_s for e in events), params)
        except EventRejected as exc:
            out[f"step{n}"] = {"rejected": exc.code, "message": exc.message}
            continue
        out[f"step{n}"] = record(result)
        sit = result.situation
    refused = [
        Event("visit_done", 16 * 3600, "R1", "S99"),
        Event("visit_started", 9 * 3600, "R9", r1[1].store_id),
        Event("overrun", 16 * 3600, "R1", r1[-1].store_id, minutes=-5),
        Event("urgent_visit", 16 * 3600, "R2", r1[-1].store_id),
        Event("rep_available", 16 * 3600, "R1"),
    ]
    out["refused"] = []
    for e in refused:
        try:
            apply_events(sit, [e], e.time_s, params)
            out["refused"].append("accepted")
        except EventRejected as exc:
            out["refused"].append([exc.code, exc.message])
    return out


def moves() -> dict:
    """A visit put into a planned route, and a date refilled with visits left out."""
    from routing.daily import day_matrix, insert_visit, refill_day, solve_day
    from routing.io import plan_to_dict
    from routing.model import SolveParams

    stores, reps, policy = _demo()
    date = dt.date(2026, 12, 3)
    day_stores = [s for s in stores if s.store_class == "A"]
    travel = day_matrix(stores, reps, policy)
    plan = solve_day(date, day_stores, reps, policy, travel=travel, params=SolveParams(time_limit_s=LONG, solution_limit=5))
    by_id = {s.id: s for s in stores}
    route = plan.routes[0]
    on_route = [by_id[v.store_id] for v in route.visits]
    extra = [s for s in stores if s.store_class == "C"]
    inserted = [insert_visit(date, route, on_route, s, next(r for r in reps if r.id == route.rep_id), policy, travel)
                for s in extra[:6]]
    routes, missing = refill_day(date, plan.routes, [s for s in stores if s.store_class == "B"], day_stores, reps, policy,
                                 travel)
    from dataclasses import replace as _replace

    refilled = _replace(plan, routes=tuple(routes), unassigned=tuple(missing))
    return {"inserted": [None if r is None else [v.store_id for v in r.visits] for r in inserted],
            "refilled": _clean(plan_to_dict(refilled))}


CASES: dict[str, Callable[[], dict]] = {
    "demo_day": demo_day, "balanced_day": balanced_day, "big_day": big_day, "small_cases": small_cases,
    "cycles": cycles, "solomon": solomon, "pvrp": pvrp, "replans": replans, "moves": moves,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {GOLDEN.relative_to(ROOT)}")
    parser.add_argument("cases", nargs="*", default=list(CASES))
    args = parser.parse_args(argv)
    import time

    out = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    for name in args.cases:
        t = time.perf_counter()
        out[name] = json.loads(json.dumps(CASES[name]()))
        print(f"{name}: {time.perf_counter() - t:.1f} s", file=sys.stderr)
    if args.write:
        GOLDEN.write_text(json.dumps(out, indent=0, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
