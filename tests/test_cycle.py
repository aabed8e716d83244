"""The cycle planner: every required visit placed or reported, rules hold, capacity reported."""

import dataclasses
import datetime as dt

import pytest
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
A_SETS = (frozenset({0, 3}), frozenset({1, 4}), frozenset({2, 5}))  # Mo+Th, Tu+Fr, We+Sa
HOURS = ["", "Mo-Fr 09:00-17:00", "Tu,Th 10:00-16:00", "Mo-Sa 08:00-12:00", "Sa-Su 10:00-16:00", "We 13:00-14:00"]


def _plan(stores, reps, cycle=Cycle(MONDAY, 2), params=FAST, policy=POLICY):
    travel = day_matrix(stores, reps, policy)
    plan = plan_cycle(stores, reps, policy, cycle, travel=travel, params=params)
    assert check_cycle(plan.routes, plan.unassigned, stores, reps, policy, cycle, travel) == []
    return plan


def _with_a(policy=POLICY, **changes):
    """The policy with class A changed."""
    return dataclasses.replace(policy, classes=policy.classes | {"A": dataclasses.replace(policy.classes["A"], **changes)})


def _visit_dates(plan, store_id):
    return sorted(dt.date.fromisoformat(r.date) for r in plan.routes for v in r.visits if v.store_id == store_id)


@st.composite
def territories(draw):
    stores = [
        Store(f"S{i}", f"Store {i}", 60.17 + draw(st.floats(-0.02, 0.02)), 24.94 + draw(st.floats(-0.03, 0.03)),
              draw(st.sampled_from("ABC")), draw(st.sampled_from(HOURS)),
              rep_id=draw(st.one_of(st.none(), st.just("R0"))))
        for i in range(draw(st.integers(1, 10)))
    ]
    cycle_dates = [MONDAY + dt.timedelta(days=d) for d in range(14)]
    reps = [rep(f"R{k}", 60.17, 24.94 + 0.01 * k, shift=(8, 8 + draw(st.sampled_from([2, 8]))),
                lunch=None, working_days=draw(st.sampled_from(["Mo-Fr", "Mo,We,Fr"])),
                days_off=frozenset(draw(st.sets(st.sampled_from(cycle_dates), max_size=3))))
            for k in range(draw(st.integers(1, 2)))]
    holidays = frozenset(draw(st.sets(st.sampled_from(cycle_dates), max_size=2)))
    policy = _with_a(same_weekday=draw(st.sampled_from(["prefer", "require"])),
                     day_patterns=draw(st.sampled_from([None, A_SETS])))
    return stores, reps, Cycle(MONDAY, 2, holidays), policy


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(territories())
def test_every_required_visit_is_placed_or_reported(territory):
    """Visits + reported missing = required for every store; the checker accepts the plan
    (opening hours, shifts, spacing, no holiday, no day off, no closed day, same weekdays
    and day patterns where required)."""
    stores, reps, cycle, policy = territory
    plan = _plan(stores, reps, cycle, policy=policy)
    by_rep = {r.id: r for r in reps}
    for route in plan.routes:
        date = dt.date.fromisoformat(route.date)
        assert date not in cycle.holidays and date not in by_rep[route.rep_id].days_off
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
    worked = {r: sum(route.summary.span_s for route in plan.routes if route.rep_id == r) / 3600 for r in ("R1", "R2")}
    assert plan.kpis["rep_workload_h"] == pytest.approx(worked, abs=0.01)
    assert plan.kpis["rep_workload_spread_h"] == pytest.approx(abs(worked["R1"] - worked["R2"]), abs=0.02)
    assert 0 <= plan.kpis["workload_sd_h"] <= plan.kpis["workload_spread_h"]


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
    assert plan.unassigned == () and sum(len(r.visits) for r in plan.routes) == 12  # 3 A stores, 4 visits each
    route = plan.routes[0]
    dropped = dataclasses.replace(route, stops=tuple(s for s in route.stops if s.store_id != route.visits[0].store_id))
    codes = {v.code for v in check_cycle((dropped, *plan.routes[1:]), plan.unassigned, stores, reps, POLICY, cycle, travel)}
    assert "frequency" in codes
    strict = dataclasses.replace(POLICY, classes=POLICY.classes | {"A": dataclasses.replace(POLICY.classes["A"], min_gap_days=4)})
    codes = {v.code for v in check_cycle(plan.routes, plan.unassigned, stores, reps, strict, cycle, travel)}
    assert "spacing" in codes


def test_spacing_is_checked_for_every_class():
    """A weekly store (no min_gap_days) visited on two days in a row is caught: every class
    keeps half its ideal interval (``calendar.min_gap``)."""
    stores = [Store("B1", "B1", 60.17, 24.94, "B")]
    reps = [rep("R1")]
    cycle = Cycle(MONDAY, 2)
    travel = day_matrix(stores, reps, POLICY)
    plan = _plan(stores, reps, cycle)
    (first, second) = plan.routes
    assert check_cycle(plan.routes, (), stores, reps, POLICY, cycle, travel) == []
    moved = dataclasses.replace(second, date=(dt.date.fromisoformat(first.date) + dt.timedelta(days=1)).isoformat())
    codes = {v.code for v in check_cycle((first, moved), (), stores, reps, POLICY, cycle, travel)}
    assert "spacing" in codes


def _a_stores(n=4):
    return [Store(f"A{i}", f"A{i}", 60.17 + 0.002 * i, 24.94 + 0.002 * (i % 2), "A") for i in range(n)]


def test_day_patterns_restrict_the_planned_weekdays():
    """A twice a week on Mo+Th, Tu+Fr or We+Sa (required), a rep working Mo-Sa: every A
    store is visited on both days of one allowed set in every week; the checker accepts it,
    and rejects it against a policy that allows another set only."""
    stores, reps, cycle = _a_stores(6), [rep("R1", working_days="Mo-Sa")], Cycle(MONDAY, 2)
    policy = _with_a(day_patterns=A_SETS, same_weekday="require")
    plan = _plan(stores, reps, cycle, policy=policy)
    assert plan.unassigned == ()
    used = {}
    for s in stores:
        days = _visit_dates(plan, s.id)
        used[s.id] = frozenset(d.weekday() for d in days)
        assert used[s.id] in A_SETS
        assert all({d.weekday() for d in days if cycle.week_of(d) == w} == used[s.id] for w in range(cycle.weeks))
    other = next(a for a in A_SETS if a != used["A0"])
    travel = day_matrix(stores, reps, policy)
    violations = check_cycle(plan.routes, plan.unassigned, stores, reps, _with_a(policy, day_patterns=(other,)), cycle, travel)
    assert any(v.code == "day_pattern" and v.store_id == "A0" for v in violations)


HOLIDAY = MONDAY + dt.timedelta(days=7)  # Monday of week 2


def test_require_reports_the_visit_lost_to_a_holiday():
    """A on Mo+Th only, same weekday required, a holiday on the second Monday: each A store
    misses exactly that visit, reported no_usable_day with the holiday's date; the rest stay
    on Mondays and Thursdays."""
    stores, reps = _a_stores(), [rep("R1")]
    policy = _with_a(day_patterns=(frozenset({0, 3}),), same_weekday="require")
    plan = _plan(stores, reps, Cycle(MONDAY, 2, frozenset({HOLIDAY})), policy=policy)
    assert sorted((u.store_id, u.reason, u.date) for u in plan.unassigned) == [
        (s.id, "no_usable_day", HOLIDAY.isoformat()) for s in stores]
    assert all("holiday" in u.detail and "requires the same weekdays" in u.detail for u in plan.unassigned)
    for s in stores:
        days = _visit_dates(plan, s.id)
        assert len(days) == 3 and {d.weekday() for d in days} == {0, 3}


def test_prefer_moves_the_visit_lost_to_a_holiday():
    """The same with the same weekday only preferred: nothing is missing, the holiday's visit
    moves to the nearest day that keeps two days to Thursday (Tuesday), and the checker
    accepts the plan; a policy requiring the same weekday rejects it."""
    stores, reps, cycle = _a_stores(), [rep("R1")], Cycle(MONDAY, 2, frozenset({HOLIDAY}))
    policy = _with_a(day_patterns=(frozenset({0, 3}),), same_weekday="prefer")
    plan = _plan(stores, reps, cycle, policy=policy)
    assert plan.unassigned == ()
    moved_to = HOLIDAY + dt.timedelta(days=1)
    for s in stores:
        days = _visit_dates(plan, s.id)
        assert len(days) == 4 and HOLIDAY not in days and moved_to in days
    travel = day_matrix(stores, reps, policy)
    violations = check_cycle(plan.routes, plan.unassigned, stores, reps, _with_a(policy, same_weekday="require"), cycle, travel)
    assert {v.store_id for v in violations if v.code == "same_weekday"} == {s.id for s in stores}


def test_holiday_does_not_cost_visits_when_other_weekdays_are_free():
    """Weekly stores, a holiday on Wednesday, free weekdays left: with the same weekday
    required the planner avoids Wednesday rather than lose visits (no visit is missing)."""
    stores = [Store(f"B{i}", f"B{i}", 60.17 + 0.002 * i, 24.94, "B") for i in range(10)]
    policy = dataclasses.replace(POLICY, classes=POLICY.classes | {"B": dataclasses.replace(POLICY.classes["B"], same_weekday="require")})
    plan = _plan(stores, [rep("R1")], Cycle(MONDAY, 2, frozenset({MONDAY + dt.timedelta(days=2)})), policy=policy)
    assert plan.unassigned == ()


def test_rep_day_off():
    """R1 owns four weekly stores and is off on the first Wednesday: no route for R1 that
    day, every owned store still gets its visits on other days (or reported), capacity
    counts one working day fewer, and a route on the day off is a checker violation."""
    day_off = MONDAY + dt.timedelta(days=2)
    stores = [Store(f"B{i}", f"B{i}", 60.17 + 0.002 * i, 24.94, "B", rep_id="R1") for i in range(4)]
    stores += [Store(f"A{i}", f"A{i}", 60.17, 24.94 + 0.002 * i, "A") for i in range(4)]
    reps = [rep("R1", days_off=frozenset({day_off})), rep("R2", 60.171, 24.941)]
    cycle = Cycle(MONDAY, 2)
    plan = _plan(stores, reps, cycle)
    assert not [r for r in plan.routes if r.rep_id == "R1" and r.date == day_off.isoformat()]
    assert plan.unassigned == ()
    for s in stores:
        visits = _visit_dates(plan, s.id)
        assert len(visits) == required_visits(POLICY.classes[s.store_class], 2)
        if s.rep_id == "R1":
            assert day_off not in visits
    assert {c.rep_id: c.working_days for c in plan.capacity} == {"R1": 9, "R2": 10}
    travel = day_matrix(stores, reps, POLICY)
    worked = [r for r in plan.routes if r.rep_id == "R1"][0]
    on_day_off = dataclasses.replace(worked, date=day_off.isoformat())
    violations = check_cycle((*plan.routes, on_day_off), plan.unassigned, stores, reps, POLICY, cycle, travel)
    assert any(v.code == "rep_not_working" and v.rep_id == "R1" and "day off" in v.message for v in violations)


def test_visits_per_cycle_are_planned_and_spaced():
    """Three visits in a four-week cycle, whatever the weekday: every store gets three (or
    reports the missing ones), at least the class's gap apart, and the checker agrees."""
    policy = dataclasses.replace(POLICY, classes=POLICY.classes | {"X": ClassPolicy("X", None, 15, 2, min_gap_days=5, visits_per_cycle=3)})
    stores = [Store(f"S{i}", f"Store {i}", 60.17 + 0.003 * i, 24.94 - 0.002 * i, "X") for i in range(6)]
    plan = _plan(stores, [rep("R0")], cycle=Cycle(MONDAY, 4), policy=policy)
    for s in stores:
        dates = _visit_dates(plan, s.id)
        missing = [u for u in plan.unassigned if u.store_id == s.id]
        assert len(dates) + len(missing) == 3
        assert all((b - a).days >= 5 for a, b in zip(dates, dates[1:]))
    assert plan.kpis["frequency_compliance"]["X"]["required"] == 18


def test_a_store_no_shift_can_serve_is_reported_on_the_days_it_is_open():
    """A club open We-Sa 22:00-05:00 and a rep working Mo-Fr 08:00-17:00: no day of the cycle
    can take its weekly visit. Each missing visit is reported on a day the club is open and
    the rep works, as outside the shift with the club's hours that day (past midnight
    included), not as closed on a Monday it happens to be closed."""
    club = Store("club", "Club", 60.171, 24.941, "B", "We-Sa 22:00-05:00")
    plan = _plan([club], [rep("R0")])
    assert plan.routes == ()
    assert len(plan.unassigned) == required_visits(POLICY.classes["B"], 2)
    for u in plan.unassigned:
        date = dt.date.fromisoformat(u.date)
        assert date.weekday() in (2, 3, 4) and u.reason == "outside_shift", u
        hours = "22:00-24:00" if date.weekday() == 2 else "00:00-05:00, 22:00-24:00"
        assert u.detail == f"open {hours}: no eligible rep's shift (08:00-17:00) holds a 15 min visit"


def test_every_missing_visit_gets_its_own_date_when_few_days_are_open():
    """Found by the property test: class A (4 visits in two weeks) open only Tu,Th 10-16, a
    rep working 08-10, the first Monday and Tuesday holidays. Two evenly spaced report dates
    snap to the same open Thursday; each of the 4 missing visits still gets a date of its own."""
    store = Store("S0", "Store 0", 60.17, 24.94, "A", "Tu,Th 10:00-16:00")
    cycle = Cycle(MONDAY, 2, frozenset({MONDAY, MONDAY + dt.timedelta(days=1)}))
    plan = _plan([store], [rep("R0", 60.17, 24.94, shift=(8, 10), lunch=None)], cycle)
    dates = [u.date for u in plan.unassigned]
    assert len(dates) == len(set(dates)) == required_visits(POLICY.classes["A"], 2)
