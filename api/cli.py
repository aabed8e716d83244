"""The ``fieldroute`` command: solve a day, plan a cycle, check a plan, run the demo, serve the API.

An edge of the system, like the service: it reads files, prints, and calls ``routing`` and
``maps``; the library imports neither.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import logging
import math
import os
import sys
from pathlib import Path

from routing.check import check_plan
from routing.daily import solve_day
from routing.errors import InputError, InputProblem
from routing.io import load_inputs, plan_from_dict, write_plan
from routing.model import SUMMARY_KEYS, DayPlan, SolveParams

from routing import network
from routing.network import DEMO_DIR

DEMO_DATE = "2026-12-03"
DEMO_CYCLE_START = "2026-11-30"
DEMO_CLASSES = "A,B"  # the classes due on the demo day, until the cycle planner picks the day's stores


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _moment(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO 8601 date and time such as 2026-12-02T11:40, got {text!r}") from None


def _weeks(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of weeks >= 1, got {text!r}")
    return int(text)


def _dates(text: str) -> frozenset[dt.date]:
    return frozenset(_date(d.strip()) for d in text.split(",") if d.strip())


def _inputs(parser: argparse.ArgumentParser, *, network: str = "straight") -> None:
    parser.add_argument("--stores", type=Path, required=True, help="stores CSV or GeoJSON")
    parser.add_argument("--reps", type=Path, required=True, help="reps CSV")
    parser.add_argument("--policy", type=Path, required=True, help="policy TOML or JSON")
    _network_options(parser, network)


def _network_options(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--network", default=default,
        help=f"travel model: 'straight' (the policy's straight-line model), 'demo' (the bundled Monaco "
        f"OpenStreetMap roads), the path of an .osm/.osm.pbf file (the embedded engine), 'osrm:PATH' (OSRM on that "
        f"extract, preprocessed once and cached) or 'osrm+http://HOST:PORT' (a shared osrm-routed) (default {default})",
    )
    parser.add_argument("--place", help="download the roads of a place through osmnx instead, e.g. 'Monaco' (needs internet)")


def _solve_options(parser: argparse.ArgumentParser, time_limit: float) -> None:
    parser.add_argument("--time-limit", type=float, default=time_limit, help=f"search seconds (default {time_limit:g})")
    parser.add_argument("--solution-limit", type=int, help="stop after this many improving solutions (repeatable runs)")
    parser.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    parser.add_argument("--balance", type=int, default=0, help="weight of workload balance between reps (default 0)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fieldroute", description="Route optimisation for field-sales visits.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("solve-day", help="plan one date for a team")
    _inputs(p)
    p.add_argument("--date", type=_date, required=True, help="YYYY-MM-DD")
    p.add_argument("--classes", help="plan only the stores of these classes, e.g. A,B (default: all)")
    _solve_options(p, 10.0)
    p.add_argument("--out", type=Path, help="write the plan JSON here")
    p.add_argument("--map", type=Path, help="write the HTML route map here")

    p = sub.add_parser("plan-cycle", help="plan a multi-week visit cycle: which store on which day, and each day's route")
    _inputs(p)
    p.add_argument("--start", type=_date, required=True, help="first day of the cycle, YYYY-MM-DD")
    p.add_argument("--weeks", type=_weeks, default=4, help="cycle length in weeks (default 4)")
    p.add_argument("--holidays", type=_dates, default=frozenset(), help="comma-separated dates nobody works")
    _solve_options(p, 30.0)
    p.add_argument("--out", type=Path, help="write the cycle plan JSON here")
    p.add_argument("--maps", type=Path, help="write one HTML route map per date into this folder")

    p = sub.add_parser("plan-fleet", help="plan a cycle for a whole fleet, territory by territory, on worker processes "
                                          "or a Ray cluster (each territory checked where it is planned)")
    _inputs(p)
    p.add_argument("--start", type=_date, required=True, help="first day of the cycle, YYYY-MM-DD")
    p.add_argument("--weeks", type=_weeks, default=4, help="cycle length in weeks (default 4)")
    p.add_argument("--holidays", type=_dates, default=frozenset(), help="comma-separated dates nobody works")
    p.add_argument("--time-limit", type=float, default=600.0,
                   help="the fleet's planning budget in CPU seconds, shared out by required hours (default 600)")
    p.add_argument("--min-task-time", type=float, default=10.0, help="the least seconds a territory gets (default 10)")
    p.add_argument("--solution-limit", type=int, help="each territory's solution limit (repeatable runs)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("--workers", type=int, help="worker processes on this machine (default: one per core)")
    p.add_argument("--ray", default=os.environ.get("FIELDROUTE_RAY_ADDRESS"), metavar="ADDRESS",
                   help="run the territories on the Ray cluster at ADDRESS ('local' starts one here; default "
                        "$FIELDROUTE_RAY_ADDRESS; needs the ray extra)")
    p.add_argument("--out", type=Path, help="write the fleet plan JSON here")

    p = sub.add_parser("check", help="check a day or cycle plan against its inputs (exit 1 on violations)")
    _inputs(p)
    p.add_argument("--plan", type=Path, required=True, help="plan JSON")
    p.add_argument("--classes", help="the --classes the plan was made with (default: all)")

    p = sub.add_parser("replan", help="apply same-day events to a cycle plan: re-plan the rest of the day, print what changed")
    _inputs(p)
    p.add_argument("--plan", type=Path, required=True, help="cycle plan JSON (plan-cycle --out, or an earlier replan --out)")
    p.add_argument("--events", type=Path, required=True, help="JSON list of events of one day (see README 'Same-day events')")
    p.add_argument("--now", type=_moment, required=True, help="the current time, ISO 8601, e.g. 2026-12-02T11:40 (local) or with an offset")
    p.add_argument("--time-limit", type=float, default=1.0, help="seconds per re-plan (default 1)")
    p.add_argument("--solution-limit", type=int, help="stop each re-plan after this many solutions (repeatable runs)")
    p.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    p.add_argument("--plain", action="store_true", help="no minimal-change objective (a plain re-solve, for comparison)")
    p.add_argument("--max-moves", type=int, help="at most this many visits may move to another rep or off today "
                   "(visits of a rep who became unavailable do not count)")
    p.add_argument("--out", type=Path, help="write the new cycle plan JSON (with the events) here")

    p = sub.add_parser("territory", help="each rep's routed workload in a cycle plan, the balance between reps, the areas")
    _inputs(p)
    p.add_argument("--plan", type=Path, required=True, help="cycle plan JSON (plan-cycle --out)")
    p.add_argument("--geojson", type=Path, help="write each rep's territory outline (with its workload) as GeoJSON here")
    p.add_argument("--headcount", type=_seconds, metavar="SECONDS",
                   help="also search the fewest reps that fit every required visit, each team size balanced and routed, "
                        "for at most this long")

    p = sub.add_parser("demo", help="plan a day and a 4-week cycle for the built-in demo team")
    p.add_argument("--date", type=_date, default=_date(DEMO_DATE), help=f"YYYY-MM-DD (default {DEMO_DATE})")
    p.add_argument("--out-dir", type=Path, default=Path("out/demo"), help="where to write (default out/demo)")
    p.add_argument("--classes", default=DEMO_CLASSES, help=f"classes to visit (default {DEMO_CLASSES})")
    _network_options(p, "demo")
    _solve_options(p, 5.0)
    p.add_argument("--cycle-time-limit", type=float, default=20.0, help="time limit of the 4-week cycle (default 20 s)")
    p.add_argument("--day-only", action="store_true", help="plan the demo day only, not the 4-week cycle")
    from .serve import add_commands

    add_commands(sub)
    return parser


def _params(args) -> SolveParams:
    return SolveParams(time_limit_s=args.time_limit, solution_limit=args.solution_limit, seed=args.seed, balance_weight=args.balance)


def _print_plan(plan: DayPlan) -> None:
    print(f"Plan for {plan.date} ({plan.time_zone}); status {plan.params.get('status', '-')}, {plan.params.get('wall_s', 0)} s")
    print(f"{'rep':<8} {'visits':>6} {'travel':>8} {'service':>8} {'wait':>7} {'km':>7} {'day':>7}")
    for route in (*plan.routes, None):
        s = route.summary if route else plan.summary
        name = route.rep_id if route else "total"
        print(f"{name:<8} {s.visits:>6} {_h(s.travel_s):>8} {_h(s.service_s):>8} {_h(s.wait_s):>7} {s.distance_m / 1000:>7.1f} {_h(s.span_s):>7}")
    if plan.unassigned:
        print(f"Unassigned: {len(plan.unassigned)}")
        for u in plan.unassigned:
            print(f"  {u.store_id:<10} {u.reason:<22} {u.detail}")


def _h(seconds: int) -> str:
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}"


def _travel(args, stores, reps, policy):
    """The travel matrix the options ask for, the road network behind it and how far places
    were snapped to it (both None for straight-line travel)."""
    if args.place or args.network != "straight":
        print("Loading the road network ...", file=sys.stderr, flush=True)
    roads = network.road_network(args.network, place=args.place)
    travel, snapping = network.travel_for(roads, stores, reps, policy)
    return travel, roads, snapping


def _select(stores, classes: str | None):
    if not classes:
        return stores
    wanted = {c.strip() for c in classes.split(",") if c.strip()}
    return [s for s in stores if s.store_class in wanted]


def _solve_and_write(args, stores_path, reps_path, policy_path, out, map_path) -> int:
    stores, reps, policy = load_inputs(stores_path, reps_path, policy_path)
    stores = _select(stores, args.classes)
    params = _params(args)
    travel, network, snapping = _travel(args, stores, reps, policy)
    print(f"Solving {args.date}: {len(stores)} stores, {len(reps)} reps, {travel.source}, time limit {params.time_limit_s:g} s ...",
          file=sys.stderr, flush=True)
    plan = solve_day(args.date, stores, reps, policy, travel=travel, params=params)
    if network is not None:
        plan = dataclasses.replace(plan, params=plan.params | {"snapping": snapping})
    violations = check_plan(plan, stores, reps, policy, travel)
    _print_plan(plan)
    if out:
        write_plan(plan, out)
        print(f"Plan JSON: {out}")
    if map_path:
        from maps.routes import save_route_map

        save_route_map(plan, stores, reps, map_path, roads=network)
        print(f"Route map: {map_path}")
    if violations:
        print("The independent checker found violations (a bug; please report it):", file=sys.stderr)
        for v in violations:
            print(f"  {v}", file=sys.stderr)
        return 3
    print("Checked: every visit is on a route or unassigned with a reason; all times hold.")
    return 0


def _cycle_of(args):
    from routing.calendar import Cycle

    return Cycle(args.start, args.weeks, args.holidays)


def _plan_cycle(args, stores_path, reps_path, policy_path, out, maps_dir) -> int:
    from routing.check import check_cycle
    from routing.cycle import plan_cycle
    from routing.io import cycle_to_dict, write_json

    stores, reps, policy = load_inputs(stores_path, reps_path, policy_path)
    cycle = _cycle_of(args)
    travel, network, _ = _travel(args, stores, reps, policy)
    print(f"Planning a {cycle.weeks}-week cycle from {cycle.start}: {len(stores)} stores, {len(reps)} reps, "
          f"time limit {args.time_limit:g} s (half to choose days, half to route them) ...", file=sys.stderr, flush=True)
    plan = plan_cycle(stores, reps, policy, cycle, travel=travel, params=_params(args))
    violations = check_cycle(plan.routes, plan.unassigned, stores, reps, policy, cycle, travel)
    _print_cycle(plan)
    if out:
        write_json(cycle_to_dict(plan), out)
        print(f"Cycle plan JSON: {out}")
    if maps_dir:
        from maps.routes import save_route_map

        for date in sorted({r.date for r in plan.routes}):
            day = DayPlan(date, plan.time_zone, tuple(r for r in plan.routes if r.date == date),
                          tuple(u for u in plan.unassigned if u.date == date))
            save_route_map(day, stores, reps, Path(maps_dir) / f"{date}.html", roads=network)
        print(f"Route maps: {maps_dir}/<date>.html")
    if violations:
        print("The independent checker found violations (a bug; please report it):", file=sys.stderr)
        for v in violations[:50]:
            print(f"  {v}", file=sys.stderr)
        return 3
    print("Checked: every required visit is on a route or reported missing with its date; frequencies, spacing and times hold.")
    return 0


def _plan_fleet(args) -> int:
    from routing.fleet import FleetParams, LocalPool, RayCluster, plan_fleet
    from routing.io import fleet_to_dict, write_json

    stores, reps, policy = load_inputs(args.stores, args.reps, args.policy)
    network.check_network(args.network)
    cycle = _cycle_of(args)
    params = FleetParams(time_limit_s=args.time_limit, min_task_s=args.min_task_time, solution_limit=args.solution_limit,
                         seed=args.seed)
    executor = RayCluster(args.ray) if args.ray else LocalPool(args.workers)
    where = f"Ray at {args.ray}" if args.ray else f"{args.workers or os.cpu_count()} worker processes"
    print(f"Planning a {cycle.weeks}-week cycle from {cycle.start} for {len(stores)} stores and {len(reps)} reps, "
          f"territory by territory on {where}, {args.time_limit:g} CPU s in all ...", file=sys.stderr, flush=True)

    def progress(done: int, total: int, territory) -> None:
        state = territory.error or f"{sum(len(r.visits) for r in territory.routes)} visits, " \
                                   f"{len(territory.unassigned)} missing, {territory.wall_s:.1f} s"
        print(f"  [{done}/{total}] {territory.key}: {state}", file=sys.stderr, flush=True)

    plan = plan_fleet(stores, reps, policy, cycle, network=args.network, params=params, executor=executor,
                      progress=progress)
    visits = sum(len(r.visits) for r in plan.routes)
    print(f"Fleet: {len(plan.territories)} territories, {visits} visits on {len(plan.routes)} routes, "
          f"{len(plan.unassigned)} missing, {plan.wall_s:.1f} s")
    if args.out:
        write_json(fleet_to_dict(plan, cycle, policy.time_zone), args.out)
        print(f"Fleet plan JSON: {args.out}")
    for t in plan.failed:
        print(f"Territory {t.key} failed after {t.tries} tries: {t.error}", file=sys.stderr)
    if plan.violations:
        print("The independent checker found violations (a bug; please report it):", file=sys.stderr)
        for v in plan.violations[:50]:
            print(f"  {v}", file=sys.stderr)
        return 3
    return 1 if plan.failed else 0


def _print_cycle(plan) -> None:
    k = plan.kpis
    print(f"Cycle {plan.start} + {plan.weeks} weeks ({plan.time_zone}): {len(plan.routes)} rep-days, "
          f"{plan.summary.visits} visits, {len(plan.unassigned)} missing")
    print("Frequency compliance: " + ", ".join(f"{c} {v['planned']}/{v['required']}" for c, v in k["frequency_compliance"].items()))
    coverage = "-" if k["coverage"] is None else f"{k['coverage']:.1%}"
    print(f"Coverage {coverage}, travel share of working time {k['travel_share']:.1%}, "
          f"workload spread between rep-days {k['workload_spread_h']:.1f} h (sd {k['workload_sd_h']:.1f} h), "
          f"between reps {k['rep_workload_spread_h']:.1f} h")
    print(f"{'rep':<6} {'days':>4} {'visits/day (min-mean-max)':>26} {'required h':>11} {'available h':>12}")
    for c in plan.capacity:
        v = k["visits_per_day"][c.rep_id]
        print(f"{c.rep_id:<6} {v['days']:>4} {v['min']:>12}-{v['mean']}-{v['max']:<8} {c.required_h:>11.1f} {c.available_h:>12.1f}")
    for s in plan.suggestions:
        print(f"Suggestion: {s}")


def _check(args) -> int:
    from routing.check import check_cycle
    from routing.io import cycle_from_dict, read_json

    stores, reps, policy = load_inputs(args.stores, args.reps, args.policy)
    stores = _select(stores, args.classes)
    try:
        raw = read_json(args.plan)
        parsed = cycle_from_dict(raw) if "cycle" in raw else plan_from_dict(raw)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError([InputProblem(str(args.plan), None, None, f"not a readable plan: {type(exc).__name__}: {exc}")]) from None
    travel, _, _ = _travel(args, stores, reps, policy)
    if "cycle" in raw:
        cycle, routes, unassigned = parsed
        events, day, now_s = _plan_events(raw, policy, args.plan)
        if events:
            from routing.replan import travel_with_events

            travel = travel_with_events(travel, stores, reps, policy, events)
        violations = [str(v) for v in check_cycle(routes, unassigned, stores, reps, policy, cycle, travel,
                                                  events=events, events_date=day, now_s=now_s)]
    else:
        violations = [str(v) for v in check_plan(parsed, stores, reps, policy, travel)]
    derived = {(r.rep_id, r.date): r.summary.as_dict() for r in _routes_of(raw)}
    for stored in raw.get("routes", []):
        fresh = derived.get((stored["rep_id"], stored["date"]), {})
        for key in SUMMARY_KEYS:
            if key in stored.get("summary", {}) and key in fresh and stored["summary"][key] != fresh[key]:
                violations.append(f"summary: rep {stored['rep_id']} {stored['date']}: {key} is {stored['summary'][key]}, the stops give {fresh[key]}")
    if violations:
        print(f"{len(violations)} violation(s):")
        for v in violations:
            print(f"  {v}")
        return 1
    print("ok")
    return 0


def _replan(args) -> int:
    from zoneinfo import ZoneInfo

    from routing.check import check_cycle
    from routing.clock import day_clock
    from routing.events import EventRejected
    from routing.io import cycle_from_dict, diff_to_dict, event_to_dict, parse_events, read_json, route_to_dict, write_json
    from routing.replan import ReplanParams, Situation, apply_events, travel_with_events

    stores, reps, policy = load_inputs(args.stores, args.reps, args.policy)
    zone = ZoneInfo(policy.time_zone)
    now = args.now if args.now.tzinfo else args.now.replace(tzinfo=zone)
    date = now.astimezone(zone).date()
    now_s = day_clock(date, policy.time_zone).from_instant(now)
    try:
        raw = read_json(args.plan)
        cycle, routes, unassigned = cycle_from_dict(raw)
        past = raw.get("events") or {}
        earlier = parse_events(past.get("items", []), date=date, time_zone=policy.time_zone, source=f"{args.plan} events",
                               policy=policy) if past.get("date") == date.isoformat() else []
        if past.get("date") not in (None, date.isoformat()):
            raise InputError([InputProblem(str(args.plan), "events", "date", f"the plan's events are of {past['date']}, "
                                           f"--now is on {date}: one day under way at a time")])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError([InputProblem(str(args.plan), None, None, f"not a readable cycle plan: {type(exc).__name__}: {exc}")]) from None
    try:
        data = read_json(args.events)
    except (OSError, ValueError) as exc:
        raise InputError([InputProblem(str(args.events), None, None, f"not readable JSON: {exc}")]) from None
    events = parse_events(data, date=date, time_zone=policy.time_zone, source=str(args.events), policy=policy)
    if date not in set(cycle.dates):
        raise InputError([InputProblem("--now", None, None, f"{date} is not a day of the plan's cycle ({cycle.start} + {cycle.weeks} weeks)")])
    travel, _, _ = _travel(args, stores, reps, policy)
    sit = Situation(date, tuple(stores), tuple(reps), policy, cycle, travel, tuple(routes), tuple(unassigned), tuple(earlier),
                    past.get("now_s") if earlier else None)
    params = ReplanParams(time_limit_s=args.time_limit, solution_limit=args.solution_limit, seed=args.seed,
                          minimal_change=not args.plain, max_moves=args.max_moves)
    try:
        result = apply_events(sit, events, now_s, params)
    except EventRejected as exc:
        print(f"error: {exc} (nothing changed)", file=sys.stderr)
        return 2
    after = result.situation
    _print_diff(result, len(events), date, zone)
    if args.out:
        out = dict(raw)
        out["routes"] = [route_to_dict(r, zone) for r in after.routes]
        out["unassigned"] = [{"store_id": u.store_id, "reason": u.reason, "detail": u.detail, "date": u.date} for u in after.unassigned]
        out["events"] = {"date": date.isoformat(), "now_s": after.now_s,
                         "items": [event_to_dict(e, date, policy.time_zone) for e in after.events]}
        out["replan"] = {"now": now.isoformat(), "diff": diff_to_dict(result.diff, date, policy.time_zone), "flags": list(result.flags)}
        write_json(out, args.out)
        print(f"New cycle plan JSON: {args.out}")
    full = travel_with_events(travel, stores, reps, policy, after.events)
    violations = check_cycle(after.routes, after.unassigned, stores, reps, policy, cycle, full, events=after.events,
                             events_date=date.isoformat(), now_s=after.now_s)
    if violations:
        print("The independent checker found violations (a bug; please report it):", file=sys.stderr)
        for v in violations[:50]:
            print(f"  {v}", file=sys.stderr)
        return 3
    print("Checked: frozen stops kept, every required visit done, planned or missing with its reason; times hold from where each rep is.")
    return 0


def _print_diff(result, n_events: int, date: dt.date, zone) -> None:
    from routing.clock import DayClock

    clock = DayClock(date, zone)

    def hm(seconds: int | None) -> str:
        return "-" if seconds is None else clock.clock_time(seconds)

    d = result.diff
    print(f"Re-planned {date} after {n_events} event(s): "
          f"{d.moved_visits} visit(s) moved, {len(d.reordered)} reordered, {len(d.added)} added, {len(d.dropped)} dropped "
          f"({result.info.get('wall_s', 0):.2f} s)")
    for m in d.moved:
        print(f"  moved     {m['store_id']}: rep {m['from']} -> rep {m['to']} (cover)")
    for c in d.carried:
        print(f"  carried   {c['store_id']}: to {c['to_date']} (rep {c['rep_id']})")
    for a in d.added:
        print(f"  added     {a['store_id']}: rep {a['rep_id']}")
    for x in d.dropped:
        print(f"  dropped   {x['store_id']} (rep {x['rep_id']}): {x['reason']}: {x['detail']}")
    for r in d.reordered:
        print(f"  reordered {r['store_id']}: rep {r['rep_id']}, stop {r['before']} -> {r['after']}")
    for e in d.etas:
        print(f"  eta       {e['store_id']} (rep {e['rep_id']}): {hm(e['before_s'])} -> {hm(e['after_s'])}")
    for f in result.flags:
        print(f"  flag      {f}")


def _plan_events(raw: dict, policy, path) -> tuple[list, str | None, int | None]:
    """The events a cycle plan JSON carries (``replan --out``), their date, and when the
    day stood (seconds of the date)."""
    from routing.io import parse_events

    past = raw.get("events") or {}
    if not past.get("items"):
        return [], None, None
    date = dt.date.fromisoformat(past["date"])
    events = parse_events(past["items"], date=date, time_zone=policy.time_zone, source=f"{path} events", policy=policy)
    return events, past["date"], past.get("now_s")


def _seconds(text: str) -> float:
    """A time limit of at least a second (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (1 <= value <= 24 * 3600):
        raise argparse.ArgumentTypeError(f"seconds from 1 to 86400, got {text!r}")
    return value


def _territory(args) -> int:
    from routing.io import cycle_from_dict, read_json, write_json
    from routing.territory import balance, outlines, outlines_geojson, owners, workloads

    stores, reps, policy = load_inputs(args.stores, args.reps, args.policy)
    try:
        cycle, routes, unassigned = cycle_from_dict(read_json(args.plan))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError([InputProblem(str(args.plan), None, None, f"not a readable cycle plan: {type(exc).__name__}: {exc}")]) from None
    loads = workloads(routes, unassigned, stores, reps, policy, cycle)
    print(f"Cycle {cycle.start} + {cycle.weeks} weeks: routed workload per rep (hours)")
    print(f"{'rep':<8} {'stores':>6} {'visits':>6} {'service':>8} {'travel':>7} {'wait':>6} {'work':>7} {'days':>5} "
          f"{'available':>9} {'beyond':>7}")
    for w in loads:
        print(f"{w.rep_id:<8} {w.stores:>6} {w.visits:>6} {w.service_h:>8.1f} {w.travel_h:>7.1f} {w.wait_h:>6.1f} "
              f"{w.work_h:>7.1f} {w.days_used:>5} {w.available_h:>9.1f} {w.beyond_h:>7.1f}")
    b = balance(loads)
    ratio = "-" if b.ratio is None else f"{b.ratio:.2f}"
    print(f"Balance (service + travel): busiest {b.max_h:.1f} h, idlest {b.min_h:.1f} h, ratio {ratio}, "
          f"coefficient of variation {b.cv_pct:.1f} %")
    if args.geojson:
        write_json(outlines_geojson(outlines(stores, reps, owners(stores, routes)), loads), args.geojson)
        print(f"Territory outlines GeoJSON: {args.geojson}")
    if args.headcount:
        from routing.territory import headcount, routed_headcount

        print(f"Headcount: about {headcount(loads)} reps (estimate); routing team sizes for at most {args.headcount:g} s...")
        found = routed_headcount(stores, reps, policy, cycle, _travel(args, stores, reps, policy)[0], owners(stores, routes), loads,
                                 time_limit_s=args.headcount, progress=lambda size, _: print(f"  a team of {size}...", flush=True))
        for t in found.tries:
            verdict = ("fit" if t.fits else f"{t.missing} visit{'s' if t.missing != 1 else ''} ({t.beyond_h:.1f} h) "
                       f"do{'es' if t.missing == 1 else ''} not fit" if t.missing >= 0
                       else f"no assignment found in time ({t.status})")
            print(f"  {t.reps:>3} reps: {verdict}, coefficient of variation {t.cv_pct:.1f} %")
        if found.reps is None:
            print("No team size tried fits every visit: give the search more time.")
        else:
            print(f"{found.reps} reps fit every required visit" + ("" if found.settled else
                  f" (fewer not tried in the time: {found.reps - 1} might fit)"))
    return 0


def _routes_of(raw: dict):
    from zoneinfo import ZoneInfo

    from routing.io import route_from_dict

    zone = ZoneInfo(raw["time_zone"])
    return [route_from_dict(r, zone) for r in raw.get("routes", [])]


def _stderr_handler() -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    logging.addLevelName(logging.WARNING, "warning")
    return handler


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    logging.getLogger("fieldroute").handlers[:] = [_stderr_handler()]
    logging.getLogger("fieldroute").propagate = False
    from routing.roads import RoadNetworkError

    if args.command in ("serve", "worker", "db", "token", "visits"):
        from .serve import run

        return run(args)
    try:
        if args.command == "solve-day":
            return _solve_and_write(args, args.stores, args.reps, args.policy, args.out, args.map)
        if args.command == "check":
            return _check(args)
        if args.command == "plan-cycle":
            return _plan_cycle(args, args.stores, args.reps, args.policy, args.out, args.maps)
        if args.command == "plan-fleet":
            return _plan_fleet(args)
        if args.command == "replan":
            return _replan(args)
        if args.command == "territory":
            return _territory(args)
        out = args.out_dir
        inputs = (DEMO_DIR / "stores.csv", DEMO_DIR / "reps.csv", DEMO_DIR / "policy.toml")
        day = _solve_and_write(args, *inputs, out / "plan.json", out / "plan.html")
        if day or args.day_only:
            return day
        print()
        args.start, args.weeks, args.holidays = _date(DEMO_CYCLE_START), 4, frozenset()
        args.time_limit = args.cycle_time_limit
        return _plan_cycle(args, *inputs, out / "cycle.json", out / "cycle")
    except InputError as exc:
        print(f"Input rejected ({len(exc.problems)} problem(s)); nothing was planned:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except RoadNetworkError as exc:
        print(f"Road network rejected: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
