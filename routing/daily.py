"""Plan one date: each working rep's ordered visits with times, and what did not fit, and why.

Visits are screened first (closed that day, outside every shift, out of reach ...): such a
visit never reaches the solver and gets its own reason. The rest go to the routing core as
optional jobs whose drop penalty grows with the class priority, so when time runs out the
lowest-priority visits are left out first.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import vrptw
from .clock import day_clock
from .repair import Timing, feasible, insert_one, repair, time_route
from .hours import fits_in, open_windows
from .model import Break, DayPlan, Policy, Rep, Route, SolveParams, Stop, Store, Unassigned
from .travel import TravelMatrix, places_of, straight_line_matrix


def start_windows(opening: Sequence[tuple[int, int]], service_s: int) -> list[tuple[int, int]]:
    """When a visit may start so that it begins and ends inside one opening window."""
    return [(a, b - service_s) for a, b in opening if b - a >= service_s]


def day_matrix(stores: Sequence[Store], reps: Sequence[Rep], policy: Policy) -> TravelMatrix:
    """The straight-line travel matrix of the policy, over every store and rep place."""
    return straight_line_matrix(places_of(stores, reps), speed_kmh=policy.speed_kmh, circuity=policy.circuity)


@dataclass(frozen=True)
class Restart:
    """The rest of a day under way (``routing.replan``): each rep in ``starts`` carries on
    from a place (a travel-matrix key) at a time (real seconds) instead of home at the shift
    start; the lunch of the reps in ``lunch_taken`` is behind them, the others' lunch cannot
    start before that time (``rest_lunch``). ``latest_s`` ends a store's visit by a time
    (an urgent visit), ``priority`` overrides a store's class priority. With ``previous``
    (rep id -> store ids in order) each visit given to another rep costs ``change_cost`` and
    each leg not on the rep's previous route ``order_cost`` (``vrptw.Problem.previous``)."""

    starts: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    lunch_taken: frozenset[str] = frozenset()
    latest_s: Mapping[str, int] = field(default_factory=dict)
    priority: Mapping[str, int] = field(default_factory=dict)
    previous: Mapping[str, Sequence[str]] | None = None
    change_cost: int = 0
    order_cost: int = 0
    max_changes: int | None = None
    """At most this many visits leave the rep they were on or the day (``vrptw.Problem.max_changes``)."""

    def vehicle(self, rep: Rep, fair_day_s: int | None = None) -> vrptw.Vehicle:
        """The rep's vehicle for the rest of the day (``rep`` in real time)."""
        vehicle = _vehicle(rep, fair_day_s)
        if rep.id not in self.starts:
            return vehicle
        place, time_s = self.starts[rep.id]
        lunch = None if rep.id in self.lunch_taken else rest_lunch(rep.lunch, time_s)
        return dataclasses.replace(vehicle, start=place, earliest_s=max(time_s, rep.shift_start_s), lunch=lunch)


def rest_lunch(lunch: Break | None, time_s: int) -> Break | None:
    """The lunch still to take on a day resumed at ``time_s``: not before then; None when
    it no longer fits its window (missed: the rep works on)."""
    if lunch is None or max(lunch.earliest_s, time_s) + lunch.duration_s > lunch.latest_s:
        return None
    return Break(max(lunch.earliest_s, time_s), lunch.latest_s, lunch.duration_s)


@dataclass(frozen=True)
class _Screened:
    jobs: list[vrptw.Job]
    unassigned: list[Unassigned]


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
    """Plan a visit to every store in ``stores`` on ``date`` with the reps who work that day.

    ``travel`` defaults to the policy's straight-line model. Every store ends up on exactly
    one route or in ``unassigned`` with a reason. ``initial`` (rep id -> store ids in
    order) is a starting solution, used when it keeps every window, shift and break.
    ``restart`` plans the rest of a day under way (see ``Restart``).
    Returns within ``params.time_limit_s`` plus a small overhead (building the plan), at
    any size: the search stops early enough for the repair (``routing.repair``), which
    makes sure no left-out visit fits a route and no visit is left out for a lower-priority
    one.
    """
    started = time.perf_counter()
    deadline = started + params.time_limit_s
    travel = travel or day_matrix(stores, reps, policy)
    restart = restart or Restart()
    reps = _real_time(reps, date, policy)
    working = [r for r in reps if r.works_on(date)]
    vehicle_of = {r.id: restart.vehicle(r) for r in working}
    working = [r for r in working if vehicle_of[r.id].earliest_s <= vehicle_of[r.id].latest_s]
    screened = _screen(date, stores, reps, working, policy, travel, int(params.balance_weight), restart, vehicle_of)
    unassigned = list(screened.unassigned)
    extra: dict = {"travel": travel.source}
    vehicles = [vehicle_of[r.id] for r in working]
    orders: dict[str, list[vrptw.Job]] = {}
    left_out = list(screened.jobs)
    if screened.jobs and working:
        by_key = {j.key: j for j in screened.jobs}
        if initial is not None:
            reps_on = {r.id for r in working}
            initial = {r: [s for s in ids if s in by_key] for r, ids in initial.items() if r in reps_on}
        reserve = min(0.5 * params.time_limit_s, REPAIR_SHARE * params.time_limit_s + REPAIR_S_PER_JOB * len(screened.jobs))
        search_end = deadline - reserve
        start = {k: [by_key[s] for s in ids] for k, ids in (initial or {}).items()}
        if search_end - time.perf_counter() < MIN_SEARCH_S and params.solution_limit is None:
            orders = start  # no time to search: the starting routes, timed and repaired
            extra |= {"status": "no_search"}
        elif len(screened.jobs) <= ONE_MODEL_MAX_JOBS:
            fair = _fair_day_s(screened.jobs, working, travel) if params.balance_weight else None
            problem = vrptw.Problem(
                jobs=screened.jobs,
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
                problem, time_limit_s=max(0.0, search_end - time.perf_counter()), solution_limit=params.solution_limit,
                seed=params.seed, initial=initial, **({"search": search} if search else {}),
            )
            orders = {vr.vehicle: [by_key[k] for k in vr.jobs] for vr in solution.routes} if solution.routes else start
            extra |= {"status": solution.status, "objective": solution.objective}
        else:
            orders = _rep_by_rep(vehicles, screened.jobs, travel, start, search_end, params)
            extra |= {"status": "rep_by_rep"}
        orders, left_out = _timed(vehicles, orders, screened.jobs, travel)
        orders, left_out = repair(vehicles, orders, left_out, travel, deadline=deadline)
    routes = _routes(vehicles, orders, date, travel)
    unassigned += _explain_dropped([j.key for j in left_out], stores, working, routes, policy, date)
    extra["wall_s"] = round(time.perf_counter() - started, 3)
    order = {s.id: i for i, s in enumerate(stores)}
    unassigned.sort(key=lambda u: order[u.store_id])
    return DayPlan(
        date=date.isoformat(),
        time_zone=policy.time_zone,
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
    reps = _real_time(reps, date, policy)
    working = [r for r in reps if r.works_on(date)]
    screened = _screen(date, [*stores, *left_out], reps, working, policy, travel, 0, Restart(),
                       {r.id: _vehicle(r) for r in working})
    jobs = {j.key: j for j in screened.jobs}
    vehicles = [_vehicle(r) for r in working]
    on_routes = {r.rep_id: [jobs[s.store_id] for s in r.visits] for r in routes}
    orders, peeled = _timed(vehicles, on_routes, [j for r in on_routes.values() for j in r], travel)
    left = peeled + [jobs[s.id] for s in left_out if s.id in jobs]
    orders, left = repair(vehicles, orders, left, travel, deadline=deadline)
    new_routes = _routes(vehicles, orders, date, travel)
    unassigned = screened.unassigned + _explain_dropped([j.key for j in left], [*stores, *left_out], working, new_routes, policy, date)
    return new_routes, unassigned


def insert_visit(date: dt.date, route: Route | None, on_route: Sequence[Store], store: Store, rep: Rep, policy: Policy,
                 travel: TravelMatrix) -> Route | None:
    """``route`` (the rep's on ``date``; its stores ``on_route``) with a visit to ``store``
    added where it adds the least travel, every other visit kept, in order; None when it
    does not fit (closed, out of reach, or the day is full)."""
    rep = _real_time([rep], date, policy)[0]
    if not rep.works_on(date):
        return None
    vehicle = _vehicle(rep)
    screened = _screen(date, [*on_route, store], [rep], [rep], policy, travel, 0, Restart(), {rep.id: vehicle})
    jobs = {j.key: j for j in screened.jobs}
    visits = route.visits if route is not None else []
    if store.id not in jobs or any(v.store_id not in jobs for v in visits):
        return None
    order = insert_one(vehicle, [jobs[v.store_id] for v in visits], jobs[store.id], travel)
    if order is None:
        return None
    return build_route(vehicle, order, time_route(vehicle, order, travel), date=date.isoformat(), travel=travel)


def _routes(vehicles, orders: Mapping[str, Sequence[vrptw.Job]], date: dt.date, travel: TravelMatrix) -> list[Route]:
    """The routes with visits, timed and turned into stops, by rep id."""
    by_vehicle = {v.key: v for v in vehicles}
    return sorted((build_route(by_vehicle[k], jobs, time_route(by_vehicle[k], jobs, travel), date=date.isoformat(), travel=travel)
                   for k, jobs in orders.items() if jobs), key=lambda r: r.rep_id)


def _timed(vehicles, orders: Mapping[str, Sequence[vrptw.Job]], jobs, travel):
    """Each route checked by the exact timing rule (``routing.repair.feasible``); a route
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


def _real_time(reps: Sequence[Rep], date: dt.date, policy: Policy) -> list[Rep]:
    """The reps with shifts and lunch windows in real seconds of ``date`` (``routing.clock``)."""
    clock = day_clock(date, policy.time_zone)
    return [clock.rep(r) for r in reps]


def _fair_day_s(jobs, reps, travel: TravelMatrix) -> int:
    """An equal share of the day's work: all visit time plus, per visit, the drive from its
    nearest other place, split over the reps."""
    places = [j.place for j in jobs] + [r.start_key for r in reps]
    seconds, _ = travel.sub(places)
    nearest = np.where(np.eye(len(places), dtype=bool), np.iinfo(np.int64).max, seconds).min(axis=1)
    work = sum(j.service_s for j in jobs) + int(nearest[: len(jobs)].sum())
    return work // max(1, len(reps))


def _vehicle(rep: Rep, fair_day_s: int | None = None) -> vrptw.Vehicle:
    return vrptw.Vehicle(
        key=rep.id,
        start=rep.start_key,
        end=rep.end_key,
        earliest_s=rep.shift_start_s,
        latest_s=rep.shift_end_s,
        lunch=rep.lunch,
        max_jobs=rep.max_visits,
        capacity=rep.capacity,
        fair_work_s=fair_day_s,
    )


def _penalties(stores: Sequence[Store], policy: Policy, reps: Sequence[Rep], balance_weight: int,
               priority: Mapping[str, int] | None = None) -> dict[int, int]:
    """Drop penalty per priority: each level outweighs all visits of the levels below it.
    ``priority``: store id -> a priority instead of its class's."""
    priority = priority or {}
    longest_day = max((r.shift_end_s - r.shift_start_s for r in reps), default=24 * 3600)
    # More than one visit can add: travel, twice the span, a late start, the balance term.
    penalty = (5 + balance_weight) * longest_day
    per_level: dict[int, int] = {}
    for store in stores:
        level = priority.get(store.id, policy.classes[store.store_class].priority)
        per_level[level] = per_level.get(level, 0) + 1
    cap = 2**62 // (len(stores) + 1)  # the sum of all penalties must fit the solver's int64
    penalties, below = {}, 0
    for level in sorted({c.priority for c in policy.classes.values()} | set(priority.values())):
        penalties[level] = penalty
        below += per_level.get(level, 0)
        penalty = min(penalty * (below + 1), cap)  # at the cap, order between the top levels is lost
    return penalties


def _screen(date, stores, reps, working, policy, travel, balance_weight: int, restart: Restart,
            vehicle_of: Mapping[str, vrptw.Vehicle]) -> _Screened:
    """Give each store either a job for the solver or a reason it cannot be visited
    (each working rep's day is ``vehicle_of[rep id]``)."""
    clock = day_clock(date, policy.time_zone)
    known = {r.id: r for r in reps}
    working_ids = {r.id for r in working}
    penalties = _penalties(stores, policy, working, balance_weight, restart.priority)
    jobs, unassigned = [], []

    def out(store: Store, reason: str, detail: str) -> None:
        unassigned.append(Unassigned(store.id, reason, detail, date.isoformat()))

    for store in stores:
        if store.rep_id is not None and store.rep_id not in working_ids:
            owner = known.get(store.rep_id)
            why = "is not in the team" if owner is None else "has a day off" if date in owner.days_off else "does not work on this date"
            out(store, "rep_not_working", f"owner rep {store.rep_id} {why}")
            continue
        opening = clock.windows(open_windows(store.opening_hours, date))
        if not opening:
            out(store, "closed_on_date", f"closed on {date:%A} ({store.opening_hours})")
            continue
        service = policy.service_s(store)
        latest = restart.latest_s.get(store.id)
        usable = opening if latest is None else [(a, min(b, latest)) for a, b in opening]  # an urgent visit ends by then
        windows = start_windows(usable, service)
        if not windows:
            by = f" ending by {clock.clock_time(latest)}" if latest is not None else ""
            out(store, "window_too_short", f"no opening window fits a {service // 60} min visit{by} ({store.opening_hours})")
            continue
        candidates = [r for r in working if store.rep_id in (None, r.id)]
        if not candidates:
            out(store, "rep_not_working", "no rep works on this date")
            continue
        shift = {r.id: (vehicle_of[r.id].earliest_s, r.shift_end_s) for r in candidates}
        in_shift = [r for r in candidates if fits_in(usable, service, *shift[r.id])]
        if not in_shift:
            shifts = clock.hours_text(sorted(set(shift.values())))
            out(store, "outside_shift", f"open {clock.hours_text(opening)}: no eligible rep's shift ({shifts}) holds "
                                        f"a {service // 60} min visit")
            continue
        reachable = [r for r in in_shift if _reachable_alone(vehicle_of[r.id], store.id, windows, service, travel)]
        if not reachable:
            out(store, "unreachable_in_shift", "no rep can get there, visit in opening hours and get back within the shift")
            continue
        able = [r for r in reachable if r.capacity is None or store.demand <= r.capacity]
        if not able:
            out(store, "over_capacity", f"demand {store.demand} exceeds every eligible rep's capacity")
            continue
        job = vrptw.Job(
            key=store.id,
            place=store.id,
            windows=tuple(windows),
            service_s=service,
            penalty=penalties[restart.priority.get(store.id, policy.classes[store.store_class].priority)],
            demand=store.demand,
        )
        able = [r for r in able if feasible(vehicle_of[r.id], [job], travel)]
        if not able:
            lunch = vehicle_of[reachable[0].id].lunch
            when = f" ({clock.hours_text([(lunch.earliest_s, lunch.latest_s)])}, {lunch.duration_s // 60} min)" if lunch else ""
            out(store, "lunch_break", f"open {clock.hours_text(opening)}: only while the eligible reps have lunch{when}")
            continue
        jobs.append(dataclasses.replace(job, vehicles=None if len(able) == len(working) else frozenset(r.id for r in able)))
    return _Screened(jobs, unassigned)


def _clip(windows, lo: int, hi: int) -> list[tuple[int, int]]:
    return [(max(a, lo), min(b, hi)) for a, b in windows if max(a, lo) <= min(b, hi)]


def can_visit_alone(rep: Rep, store: Store, date: dt.date, policy: Policy, travel: TravelMatrix) -> bool:
    """Could ``rep`` visit ``store`` on ``date`` on an otherwise empty day (open, in the
    shift, there and back in time, the lunch kept)? The rule the day solver screens with."""
    clock = day_clock(date, policy.time_zone)
    rep = clock.rep(rep)
    service = policy.service_s(store)
    windows = start_windows(clock.windows(open_windows(store.opening_hours, date)), service)
    vehicle = _vehicle(rep)
    if not _reachable_alone(vehicle, store.id, windows, service, travel):
        return False
    return feasible(vehicle, [vrptw.Job(store.id, store.id, tuple(windows), service)], travel)


def _reachable_alone(vehicle: vrptw.Vehicle, place: str, windows, service: int, travel: TravelMatrix) -> bool:
    """Can the rep (its day as ``vehicle``) do this one visit on an otherwise empty day?"""
    earliest = vehicle.earliest_s + travel.seconds(vehicle.start, place)
    latest = vehicle.latest_s - service - travel.seconds(place, vehicle.end)
    return bool(_clip(windows, earliest, latest))


def build_route(vehicle: vrptw.Vehicle, jobs: Sequence[vrptw.Job], timing: Timing, *, date: str,
                travel: TravelMatrix) -> Route:
    """Turn an order and its timing (``routing.repair.time_route``) into stops.

    A lunch on a leg is listed before the stop it precedes and is over when the rep is
    listed as arrived (see ``routing.check``), so stop times never go backwards.
    """
    lunch = vehicle.lunch
    stops = [Stop("start", timing.depart_s, timing.depart_s, timing.depart_s)]
    place, leave = vehicle.start, timing.depart_s
    legs = [(j.place, s, j.service_s) for j, s in zip(jobs, timing.starts_s)] + [(vehicle.end, None, 0)]
    for k, (key, start, service_s) in enumerate(legs):
        travel_s, metres = travel.seconds(place, key), travel.metres(place, key)
        arrival, idle = leave + travel_s, 0
        if timing.break_leg == k and lunch is not None:
            b0, b1 = timing.break_start_s, timing.break_start_s + lunch.duration_s
            stops.append(Stop("break", b0, b0, b1))
            arrival = max(leave + travel_s, b0) + lunch.duration_s
            idle = arrival - leave - travel_s - lunch.duration_s
        if start is None:
            stops.append(Stop("end", arrival, arrival, arrival, travel_s=travel_s, distance_m=metres))
            break
        stops.append(Stop("visit", arrival, start, start + service_s, key, travel_s, metres, start - arrival + idle))
        place, leave = key, start + service_s
    return Route(vehicle.key, date, tuple(stops))


def _explain_dropped(dropped, stores, working, routes, policy, date) -> list[Unassigned]:
    """Reasons for the visits the solver left out."""
    by_id = {s.id: s for s in stores}
    load = {r.rep_id: len(r.visits) for r in routes}
    demand = {r.rep_id: sum(by_id[v.store_id].demand for v in r.visits) for r in routes}
    out = []
    for key in dropped:
        store = by_id[key]
        candidates = [r for r in working if store.rep_id in (None, r.id)]
        full = [r for r in candidates if r.max_visits is not None and load.get(r.id, 0) >= r.max_visits]
        priority = policy.classes[store.store_class].priority
        loaded = [r for r in candidates if r.capacity is not None and demand.get(r.id, 0) + store.demand > r.capacity]
        if candidates and len(full) == len(candidates):
            reason, detail = "max_visits_reached", f"eligible reps are at their max_visits ({', '.join(r.id for r in full)})"
        elif candidates and store.demand and len(loaded) == len(candidates):
            reason, detail = "over_capacity", f"demand {store.demand} does not fit the eligible reps' remaining capacity"
        else:
            reason = "not_enough_time"
            detail = f"class {store.store_class} (priority {priority}) dropped: the eligible reps' days are full"
        out.append(Unassigned(key, reason, detail, date.isoformat()))
    return out
