"""The table every instance benchmark prints: instances solved in a process pool, one line
each in the given order, the gap to the best known, a summary line, and optional JSON."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

Column = tuple[str, str, str]  # header, result key, format spec (e.g. ">9.2f")


def run(
    solve: Callable[..., dict],
    paths: Sequence[Path],
    solve_args: tuple,
    *,
    jobs: int,
    bks: dict[str, float],
    cost_key: str,
    columns: Sequence[Column],
    json_path: Path | None,
) -> int:
    """Solve each path with ``solve(path, *solve_args)`` (a dict with ``instance``,
    ``cost_key``, ``feasible`` and ``violations``), print the table; exit code 0 when
    every solution is feasible."""
    columns = [("instance", "instance", "<9"), *columns, ("bks", "bks", ">10.2f"), ("gap_%", "gap_pct", ">7.2f")]
    print(" ".join(f"{h:{_width(spec)}}" if spec.startswith("<") else f"{h:>{_width(spec)}}" for h, _, spec in columns) + "  check")
    results = []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(solve, p, *solve_args) for p in paths]
        for fut in futures:
            r = fut.result()
            r["bks"] = bks.get(r["instance"])
            r["gap_pct"] = round(100 * (r[cost_key] - r["bks"]) / r["bks"], 2) if r["bks"] else None
            results.append(r)
            ok = "ok" if r["feasible"] else "INFEASIBLE " + "; ".join(r["violations"])
            cells = [f"{r[key]:{spec}}" if r[key] is not None else f"{'-':>{_width(spec)}}" for _, key, spec in columns]
            print(" ".join(cells) + f"  {ok}", flush=True)
    gaps = [r["gap_pct"] for r in results if r["gap_pct"] is not None]
    feasible = sum(r["feasible"] for r in results)
    mean_gap = round(statistics.fmean(gaps), 2) if gaps else math.nan
    median_gap = statistics.median(gaps) if gaps else math.nan
    print(f"\nfeasible {feasible}/{len(results)}  mean gap {mean_gap:.2f} %  median gap {median_gap:.2f} %")
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps({"instances": results, "mean_gap_pct": mean_gap, "feasible": feasible, "n": len(results)}, indent=2))
    return 0 if feasible == len(results) else 1


def header(columns: Sequence[Column]) -> str:
    """The header line of ``columns``, each name as wide as its cells."""
    return " ".join(f"{h:{_width(spec)}}" if spec.startswith("<") else f"{h:>{_width(spec)}}" for h, _, spec in columns)


def line(columns: Sequence[Column], result: dict) -> str:
    """One result's line; a missing or None value prints as "-"."""
    return " ".join(
        f"{result[key]:{spec}}" if result.get(key) is not None else f"{'-':>{_width(spec)}}" for _, key, spec in columns
    )


def _width(spec: str) -> int:
    digits = "".join(ch for ch in spec.lstrip("<>^").split(".")[0] if ch.isdigit())
    return int(digits) if digits else 0
