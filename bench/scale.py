"""Scale benchmark: large synthetic days and cycles, against their time limits and memory.

    python bench/scale.py [--cases day-1000,cycle-1000] [--limit-scale 1] [--seed 0] [--json FILE]

Each case is a synthetic territory (``bench/synthetic.py``: a 15-25 km city, classes A-D,
mixed opening hours, straight-line travel) solved in a fresh process, one case at a time,
so that the peak memory (``ru_maxrss`` of that process, read after the solve) is the case's
own. ``wall_s`` times the ``solve_day``/``plan_cycle`` call only (the travel matrix is built
before it); the independent checker is timed apart (``check_s``). A case still running
``5 x limit + 60`` s after it started is killed and reported as a timeout.

Besides the checker's verdict each case reports the bar's conditions, read off the
checker's proofs: ``idle`` = working reps (cycle: rep-days) without a route while a visit
left out that date fits their empty day; ``fits`` = visits left out (cycle: reported
missing) that fit a route of their date, as it is or instead of lower-priority visits.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import table  # noqa: E402


@dataclass(frozen=True)
class Case:
    name: str
    kind: str  # "day" or "cycle"
    stores: int
    reps: int
    limit_s: float
    owners: bool = False
    weeks: int = 4


CASES = {
    c.name: c
    for c in (
        Case("day-100", "day", 100, 2, 5),
        Case("day-300", "day", 300, 4, 10),
        Case("day-1000", "day", 1000, 12, 20),  # the bar: within 22 s, under 1 GB
        Case("day-2000", "day", 2000, 25, 30),
        Case("cycle-600", "cycle", 600, 6, 60, owners=True),
        Case("cycle-1000", "cycle", 1000, 12, 60, owners=False),  # the bar: within 66 s
        Case("cycle-2000", "cycle", 2000, 20, 120, owners=True),
    )
}

def hard_timeout_s(limit_s: float) -> float:
    """When a case is killed: five times its limit plus a minute."""
    return 5 * limit_s + 60


# --- the child process ----------------------------------------------------------------


def run_case(case: Case, limit_s: float, seed: int, conn) -> None:
    """Generate, solve, check and measure one case; send records to ``conn`` as they are
    ready (a "solved" record first, so a checker that never ends still leaves the numbers)."""
    try:
        conn.send(("solved", _solve_and_measure(case, limit_s, seed, conn)))
    except BaseException:  # noqa: BLE001 - reported to the parent, which prints it
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def _solve_and_measure(case: Case, limit_s: float, seed: int, conn) -> dict:
    from bench.synthetic import synthetic_cycle, synthetic_day
    from routing.check import check_cycle, check_plan
    from routing.cycle import plan_cycle
    from routing.daily import day_matrix, solve_day
    from routing.model import SolveParams

    params = SolveParams(time_limit_s=limit_s, seed=seed)
    if case.kind == "day":
        stores, reps, policy, date = synthetic_day(case.stores, case.reps, seed, owners=case.owners)
        dates = [date]
    else:
        stores, reps, policy, cycle = synthetic_cycle(case.stores, case.reps, seed, weeks=case.weeks, owners=case.owners)
        dates = [d for d in cycle.dates if d not in cycle.holidays]
    started = time.perf_counter()
    travel = day_matrix(stores, reps, policy)
    matrix_s = time.perf_counter() - started

    started = time.perf_counter()
    if case.kind == "day":
        plan = solve_day(date, stores, reps, policy, travel=travel, params=params)
    else:
        plan = plan_cycle(stores, reps, policy, cycle, travel=travel, params=params)
    wall_s = time.perf_counter() - started
    peak_mb = _peak_mb()

    by_store = {s.id: s for s in stores}
    routes = [r for r in plan.routes if r.visits]
    rep_days_working = sum(1 for r in reps for d in dates if r.works_on(d))
    record = {
        "case": case.name, "kind": case.kind, "stores": case.stores, "reps": case.reps, "owners": case.owners,
        "limit_s": limit_s, "wall_s": round(wall_s, 2), "over_s": round(max(0.0, wall_s - limit_s), 2),
        "peak_mb": peak_mb, "matrix_s": round(matrix_s, 2),
        "requested": len(stores) if case.kind == "day" else _required(stores, policy, cycle),
        "routed": sum(len(r.visits) for r in routes),
        "unassigned": _count(by_store[u.store_id].store_class for u in plan.unassigned),
        "unassigned_by_reason": _count(u.reason for u in plan.unassigned),
        "reps_used": len({r.rep_id for r in routes}),
        "reps_working": sum(1 for r in reps if any(r.works_on(d) for d in dates)),
        "rep_days_used": len(routes), "rep_days_working": rep_days_working,
        "status": "solved",
    }
    conn.send(("partial", record))

    started = time.perf_counter()
    if case.kind == "day":
        violations = check_plan(plan, stores, reps, policy, travel)
    else:
        violations = check_cycle(plan.routes, plan.unassigned, stores, reps, policy, cycle, travel)
    record["check_s"] = round(time.perf_counter() - started, 2)
    record["checker_ok"] = not violations
    record["violations"] = [v.code for v in violations]
    record["violations_first"] = [str(v) for v in violations[:5]]
    record["peak_mb_with_check"] = _peak_mb()
    conn.send(("partial", record))

    started = time.perf_counter()
    record |= _bar(plan, violations, dates[0].isoformat() if case.kind == "day" else None)
    record["bar_s"] = round(time.perf_counter() - started, 2)
    record["status"] = "ok" if record["checker_ok"] else "violations"
    return record


def _required(stores, policy, cycle) -> int:
    from routing.calendar import required_visits

    return sum(required_visits(policy.classes[s.store_class], cycle.weeks) for s in stores)


def _count(items) -> dict[str, int]:
    return dict(sorted(Counter(items).items()))


# --- the bar: idle reps, and left-out visits that fit -----------------------------------


def _bar(plan, violations, date) -> dict:
    """From the checker's proofs: ``idle`` = (rep, date)s without a route while a visit
    left out that date fits their empty day; ``fits`` = visits left out (a day) or reported
    missing (a cycle) that fit a route of their date as it is, or instead of its
    lower-priority visits (``left_out_fits``, ``priority_inversion``)."""
    used = {(r.rep_id, r.date) for r in plan.routes if r.visits}
    found = [(v, v.date or date) for v in violations if v.code in ("left_out_fits", "priority_inversion")]
    idle = {(v.rep_id, d) for v, d in found if v.code == "left_out_fits" and (v.rep_id, d) not in used}
    fits = sorted({(v.store_id, d) for v, d in found})
    return {"idle": len(idle), "fits": len(fits), "fits_first": [f"{s}@{d}" for s, d in fits[:5]]}


# --- the parent: one process per case -------------------------------------------------


def run(case: Case, limit_s: float, seed: int) -> dict:
    """Run one case in a fresh (spawned) process; kill it at the hard timeout."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=run_case, args=(case, limit_s, seed, child), name=f"scale-{case.name}")
    started = time.perf_counter()
    proc.start()
    child.close()
    deadline = started + hard_timeout_s(limit_s)
    record = {"case": case.name, "kind": case.kind, "stores": case.stores, "reps": case.reps, "limit_s": limit_s,
              "wall_s": None, "peak_mb": None, "routed": None, "unassigned": {}, "checker_ok": False, "violations": [],
              "reps_used": None, "reps_working": None, "check_s": None, "status": "timeout"}
    finished, hwm_mb = False, None
    while not finished:
        hwm_mb = _vm_hwm_mb(proc.pid) or hwm_mb
        left = deadline - time.perf_counter()
        if left <= 0 or not parent.poll(min(left, 1.0)):
            if left <= 0:
                break
            if not proc.is_alive() and not parent.poll():
                record["status"] = f"crashed (exit code {proc.exitcode})"
                break
            continue
        try:
            kind, payload = parent.recv()
        except EOFError:
            record["status"] = f"crashed (exit code {proc.exitcode})"
            break
        if kind == "partial":
            record |= payload
        elif kind == "solved":
            record |= payload
            finished = True
        else:
            record["status"] = "error"
            record["error"] = payload
            finished = True
    if proc.is_alive() and not finished:
        proc.kill()
        if record["status"] == "solved":  # killed while checking or measuring the bar
            record["status"] = "timeout (check)" if record.get("check_s") is None else "timeout (bar)"
        elif record["status"] != "error" and not record["status"].startswith("crashed"):
            record["status"] = "timeout"
            record["killed_after_s"] = round(time.perf_counter() - started, 1)  # the solve took at least this long
            record["wall_s"] = record["killed_after_s"]
            record["peak_mb"] = hwm_mb  # the process's peak so far (/proc VmHWM)
        record["checker_ok"] = False if record.get("check_s") is None else record["checker_ok"]
    proc.join(10)
    record["hard_timeout_s"] = hard_timeout_s(limit_s)
    return record


def _vm_hwm_mb(pid: int | None) -> float | None:
    """Peak resident memory of a running process so far (Linux), in MB."""
    try:
        with open(f"/proc/{pid}/status") as f:
            kib = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
        return round(kib / 1024, 1)
    except (OSError, StopIteration, ValueError):
        return None


COLUMNS: list[table.Column] = [
    ("case", "case", "<10"), ("limit_s", "limit_s", ">7g"), ("wall_s", "wall_s", ">7.1f"), ("over_s", "over_s", ">6.1f"),
    ("peak_mb", "peak_mb", ">7.0f"), ("routed", "routed", ">6"), ("left_out", "left_out", ">8"),
    ("A/B/C/D out", "by_class", ">15"), ("reps", "reps", ">7"), ("idle", "idle", ">4"), ("fits", "fits", ">4"),
    ("check_s", "check_s", ">7.1f"),
]


def _cells(r: dict) -> dict:
    u = r.get("unassigned") or {}
    used = r.get("rep_days_used") if r["kind"] == "cycle" else r.get("reps_used")
    working = r.get("rep_days_working") if r["kind"] == "cycle" else r.get("reps_working")
    return r | {
        "left_out": sum(u.values()) if r.get("routed") is not None else None,
        "by_class": "/".join(str(u.get(c, 0)) for c in "ABCD") if r.get("routed") is not None else None,
        "reps": f"{used}/{working}" if used is not None else None,
    }


def _verdict(r: dict) -> str:
    if r["status"] == "ok":
        return "ok"
    if r["status"] == "timeout":
        return f"TIMEOUT: killed after {r['killed_after_s']:g} s (limit {r['limit_s']:g} s), peak so far {r['peak_mb']} MB"
    if r["status"] == "violations":
        codes = Counter(r["violations"])
        return f"{len(r['violations'])} violations: " + ", ".join(f"{c} x{n}" for c, n in codes.most_common(3))
    return r["status"].upper()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", help=f"comma-separated (default: all): {', '.join(CASES)}")
    parser.add_argument("--limit-scale", type=float, default=1.0, help="multiply every time limit (e.g. 0.3 for a quick run)")
    parser.add_argument("--seed", type=int, default=0, help="instance and solver seed")
    parser.add_argument("--json", type=Path, help="also write one record per case as JSON")
    args = parser.parse_args(argv)
    names = args.cases.split(",") if args.cases else list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)}; known: {', '.join(CASES)}")

    print(table.header(COLUMNS) + "  result", flush=True)
    results = []
    for name in names:
        case = CASES[name]
        r = run(case, round(case.limit_s * args.limit_scale, 3), args.seed)
        results.append(r)
        print(table.line(COLUMNS, _cells(r)) + f"  {_verdict(r)}", flush=True)
        if r.get("error"):
            print(r["error"], file=sys.stderr)
    print("\nwall_s: the solve call only; peak_mb: the case's process after the solve; left_out: unassigned "
          "visits (A/B/C/D); reps: used/working (cycle: rep-days); idle/fits: see the module docstring")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"seed": args.seed, "limit_scale": args.limit_scale, "cases": results}, indent=2))
    return 0 if all(r["status"] == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
