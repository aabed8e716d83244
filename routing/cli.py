"""The ``fieldroute`` command: solve a day, check a plan, run the demo."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from .check import check_plan
from .daily import day_matrix, solve_day
from .errors import InputError
from .io import load_inputs, plan_to_dict, read_plan, write_plan
from .model import SUMMARY_KEYS, DayPlan, SolveParams

DEMO_DIR = Path(__file__).resolve().parents[1] / "data" / "demo"
DEMO_DATE = "2026-12-03"


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _inputs(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("--stores", type=Path, required=required, help="stores CSV or GeoJSON")
    parser.add_argument("--reps", type=Path, required=required, help="reps CSV")
    parser.add_argument("--policy", type=Path, required=required, help="policy TOML or JSON")


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
    _solve_options(p, 10.0)
    p.add_argument("--out", type=Path, help="write the plan JSON here")
    p.add_argument("--map", type=Path, help="write the HTML route map here")

    p = sub.add_parser("check", help="check a plan against its inputs (exit 1 on violations)")
    _inputs(p)
    p.add_argument("--plan", type=Path, required=True, help="plan JSON")

    p = sub.add_parser("demo", help="plan a day for the built-in demo team")
    p.add_argument("--date", type=_date, default=_date(DEMO_DATE), help=f"YYYY-MM-DD (default {DEMO_DATE})")
    p.add_argument("--out-dir", type=Path, default=Path("out/demo"), help="where to write (default out/demo)")
    _solve_options(p, 5.0)
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


def _solve_and_write(stores_path, reps_path, policy_path, date, params, out, map_path) -> int:
    stores, reps, policy = load_inputs(stores_path, reps_path, policy_path)
    print(f"Solving {date}: {len(stores)} stores, {len(reps)} reps, time limit {params.time_limit_s:g} s ...", file=sys.stderr, flush=True)
    travel = day_matrix(stores, reps, policy)
    plan = solve_day(date, stores, reps, policy, travel=travel, params=params)
    violations = check_plan(plan, stores, reps, policy, travel)
    _print_plan(plan)
    if out:
        write_plan(plan, out)
        print(f"Plan JSON: {out}")
    if map_path:
        from maps.routes import save_route_map

        save_route_map(plan, stores, reps, map_path)
        print(f"Route map: {map_path}")
    if violations:
        print("The independent checker found violations (a bug; please report it):", file=sys.stderr)
        for v in violations:
            print(f"  {v}", file=sys.stderr)
        return 3
    print("Checked: every visit is on a route or unassigned with a reason; all times hold.")
    return 0


def _check(args) -> int:
    stores, reps, policy = load_inputs(args.stores, args.reps, args.policy)
    plan, raw = read_plan(args.plan)
    violations = [str(v) for v in check_plan(plan, stores, reps, policy, day_matrix(stores, reps, policy))]
    derived = plan_to_dict(plan)
    for stored, fresh in zip(raw.get("routes", []), derived["routes"]):
        for key in SUMMARY_KEYS:
            if key in stored.get("summary", {}) and stored["summary"][key] != fresh["summary"][key]:
                violations.append(f"summary: rep {fresh['rep_id']}: {key} is {stored['summary'][key]}, the stops give {fresh['summary'][key]}")
    if violations:
        print(f"{len(violations)} violation(s):")
        for v in violations:
            print(f"  {v}")
        return 1
    print("ok")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "solve-day":
            return _solve_and_write(args.stores, args.reps, args.policy, args.date, _params(args), args.out, args.map)
        if args.command == "check":
            return _check(args)
        out = args.out_dir
        return _solve_and_write(
            DEMO_DIR / "stores.csv", DEMO_DIR / "reps.csv", DEMO_DIR / "policy.toml", args.date, _params(args), out / "plan.json", out / "plan.html"
        )
    except InputError as exc:
        print(f"Input rejected ({len(exc.problems)} problem(s)); nothing was planned:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
