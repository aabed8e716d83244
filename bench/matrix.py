"""Road engines on a metro extract: the embedded scipy engine against OSRM, in the same run.

    python bench/matrix.py [--network ../shared/osm/porto.osm.pbf] [--engine scipy,osrm]
                           [--stores 2000] [--reps 20] [--time-limit 30] [--json FILE]

For each engine, each step in a fresh process on its own cache (so peak memory is the step's):
  1. cold: the one-time preprocessing (scipy: the graph from the .pbf; OSRM: osrm-extract and
     osrm-contract, each tool's time and peak memory);
  2. the whole day on the warm engine: load it, the day's matrix (a store set it has not seen),
     ``solve_day`` with the time limit; wall time and the process's peak RSS;
  3. matrices on the warm engine: the same 2,020 places, then a second store set, then the road
     lines of the day's routes (every leg, as a map or GeoJSON draws them).
Stores: the synthetic day (``bench.synthetic``, seeded) moved onto the extract and put where
OSRM joins each one to a road, so both engines get the same places on roads.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.synthetic import CENTRE_LAT, CENTRE_LON, synthetic_day  # noqa: E402
from routing.travel import Point, places_of  # noqa: E402

DEFAULT_NETWORK = ROOT.parent / "shared" / "osm" / "porto.osm.pbf"
#: Where the synthetic city goes on the extract (Porto's centre).
CENTRE = (41.16, -8.61)
SEEDS = {"day": 1, "second": 2}


def _engine(engine: str, network: Path, cache: Path):
    from routing import osrm, roads

    if engine == "osrm":
        return osrm.local(network, cache)
    return roads.build_road_network(network, cache_dir=cache)


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _team(seed: int, n_stores: int, n_reps: int, roads):
    """The synthetic day at ``CENTRE``, each store and home moved to where ``roads`` joins it."""
    stores, reps, policy, date = synthetic_day(n_stores, n_reps, seed=seed)

    def moved(lat: float, lon: float) -> Point:
        return Point(lat - CENTRE_LAT + CENTRE[0], lon - CENTRE_LON + CENTRE[1])

    points = {s.id: moved(s.lat, s.lon) for s in stores} | {r.id: moved(r.start_lat, r.start_lon) for r in reps}
    on_road = {snap.key: snap.road for snap in roads.snap(points)}
    stores = [replace(s, lat=round(on_road[s.id].lat, 6), lon=round(on_road[s.id].lon, 6)) for s in stores]
    reps = [replace(r, start_lat=round(on_road[r.id].lat, 6), start_lon=round(on_road[r.id].lon, 6),
                    end_lat=round(on_road[r.id].lat, 6), end_lon=round(on_road[r.id].lon, 6)) for r in reps]
    return stores, reps, policy, date


def step_cold(engine: str, network: Path, cache: Path, _teams) -> dict:
    started = time.perf_counter()
    if engine == "osrm":
        from routing import osrm

        prepared = osrm.prepare(network, cache)
        return {"prepare_s": round(time.perf_counter() - started, 2),
                "tools": [run.__dict__ for run in prepared.runs], "peak_mb": max(r.peak_mb for r in prepared.runs)}
    _engine(engine, network, cache)
    return {"prepare_s": round(time.perf_counter() - started, 2), "peak_mb": _peak_mb()}


def step_day(engine: str, network: Path, cache: Path, teams: dict) -> dict:
    from routing import roads as roads_module
    from routing.daily import solve_day
    from routing.model import SolveParams

    stores, reps, policy, date, limit = teams["day"]
    started = time.perf_counter()
    roads = _engine(engine, network, cache)
    loaded = time.perf_counter()
    travel = roads_module.road_matrix(roads, places_of(stores, reps), cache_dir=cache)
    matrix_done = time.perf_counter()
    plan = solve_day(date, stores, reps, policy, travel=travel, params=SolveParams(time_limit_s=limit, seed=0))
    ended = time.perf_counter()
    routes = [[r.rep_id, [s.store_id for s in r.visits]] for r in plan.routes if r.visits]
    return {"load_s": round(loaded - started, 2), "matrix_s": round(matrix_done - loaded, 2),
            "solve_s": round(ended - matrix_done, 2), "wall_s": round(ended - started, 2), "peak_mb": _peak_mb(),
            "visits": sum(len(r[1]) for r in routes), "routes": routes}


def step_matrices(engine: str, network: Path, cache: Path, teams: dict) -> dict:
    stores, reps, *_ = teams["day"]
    second_stores, second_reps, *_ = teams["second"]
    started = time.perf_counter()
    roads = _engine(engine, network, cache)
    out = {"load_s": round(time.perf_counter() - started, 3)}
    for name, places in (("matrix_s", places_of(stores, reps)), ("second_matrix_s", places_of(second_stores, second_reps))):
        started = time.perf_counter()
        roads.matrix(places)
        out[name] = round(time.perf_counter() - started, 2)
    where = {s.id: Point(s.lat, s.lon) for s in stores} | {r.id: Point(r.start_lat, r.start_lon) for r in reps}
    legs = [(where[a], where[b]) for rep, visits in teams["routes"] for a, b in zip([rep, *visits], [*visits, rep])]
    started = time.perf_counter()
    points = sum(len(roads.path(a, b)) for a, b in legs)
    out |= {"lines_s": round(time.perf_counter() - started, 2), "legs": len(legs), "line_points": points,
            "peak_mb": _peak_mb()}
    return out


STEPS = {"cold": step_cold, "day": step_day, "matrices": step_matrices}


def _child(args) -> int:
    """One step in this process: reads the teams from stdin, prints its result as JSON."""
    import pickle

    teams = pickle.load(sys.stdin.buffer)
    result = STEPS[args.step](args.engine_one, args.network, args.cache, teams)
    print(json.dumps(result))
    return 0


def _in_child(step: str, engine: str, network: Path, cache: Path, teams: dict) -> dict:
    import pickle

    started = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--step", step, "--engine-one", engine, "--network", str(network),
                           "--cache", str(cache)], input=pickle.dumps(teams), capture_output=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{engine} {step} failed:\n{done.stderr.decode()[-3000:]}")
    result = json.loads(done.stdout.decode().strip().splitlines()[-1])
    print(f"  {engine:<5} {step:<8} {time.perf_counter() - started:6.1f} s", flush=True)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--network", type=Path, default=DEFAULT_NETWORK)
    parser.add_argument("--engine", default="scipy,osrm", help="scipy, osrm or both (default scipy,osrm)")
    parser.add_argument("--stores", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--engine-one", help=argparse.SUPPRESS)
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.step:
        return _child(args)
    engines = [e.strip() for e in args.engine.split(",") if e.strip()]
    if not set(engines) <= {"scipy", "osrm"} or not engines:
        parser.error("--engine: scipy, osrm or scipy,osrm")
    if not args.network.is_file():
        parser.error(f"--network: {args.network} is not a file")

    work = Path(tempfile.mkdtemp(prefix="fieldroute-matrix-"))
    try:
        from routing import osrm

        print(f"placing {args.stores} stores and {args.reps} reps on {args.network.name} (OSRM snapping) ...", flush=True)
        placer = osrm.local(args.network, work / "placer")
        teams = {name: (*_team(seed, args.stores, args.reps, placer), args.time_limit) for name, seed in SEEDS.items()}
        results = {}
        for engine in engines:
            cache = work / engine
            cold = _in_child("cold", engine, args.network, cache, teams)
            day = _in_child("day", engine, args.network, cache, teams)
            matrices = _in_child("matrices", engine, args.network, cache, teams | {"routes": day.pop("routes")})
            results[engine] = {"cold": cold, "day": day, "matrices": matrices}
    finally:
        shutil.rmtree(work, ignore_errors=True)

    places = args.stores + 2 * args.reps
    rows = []
    for engine, r in results.items():
        tools = ", ".join(f"{t['tool']} {t['seconds']:.1f} s / {t['peak_mb']:.0f} MB" for t in r["cold"].get("tools", []))
        rows.append({
            "engine": engine,
            "preprocess": f"{r['cold']['prepare_s']:.1f} s / {r['cold']['peak_mb']:.0f} MB" + (f" ({tools})" if tools else ""),
            "load (warm)": f"{r['matrices']['load_s']:.2f} s",
            f"{places}-place matrix": f"{r['matrices']['matrix_s']:.2f} s",
            "second store set": f"{r['matrices']['second_matrix_s']:.2f} s",
            "road lines": f"{r['matrices']['lines_s']:.2f} s ({r['matrices']['legs']} legs)",
            "whole day": f"{r['day']['wall_s']:.1f} s (matrix {r['day']['matrix_s']:.1f} s, solve {r['day']['solve_s']:.1f} s)",
            "day peak RSS": f"{r['day']['peak_mb']:.0f} MB",
            "visits": r["day"]["visits"],
        })
    print(f"\n{args.network.name}, {args.stores} stores, {args.reps} reps, day limit {args.time_limit:g} s, "
          f"{os.cpu_count()} CPUs")
    for row in rows:
        print("\n".join(f"  {key:<22} {value}" for key, value in row.items()))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"network": args.network.name, "stores": args.stores, "reps": args.reps,
                                         "time_limit_s": args.time_limit, "engines": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
