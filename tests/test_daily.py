"""The day solver: routes that hold, and a reason for every visit not made."""

import dataclasses
import datetime as dt

import pytest

from routing.check import check_plan
from routing.daily import day_matrix, solve_day
from routing.model import SolveParams

from .conftest import POLICY, SUNDAY, THURSDAY, rep, store

FAST = SolveParams(solution_limit=30, time_limit_s=5)  # tiny days may run out of new solutions


def _solve(stores, reps, policy=POLICY, date=THURSDAY, params=FAST):
    plan = solve_day(date, stores, reps, policy, params=params)
    assert check_plan(plan, stores, reps, policy, day_matrix(stores, reps, policy)) == []
    return plan


def _reasons(plan):
    return {u.store_id: u.reason for u in plan.unassigned}


def test_ok_small_everything_fits(ok_small):
    """All four stores are visited, the lunch break is inside its window."""
    stores, reps, policy = ok_small
    plan = _solve(stores, reps, policy)
    assert plan.unassigned == ()
    (route,) = plan.routes
    assert sorted(s.store_id for s in route.visits) == ["S1", "S2", "S3", "S4"]
    breaks = [s for s in route.stops if s.type == "break"]
    if breaks:
        assert 11.5 * 3600 <= breaks[0].start_s and breaks[0].end_s <= 13.5 * 3600
    else:  # a short day: the 45 min lunch fits after getting home, before 13:30
        assert route.stops[-1].arrival_s <= 13.5 * 3600 - 45 * 60
    assert route.stops[0].start_s >= 8 * 3600 and route.stops[-1].arrival_s <= 17 * 3600


def test_params_are_recorded(ok_small):
    """Time limit, solution limit and seed are in the plan."""
    stores, reps, policy = ok_small
    plan = _solve(stores, reps, policy, params=SolveParams(time_limit_s=7, solution_limit=5, seed=3))
    assert plan.params["time_limit_s"] == 7 and plan.params["solution_limit"] == 5 and plan.params["seed"] == 3


def test_screening_reasons():
    """Closed that day, outside the shift, too short a window, unreachable, owner off: each named."""
    stores = [
        store("open", 0.001),
        store("weekend", 0.002, hours="Sa-Su 10:00-16:00"),
        store("night", 0.003, hours="Mo-Su 19:00-23:00"),
        store("short", 0.004, hours="Mo-Fr 10:00-10:10"),
        store("far", 1.5, 0.0, hours="Mo-Fr 08:00-09:00"),
        store("owned", 0.005, rep_id="R2"),
    ]
    team = [rep("R1"), rep("R2", working_days="Mo-We")]
    plan = _solve(stores, team)
    assert _reasons(plan) == {
        "weekend": "closed_on_date",
        "night": "outside_shift",
        "short": "window_too_short",
        "far": "unreachable_in_shift",
        "owned": "rep_not_working",
    }
    assert [s.store_id for r in plan.routes for s in r.visits] == ["open"]
    assert all(u.detail for u in plan.unassigned)


def test_lower_priority_dropped_first():
    """A 3-hour shift cannot take every visit: the class C (lowest priority) visits go first."""
    stores = [store(f"A{i}", 0.002 * i, cls="A") for i in range(3)] + [store(f"C{i}", -0.002 * i, cls="C") for i in range(4)]
    plan = _solve(stores, [rep(shift=(9, 11.5))])
    dropped = _reasons(plan)
    assert dropped, "the shift is too short for every visit"
    assert all(s.startswith("C") for s in dropped)
    assert set(dropped.values()) == {"not_enough_time"}


def test_max_visits():
    """A rep with max_visits 2 takes two; the rest are reported as max_visits_reached."""
    stores = [store(f"S{i}", 0.001 * i) for i in range(4)]
    plan = _solve(stores, [rep(max_visits=2)])
    assert len(plan.routes[0].visits) == 2
    assert sorted(_reasons(plan).values()) == ["max_visits_reached"] * 2


def test_owner_rep_is_respected():
    """A store with an owner is visited by that owner only."""
    stores = [store("S1", 0.001, rep_id="R2"), store("S2", 0.002, rep_id="R1"), store("S3", 0.003)]
    plan = _solve(stores, [rep("R1", 60.17, 24.94), rep("R2", 60.20, 24.90)])
    owner = {s.store_id: r.rep_id for r in plan.routes for s in r.visits}
    assert owner["S1"] == "R2" and owner["S2"] == "R1" and "S3" in owner


def test_lunch_in_the_middle_of_a_full_day():
    """A day that runs through lunch has a break inside the window between two stops."""
    stores = [store(f"S{i}", 0.003 * (i % 5), 0.004 * (i // 5), cls="A") for i in range(12)]
    plan = _solve(stores, [rep(lunch=(12, 13, 30))])
    (route,) = plan.routes
    kinds = [s.type for s in route.stops]
    assert kinds.count("break") == 1
    b = route.stops[kinds.index("break")]
    assert 12 * 3600 <= b.start_s and b.end_s <= 13 * 3600 and b.end_s - b.start_s == 1800


def test_no_rep_working():
    """On a day nobody works, every visit is unassigned with a reason, nothing crashes."""
    stores = [store("S1"), store("S2", rep_id="R1")]
    plan = _solve(stores, [rep("R1")], date=SUNDAY)
    assert plan.routes == ()
    assert _reasons(plan) == {"S1": "rep_not_working", "S2": "rep_not_working"}


def test_rep_on_a_day_off_does_not_work():
    """R1 is off on Thursday: no route for R1, its own store is unassigned rep_not_working
    ("day off"), the free store goes to R2; a plan that routes R1 anyway is a violation."""
    stores = [store("S1", rep_id="R1"), store("S2", 0.002)]
    team = [rep("R1", days_off=frozenset({THURSDAY})), rep("R2", 60.171, 24.941)]
    plan = _solve(stores, team)
    assert [r.rep_id for r in plan.routes] == ["R2"] and [v.store_id for v in plan.routes[0].visits] == ["S2"]
    (missing,) = plan.unassigned
    assert (missing.store_id, missing.reason) == ("S1", "rep_not_working") and "day off" in missing.detail
    worked = solve_day(THURSDAY, stores, [rep("R1"), team[1]], POLICY, params=FAST)
    codes = {v.code for v in check_plan(worked, stores, team, POLICY, day_matrix(stores, team, POLICY))}
    assert "rep_not_working" in codes


def test_same_seed_same_plan():
    """With a solution limit, the same input and seed give the same plan."""
    stores = [store(f"S{i}", 0.003 * (i % 4) - 0.005, 0.004 * (i // 4) - 0.005, cls="ABC"[i % 3]) for i in range(16)]
    team = [rep("R1", 60.165, 24.93, lunch=(11.5, 13.5, 45)), rep("R2", 60.175, 24.95)]
    params = SolveParams(solution_limit=40, time_limit_s=60, seed=7)
    first = _solve(stores, team, params=params)
    second = _solve(stores, team, params=params)
    assert first.routes == second.routes and first.unassigned == second.unassigned


def test_balance_weight_evens_out_the_day():
    """Turning balance up shortens the longest day (here: one rep would otherwise do it all)."""
    stores = [store(f"S{i}", 0.001 * i, 0.0005 * i) for i in range(10)]
    team = [rep("R1", 60.17, 24.94), rep("R2", 60.171, 24.941)]
    params = SolveParams(solution_limit=200, time_limit_s=60)
    plain = _solve(stores, team, params=params)
    balanced = _solve(stores, team, params=dataclasses.replace(params, balance_weight=5))

    def longest(plan):
        return max(r.summary.span_s for r in plan.routes)

    def spread(plan):
        counts = [len(r.visits) for r in plan.routes] + [0] * (2 - len(plan.routes))
        return max(counts) - min(counts)

    assert longest(balanced) < longest(plain)
    assert spread(balanced) <= 2 < spread(plain)


def test_van_capacity():
    """Capacity 10 and demands of 6: one store a rep; the other is over_capacity, and a
    demand no rep can carry is screened out with the same reason."""
    stores = [store("S1", 0.001, demand=6), store("S2", 0.002, demand=6), store("S3", 0.003, demand=11)]
    plan = _solve(stores, [rep(capacity=10)])
    assert len(plan.routes[0].visits) == 1
    assert sorted(_reasons(plan).values()) == ["over_capacity", "over_capacity"]


def test_priority_penalties_are_lexicographic():
    """Each priority level's penalty outweighs every visit of the levels below it."""
    from routing.day import _penalties

    stores = [store(f"{c}{i}", cls=c) for c in "ABC" for i in range(50)]
    p = _penalties(stores, POLICY, [rep()], 0)
    assert p[2] > 50 * p[1] and p[3] > 50 * p[2] + 50 * p[1]


# --- reasons and messages: hours past midnight, the days the clocks change -----------------

MONDAY = THURSDAY - dt.timedelta(days=3)
SPRING = dt.date(2026, 3, 29)  # Helsinki: 03:00 -> 04:00, a 23 h day
AUTUMN = dt.date(2026, 10, 25)  # Helsinki: 04:00 -> 03:00, a 25 h day


def _left_out(date, hours, shift=(8, 17)):
    """The reason and detail of one store with ``hours`` for one rep working every day."""
    stores, team = [store("club", 0.001, hours=hours)], [rep("R1", shift=shift, working_days="Mo-Su")]
    (u,) = _solve(stores, team, date=date).unassigned
    return u.reason, u.detail


def test_a_club_open_past_midnight_is_outside_the_shift_on_its_nights():
    """We-Sa 22:00-05:00 against an 08:00-17:00 shift: on Thursday the club is open
    00:00-05:00 (Wednesday's night) and 22:00-24:00, on Sunday 00:00-05:00 (Saturday's night):
    outside the shift, the message naming both; closed only on Monday, its one day without
    any opening."""
    reason, detail = _left_out(THURSDAY, "We-Sa 22:00-05:00")
    assert reason == "outside_shift"
    assert detail == "open 00:00-05:00, 22:00-24:00: no eligible rep's shift (08:00-17:00) holds a 20 min visit"
    assert _left_out(SUNDAY, "We-Sa 22:00-05:00") == (
        "outside_shift", "open 00:00-05:00: no eligible rep's shift (08:00-17:00) holds a 20 min visit")
    assert _left_out(MONDAY, "We-Sa 22:00-05:00")[0] == "closed_on_date"


@pytest.mark.parametrize("date", [SPRING, AUTUMN], ids=["spring", "autumn"])
def test_messages_show_clock_times_on_the_days_the_clocks_change(date):
    """Saturday's night runs to 05:00 on Sunday: on the 23 h and the 25 h day alike the
    message reads 05:00 (real 4 h / 6 h after midnight) and the shift 08:00-17:00."""
    reason, detail = _left_out(date, "Sa 22:00-05:00")
    assert reason == "outside_shift"
    assert detail == "open 00:00-05:00: no eligible rep's shift (08:00-17:00) holds a 20 min visit"


def test_an_urgent_visit_too_late_names_the_clock_time():
    """A visit that must end by 10:00 on the spring day (real 9 h after midnight) at a store
    opening at 09:30: no window holds it, and the message says 10:00."""
    from routing.clock import day_clock
    from routing.day import Restart

    clock = day_clock(SPRING, POLICY.time_zone)
    stores, team = [store("S1", 0.001, hours="Mo-Su 09:45-18:00")], [rep("R1", working_days="Mo-Su")]
    plan = solve_day(SPRING, stores, team, POLICY, params=FAST, restart=Restart(latest_s={"S1": clock.real(10 * 3600)}))
    (u,) = plan.unassigned
    assert (u.reason, u.detail) == ("window_too_short", "no opening window fits a 20 min visit ending by 10:00 (Mo-Su 09:45-18:00)")


def test_a_day_problem_is_plain_data_a_worker_process_solves_the_same(ok_small):
    """The date's problem is built once and pickles: solved in a fresh process (spawn, as a
    pool or cluster worker would) it gives the same plan as here."""
    import concurrent.futures
    import multiprocessing
    import pickle

    from routing.daily import solve
    from routing.day import day_problem

    stores, reps, policy = ok_small
    problem = day_problem(THURSDAY, stores, reps, policy, day_matrix(stores, reps, policy))
    assert [j.key for j in problem.jobs] == ["S1", "S2", "S3", "S4"] and [v.key for v in problem.vehicles] == ["R1"]
    copy = pickle.loads(pickle.dumps(problem))
    assert dataclasses.replace(copy, travel=None) == dataclasses.replace(problem, travel=None)
    assert copy.travel.keys == problem.travel.keys and (copy.travel.seconds_array == problem.travel.seconds_array).all()
    here = solve(problem, params=FAST)
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        there = pool.submit(solve, problem, params=FAST).result(timeout=120)
    assert dataclasses.replace(there, params={}) == dataclasses.replace(here, params={})
