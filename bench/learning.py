"""Plans that learn (issue 22): does a plan made with the learned visit minutes and start times
run closer to what the team really does than a plan made without?

    python bench/learning.py [--seeds 3] [--time-limit 10] [--json FILE]

For each seed, on the demo team (``data/demo``, straight-line travel): a simulated team is drawn
(``routing.simulate.Team``: each store's true visit length, up to 1.7 times the planned one
for 40 % of the stores; each rep up to 20 min late at the first visit). Month 1: a 4-week cycle
is planned and played by the team; ``routing.learn`` learns from the visits and suggests; the
suggestions on minutes and start times (store, class, rep; not classes of stores, which change
the visits asked for) are applied. Month 2: the next 4 weeks are planned twice, from the inputs
as they were and with the suggestions applied, and each plan is played by the same team with
the same seed. Reported per plan, medians over the seeds:

- ``late_end_%``: made visits whose check-out is more than 5 min after their planned end;
- ``past_end_min``: the median minutes a made visit ends after its planned end;
- ``late_start_min``: the median minutes a made visit starts after its planned start;
- ``planned``: visits the plan asks for, and ``missing``: those it reports as not fitting
  (longer visits fit fewer in a day: the honest plan says so).

Learning is also scored against the truth: ``mae_min``, the median absolute error of the
learned minutes of the stores with at least 8 visits in month 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from routing.calendar import Cycle  # noqa: E402
from routing.cycle import plan_cycle  # noqa: E402
from routing.daily import day_matrix  # noqa: E402
from routing.followup import FollowUp, match, planned_visits  # noqa: E402
from routing.io import load_inputs  # noqa: E402
from routing.learn import Inputs, abc, applied, learn, suggest  # noqa: E402
from routing.model import SolveParams  # noqa: E402
from routing.simulate import Team, play  # noqa: E402

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
START = dt.date(2026, 11, 2)  # a Monday
LATE_END_S = 300
MINUTE_KINDS = ("store_service", "class_service", "rep_start")


def month(inputs: Inputs, start: dt.date, team: Team, seed: int, time_limit: float):
    """Plan 4 weeks from ``start`` with ``inputs``, play them; the plan, planned and made visits."""
    plan = plan_cycle(inputs.stores, inputs.reps, inputs.policy, Cycle(start, 4),
                      travel=day_matrix(inputs.stores, inputs.reps, inputs.policy),
                      params=SolveParams(time_limit_s=time_limit, seed=seed))
    planned = planned_visits(plan.routes, inputs.policy.time_zone)
    made = play(planned, {s.id: s for s in inputs.stores}, inputs.reps, inputs.policy, seed=seed, team=team)
    return plan, planned, made


def score(inputs: Inputs, plan, planned, made) -> dict:
    """How the played month went against its plan."""
    lines = match(planned, made, FollowUp(inputs.stores, inputs.reps, inputs.policy, 4).spacing(), dt.date(2100, 1, 1))
    ends, starts = [], []
    for line in lines:
        if line.status == "made" and line.planned.start is not None:
            end = line.planned.start + dt.timedelta(seconds=line.planned.service_s)
            ends.append((line.made.checked_out - end).total_seconds())
            starts.append((line.made.checked_in - line.planned.start).total_seconds())
    return {"planned": len(planned), "missing": len(plan.unassigned), "made": len(ends),
            "late_end_pct": round(100 * sum(e > LATE_END_S for e in ends) / len(ends), 1),
            "past_end_min": round(statistics.median(ends) / 60, 1), "late_start_min": round(statistics.median(starts) / 60, 1)}


def run(seed: int, time_limit: float) -> dict:
    stores, reps, policy = load_inputs(DEMO / "stores.csv", DEMO / "reps.csv", DEMO / "policy.toml")
    before = Inputs(stores, reps, policy)
    by_id = {s.id: s for s in stores}
    team = Team.draw(by_id, reps, policy, seed=seed)
    _, planned, made = month(before, START, team, seed, time_limit)
    lines = match(planned, made, FollowUp(stores, reps, policy, 4).spacing(), START + dt.timedelta(weeks=4))
    learned = learn(lines, by_id)
    found = suggest(learned, abc(lines, by_id, policy), stores, reps, policy, 4, {})
    after = applied([s for s in found if s.kind in MINUTE_KINDS], before)
    errors = [abs(m.learned - team.service_s[s] / 60) for s, m in learned.stores.items() if m.spread.visits >= 8]
    nxt = START + dt.timedelta(weeks=4)
    out = {"seed": seed, "mae_min": round(statistics.median(errors), 2), "stores_8_visits": len(errors),
           "applied": {k: sum(s.kind == k for s in found) for k in MINUTE_KINDS}}
    for name, inputs in (("as_before", before), ("learned", after)):
        out[name] = score(inputs, *month(inputs, nxt, team, seed, time_limit))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--time-limit", type=float, default=10.0, help="seconds per 4-week plan (default 10)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    runs = [run(seed, args.time_limit) for seed in range(args.seeds)]
    keys = ("planned", "missing", "made", "late_end_pct", "past_end_min", "late_start_min")
    print(f"{'plan of month 2':<16}" + "".join(f"{k:>15}" for k in keys))
    summary = {}
    for name in ("as_before", "learned"):
        summary[name] = {k: statistics.median(r[name][k] for r in runs) for k in keys}
        print(f"{name:<16}" + "".join(f"{summary[name][k]:>15g}" for k in keys))
    mae = statistics.median(r["mae_min"] for r in runs)
    print(f"learned minutes against the truth (stores with >= 8 visits): median absolute error {mae:.2f} min "
          f"(median over {len(runs)} seeds); applied per seed: {[r['applied'] for r in runs]}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"summary": summary, "mae_min": mae, "runs": runs}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
