"""The cycle planner: every required visit placed or reported, rules hold, capacity reported."""

import dataclasses
import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing.calendar import Cycle, required_visits
from routing.check import check_cycle
from routing.cycle import plan_cycle
from routing.daily import day_matrix
from routing.hours import open_windows
from routing.model import ClassPolicy, Policy, SolveParams, Store

from .conftest import rep

MONDAY = dt.date(2026, 11, 30)
POLICY = Policy(
    "Europe/Helsinki",
    {
        "A": ClassPolicy("A", 2, 20, 3, min_gap_days=2),
        "B": ClassPolicy("B", 1, 15, 2),
        "C": ClassPolicy("C", 0.5, 10, 1),
    },
    speed_kmh=30,
    circuity=1.3,
)
FAST = SolveParams(time_limit_s=1, solution_limit=10)
HOURS = ["", "Mo-Fr 09:00-17:00", "Tu,Th 10:00-16:00", "Mo-Sa 08:00-12:00", "Sa-Su 10:00-16:00", "We 13:00-14:00"]


def _plan(stores, reps, cycle=Cycle(MONDAY, 2), params=FAST):
    travel = day_matrix(stores, reps, POLICY)
    plan = plan_cycle(stores, reps, POLICY, cycle, travel=travel, params=params)
    assert check_cycle(plan.routes, plan.unassigned, stores, reps, POLICY, cycle, travel) == []
    return plan


@st.composite
def territories(draw):
    stores = [
        Store(f"S{i}", f"Store {i}", 60.17 + draw(st.floats(-0.02, 0.02)), 24.94 + draw(st.floats(-0.03, 0.03)),
              draw(st.sampled_from("ABC")), draw(st.sampled_from(HOURS)),
              rep_id=draw(st.one_of(st.none(), st.just("R0"))))
        for i in range(draw(st.integers(1, 10)))
    ]
    reps = [rep(f"R{k}", 60.17, 24.94 + 0.01 * k, shift=(8, 8 + draw(st.sampled_from([2, 8]))),
                lunch=None, working_days=draw(st.sampled_from(["Mo-Fr", "Mo,We,Fr"])))
            for k in range(draw(st.integers(1, 2)))]
    holidays = frozenset(draw(st.sets(st.sampled_from([MONDAY + dt.timedelta(days=d) for d in range(14)]), max_size=2)))
    return stores, reps, Cycle(MONDAY, 2, holidays)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(territories())
def test_every_required_visit_is_placed_or_reported(territory):
    """Visits + reported missing = required for every store; the checker accepts the plan
    (opening hours, shifts, spacing, no holiday, no closed day)."""
    stores, reps, cycle = territory
    plan = _plan(stores, reps, cycle)
    for route in plan.routes:
        date = dt.date.fromisoformat(route.date)
        assert date not in cycle.holidays
        for stop in route.visits:
            store = next(s for s in stores if s.id == stop.store_id)
            assert open_windows(store.opening_hours, date), "never on a closed day"


def test_frequencies_and_same_weekday():
    """A twice a week, B weekly, C every two weeks, on the same weekdays each week."""
    stores = [Store(f"{c}{i}", f"{c}{i}", 60.17 + 0.002 * i, 24.94 + 0.003 * "ABC".index(c), c) for c in "ABC" for i in range(3)]
    plan = _plan(stores, [rep("R1"), rep("R2", 60.18, 24.95)])
    assert plan.unassigned == ()
    for s in stores:
        days = sorted(dt.date.fromisoformat(r.date) for r in plan.routes for v in r.visits if v.store_id == s.id)
        assert len(days) == required_visits(POLICY.classes[s.store_class], 2)
        if s.store_class == "B":
            assert days[0].weekday() == days[1].weekday()
        if s.store_class == "A":
            assert all((b - a).days >= 2 for a, b in zip(days, days[1:]))
    assert plan.kpis["coverage"] == 1.0
    assert all(v["share"] == 1.0 for v in plan.kpis["frequency_compliance"].values())


def test_territory_that_cannot_fit_gets_a_capacity_report():
    """Forty A stores for one rep with a two-hour day: the plan comes back with the missing
    visits (dated), the rep's capacity over 100 %, and suggestions; no error."""
    stores = [Store(f"A{i}", f"A{i}", 60.17 + 0.001 * (i % 8), 24.94 + 0.002 * (i // 8), "A") for i in range(40)]
    plan = _plan(stores, [rep("R1", shift=(8, 10))])
    assert plan.unassigned and all(u.date and u.reason in ("not_enough_time", "max_visits_reached") for u in plan.unassigned)
    (cap,) = plan.capacity
    assert cap.required_h > cap.available_h
    assert any("more rep-day" in s for s in plan.suggestions)
    assert plan.kpis["frequency_compliance"]["A"]["share"] < 1


def test_checker_catches_a_missing_visit_and_bad_spacing():
    """Dropping a routed visit without reporting it, or two A visits a day apart, is caught."""
    stores = [Store(f"A{i}", f"A{i}", 60.17 + 0.002 * i, 24.94, "A") for i in range(3)]
    reps = [rep("R1")]
    cycle = Cycle(MONDAY, 2)
    travel = day_matrix(stores, reps, POLICY)
    plan = _plan(stores, reps, cycle)
    route = plan.routes[0]
    dropped = dataclasses.replace(route, stops=tuple(s for s in route.stops if s.store_id != route.visits[0].store_id))
    codes = {v.code for v in check_cycle((dropped, *plan.routes[1:]), plan.unassigned, stores, reps, POLICY, cycle, travel)}
    assert "frequency" in codes
    strict = dataclasses.replace(POLICY, classes=POLICY.classes | {"A": dataclasses.replace(POLICY.classes["A"], min_gap_days=4)})
    codes = {v.code for v in check_cycle(plan.routes, plan.unassigned, stores, reps, strict, cycle, travel)}
    assert "spacing" in codes
