"""Solomon VRPTW benchmark for the routing core.

Solves the 56 Solomon instances (100 customers) with Fieldroute's OR-Tools core, minimising
total distance with up to 25 vehicles, checks every solution with the independent checker,
and prints instance, distance, vehicles, gap to the distance-only best-known, seconds.

    python bench/solomon.py --instances C101,R201 --time-limit 10 --json out/solomon.json

Conventions (as in the data's README): real Euclidean distances, travel time = distance,
windows on the start of service, back at the depot by its due date. The solver works in
integer hundredths (travel rounded up, so a solution feasible for it is feasible for the
real values) and the reported distance is re-computed with real-valued arithmetic.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import table  # noqa: E402
from routing import vrptw  # noqa: E402
from routing.check import RepRule, StoreRule, check_routes  # noqa: E402
from routing.timing import build_route, time_route  # noqa: E402
from routing.travel import TravelMatrix  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "bench" / "solomon"
SCALE = 100  # solver time unit = 1/100 of a Solomon unit


@dataclass(frozen=True)
class Instance:
    name: str
    vehicles: int
    capacity: int
    xy: np.ndarray  # row 0 = depot
    demand: np.ndarray
    ready: np.ndarray
    due: np.ndarray
    service: np.ndarray


def read_instance(path: Path) -> Instance:
    """Read the standard Solomon text format."""
    lines = [line.split() for line in path.read_text().splitlines()]
    vehicles, capacity = next((int(a), int(b)) for a, b, *_ in (l for l in lines if len(l) == 2 and l[0].isdigit()))
    rows = np.array([[float(x) for x in l] for l in lines if len(l) == 7 and l[0].isdigit()])
    return Instance(path.stem, vehicles, capacity, rows[:, 1:3], rows[:, 3].astype(int), rows[:, 4], rows[:, 5], rows[:, 6])


def euclid(inst: Instance) -> np.ndarray:
    d = inst.xy[:, None, :] - inst.xy[None, :, :]
    return np.sqrt((d**2).sum(axis=2))


def build(inst: Instance) -> tuple[vrptw.Problem, dict]:
    """The instance as a routing-core problem, plus the checker's rules."""
    dist = euclid(inst)
    keys = ["depot"] + [f"c{i}" for i in range(1, len(inst.xy))]
    seconds = np.ceil(dist * SCALE - 1e-9).astype(np.int64)
    metres = np.rint(dist * 1000).astype(np.int64)  # cost: thousandths, for a precise objective
    matrix = TravelMatrix(keys, seconds, metres, source="euclidean")
    horizon = int(inst.due[0] * SCALE)
    jobs = [
        vrptw.Job(
            key=keys[i],
            place=keys[i],
            windows=((int(inst.ready[i] * SCALE), int(inst.due[i] * SCALE)),),
            service_s=int(inst.service[i] * SCALE),
            demand=int(inst.demand[i]),
        )
        for i in range(1, len(keys))
    ]
    vehicles = [
        vrptw.Vehicle(key=f"v{k}", start="depot", end="depot", earliest_s=0, latest_s=horizon, capacity=inst.capacity)
        for k in range(min(inst.vehicles, 25))
    ]
    problem = vrptw.Problem(jobs=jobs, vehicles=vehicles, matrix=matrix, cost="metres")
    stores = {j.key: StoreRule(((j.windows[0][0], j.windows[0][1] + j.service_s),), j.service_s, j.demand) for j in jobs}
    reps = {v.key: RepRule("depot", "depot", 0, horizon, capacity=inst.capacity) for v in vehicles}
    return problem, {"stores": stores, "reps": reps}


def stops_of(problem: vrptw.Problem, solution: vrptw.Solution, date: str):
    """The solution's routes as timed stops (``routing.timing.time_route``), for the checker."""
    jobs = {j.key: j for j in problem.jobs}
    vehicles = {v.key: v for v in problem.vehicles}
    out = []
    for vr in solution.routes:
        order = [jobs[k] for k in vr.jobs]
        timing = time_route(vehicles[vr.vehicle], order, problem.matrix)
        if timing is None:
            raise AssertionError(f"route {vr.vehicle} breaks a window or the horizon")
        out.append(build_route(vehicles[vr.vehicle], order, timing, date=date, travel=problem.matrix))
    return out


def solve_instance(path: Path, time_limit: float, seed: int = 0, search: vrptw.Search | None = None) -> dict:
    inst = read_instance(path)
    problem, rules = build(inst)
    started = time.perf_counter()
    solution = vrptw.solve(problem, time_limit_s=time_limit, seed=seed, search=search or vrptw.Search())
    seconds = time.perf_counter() - started
    service = {j.key: j.service_s for j in problem.jobs}
    routes = stops_of(problem, solution, "solomon")
    violations = check_routes(routes, [], rules["stores"], rules["reps"], problem.matrix, requested=list(service))
    dist = euclid(inst)
    index = {k: i for i, k in enumerate(problem.matrix.keys)}
    distance = 0.0
    for vr in solution.routes:
        path_nodes = [0] + [index[k] for k in vr.jobs] + [0]
        distance += sum(dist[a, b] for a, b in zip(path_nodes, path_nodes[1:]))
    return {
        "instance": inst.name,
        "distance": round(distance, 2),
        "vehicles": len(solution.routes),
        "feasible": not violations and not solution.dropped,
        "violations": [str(v) for v in violations[:5]],
        "seconds": round(seconds, 2),
        "time_limit_s": time_limit,
        "seed": seed,
        "workers": (search or vrptw.Search()).workers,
        "lns": (search or vrptw.Search()).lns,
    }


def best_known(data: Path) -> dict[str, float]:
    with open(data / "bks_distance_only.csv", newline="") as f:
        return {row["instance"]: float(row["distance"]) for row in csv.DictReader(f)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", help="comma-separated names (default: all 56)")
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per instance (default 10)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"instance folder (default {DEFAULT_DATA})")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="instances solved at once (each solve is single-threaded)")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="multi-start: searches per instance run at once in separate processes, best kept "
        "(vrptw.Search.workers; needs jobs x workers free cores, default 1)",
    )
    parser.add_argument(
        "--lns",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="ruin-and-recreate loop around OR-Tools (vrptw.Search.lns; default: Search's default, on)",
    )
    parser.add_argument(
        "--search", type=json.loads, default={}, help='other vrptw.Search fields as JSON, e.g. \'{"lns_inner_s": 0.5}\''
    )
    args = parser.parse_args(argv)

    bks = best_known(args.data)
    names = args.instances.split(",") if args.instances else sorted(bks)
    paths = [args.data / f"{n}.txt" for n in names]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        parser.error(f"no such instance file: {', '.join(missing)}")

    search = vrptw.Search(workers=args.workers, **({} if args.lns is None else {"lns": args.lns}), **args.search)
    return table.run(
        solve_instance, paths, (args.time_limit, args.seed, search), jobs=args.jobs, bks=bks,
        cost_key="distance", json_path=args.json,
        columns=[("limit_s", "time_limit_s", ">7g"), ("distance", "distance", ">9.2f"), ("veh", "vehicles", ">4"),
                 ("seconds", "seconds", ">7.2f")],
    )


if __name__ == "__main__":
    sys.exit(main())
