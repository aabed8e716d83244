"""Field benchmark: the demo territory over a 4-week cycle, Fieldroute against the way field
teams plan today.

    python bench/field.py [--network demo|straight] [--time-limit 20] [--json FILE]

Baseline ("fixed weekday by sweep, nearest neighbour"): each store goes to its owner rep or
the rep living nearest; each rep's stores are sorted by angle around the rep's home and cut
into one group per working weekday of about equal size; a store is visited on its group's
weekday (twice-a-week stores also three days later; every-two-weeks stores in weeks 1 and 3;
monthly stores in week 1); each day is driven in nearest-neighbour order from home, waiting
for opening times, taking lunch when its window opens, and skipping a visit that would end
after closing or after the shift. Both plans use the same travel matrix.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from routing.calendar import Cycle, required_visits  # noqa: E402
from routing.check import check_cycle  # noqa: E402
from routing.cycle import plan_cycle  # noqa: E402
from routing.day import start_windows  # noqa: E402
from routing.daily import day_matrix  # noqa: E402
from routing.hours import open_windows, works_on  # noqa: E402
from routing.io import load_inputs  # noqa: E402
from routing.model import SolveParams  # noqa: E402
from routing.travel import Point, haversine_m, places_of  # noqa: E402

DEMO = ROOT / "data" / "demo"
START = "2026-11-30"


def baseline(stores, reps, policy, cycle, travel) -> dict:
    """Plan and simulate the cycle the naive way; returns its numbers."""
    groups = defaultdict(list)
    for s in stores:
        rep = next((r for r in reps if r.id == s.rep_id), None) or min(
            reps, key=lambda r: haversine_m(Point(s.lat, s.lon), Point(r.start_lat, r.start_lon)))
        groups[rep.id].append(s)
    plan = defaultdict(list)  # (rep_id, date) -> stores
    for rep in reps:
        weekdays = sorted({d.weekday() for d in cycle.dates if works_on(rep.working_days, d)})
        mine = sorted(groups[rep.id], key=lambda s: math.atan2(s.lat - rep.start_lat, s.lon - rep.start_lon))
        for i, store in enumerate(mine):
            slot = i * len(weekdays) // max(1, len(mine))
            n = required_visits(policy.classes[store.store_class], cycle.weeks)
            days = [weekdays[slot]]
            if n > cycle.weeks:
                days.append(weekdays[(slot + len(weekdays) // 2 + 1) % len(weekdays)])
            every = max(1, cycle.weeks // n) if n < cycle.weeks else 1
            for d in cycle.dates:
                if d.weekday() in days and cycle.week_of(d) % every == 0 and d not in cycle.holidays:
                    plan[(rep.id, d)].append(store)
    by_rep = {r.id: r for r in reps}
    done = defaultdict(int)
    travel_s, spans = 0, []
    for (rep_id, date), todo in plan.items():
        rep = by_rep[rep_id]
        t, here, left, lunch_taken = rep.shift_start_s, rep.start_key, list(todo), rep.lunch is None
        start = t
        while left:
            nxt = min(left, key=lambda s: travel.seconds(here, s.id))
            left.remove(nxt)
            arrive = t + travel.seconds(here, nxt.id)
            if not lunch_taken and arrive >= rep.lunch.earliest_s:
                arrive = max(arrive, rep.lunch.earliest_s) + rep.lunch.duration_s
                lunch_taken = True
            service = policy.service_s(nxt)
            window = next(((a, b) for a, b in start_windows(open_windows(nxt.opening_hours, date), service) if b >= arrive), None)
            begin = max(arrive, window[0]) if window else None
            if begin is None or begin + service + travel.seconds(nxt.id, rep.end_key) > rep.shift_end_s:
                continue  # missed: closed by then, or no time left today
            travel_s += travel.seconds(here, nxt.id)
            t, here = begin + service, nxt.id
            done[nxt.id] += 1
        travel_s += travel.seconds(here, rep.end_key)
        spans.append(t + travel.seconds(here, rep.end_key) - start)
    required = sum(required_visits(policy.classes[s.store_class], cycle.weeks) for s in stores)
    planned = sum(min(done[s.id], required_visits(policy.classes[s.store_class], cycle.weeks)) for s in stores)
    return {"travel_h": travel_s / 3600, "compliance": planned / required, "visits": planned, "required": required,
            "coverage": sum(1 for s in stores if done[s.id]) / len(stores),
            "day_spread_h": (max(spans) - min(spans)) / 3600, "day_stdev_h": statistics.pstdev(spans) / 3600}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--network", default="demo", choices=["demo", "straight"])
    parser.add_argument("--time-limit", type=float, default=20.0, help="Fieldroute's time limit for the cycle")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    stores, reps, policy = load_inputs(DEMO / "stores.csv", DEMO / "reps.csv", DEMO / "policy.toml")
    if args.network == "demo":
        from routing.roads import build_road_network, road_matrix

        travel = road_matrix(build_road_network(ROOT / "data" / "osm" / "monaco.osm.pbf"), places_of(stores, reps))
    else:
        travel = day_matrix(stores, reps, policy)
    cycle = Cycle(dt.date.fromisoformat(START), 4)

    started = time.perf_counter()
    naive = baseline(stores, reps, policy, cycle, travel)
    naive["runtime_s"] = time.perf_counter() - started

    started = time.perf_counter()
    plan = plan_cycle(stores, reps, policy, cycle, travel=travel, params=SolveParams(time_limit_s=args.time_limit, seed=args.seed))
    runtime = time.perf_counter() - started
    violations = check_cycle(plan.routes, plan.unassigned, stores, reps, policy, cycle, travel)
    spans = [r.summary.span_s for r in plan.routes]
    k = plan.kpis
    ours = {
        "travel_h": plan.summary.travel_s / 3600,
        "compliance": sum(v["planned"] for v in k["frequency_compliance"].values()) / sum(v["required"] for v in k["frequency_compliance"].values()),
        "visits": plan.summary.visits, "required": sum(v["required"] for v in k["frequency_compliance"].values()),
        "coverage": k["coverage"], "day_spread_h": (max(spans) - min(spans)) / 3600,
        "day_stdev_h": statistics.pstdev(spans) / 3600, "runtime_s": runtime, "checker_violations": len(violations),
    }
    print(f"Demo territory: {len(stores)} stores, {len(reps)} reps, 4 weeks from {START}, travel: {travel.source}")
    print(f"{'plan':<28} {'travel h':>8} {'visits':>11} {'compliance':>10} {'coverage':>8} {'day spread h':>12} {'day sd h':>8} {'runtime s':>9}")
    for name, r in (("naive (sweep weekday + NN)", naive), ("Fieldroute", ours)):
        print(f"{name:<28} {r['travel_h']:>8.1f} {r['visits']:>5}/{r['required']:<5} {r['compliance']:>10.1%} {r['coverage']:>8.1%} "
              f"{r['day_spread_h']:>12.1f} {r['day_stdev_h']:>8.2f} {r['runtime_s']:>9.1f}")
    print(f"Fieldroute plan checked: {len(violations)} violations")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"naive": naive, "fieldroute": ours, "time_limit_s": args.time_limit}, indent=2))
    return 0 if not violations else 1


if __name__ == "__main__":
    sys.exit(main())
