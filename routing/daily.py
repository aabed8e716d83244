"""Plan one date: each working rep's ordered visits with times, and what did not fit, and why.

The date's ``DayProblem`` (``routing.day``) holds the visits that passed screening; they go to
the routing core as optional jobs whose drop penalty grows with the class priority, so when
time runs out the lowest-priority visits are left out first, and the repair
(``routing.repair``) keeps the plan's promises.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence

import numpy as np

from . import vrptw
from .day import DayProblem, Restart, day_problem
from .model import DayPlan, Policy, Rep, Route, SolveParams, Store, Unassigned
from .repair import insert_one, repair
from .timing import feasible, timed_route
from .travel import TravelMatrix, places_of, straight_line_matrix


def day_matrix(stores: Sequence[Store], reps: Sequence[Rep], policy: Policy) -> TravelMatrix:
    """The straight-line travel matrix of the policy, over every store and rep place."""
    return straight_line_matrix(places_of(stores, reps), speed_kmh=policy.speed_kmh, circuity=policy.circuity)


#: Seconds of the time limit kept for timing the routes and the repair: this share of the
#: limit plus ``REPAIR_S_PER_JOB`` per visit (at most half the limit); the search stops
#: that much earlier.
REPAIR_SHARE = 0.05
REPAIR_S_PER_JOB = 0.003
#: Below this many seconds for the search, the day starts from ``initial`` (or nothing)
#: and goes straight to the repair.
MIN_SEARCH_S = 0.05
#: Above this many visits a day is searched rep by rep (a greedy start, then each rep's
#: route with its nearest left-out visits in a small OR-Tools model) instead of in one
#: model: one model of 1,000 visits takes longer to build than many time limits allow.
ONE_MODEL_MAX_JOBS = 300
#: Left-out visits offered to each rep's model in the rep-by-rep search.
CANDIDATES_PER_REP = 40


def solve_day(
    date: dt.date,
    stores: Sequence[Store],
    reps: Sequence[Rep],
    policy: Policy,
    *,
    travel: TravelMatrix | None = None,
    params: SolveParams = SolveParams(),
    initial: Mapping[str, Sequence[str]] | None = None,
    search: vrptw.Search | None = None,
    restart: Restart | None = None,
) -> DayPlan:
    """Plan a visit to every store in ``stores`` on ``date`` with the reps who work that day:
    ``solve`` of the date's ``DayProblem``. ``travel`` defaults to the policy's straight-line
    model; ``restart`` plans the rest of a day under way (see ``Restart``)."""
    started = time.perf_counter()
    travel = travel or day_matrix(stores, reps, policy)
    problem = day_problem(date, stores, reps, policy, travel, restart=restart, balance_weight=int(params.balance_weight))
    return solve(problem, params=params, initial=initial, search=search, started=started)


def solve(problem: DayProblem, *, params: SolveParams = SolveParams(), initial: Mapping[str, Sequence[str]] | None = None,
          search: vrptw.Search | None = None, started: float | None = None) -> DayPlan:
    """Plan ``problem``: every store ends up on exactly one route or in ``unassigned`` with a
    reason. ``initial`` (rep id -> store ids in order) is a starting solution, used when it
    keeps every window, shift and break. Returns within ``params.time_limit_s`` of
    ``started`` (default: now) plus a small overhead (building the plan), at any size: the
    search stops early enough for the repair (``routing.repair``), which makes sure no
    left-out visit fits a route and no visit is left out for a lower-priority one."""
    started = time.perf_counter() if started is None else started
    deadline = started + params.time_limit_s
    restart, travel, working = problem.restart, problem.travel, list(problem.reps)
    jobs = list(problem.jobs)
    extra: dict = {"travel": travel.source}
    vehicles = list(problem.vehicles)
    orders: dict[str, list[vrptw.Job]] = {}
    left_out = jobs
    if jobs and working:
        by_key = {j.key: j for j in jobs}
        if initial is not None:
            reps_on = {r.id for r in working}
            initial = {r: [s for s in ids if s in by_key] for r, ids in initial.items() if r in reps_on}
        reserve = min(0.5 * params.time_limit_s, REPAIR_SHARE * params.time_limit_s + REPAIR_S_PER_JOB * len(jobs))
        search_end = deadline - reserve
        start = {k: [by_key[s] for s in ids] for k, ids in (initial or {}).items()}
        if search_end - time.perf_counter() < MIN_SEARCH_S and params.solution_limit is None:
            orders = start  # no time to search: the starting routes, timed and repaired
            extra |= {"status": "no_search"}
        elif len(jobs) <= ONE_MODEL_MAX_JOBS:
            fair = _fair_day_s(jobs, working, travel) if params.balance_weight else None
            model = vrptw.Problem(
                jobs=jobs,
                vehicles=[restart.vehicle(r, fair) for r in working],
                matrix=travel,
                cost="seconds",
                span_weight=1,
                balance_weight=int(params.balance_weight),
                previous=restart.previous,
                change_cost=restart.change_cost,
                order_cost=restart.order_cost,
                max_changes=restart.max_changes,
            )
            solution = vrptw.solve(
                model, time_limit_s=max(0.0, search_end - time.perf_counter()), solution_limit=params.solution_limit,
                seed=params.seed, initial=initial, **({"search": search} if search else {}),
            )
            orders = {vr.vehicle: [by_key[k] for k in vr.jobs] for vr in solution.routes} if solution.routes else start
            extra |= {"status": solution.status, "objective": solution.objective}
        else:
            orders = _rep_by_rep(vehicles, jobs, travel, start, search_end, params)
            extra |= {"status": "rep_by_rep"}
        orders, left_out = _timed(vehicles, orders, jobs, travel)
        orders, left_out = repair(vehicles, orders, left_out, travel, deadline=deadline)
    routes = problem.routes(orders)
    unassigned = [*problem.left_out, *problem.explain([j.key for j in left_out], routes)]
    extra["wall_s"] = round(time.perf_counter() - started, 3)
    order = {s.id: i for i, s in enumerate(problem.stores)}
    unassigned.sort(key=lambda u: order[u.store_id])
    return DayPlan(
        date=problem.date.isoformat(),
        time_zone=problem.policy.time_zone,
        routes=tuple(routes),
        unassigned=tuple(unassigned),
        params=params.as_dict() | extra,
    )


def refill_day(
    date: dt.date,
    routes: Sequence[Route],
    left_out: Sequence[Store],
    stores: Sequence[Store],
    reps: Sequence[Rep],
    policy: Policy,
    travel: TravelMatrix,
    *,
    deadline: float | None = None,
) -> tuple[list[Route], list[Unassigned]]:
    """Put visits that were left out of a planned date (``left_out``) where they fit on
    that date, trading lower-priority visits for higher ones as the day solver does
    (``routing.repair``); ``stores`` are the stores on ``routes``. Returns the routes of
    the date and every visit left out, with its reason (a visit taken off a route for a
    higher-priority one among them)."""
    problem = day_problem(date, [*stores, *left_out], reps, policy, travel)
    jobs = {j.key: j for j in problem.jobs}
    vehicles = list(problem.vehicles)
    on_routes = {r.rep_id: [jobs[s.store_id] for s in r.visits] for r in routes}
    orders, peeled = _timed(vehicles, on_routes, [j for r in on_routes.values() for j in r], travel)
    left = peeled + [jobs[s.id] for s in left_out if s.id in jobs]
    orders, left = repair(vehicles, orders, left, travel, deadline=deadline)
    new_routes = problem.routes(orders)
    return new_routes, [*problem.left_out, *problem.explain([j.key for j in left], new_routes)]


def insert_visit(date: dt.date, route: Route | None, on_route: Sequence[Store], store: Store, rep: Rep, policy: Policy,
                 travel: TravelMatrix) -> Route | None:
    """``route`` (the rep's on ``date``; its stores ``on_route``) with a visit to ``store``
    added where it adds the least travel, every other visit kept, in order; None when it
    does not fit (closed, out of reach, or the day is full)."""
    problem = day_problem(date, [*on_route, store], [rep], policy, travel)
    if not problem.vehicles:
        return None
    jobs = {j.key: j for j in problem.jobs}
    visits = route.visits if route is not None else []
    if store.id not in jobs or any(v.store_id not in jobs for v in visits):
        return None
    vehicle = problem.vehicles[0]
    order = insert_one(vehicle, [jobs[v.store_id] for v in visits], jobs[store.id], travel)
    if order is None:
        return None
    return timed_route(vehicle, order, travel, date=date.isoformat())


def _timed(vehicles, orders: Mapping[str, Sequence[vrptw.Job]], jobs, travel):
    """Each route checked by the exact timing rule (``routing.timing.feasible``); a route
    the search got wrong by it (it should not happen) loses visits from its end until it
    holds. Returns the routes and the jobs on none."""
    by_vehicle = {v.key: v for v in vehicles}
    out: dict[str, list[vrptw.Job]] = {}
    for key, route in orders.items():
        route = list(route)
        while route and not feasible(by_vehicle[key], route, travel):
            route.pop()
        out[key] = route
    on_route = {j.key for r in out.values() for j in r}
    return out, [j for j in jobs if j.key not in on_route]


def _rep_by_rep(vehicles, jobs, travel, start, deadline: float, params: SolveParams) -> dict[str, list[vrptw.Job]]:
    """A big day: a greedy start by priority (``routing.repair``) from ``start`` (vehicle
    key -> jobs), then each rep's route with the left-out visits nearest to it, re-solved
    in a small OR-Tools model."""
    by_key = {j.key: j for j in jobs}
    start, _ = _timed(vehicles, start, jobs, travel)
    share = 0.3  # of the time: the greedy start; the rest polishes the routes rep by rep
    greedy_end = time.perf_counter() + share * max(0.0, deadline - time.perf_counter())
    placed = {j.key for r in start.values() for j in r}
    orders, left = repair(vehicles, start, [j for j in jobs if j.key not in placed], travel, deadline=greedy_end,
                          best_effort=True)
    seconds = travel.seconds_array
    for k, veh in enumerate(vehicles):
        now = time.perf_counter()
        budget = (deadline - now) / (len(vehicles) - k)
        if budget < 0.05 and params.solution_limit is None:
            break
        mine = orders[veh.key]
        allowed = [j for j in left if j.vehicles is None or veh.key in j.vehicles]
        if allowed:
            here = [travel.index[veh.start]] + [travel.index[j.place] for j in mine]
            places = np.array([travel.index[j.place] for j in allowed])
            near = seconds[np.ix_(np.array(here), places)].min(axis=0)
            allowed = [allowed[i] for i in np.argsort(near, kind="stable")[:CANDIDATES_PER_REP]]
        if not mine and not allowed:
            continue
        problem = vrptw.Problem(jobs=mine + allowed, vehicles=[veh], matrix=travel, cost="seconds", span_weight=1)
        result = vrptw.solve(problem, time_limit_s=budget, seed=params.seed,
                             solution_limit=params.solution_limit, initial={veh.key: [j.key for j in mine]})
        if not result.routes:
            continue
        new = [by_key[key] for key in result.routes[0].jobs]
        if not feasible(veh, new, travel):
            continue
        taken = {j.key for j in new}
        left = [j for j in left if j.key not in taken] + [j for j in mine if j.key not in taken]
        orders[veh.key] = new
    return orders


def _fair_day_s(jobs, reps, travel: TravelMatrix) -> int:
    """An equal share of the day's work: all visit time plus, per visit, the drive from its
    nearest other place, split over the reps."""
    places = [j.place for j in jobs] + [r.start_key for r in reps]
    seconds, _ = travel.sub(places)
    nearest = np.where(np.eye(len(places), dtype=bool), np.iinfo(np.int64).max, seconds).min(axis=1)
    work = sum(j.service_s for j in jobs) + int(nearest[: len(jobs)].sum())
    return work // max(1, len(reps))


