"""Road-network matrix benchmark: time and peak memory for N x N travel times and distances.

    python bench/matrix.py [--sizes 100,500,2000] [--repeat 3] [--pbf FILE] [--json FILE]

Points are random positions along random drivable edges of the graph (seeded), snapped to
the network as stores would be. Each size is timed --repeat times; the table shows the
median. Baseline in the same run: the same Dijkstra searches on travel time alone
(scipy, no distances), which is what the combined time+distance weight has to beat.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from scipy.sparse.csgraph import dijkstra

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from routing.roads import _SPLIT, build_road_network  # noqa: E402
from routing.travel import Point  # noqa: E402

DEFAULT_PBF = ROOT / "data" / "osm" / "monaco.osm.pbf"


def random_points(network, n: int, seed: int) -> dict[str, Point]:
    rng = np.random.default_rng(seed)
    coo = network.graph.tocoo()
    picks = rng.integers(0, coo.nnz, n)
    t = rng.random(n)
    lat = network.lat[coo.row[picks]] * (1 - t) + network.lat[coo.col[picks]] * t
    lon = network.lon[coo.row[picks]] * (1 - t) + network.lon[coo.col[picks]] * t
    return {f"p{i}": Point(float(a), float(b)) for i, (a, b) in enumerate(zip(lat, lon))}


def measure(fn):
    tracemalloc.start()
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, seconds, peak / 2**20


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,500,2000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pbf", type=Path, default=DEFAULT_PBF)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    network = build_road_network(args.pbf)  # not traced: tracemalloc slows pyrosm/osmnx several times
    build_s = time.perf_counter() - started
    nodes, edges = network.size
    print(f"graph {args.pbf.name}: {nodes} nodes, {edges} directed edges, built in {build_s:.2f} s (no cache)")
    time_only = network.graph.copy()
    time_only.data = np.floor(time_only.data / _SPLIT)
    print(f"{'points':>6} {'unique':>6} {'matrix_s':>9} {'peak_MB':>8} {'time_only_s':>11} {'asym_%':>7}")
    rows = []
    for n in [int(x) for x in args.sizes.split(",")]:
        pts = random_points(network, n, seed=n)
        runs = [measure(lambda: network.matrix(pts)) for _ in range(args.repeat)]
        matrix = runs[0][0]
        unique = np.unique([s.node for s in network.snap(pts)])
        base = [measure(lambda: dijkstra(time_only, directed=True, indices=unique)[:, unique])[1] for _ in range(args.repeat)]
        sec = matrix.seconds_array
        asym = 100 * float(np.mean(np.abs(sec - sec.T) > 1))
        row = {
            "points": n, "unique_nodes": int(len(unique)),
            "matrix_s": round(statistics.median(r[1] for r in runs), 3),
            "peak_mb": round(statistics.median(r[2] for r in runs), 1),
            "time_only_s": round(statistics.median(base), 3),
            "asymmetric_pct": round(asym, 1),
        }
        rows.append(row)
        print(f"{n:>6} {row['unique_nodes']:>6} {row['matrix_s']:>9.3f} {row['peak_mb']:>8.1f} {row['time_only_s']:>11.3f} {asym:>7.1f}")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS {rss_mb:.0f} MB (imports, graph build and all matrices)")
    print("OSRM comparison: not run (osrm-bindings wheels need Python >= 3.12; this project targets 3.11).")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"graph": {"file": args.pbf.name, "nodes": nodes, "edges": edges,
                                                   "build_s": round(build_s, 2)}, "peak_rss_mb": round(rss_mb), "sizes": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
