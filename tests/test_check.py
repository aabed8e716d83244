"""The checker catches broken plans: it does not take the solver's word."""

import dataclasses
import datetime as dt

import pytest

from routing.check import check_plan
from routing.daily import day_matrix, solve_day
from routing.model import DayPlan, SolveParams, Unassigned

from .conftest import POLICY, THURSDAY, rep, store


@pytest.fixture
def solved(ok_small):
    stores, reps, policy = ok_small
    plan = solve_day(THURSDAY, stores, reps, policy, params=SolveParams(solution_limit=20, time_limit_s=5))
    travel = day_matrix(stores, reps, policy)
    assert check_plan(plan, stores, reps, policy, travel) == []
    return plan, stores, reps, policy, travel


def _codes(plan, stores, reps, policy, travel):
    return {v.code for v in check_plan(plan, stores, reps, policy, travel)}


def _with_stops(plan, stops):
    route = dataclasses.replace(plan.routes[0], stops=tuple(stops))
    return dataclasses.replace(plan, routes=(route,))


def _shift_visit(plan, n, seconds):
    stops = list(plan.routes[0].stops)
    i = [k for k, s in enumerate(stops) if s.type == "visit"][n]
    s = stops[i]
    stops[i] = dataclasses.replace(s, start_s=s.start_s + seconds, end_s=s.end_s + seconds)
    return _with_stops(plan, stops)


def test_lost_visit(solved):
    """A store dropped from a route without an unassigned entry is caught."""
    plan, *inputs = solved
    stops = list(plan.routes[0].stops)
    i = next(k for k, s in enumerate(stops) if s.type == "visit")
    assert "lost_visit" in _codes(_with_stops(plan, stops[:i] + stops[i + 1 :]), *inputs)


def test_visit_outside_opening_hours(solved):
    """S1 opens at 09:00: moving its visit to 07:00 breaks opening hours and the shift chain."""
    plan, *inputs = solved
    stops = list(plan.routes[0].stops)
    i = next(k for k, s in enumerate(stops) if s.store_id == "S1")
    s = stops[i]
    stops[i] = dataclasses.replace(s, start_s=7 * 3600, end_s=7 * 3600 + 1800)
    assert "opening_hours" in _codes(_with_stops(plan, stops), *inputs)


def test_wrong_travel_and_arrival(solved):
    """A leg whose travel or arrival disagrees with the matrix is caught."""
    plan, *inputs = solved
    stops = list(plan.routes[0].stops)
    stops[1] = dataclasses.replace(stops[1], travel_s=stops[1].travel_s - 60, arrival_s=stops[1].arrival_s - 60)
    assert {"travel", "time"} <= _codes(_with_stops(plan, stops), *inputs)


def test_short_service(solved):
    """A visit shorter than its class's service time is caught."""
    plan, *inputs = solved
    stops = list(plan.routes[0].stops)
    i = next(k for k, s in enumerate(stops) if s.type == "visit")
    stops[i] = dataclasses.replace(stops[i], end_s=stops[i].end_s - 60)
    assert "service" in _codes(_with_stops(plan, stops), *inputs)


def test_shift_end(solved):
    """Arriving home after the shift is caught."""
    plan, *inputs = solved
    stops = list(plan.routes[0].stops)
    stops[-1] = dataclasses.replace(stops[-1], arrival_s=18 * 3600, start_s=18 * 3600, end_s=18 * 3600)
    assert "shift" in _codes(_with_stops(plan, stops), *inputs)


def test_break_outside_window_or_missing():
    """A lunch break outside its window, or none when the day runs through lunch, is caught."""
    stores = [store(f"S{i}", 0.003 * (i % 5), 0.004 * (i // 5), cls="A") for i in range(12)]
    reps = [rep(lunch=(12, 13, 30))]
    plan = solve_day(THURSDAY, stores, reps, POLICY, params=SolveParams(solution_limit=30, time_limit_s=5))
    travel = day_matrix(stores, reps, POLICY)
    inputs = (stores, reps, POLICY, travel)
    assert _codes(plan, *inputs) == set()
    stops = list(plan.routes[0].stops)
    i = next(k for k, s in enumerate(stops) if s.type == "break")
    assert "break" in _codes(_with_stops(plan, stops[:i] + stops[i + 1 :]), *inputs)
    early = dataclasses.replace(stops[i], start_s=stops[i].start_s - 3600, end_s=stops[i].end_s - 3600)
    assert "break" in _codes(_with_stops(plan, stops[:i] + [early] + stops[i + 1 :]), *inputs)
    short = dataclasses.replace(stops[i], end_s=stops[i].end_s - 60)
    assert "break" in _codes(_with_stops(plan, stops[:i] + [short] + stops[i + 1 :]), *inputs)


def test_duplicate_and_double_reporting(solved):
    """A store both routed and unassigned, or unassigned with an unknown reason, is caught."""
    plan, *inputs = solved
    visited = plan.routes[0].visits[0].store_id
    bad = dataclasses.replace(plan, unassigned=(Unassigned(visited, "no_idea", "x"),))
    codes = _codes(bad, *inputs)
    assert {"both_routed_and_unassigned", "unknown_reason"} <= codes


def test_moved_visit_breaks_the_chain(solved):
    """Starting a visit earlier than the rep can arrive is caught."""
    plan, *inputs = solved
    assert "time" in _codes(_shift_visit(plan, 1, -3600), *inputs)


def test_made_up_numbers_on_start_or_break_are_caught(solved):
    """Travel, distance or waiting put on the start stop or the break (which have no leg) is caught."""
    plan, *inputs = solved
    stops = list(plan.routes[0].stops)
    start = dataclasses.replace(stops[0], travel_s=5000, distance_m=99999, wait_s=777)
    assert "time" in _codes(_with_stops(plan, [start, *stops[1:]]), *inputs)
    plan, inputs = _lunch_day()
    stops = list(plan.routes[0].stops)
    i = next(k for k, s in enumerate(stops) if s.type == "break")
    for change in ({"travel_s": 300}, {"distance_m": 1000}, {"wait_s": 60}):
        broken = stops[:i] + [dataclasses.replace(stops[i], **change)] + stops[i + 1:]
        assert "time" in _codes(_with_stops(plan, broken), *inputs), change


def _lunch_day():
    """Twelve A stores for one rep with a 12:00-13:00 lunch: a full day with a break stop."""
    stores = [store(f"S{i}", 0.003 * (i % 5), 0.004 * (i // 5), cls="A") for i in range(12)]
    reps = [rep(lunch=(12, 13, 30))]
    plan = solve_day(THURSDAY, stores, reps, POLICY, params=SolveParams(solution_limit=30, time_limit_s=5))
    inputs = (stores, reps, POLICY, day_matrix(stores, reps, POLICY))
    assert _codes(plan, *inputs) == set()
    return plan, inputs


# --- messages in clock time on the days the clocks change ---------------------------------

SPRING = dt.date(2026, 3, 29)  # Helsinki: 03:00 -> 04:00, a 23 h day
AUTUMN = dt.date(2026, 10, 25)  # Helsinki: 04:00 -> 03:00, a 25 h day


@pytest.mark.parametrize("date", [SPRING, AUTUMN], ids=["spring", "autumn"])
def test_a_store_open_all_day_is_shown_open_until_24_00(date):
    """A plan that calls a 00:00-24:00 store closed is refuted with its hours, 00:00-24:00 on
    the clock (real 23 h / 25 h)."""
    stores, reps = [store("S1", 0.001, hours="Mo-Su 00:00-24:00")], [rep("R1", working_days="Mo-Su")]
    plan = DayPlan(date.isoformat(), POLICY.time_zone, (), (Unassigned("S1", "closed_on_date", "closed", date.isoformat()),))
    messages = [v.message for v in check_plan(plan, stores, reps, POLICY, day_matrix(stores, reps, POLICY))
                if v.code == "false_reason"]
    assert messages == ["said closed_on_date, but it is open 00:00-24:00"]


def test_route_messages_show_the_clock_time_of_the_instant():
    """On the spring day a visit at real 8 h (09:00 on the clock) to a store opening at 10:00
    (real 9 h) is outside the opening hours, in clock time: 09:00:00, not 08:00:00."""
    stores, reps = [store("S1", 0.001, hours="Mo-Su 10:00-12:00")], [rep("R1", working_days="Mo-Su")]
    travel = day_matrix(stores, reps, POLICY)
    plan = solve_day(SPRING, stores, reps, POLICY, params=SolveParams(solution_limit=20, time_limit_s=5))
    assert check_plan(plan, stores, reps, POLICY, travel) == []
    shifted = _shift_visit(plan, 0, 8 * 3600 - plan.routes[0].visits[0].start_s)
    (message,) = [v.message for v in check_plan(shifted, stores, reps, POLICY, travel) if v.code == "opening_hours"]
    assert message == "visit 09:00:00-09:20:00 is outside the opening hours (10:00:00-12:00:00)"
