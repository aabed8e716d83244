"""Periodic VRP benchmark for the cycle planner's core (``routing.periodic``).

Solves the Cordeau-Gendreau-Laporte PVRP instances (p01-p32, pr01-pr10): every customer is
visited on one of its allowed day combinations, m identical vehicles a day with capacity Q
and (pr instances) route duration D. Each solution is checked here, independently of the
solver, and its cost recomputed in real-valued Euclidean distance (service is not cost, as
in the data's README); the table gives the gap to ``bks.csv``.

    python bench/pvrp.py --instances p01,p02 --time-limit 60 --jobs 2 --json out/pvrp.json
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
from routing import periodic  # noqa: E402
from routing.travel import TravelMatrix  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "bench" / "pvrp"
TIME_SCALE = 100  # solver time unit = 1/100 of an instance unit, travel rounded up
COST_SCALE = 1000  # solver cost unit = 1/1000 of an instance unit


@dataclass(frozen=True)
class Instance:
    name: str
    vehicles: int  # per day
    days: int
    duration: tuple[float, ...]  # per day, 0 = no limit
    capacity: tuple[int, ...]  # per day
    xy: np.ndarray  # row 0 = depot
    service: np.ndarray
    demand: np.ndarray
    combos: tuple[tuple[tuple[int, ...], ...], ...]  # per node (depot: empty): allowed day sets


def decode(value: int, days: int) -> tuple[int, ...]:
    """A combination's decimal code as 0-based days (day 1 is the leftmost of ``days`` bits)."""
    return tuple(k for k in range(days) if value >> (days - 1 - k) & 1)


def read_instance(path: Path) -> Instance:
    """Read Cordeau's format (see the data's README)."""
    lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    _, m, n, t = map(int, lines[0])
    limits = [(float(a), int(b)) for a, b in lines[1 : 1 + t]]
    nodes = lines[1 + t : 2 + t + n]
    xy = np.array([[float(r[1]), float(r[2])] for r in nodes])
    service = np.array([float(r[3]) for r in nodes])
    demand = np.array([int(r[4]) for r in nodes])
    combos = []
    for r in nodes:
        count = int(r[6])
        combos.append(tuple(decode(int(v), t) for v in r[7 : 7 + count]))
    return Instance(path.stem, m, t, tuple(a for a, _ in limits), tuple(b for _, b in limits), xy, service, demand, tuple(combos))


def euclid(xy: np.ndarray) -> np.ndarray:
    d = xy[:, None, :] - xy[None, :, :]
    return np.sqrt((d**2).sum(axis=2))


def build(inst: Instance) -> periodic.Problem:
    dist = euclid(inst.xy)
    keys = ["depot"] + [f"c{i}" for i in range(1, len(inst.xy))]
    matrix = TravelMatrix(
        keys,
        np.ceil(dist * TIME_SCALE - 1e-9).astype(np.int64),
        np.rint(dist * COST_SCALE).astype(np.int64),
        source="euclidean",
    )
    clients = [
        periodic.Client(keys[i], keys[i], inst.combos[i], int(inst.demand[i]), int(round(inst.service[i] * TIME_SCALE)))
        for i in range(1, len(keys))
    ]
    days = [
        [
            periodic.Vehicle(f"d{d}v{k}", "depot", "depot", capacity=inst.capacity[d],
                             max_duration_s=int(inst.duration[d] * TIME_SCALE) if inst.duration[d] > 0 else None)
            for k in range(inst.vehicles)
        ]
        for d in range(inst.days)
    ]
    return periodic.Problem(clients, days, matrix, cost="metres")


def verify(inst: Instance, solution: periodic.Solution) -> tuple[float, list[str]]:
    """Real-valued cost and every broken rule, from the instance alone."""
    dist = euclid(inst.xy)
    problems: list[str] = []
    visits: dict[int, list[int]] = {i: [] for i in range(1, len(inst.xy))}
    cost = 0.0
    for d, routes in enumerate(solution.routes):
        if len(routes) > inst.vehicles:
            problems.append(f"day {d + 1}: {len(routes)} routes for {inst.vehicles} vehicles")
        for vehicle, keys in routes.items():
            nodes = [int(k[1:]) for k in keys]
            path = [0, *nodes, 0]
            travel = sum(dist[a, b] for a, b in zip(path, path[1:]))
            cost += travel
            load = int(sum(inst.demand[i] for i in nodes))
            if load > inst.capacity[d]:
                problems.append(f"day {d + 1} {vehicle}: load {load} > {inst.capacity[d]}")
            duration = travel + sum(inst.service[i] for i in nodes)
            if inst.duration[d] > 0 and duration > inst.duration[d] + 1e-6:
                problems.append(f"day {d + 1} {vehicle}: duration {duration:.2f} > {inst.duration[d]:g}")
            for i in nodes:
                visits[i].append(d)
    for i, days in visits.items():
        if tuple(sorted(days)) not in inst.combos[i]:
            problems.append(f"customer {i}: visited on days {[d + 1 for d in sorted(days)]}, not an allowed combination")
    return cost, problems


def solve_instance(path: Path, time_limit: float, seed: int = 0, search: periodic.Search | None = None) -> dict:
    inst = read_instance(path)
    started = time.perf_counter()
    solution = periodic.solve(build(inst), time_limit_s=time_limit, seed=seed, search=search or periodic.Search())
    seconds = time.perf_counter() - started
    cost, problems = verify(inst, solution)
    return {
        "instance": inst.name,
        "cost": round(cost, 2),
        "routes": sum(len(r) for r in solution.routes),
        "feasible": solution.feasible and not problems,
        "violations": problems[:5],
        "iterations": solution.iterations,
        "seconds": round(seconds, 2),
        "time_limit_s": time_limit,
        "seed": seed,
    }


def best_known(data: Path) -> dict[str, float]:
    with open(data / "bks.csv", newline="") as f:
        return {row["instance"]: float(row["bks_cost"]) for row in csv.DictReader(f)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", help="comma-separated names (default: p01-p32)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per instance (default 60)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"instance folder (default {DEFAULT_DATA})")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="instances solved at once (each solve is single-threaded)")
    parser.add_argument("--search", type=json.loads, default={}, help='periodic.Search fields as JSON, e.g. \'{"release": 0.3}\'')
    args = parser.parse_args(argv)

    bks = best_known(args.data)
    names = args.instances.split(",") if args.instances else [f"p{i:02d}" for i in range(1, 33)]
    paths = [args.data / f"{n}.txt" for n in names]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        parser.error(f"no such instance file: {', '.join(missing)}")

    return table.run(
        solve_instance, paths, (args.time_limit, args.seed, periodic.Search(**args.search)), jobs=args.jobs, bks=bks,
        cost_key="cost", json_path=args.json,
        columns=[("limit_s", "time_limit_s", ">7g"), ("cost", "cost", ">10.2f"), ("routes", "routes", ">6"),
                 ("iters", "iterations", ">7"), ("seconds", "seconds", ">7.2f")],
    )


if __name__ == "__main__":
    sys.exit(main())
