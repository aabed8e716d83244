"""The periodic-routing core: day combinations, capacity, duration and visits per route,
checked here from the matrix, not from the solver's own bookkeeping."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import pvrp
from routing import periodic, vrptw
from routing.travel import TravelMatrix

DATA = Path(pvrp.DEFAULT_DATA)


def random_problem(seed: int, n: int = 24, days: int = 5, vehicles: int = 2, *, capacity=40,
                   max_duration_s=None, max_jobs=None) -> periodic.Problem:
    """Clients around a depot: a third need two visits (Mo+We, Mo+Th or Tu+Fr), the rest one (any day)."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 5000, size=(n + 1, 2))
    dist = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(axis=2))
    keys = ["depot"] + [f"c{i}" for i in range(1, n + 1)]
    matrix = TravelMatrix(keys, np.ceil(dist / 10).astype(np.int64), np.rint(dist).astype(np.int64), source="test")
    twice = ((0, 2), (0, 3), (1, 4))
    once = tuple((d,) for d in range(days))
    clients = [periodic.Client(keys[i], keys[i], twice if i % 3 == 0 else once, int(rng.integers(1, 10)), 300)
               for i in range(1, n + 1)]
    fleet = [[periodic.Vehicle(f"d{d}v{k}", "depot", "depot", capacity, max_duration_s, max_jobs) for k in range(vehicles)]
             for d in range(days)]
    return periodic.Problem(clients, fleet, matrix, cost="metres")


def broken_rules(problem: periodic.Problem, solution: periodic.Solution) -> list[str]:
    """Every rule the solution breaks, recomputed from the problem."""
    out = []
    clients = {c.key: c for c in problem.clients}
    seen: dict[str, list[int]] = {k: [] for k in clients}
    for d, routes in enumerate(solution.routes):
        fleet = {v.key: v for v in problem.days[d]}
        for key, jobs in routes.items():
            vehicle = fleet[key]
            path = [vehicle.start, *(clients[j].place for j in jobs), vehicle.end]
            travel = sum(problem.matrix.seconds(a, b) for a, b in zip(path, path[1:]))
            load = sum(clients[j].demand for j in jobs)
            duration = travel + sum(clients[j].service_s for j in jobs)
            if vehicle.capacity is not None and load > vehicle.capacity:
                out.append(f"day {d} {key}: load {load} > {vehicle.capacity}")
            if vehicle.max_duration_s is not None and duration > vehicle.max_duration_s:
                out.append(f"day {d} {key}: duration {duration} > {vehicle.max_duration_s}")
            if vehicle.max_jobs is not None and len(jobs) > vehicle.max_jobs:
                out.append(f"day {d} {key}: {len(jobs)} visits > {vehicle.max_jobs}")
            for j in jobs:
                seen[j].append(d)
    for key, days in seen.items():
        if tuple(sorted(days)) not in clients[key].options:
            out.append(f"{key} on days {sorted(days)}, not one of {clients[key].options}")
        elif tuple(sorted(days)) != solution.options[key]:
            out.append(f"{key}: reported combination {solution.options[key]} but visited on {sorted(days)}")
    return out


def cost_of(problem: periodic.Problem, solution: periodic.Solution) -> int:
    clients = {c.key: c for c in problem.clients}
    total = 0
    for d, routes in enumerate(solution.routes):
        fleet = {v.key: v for v in problem.days[d]}
        for key, jobs in routes.items():
            path = [fleet[key].start, *(clients[j].place for j in jobs), fleet[key].end]
            total += sum(problem.matrix.metres(a, b) for a, b in zip(path, path[1:]))
    return total


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_client_on_one_allowed_combination_within_limits(seed):
    problem = random_problem(seed, capacity=30, max_duration_s=4 * 3600, max_jobs=6)
    solution = periodic.solve(problem, time_limit_s=60, iterations=400, seed=seed)
    assert solution.feasible
    assert broken_rules(problem, solution) == []
    assert solution.cost == cost_of(problem, solution)


def test_same_seed_and_iterations_give_the_same_plan():
    problem = random_problem(3)
    a = periodic.solve(problem, time_limit_s=60, iterations=300, seed=5)
    b = periodic.solve(problem, time_limit_s=60, iterations=300, seed=5)
    assert a.routes == b.routes and a.options == b.options


def test_more_search_does_not_cost_more():
    """The result is the best feasible plan met, so more iterations never make it worse."""
    problem = random_problem(4)
    short = periodic.solve(problem, time_limit_s=60, iterations=50, seed=1)
    long = periodic.solve(problem, time_limit_s=60, iterations=1500, seed=1)
    assert long.cost <= short.cost
    assert broken_rules(problem, long) == []


def test_too_little_capacity_is_reported_not_hidden():
    """Demand beyond the fleet's capacity: every client is still placed, and the plan says infeasible."""
    problem = random_problem(5, n=30, vehicles=1, capacity=10)
    solution = periodic.solve(problem, time_limit_s=60, iterations=200, seed=0)
    assert not solution.feasible
    assert any("load" in rule for rule in broken_rules(problem, solution))
    assert sum(len(r) for routes in solution.routes for r in routes.values()) == sum(len(c.options[0]) for c in problem.clients)


@pytest.mark.skipif(not (DATA / "p14.txt").exists(), reason="needs ../shared/bench/pvrp beside the repo")
def test_cordeau_p14_is_feasible_and_near_best_known():
    inst = pvrp.read_instance(DATA / "p14.txt")
    assert (inst.vehicles, inst.days, len(inst.xy) - 1) == (2, 4, 20)
    assert inst.combos[1] and all(len(set(c)) == len(c) for c in inst.combos[1])
    solution = periodic.solve(pvrp.build(inst), time_limit_s=60, iterations=3000, seed=0)
    cost, problems = pvrp.verify(inst, solution)
    assert solution.feasible and problems == []
    assert cost <= 954.81 * 1.05  # best known 954.81


def test_pvrp_combination_codes_read_day_one_leftmost():
    assert pvrp.decode(10, 5) == (1, 3)  # 01010: days 2 and 4
    assert pvrp.decode(16, 5) == (0,)
    assert pvrp.decode(31, 5) == (0, 1, 2, 3, 4)


def test_vrptw_starts_from_initial_routes_and_never_returns_worse():
    problem = random_problem(6, n=12, days=1, vehicles=2)
    jobs = [vrptw.Job(c.key, c.place, ((0, 10**6),), c.service_s, demand=c.demand) for c in problem.clients]
    vehicles = [vrptw.Vehicle(f"v{k}", "depot", "depot", 0, 10**6, capacity=30) for k in range(2)]
    day = vrptw.Problem(jobs, vehicles, problem.matrix, cost="metres")
    keys = [j.key for j in jobs]
    demand = {j.key: j.demand for j in jobs}
    assert sum(demand.values()) > 30  # so putting every job on v0 breaks its capacity
    initial = {"v0": keys[:6], "v1": keys[6:]}  # a poor, feasible start
    start_cost = sum(problem.matrix.metres(a, b) for r in initial.values() for a, b in zip(["depot", *r], [*r, "depot"]))
    result = vrptw.solve(day, time_limit_s=30, solution_limit=50, initial=initial)
    assert result.dropped == ()
    assert result.objective <= start_cost
    overloaded = vrptw.solve(day, time_limit_s=5, solution_limit=20, initial={"v0": keys, "v1": []})
    assert overloaded.dropped == () and all(sum(demand[k] for k in r.jobs) <= 30 for r in overloaded.routes)
    with pytest.raises(ValueError, match="unknown jobs or vehicles: nope"):
        vrptw.solve(day, time_limit_s=5, solution_limit=5, initial={"v0": ["nope"]})


def day_durations(problem: periodic.Problem, solution: periodic.Solution) -> list[int]:
    clients = {c.key: c for c in problem.clients}
    out = []
    for d, routes in enumerate(solution.routes):
        fleet = {v.key: v for v in problem.days[d]}
        total = 0
        for key, jobs in routes.items():
            path = [fleet[key].start, *(clients[j].place for j in jobs), fleet[key].end]
            total += sum(problem.matrix.seconds(a, b) for a, b in zip(path, path[1:])) + sum(clients[j].service_s for j in jobs)
        out.append(total)
    return out


def test_balance_weight_evens_out_the_days():
    """Without a balance term the cheapest plan piles visits onto few days; with it the
    fullest day is lighter and the travel somewhat higher."""
    base = random_problem(7, n=20, vehicles=1, capacity=None, max_duration_s=12 * 3600)
    even = periodic.Problem(base.clients, base.days, base.matrix, cost="seconds", balance_weight=1.0)
    plain = periodic.Problem(base.clients, base.days, base.matrix, cost="seconds")
    a = periodic.solve(plain, time_limit_s=60, iterations=600, seed=0)
    b = periodic.solve(even, time_limit_s=60, iterations=600, seed=0)
    assert broken_rules(plain, a) == [] and broken_rules(even, b) == []
    assert max(day_durations(even, b)) < max(day_durations(plain, a))
    assert b.cost >= a.cost


def test_option_costs_steer_the_choice():
    """The same client with a costly and a free combination takes the free one."""
    base = random_problem(8, n=10)
    first = base.clients[0]
    costly = periodic.Client(first.key, first.place, ((0,), (1,)), first.demand, first.service_s, option_costs=(10**9, 0))
    problem = periodic.Problem([costly, *base.clients[1:]], base.days, base.matrix, cost="metres")
    solution = periodic.solve(problem, time_limit_s=60, iterations=200, seed=0)
    assert solution.options[first.key] == (1,)
    assert broken_rules(problem, solution) == []


def test_group_weight_shares_work_between_reps():
    """Clients near rep A's home: by travel alone A does nearly all; the group (rep) workload
    term moves work to rep B, and the plan stays feasible."""
    rng = np.random.default_rng(9)
    xy = np.vstack([[0, 0], [4000, 0], rng.uniform(0, 1500, size=(16, 2))])
    dist = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(axis=2))
    keys = ["home:A", "home:B"] + [f"c{i}" for i in range(16)]
    matrix = TravelMatrix(keys, np.ceil(dist / 10).astype(np.int64), np.rint(dist).astype(np.int64), source="test")
    fleet = [[periodic.Vehicle(f"{r}{d}", f"home:{r}", f"home:{r}", max_duration_s=6 * 3600, group=r)] for d in range(2) for r in "AB"]
    clients = [periodic.Client(k, k, ((0,), (1,), (2,), (3,)), service_s=1800) for k in keys[2:]]

    def work_of_b(group_weight: float) -> float:
        problem = periodic.Problem(clients, fleet, matrix, cost="seconds", group_weight=group_weight)
        solution = periodic.solve(problem, time_limit_s=60, iterations=400, seed=0)
        assert broken_rules(problem, solution) == []
        durations = day_durations(problem, solution)
        return sum(t for t, day in zip(durations, fleet) if day[0].group == "B") / sum(durations)

    alone, shared = work_of_b(0.0), work_of_b(2.0)
    assert alone < 0.2
    assert shared > alone + 0.2
