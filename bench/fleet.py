"""A generated country planned territory by territory (``routing.fleet``).

Cities of synthetic territories (``bench.synthetic``) side by side, 1 degree of longitude apart,
every store owned by a rep. Three parts:

(a) the same fleet on the process pool and on a local two-node Ray cluster (one CPU each,
    127.0.0.1) with the same seeds and solution limits: wall times, Ray's overhead, identical plans;
(b) the country once on the pool with a time limit per territory: wall time, per-territory
    seconds (median, p95), the workers' peak memory, visits planned and missing, the checker's
    verdict, and missing visits against a longer run of a sample of territories;
(c) the wall time for N workers, extrapolated from the per-territory times by scheduling them
    longest first (a simulation, not a run).

    python bench/fleet.py --stores 5000 --reps 50 --country-stores 20000 --country-reps 200 --json out/fleet.json
"""

from __future__ import annotations

import argparse
import dataclasses
import heapq
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.synthetic import synthetic_cycle  # noqa: E402
from routing.fleet import FleetParams, LocalPool, RayCluster, plan_fleet  # noqa: E402

CITY_STORES = 1000  # stores per generated city (its reps in proportion)


def country(n_stores: int, n_reps: int, weeks: int, seed: int = 0):
    """Cities of ``CITY_STORES`` stores each, ids unique, every store owned."""
    stores, reps = [], []
    cities = max(1, round(n_stores / CITY_STORES))
    cycle = policy = None
    for c in range(cities):
        s_n = n_stores // cities + (1 if c < n_stores % cities else 0)
        r_n = n_reps // cities + (1 if c < n_reps % cities else 0)
        city_stores, city_reps, policy, cycle = synthetic_cycle(s_n, r_n, seed=seed + c, weeks=weeks, owners=True)
        shift = c * 1.0  # a degree of longitude apart: separate cities

        def moved(x, prefix):
            fields = {"lon": round(x.lon + shift, 6)} if hasattr(x, "lon") else {}
            if hasattr(x, "start_lon"):
                fields = {"start_lon": round(x.start_lon + shift, 6), "end_lon": round(x.end_lon + shift, 6)}
            return dataclasses.replace(x, id=f"{prefix}{x.id}", **fields)

        reps += [moved(r, f"C{c:02d}") for r in city_reps]
        stores += [dataclasses.replace(moved(s, f"C{c:02d}"), rep_id=f"C{c:02d}{s.rep_id}") for s in city_stores]
    return stores, reps, policy, cycle


def _ray_cluster():
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # every address 127.0.0.1
    import ray
    from ray.cluster_utils import Cluster

    node = {"num_cpus": 1, "object_store_memory": 100 * 2**20}
    cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    cluster.add_node(**node)
    ray.init(address=cluster.address, log_to_driver=False, configure_logging=False)
    return cluster


def _lpt(times: list[float], workers: int) -> float:
    """The makespan of the times on ``workers``, longest first to the least loaded (a simulation)."""
    loads = [0.0] * workers
    for t in sorted(times, reverse=True):
        heapq.heappush(loads, heapq.heappop(loads) + t)
    return max(loads)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=5000, help="(a) the fleet's stores (default 5000)")
    parser.add_argument("--reps", type=int, default=50, help="(a) its reps (default 50)")
    parser.add_argument("--solution-limit", type=int, default=2, help="(a) each territory's solution limit (default 2)")
    parser.add_argument("--country-stores", type=int, default=20000, help="(b) the country's stores (default 20000)")
    parser.add_argument("--country-reps", type=int, default=200, help="(b) its reps (default 200)")
    parser.add_argument("--per-territory", type=float, default=30.0, help="(b) seconds per territory (default 30)")
    parser.add_argument("--long", type=float, default=120.0, help="(b) seconds per territory of the longer sample run")
    parser.add_argument("--sample", type=int, default=10, help="(b) territories in the longer sample run (default 10)")
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--skip", default="", help="parts to skip, e.g. 'a' or 'b'")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    out: dict = {}

    if "a" not in args.skip:
        stores, reps, policy, cycle = country(args.stores, args.reps, args.weeks)
        params = FleetParams(time_limit_s=3600 * len(reps), min_task_s=60, solution_limit=args.solution_limit, seed=1)
        t = time.perf_counter()
        pooled = plan_fleet(stores, reps, policy, cycle, params=params, executor=LocalPool(args.workers))
        pool_s = time.perf_counter() - t
        print(f"    pool done in {pool_s:.1f} s; starting a two-node Ray cluster ...", file=sys.stderr, flush=True)
        cluster = _ray_cluster()
        try:
            t = time.perf_counter()
            on_ray = plan_fleet(stores, reps, policy, cycle, params=params, executor=RayCluster(cluster.address))
            ray_s = time.perf_counter() - t
        finally:
            import ray

            ray.shutdown()
            cluster.shutdown()
        same = on_ray.routes == pooled.routes and on_ray.unassigned == pooled.unassigned
        out |= {"wall_s_pool": round(pool_s, 1), "wall_s_ray": round(ray_s, 1),
                "ray_overhead_pct": round(100 * (ray_s - pool_s) / pool_s, 1), "identical_plans": same}
        print(f"(a) {len(stores)} stores, {len(reps)} reps, {args.weeks} weeks, solution limit {args.solution_limit}")
        print(f"    pool ({args.workers} workers) {pool_s:8.1f} s")
        print(f"    Ray (2 nodes x 1 CPU)   {ray_s:8.1f} s   overhead {out['ray_overhead_pct']:+.1f} %   identical plans: {same}")

    if "b" not in args.skip:
        stores, reps, policy, cycle = country(args.country_stores, args.country_reps, args.weeks)
        n = len(reps)
        params = FleetParams(time_limit_s=args.per_territory * n, min_task_s=args.per_territory / 2, seed=1)
        t = time.perf_counter()
        plan = plan_fleet(stores, reps, policy, cycle, params=params, executor=LocalPool(args.workers))
        wall = time.perf_counter() - t
        times = [x.wall_s for x in plan.territories]
        visits = sum(len(r.visits) for r in plan.routes)
        sample_ids = {r.id for r in reps[:: max(1, n // args.sample)][: args.sample]}
        sample_stores = [s for s in stores if s.rep_id in sample_ids]
        sample_reps = [r for r in reps if r.id in sample_ids]
        long = plan_fleet(sample_stores, sample_reps, policy, cycle, executor=LocalPool(args.workers),
                          params=FleetParams(time_limit_s=args.long * len(sample_reps), min_task_s=args.long, seed=1))
        short_missing = sum(len(x.unassigned) for x in plan.territories if x.key in sample_ids)
        long_missing = len(long.unassigned)
        out |= {"wall_s_country": round(wall, 1), "territory_s_median": round(statistics.median(times), 1),
                "territory_s_p95": round(sorted(times)[int(0.95 * (len(times) - 1))], 1),
                "worker_peak_mb": round(max(x.worker_peak_mb for x in plan.territories), 1),
                "visits": visits, "missing": len(plan.unassigned), "checker_ok": not plan.violations and not plan.failed,
                "missing_vs_long_pct": round(100 * (short_missing - long_missing) / max(1, visits / n * len(sample_reps)), 2),
                "extrapolated_32_workers_s": round(_lpt(times, 32), 1)}
        print(f"(b) {len(stores)} stores, {n} reps, {args.weeks} weeks, {args.per_territory:g} s a territory, "
              f"{args.workers} workers")
        print(f"    wall {wall:.1f} s; per territory median {out['territory_s_median']} s, p95 {out['territory_s_p95']} s; "
              f"worker peak {out['worker_peak_mb']} MB")
        print(f"    visits {visits}, missing {len(plan.unassigned)}; checker {'ok' if out['checker_ok'] else 'VIOLATIONS'}")
        print(f"    sample of {len(sample_reps)} territories at {args.long:g} s: missing {long_missing} against "
              f"{short_missing} ({out['missing_vs_long_pct']:+.2f} % of their visits)")
        print("(c) extrapolated from the per-territory times (a simulation, longest first):")
        for w in (2, 8, 32, 128):
            print(f"    {w:4d} workers {_lpt(times, w):8.1f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
