"""Plans a user can trust: the checker rejects lazy plans, and the solver's plans pass it
under pressure (priorities held, nothing left out that fits, honest reasons, DST days)."""

import dataclasses
import datetime as dt

import pytest

from routing import vrptw
from routing.calendar import Cycle, min_gap, required_visits
from routing.check import check_cycle, check_plan
from routing.cycle import plan_cycle
from routing.daily import day_matrix, solve_day
from routing.io import load_inputs, read_plan, write_plan
from routing.model import Break, ClassPolicy, Policy, Rep, SolveParams, Unassigned
from routing.timing import time_route

from .conftest import DEMO, POLICY, THURSDAY, rep, store

FAST = SolveParams(time_limit_s=5, solution_limit=30)
LEVELS = Policy(
    "Europe/Helsinki",
    {
        "A": ClassPolicy("A", 2, 30, 4),
        "B": ClassPolicy("B", 1, 30, 3),
        "C": ClassPolicy("C", 0.5, 30, 2),
        "D": ClassPolicy("D", 0.25, 30, 1),
    },
)


def _codes(plan, stores, reps, policy=POLICY):
    return {v.code for v in check_plan(plan, stores, reps, policy, day_matrix(stores, reps, policy))}


def _cluster(prefix, classes, n, dlat=0.0):
    return [store(f"{prefix}{c}{i}", dlat + 0.001 * i, 0.001 * "ABCD".index(c), c) for c in classes for i in range(n)]


# --- lazy plans are rejected ---------------------------------------------------------


def test_a_plan_that_routes_nothing_and_calls_open_stores_closed_is_rejected(ok_small):
    stores, reps, policy = ok_small
    lazy = dataclasses.replace(
        solve_day(THURSDAY, stores, reps, policy, params=FAST), routes=(),
        unassigned=tuple(Unassigned(s.id, "closed_on_date", "closed", THURSDAY.isoformat()) for s in stores))
    codes = _codes(lazy, stores, reps, policy)
    assert {"false_reason", "left_out_fits"} <= codes


def test_a_visit_left_out_that_fits_is_rejected(ok_small):
    stores, reps, policy = ok_small
    plan = solve_day(THURSDAY, stores, reps, policy, params=FAST)
    assert _codes(plan, stores, reps, policy) == set()
    # Take the last visit off the route (re-timed honestly) and call it "not enough time".
    route = plan.routes[0]
    last = route.visits[-1].store_id
    shorter = solve_day(THURSDAY, [s for s in stores if s.id != last], reps, policy, params=FAST)
    lazy = dataclasses.replace(shorter, unassigned=(Unassigned(last, "not_enough_time", "full", THURSDAY.isoformat()),))
    assert "left_out_fits" in _codes(lazy, stores, reps, policy)


def test_an_idle_working_rep_with_visits_left_out_is_rejected():
    """R1 does every visit but one, which is called "not enough time", while R2 works and
    has no route: the checker names R2's empty day."""
    stores = _cluster("S", "A", 3)
    reps = [rep("R1"), rep("R2", 60.18, 24.95)]
    busy = solve_day(THURSDAY, stores[:2], reps[:1], POLICY, params=FAST)
    lazy = dataclasses.replace(busy, unassigned=(Unassigned("SA2", "not_enough_time", "full", THURSDAY.isoformat()),))
    found = {(v.code, v.rep_id, v.store_id) for v in check_plan(lazy, stores, reps, POLICY, day_matrix(stores, reps, POLICY))}
    assert ("left_out_fits", "R2", "SA2") in found


def test_a_priority_inversion_is_rejected():
    """One rep, max_visits 3, three D stores and one A store: a plan that routes the three D
    and leaves the A out (even calling the rep full, which is true) inverts priorities."""
    stores = [*_cluster("S", "D", 3), store("SA", 0.002, 0.002, "A")]
    reps = [rep("R1", max_visits=3)]
    plan = solve_day(THURSDAY, stores, reps, LEVELS, params=FAST)
    assert {v.store_id for v in plan.routes[0].visits} >= {"SA"}
    assert _codes(plan, stores, reps, LEVELS) == set()
    lazy_plan = solve_day(THURSDAY, stores[:3], reps, LEVELS, params=FAST)
    lazy = dataclasses.replace(lazy_plan, unassigned=(Unassigned("SA", "max_visits_reached", "full", THURSDAY.isoformat()),))
    assert _codes(lazy, stores, reps, LEVELS) == {"priority_inversion"}


def test_false_reasons_are_rejected(ok_small):
    stores, reps, policy = ok_small
    plan = solve_day(THURSDAY, stores, reps, policy, params=FAST)
    for reason in ("max_visits_reached", "over_capacity", "rep_not_working", "outside_shift", "unreachable_in_shift",
                   "window_too_short", "lunch_break"):
        route = plan.routes[0]
        gone = route.visits[0].store_id
        rest = solve_day(THURSDAY, [s for s in stores if s.id != gone], reps, policy, params=FAST)
        lazy = dataclasses.replace(rest, unassigned=(Unassigned(gone, reason, "x", THURSDAY.isoformat()),))
        violations = check_plan(lazy, stores, reps, policy, day_matrix(stores, reps, policy))
        assert "false_reason" in {v.code for v in violations}, reason


def test_a_cycle_that_routes_nothing_is_rejected():
    stores = _cluster("S", "AB", 3)
    reps = [rep("R1")]
    cycle = Cycle(dt.date(2026, 11, 30), 2)
    travel = day_matrix(stores, reps, POLICY)
    lazy = [Unassigned(s.id, "no_usable_day", "never", (cycle.start + dt.timedelta(days=3 * k)).isoformat())
            for s in stores for k in range(required_visits(POLICY.classes[s.store_class], 2))]
    codes = {v.code for v in check_cycle([], lazy, stores, reps, POLICY, cycle, travel)}
    assert "false_reason" in codes and "left_out_fits" in codes


def test_stop_times_that_go_backwards_are_rejected(ok_small):
    stores, reps, policy = ok_small
    plan = solve_day(THURSDAY, stores, reps, policy, params=FAST)
    stops = list(plan.routes[0].stops)
    i = next(k for k, s in enumerate(stops) if s.type == "visit")
    stops[i], stops[i + 1] = stops[i + 1], stops[i]
    bad = dataclasses.replace(plan, routes=(dataclasses.replace(plan.routes[0], stops=tuple(stops)),))
    assert "order" in _codes(bad, stores, reps, policy)


# --- the solver keeps its promises under pressure -------------------------------------


SEARCHES = {
    "lns": (vrptw.Search(), 20),
    "lns-2-workers": (vrptw.Search(workers=2), 20),
    "first-solution-only": (vrptw.Search(lns=False), 1),  # SAVINGS, blind to priorities: the repair's job
}


@pytest.mark.parametrize("name", SEARCHES)
def test_priority_under_pressure(name):
    """A day that holds only part of the visits: every A and B visit is made, the rest go
    lowest class first, and the checker (which rejects any left-out visit that fits or
    would fit instead of a lower-priority one) accepts the plan, whatever the search."""
    search, solutions = SEARCHES[name]
    stores = _cluster("S", "ABCD", 6)
    reps = [rep("R1", shift=(8, 17), max_visits=14)]
    params = dataclasses.replace(FAST, solution_limit=solutions)
    plan = solve_day(THURSDAY, stores, reps, LEVELS, params=params, search=search)
    assert _codes(plan, stores, reps, LEVELS) == set()
    routed = {v.store_id for r in plan.routes for v in r.visits}
    by_class = {c: sum(1 for s in stores if s.store_class == c and s.id in routed) for c in "ABCD"}
    assert by_class["A"] == 6 and by_class["B"] == 6 and by_class["D"] == 0
    assert len(routed) == 14 and all(u.reason == "max_visits_reached" for u in plan.unassigned)


def test_readme_saturday_keeps_every_a_store_that_fits():
    """The demo's Saturday (one rep, classes A and B): no A store is left out for time
    while a B store is visited (the issue's reproduction: 4 open A stores were dropped)."""
    stores, reps, policy = load_inputs(DEMO / "stores.csv", DEMO / "reps.csv", DEMO / "policy.toml")
    stores = [s for s in stores if s.store_class in "AB"]
    saturday = dt.date(2026, 12, 5)
    plan = solve_day(saturday, stores, reps, policy, params=SolveParams(time_limit_s=5, solution_limit=50))
    assert _codes(plan, stores, reps, policy) == set()
    classes = {s.id: s.store_class for s in stores}
    routed = [classes[v.store_id] for r in plan.routes for v in r.visits]
    dropped_a = [u for u in plan.unassigned if classes[u.store_id] == "A" and u.reason in ("not_enough_time", "max_visits_reached")]
    assert not (dropped_a and "B" in routed)


@pytest.mark.parametrize("name", SEARCHES)
def test_idle_reps_are_used_before_visits_are_left_out(name):
    """Twelve A stores far from two reps' homes, plenty of time: both reps work."""
    search, solutions = SEARCHES[name]
    stores = _cluster("S", "A", 12, dlat=0.05)
    reps = [rep("R1", max_visits=7), rep("R2", 60.18, 24.95, max_visits=7)]
    plan = solve_day(THURSDAY, stores, reps, POLICY, params=dataclasses.replace(FAST, solution_limit=solutions),
                     search=search)
    assert _codes(plan, stores, reps) == set()
    assert len(plan.routes) == 2 and plan.unassigned == ()


def test_a_first_solution_that_cannot_be_built_in_time_falls_back_to_the_repair():
    """A time limit too short for OR-Tools to build anything still gives a checked plan
    with visits on it (the greedy construction of ``routing.repair``)."""
    stores = [store(f"S{i}", 0.002 * (i % 10), 0.003 * (i // 10), "ABC"[i % 3]) for i in range(60)]
    reps = [rep("R1"), rep("R2", 60.18, 24.95)]
    plan = solve_day(THURSDAY, stores, reps, POLICY, params=SolveParams(time_limit_s=0.001))
    assert _codes(plan, stores, reps) == set()
    assert sum(len(r.visits) for r in plan.routes) > 20


def test_rep_ending_elsewhere():
    """A rep who starts at home and ends at the office: legs run from start to end place."""
    stores = _cluster("S", "AB", 3)
    r = dataclasses.replace(rep("R1"), end_lat=60.20, end_lon=24.99)
    plan = solve_day(THURSDAY, stores, [r], POLICY, params=FAST)
    travel = day_matrix(stores, [r], POLICY)
    assert check_plan(plan, stores, [r], POLICY, travel) == []
    route = plan.routes[0]
    assert route.stops[1].travel_s == travel.seconds(r.start_key, route.stops[1].store_id)
    assert route.stops[-1].travel_s == travel.seconds(route.visits[-1].store_id, r.end_key)


def test_zero_stores_and_zero_reps():
    empty = solve_day(THURSDAY, [], [rep()], POLICY, params=FAST)
    assert empty.routes == () and empty.unassigned == ()
    nobody = solve_day(THURSDAY, [store("S1")], [], POLICY, params=FAST)
    assert [u.reason for u in nobody.unassigned] == ["rep_not_working"]
    assert _codes(nobody, [store("S1")], []) == set()
    cycle = Cycle(dt.date(2026, 11, 30), 2)
    plan = plan_cycle([], [rep()], POLICY, cycle, travel=day_matrix([], [rep()], POLICY), params=FAST)
    assert plan.routes == () and plan.unassigned == () and plan.kpis["coverage"] is None


def test_plan_cycle_command_with_no_stores(tmp_path, capsys):
    """The command line with an empty stores file plans and checks an empty cycle (it
    crashed printing the coverage)."""
    from api.cli import main

    empty = tmp_path / "stores.csv"
    empty.write_text((DEMO / "stores.csv").read_text().splitlines()[0] + "\n")
    code = main(["plan-cycle", "--stores", str(empty), "--reps", str(DEMO / "reps.csv"), "--policy",
                 str(DEMO / "policy.toml"), "--start", "2026-11-30", "--weeks", "1", "--time-limit", "1",
                 "--solution-limit", "5"])
    out = capsys.readouterr().out
    assert code == 0 and "0 visits, 0 missing" in out and "Coverage -" in out


def test_a_store_open_only_during_lunch_gets_a_reason_naming_the_lunch():
    stores = [store("S1", 0.002, 0.0, "A", "Mo-Fr 12:00-12:40"), store("S2", 0.001, 0.001, "B")]
    reps = [rep(lunch=(12, 12.75, 45))]
    plan = solve_day(THURSDAY, stores, reps, POLICY, params=FAST)
    assert {u.store_id: u.reason for u in plan.unassigned} == {"S1": "lunch_break"}
    assert _codes(plan, stores, reps) == set()


def test_repair_trades_lower_priority_visits_even_past_its_deadline():
    """A route full (max_visits 3) of priority-1 jobs and a priority-9 job left out: the
    repair swaps one out for it, even with its deadline already gone (that part always
    completes; only re-ordering routes waits for time)."""
    from routing.repair import repair

    stores = [*_cluster("S", "D", 3), store("SA", 0.002, 0.002, "A")]
    r = rep("R1")
    travel = day_matrix(stores, [r], POLICY)
    jobs = {s.id: vrptw.Job(s.id, s.id, ((0, 24 * 3600),), 1800, penalty=9 if s.id == "SA" else 1) for s in stores}
    vehicle = vrptw.Vehicle("R1", r.start_key, r.end_key, 8 * 3600, 17 * 3600, max_jobs=3)
    routes, left = repair([vehicle], {"R1": [jobs["SD0"], jobs["SD1"], jobs["SD2"]]}, [jobs["SA"]], travel, deadline=0.0)
    assert "SA" in [j.key for j in routes["R1"]] and len(routes["R1"]) == 3
    assert [j.key for j in left] != [] and all(j.penalty == 1 for j in left)


# --- helpers the checker shares with the solver, against hand-computed cases -----------


def test_required_visits_round_half_up():
    half, quarter = ClassPolicy("C", 0.5, 10, 1), ClassPolicy("D", 0.25, 10, 1)
    assert [required_visits(half, w) for w in (1, 2, 3, 5, 7)] == [1, 1, 2, 3, 4]
    assert [required_visits(quarter, w) for w in (1, 2, 4, 6)] == [1, 1, 1, 2]
    assert required_visits(ClassPolicy("A", 2, 10, 1), 4) == 8


def test_min_gap():
    # weekly over 4 weeks: 4 visits, ideal 7 days apart, at least half (3); every 2 weeks: 7.
    assert min_gap(ClassPolicy("B", 1, 10, 1), 4) == 3
    assert min_gap(ClassPolicy("C", 0.5, 10, 1), 4) == 7
    assert min_gap(ClassPolicy("A", 2, 10, 1, min_gap_days=2), 4) == 2


def test_time_route_lunch_rules_by_hand():
    """Home -> S1 (open from 12:30) with lunch 12:00-13:00 (30 min): the rep drives 08:00,
    arrives before S1 opens, and the lunch is taken on that leg from 12:00; S1 starts 12:30.
    A shift ending 12:40 has no room for both the visit and the lunch after it."""
    stores = [store("S1", 0.01, 0.0, "A", "Mo-Fr 12:30-18:00")]
    r = rep(lunch=(12, 13, 30))
    travel = day_matrix(stores, [r], POLICY)
    t = travel.seconds(r.start_key, "S1")
    job = vrptw.Job("S1", "S1", ((12.5 * 3600, 18 * 3600 - 1800),), 1800)
    veh = vrptw.Vehicle("R1", r.start_key, r.end_key, 8 * 3600, 17 * 3600, Break(12 * 3600, 13 * 3600, 1800))
    timing = time_route(veh, [job], travel)
    assert timing.starts_s == (12.5 * 3600,) and timing.break_leg == 0 and timing.break_start_s == 12 * 3600
    # The shortest day: leave as late as still gets home at 13:00 + t (lunch from 12:00 on arrival).
    assert timing.depart_s == 12 * 3600 - t and timing.arrive_s == 13 * 3600 + t
    short = dataclasses.replace(veh, latest_s=13 * 3600 + t - 1)
    assert time_route(short, [job], travel) is None


# --- daylight saving ------------------------------------------------------------------


@pytest.mark.parametrize("date", [dt.date(2026, 3, 29), dt.date(2026, 10, 25)])
def test_night_shift_on_a_change_day_round_trips(tmp_path, date):
    """A night shift 00:30-05:30 across the change: solve, write, read, check; the written
    times exist, run forward and read back to the seconds planned."""
    policy = dataclasses.replace(POLICY, time_zone="Europe/Paris")
    stores = [store(f"S{i}", 0.003 * i, 0.002 * (i % 3), "A", "24/7") for i in range(8)]
    night = Rep("N1", "Night", 60.17, 24.94, 60.17, 24.94, 1800, 5.5 * 3600, None, "Mo-Su")
    travel = day_matrix(stores, [night], policy)
    plan = solve_day(date, stores, [night], policy, travel=travel, params=FAST)
    assert check_plan(plan, stores, [night], policy, travel) == []
    route = plan.routes[0]
    real_len = 4 * 3600 if date.month == 3 else 6 * 3600  # 00:30-05:30 is 4 h / 6 h of real time
    assert route.stops[-1].arrival_s <= 1800 + real_len
    write_plan(plan, tmp_path / "plan.json")
    back, raw = read_plan(tmp_path / "plan.json")
    assert back.routes == plan.routes
    assert check_plan(back, stores, [night], policy, travel) == []
    instants = [dt.datetime.fromisoformat(s[k]) for s in raw["routes"][0]["stops"] for k in ("arrival", "start", "end")]
    assert instants == sorted(instants)
    assert not any(i.hour == 2 and i.utcoffset() == dt.timedelta(hours=1) and date.month == 3 for i in instants)


def test_the_checker_and_the_repair_agree_on_where_a_visit_fits():
    """Two implementations of one rule: the checker's re-simulation (``check._fit_mask``)
    and the solver's O(1) insertion test (``repair.insertion_costs``), on random routes
    with one or two opening windows per store and a lunch or none."""
    import random

    from routing.check import RepRule, StoreRule, _fit_mask
    from routing.repair import _Lane, _Pool, insertion_costs
    from routing.timing import feasible
    from routing.travel import Point, straight_line_matrix

    rng = random.Random(7)
    fits = 0
    for _ in range(400):
        n = rng.randint(0, 7)
        points = {f"s{i}": Point(60 + rng.random() * 0.05, 24 + rng.random() * 0.1) for i in range(n + 1)}
        points["home"] = Point(60.02, 24.05)
        travel = straight_line_matrix(points, speed_kmh=30, circuity=1.3)
        rules, jobs = {}, []
        for i in range(n + 1):
            windows, t = [], rng.randint(6, 12) * 3600
            for _ in range(rng.randint(1, 2)):
                a = t + rng.randint(0, 3) * 1800
                b = a + rng.randint(1, 8) * 1800
                windows.append((a, b))
                t = b + 3600
            service = rng.choice([600, 900, 1800])
            rules[f"s{i}"] = StoreRule(tuple(windows), service)
            starts = tuple((a, b - service) for a, b in windows if b - a >= service) or ((1, 0),)
            jobs.append(vrptw.Job(f"s{i}", f"s{i}", starts, service, penalty=1))
        lunch = Break(rng.choice([11, 12]) * 3600, rng.choice([13, 14]) * 3600, rng.choice([30, 60]) * 60) if rng.random() < 0.7 else None
        end = rng.choice([12, 15, 17]) * 3600
        vehicle = vrptw.Vehicle("v", "home", "home", 8 * 3600, end, lunch)
        route = []
        for job in jobs[:n]:
            if feasible(vehicle, [*route, job], travel):
                route.append(job)
        T = travel.seconds_array.astype(float)
        cost, _ = insertion_costs(_Lane(vehicle, route, travel.index, T), _Pool.of([jobs[n]], travel.index), T)
        mask = _fit_mask(RepRule("home", "home", 8 * 3600, end, lunch), [j.key for j in route], [f"s{n}"], rules, travel)
        assert bool(mask[0]) == (cost[0] < float("inf"))
        fits += bool(mask[0])
    assert 100 < fits < 400  # both answers occur
