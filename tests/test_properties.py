"""Properties over random small teams: nothing is lost, and the checker accepts every plan."""

import dataclasses
import datetime as dt
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing.check import check_plan
from routing.daily import day_matrix, solve_day
from routing.hours import open_windows
from routing.model import SolveParams, Store

from .conftest import POLICY, rep

HOURS = ["", "24/7", "Mo-Fr 09:00-17:00", "Mo-Fr 08:00-11:00,14:00-18:00", "Mo-Sa 10:00-13:00", "Sa-Su 10:00-16:00",
         "Mo-Su 06:00-08:30", "We 12:00-12:20"]


@st.composite
def teams(draw):
    n_stores = draw(st.integers(1, 14))
    stores = [
        Store(
            f"S{i}", f"Store {i}",
            60.17 + draw(st.floats(-0.03, 0.03)), 24.94 + draw(st.floats(-0.05, 0.05)),
            draw(st.sampled_from("ABC")), draw(st.sampled_from(HOURS)),
            service_min=draw(st.one_of(st.none(), st.integers(5, 60))),
            rep_id=draw(st.one_of(st.none(), st.sampled_from(["R0", "R1", "R2"]))),
        )
        for i in range(n_stores)
    ]
    n_reps = draw(st.integers(1, 3))
    reps = []
    for k in range(n_reps):
        start = draw(st.sampled_from([7, 8, 9]))
        length = draw(st.sampled_from([3, 6, 9]))
        lunch = draw(st.one_of(st.none(), st.just((11.5, 13.5, 45)), st.just((12, 13, 30))))
        if lunch and not (start <= lunch[0] and lunch[1] <= start + length):
            lunch = None
        reps.append(rep(f"R{k}", 60.17 + draw(st.floats(-0.02, 0.02)), 24.94 + draw(st.floats(-0.04, 0.04)),
                        shift=(start, start + length), lunch=lunch,
                        max_visits=draw(st.one_of(st.none(), st.integers(1, 6)))))
    stores = [s if s.rep_id is None or int(s.rep_id[1]) < n_reps else dataclasses.replace(s, rep_id=None) for s in stores]
    date = dt.date(2026, 12, draw(st.integers(1, 7)))
    return stores, reps, date


@settings(max_examples=int(os.environ.get("FIELDROUTE_EXAMPLES", 40)), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(teams(), st.integers(0, 3))
def test_every_plan_is_valid_and_complete(team, seed):
    """Each store is on exactly one route or unassigned with a reason; windows, shifts, breaks hold."""
    stores, reps, date = team
    plan = solve_day(date, stores, reps, POLICY, params=SolveParams(solution_limit=15, time_limit_s=2, seed=seed))
    assert check_plan(plan, stores, reps, POLICY, day_matrix(stores, reps, POLICY)) == []
    routed = [s.store_id for r in plan.routes for s in r.visits]
    assert sorted(routed + [u.store_id for u in plan.unassigned]) == sorted(s.id for s in stores)
    for u in plan.unassigned:
        if u.reason == "closed_on_date":
            assert open_windows(next(s for s in stores if s.id == u.store_id).opening_hours, date) == []
