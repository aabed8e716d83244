"""The synthetic territories of the scale benchmark: deterministic, well-formed, solvable."""

from __future__ import annotations

import datetime as dt

from bench.synthetic import synthetic_cycle, synthetic_day
from routing.check import check_plan
from routing.daily import day_matrix, solve_day
from routing.hours import validate
from routing.model import SolveParams


def test_same_seed_same_instance_other_seed_other_instance():
    assert synthetic_day(50, 2, seed=3) == synthetic_day(50, 2, seed=3)
    assert synthetic_day(50, 2, seed=3)[0] != synthetic_day(50, 2, seed=4)[0]


def test_day_instance_is_well_formed():
    stores, reps, policy, date = synthetic_day(120, 3, seed=1)
    assert len(stores) == 120 and len({s.id for s in stores}) == 120 and len(reps) == 3
    assert date.weekday() == 1 and all(r.works_on(date) for r in reps)
    assert {s.store_class for s in stores} <= set(policy.classes) and all(s.rep_id is None for s in stores)
    for s in stores:
        validate(s.opening_hours)
    lats = [s.lat for s in stores]
    assert 0.05 < max(lats) - min(lats) < 0.3  # a city 5-30 km across


def test_cycle_instance_has_owners_spread_over_the_team():
    stores, reps, _, cycle = synthetic_cycle(200, 4, seed=0)
    assert cycle.weeks == 4 and cycle.start.weekday() == 0
    owners = [s.rep_id for s in stores]
    assert set(owners) == {r.id for r in reps}
    assert all(synthetic_cycle(50, 2, seed=0, owners=False)[0][i].rep_id is None for i in range(50))


def test_small_day_solves_and_checks():
    stores, reps, policy, date = synthetic_day(30, 2, seed=0)
    travel = day_matrix(stores, reps, policy)
    plan = solve_day(date, stores, reps, policy, travel=travel, params=SolveParams(time_limit_s=1, solution_limit=50))
    assert check_plan(plan, stores, reps, policy, travel) == []
    assert plan.date == dt.date(2026, 12, 1).isoformat()
