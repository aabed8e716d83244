"""Plan one date: each working rep's ordered visits with times, and what did not fit, and why.

Visits are screened first (closed that day, outside every shift, out of reach ...): such a
visit never reaches the solver and gets its own reason. The rest go to the routing core as
optional jobs whose drop penalty grows with the class priority, so when time runs out the
lowest-priority visits are left out first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from . import vrptw
from .hours import open_windows
from .model import Break, DayPlan, Policy, Rep, Route, SolveParams, Stop, Store, Unassigned
from .travel import TravelMatrix, places_of, straight_line_matrix


def service_seconds(store: Store, policy: Policy) -> int:
    """Visit length: the store's own ``service_min``, else its class default."""
    minutes = store.service_min if store.service_min is not None else policy.classes[store.store_class].service_min
    return int(round(minutes * 60))


def start_windows(opening: Sequence[tuple[int, int]], service_s: int) -> list[tuple[int, int]]:
    """When a visit may start so that it begins and ends inside one opening window."""
    return [(a, b - service_s) for a, b in opening if b - a >= service_s]


def day_matrix(stores: Sequence[Store], reps: Sequence[Rep], policy: Policy) -> TravelMatrix:
    """The straight-line travel matrix of the policy, over every store and rep place."""
    return straight_line_matrix(places_of(stores, reps), speed_kmh=policy.speed_kmh, circuity=policy.circuity)


@dataclass(frozen=True)
class _Screened:
    jobs: list[vrptw.Job]
    unassigned: list[Unassigned]


def solve_day(
    date: dt.date,
    stores: Sequence[Store],
    reps: Sequence[Rep],
    policy: Policy,
    *,
    travel: TravelMatrix | None = None,
    params: SolveParams = SolveParams(),
    initial: Mapping[str, Sequence[str]] | None = None,
) -> DayPlan:
    """Plan a visit to every store in ``stores`` on ``date`` with the reps who work that day.

    ``travel`` defaults to the policy's straight-line model. Every store ends up on exactly
    one route or in ``unassigned`` with a reason. ``initial`` (rep id -> store ids in
    order) is a starting solution, used when it keeps every window, shift and break.
    """
    travel = travel or day_matrix(stores, reps, policy)
    working = [r for r in reps if r.works_on(date)]
    screened = _screen(date, stores, reps, working, policy, travel, int(params.balance_weight))
    routes: list[Route] = []
    unassigned = list(screened.unassigned)
    extra: dict = {"travel": travel.source}
    if screened.jobs and working:
        fair = _fair_day_s(screened.jobs, working, travel) if params.balance_weight else None
        problem = vrptw.Problem(
            jobs=screened.jobs,
            vehicles=[_vehicle(r, fair) for r in working],
            matrix=travel,
            cost="seconds",
            span_weight=1,
            balance_weight=int(params.balance_weight),
        )
        if initial is not None:
            keys, reps_on = {j.key for j in screened.jobs}, {r.id for r in working}
            initial = {r: [s for s in ids if s in keys] for r, ids in initial.items() if r in reps_on}
        solution = vrptw.solve(
            problem, time_limit_s=params.time_limit_s, solution_limit=params.solution_limit, seed=params.seed,
            initial=initial,
        )
        by_id = {r.id: r for r in working}
        service = {j.key: j.service_s for j in screened.jobs}
        routes = [
            build_route(vr, lunch=by_id[vr.vehicle].lunch, date=date.isoformat(), service=service, travel=travel)
            for vr in solution.routes
        ]
        unassigned += _explain_dropped(solution.dropped, stores, working, routes, policy, date)
        extra |= {"status": solution.status, "objective": solution.objective, "wall_s": round(solution.wall_s, 3)}
    order = {s.id: i for i, s in enumerate(stores)}
    unassigned.sort(key=lambda u: order[u.store_id])
    return DayPlan(
        date=date.isoformat(),
        time_zone=policy.time_zone,
        routes=tuple(sorted(routes, key=lambda r: r.rep_id)),
        unassigned=tuple(unassigned),
        params=params.as_dict() | extra,
    )


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


def _penalties(stores: Sequence[Store], policy: Policy, reps: Sequence[Rep], balance_weight: int) -> dict[int, int]:
    """Drop penalty per priority: each level outweighs all visits of the levels below it."""
    longest_day = max((r.shift_end_s - r.shift_start_s for r in reps), default=24 * 3600)
    # More than one visit can add: travel, twice the span, a late start, the balance term.
    penalty = (5 + balance_weight) * longest_day
    per_level: dict[int, int] = {}
    for store in stores:
        level = policy.classes[store.store_class].priority
        per_level[level] = per_level.get(level, 0) + 1
    cap = 2**62 // (len(stores) + 1)  # the sum of all penalties must fit the solver's int64
    penalties, below = {}, 0
    for level in sorted({c.priority for c in policy.classes.values()}):
        penalties[level] = penalty
        below += per_level.get(level, 0)
        penalty = min(penalty * (below + 1), cap)  # at the cap, order between the top levels is lost
    return penalties


def _screen(date, stores, reps, working, policy, travel, balance_weight: int) -> _Screened:
    """Give each store either a job for the solver or a reason it cannot be visited."""
    known = {r.id: r for r in reps}
    working_ids = {r.id for r in working}
    penalties = _penalties(stores, policy, working, balance_weight)
    jobs, unassigned = [], []

    def out(store: Store, reason: str, detail: str) -> None:
        unassigned.append(Unassigned(store.id, reason, detail, date.isoformat()))

    for store in stores:
        if store.rep_id is not None and store.rep_id not in working_ids:
            owner = known.get(store.rep_id)
            why = "is not in the team" if owner is None else "has a day off" if date in owner.days_off else "does not work on this date"
            out(store, "rep_not_working", f"owner rep {store.rep_id} {why}")
            continue
        opening = open_windows(store.opening_hours, date)
        if not opening:
            out(store, "closed_on_date", f"closed on {date:%A} ({store.opening_hours})")
            continue
        service = service_seconds(store, policy)
        windows = start_windows(opening, service)
        if not windows:
            out(store, "window_too_short", f"no opening window fits a {service // 60} min visit ({store.opening_hours})")
            continue
        candidates = [r for r in working if store.rep_id in (None, r.id)]
        if not candidates:
            out(store, "rep_not_working", "no rep works on this date")
            continue
        in_shift = [r for r in candidates if _clip(windows, r.shift_start_s, r.shift_end_s - service)]
        if not in_shift:
            out(store, "outside_shift", f"open {_fmt_windows(opening)}, shifts do not cover a {service // 60} min visit")
            continue
        reachable = [r for r in in_shift if _reachable_alone(r, store.id, windows, service, travel)]
        if not reachable:
            out(store, "unreachable_in_shift", "no rep can get there, visit in opening hours and get back within the shift")
            continue
        able = [r for r in reachable if r.capacity is None or store.demand <= r.capacity]
        if not able:
            out(store, "over_capacity", f"demand {store.demand} exceeds every eligible rep's capacity")
            continue
        jobs.append(
            vrptw.Job(
                key=store.id,
                place=store.id,
                windows=tuple(windows),
                service_s=service,
                penalty=penalties[policy.classes[store.store_class].priority],
                demand=store.demand,
                vehicles=None if len(able) == len(working) else frozenset(r.id for r in able),
            )
        )
    return _Screened(jobs, unassigned)


def _clip(windows, lo: int, hi: int) -> list[tuple[int, int]]:
    return [(max(a, lo), min(b, hi)) for a, b in windows if max(a, lo) <= min(b, hi)]


def can_visit_alone(rep: Rep, store: Store, date: dt.date, policy: Policy, travel: TravelMatrix) -> bool:
    """Could ``rep`` visit ``store`` on ``date`` on an otherwise empty day (open, in the
    shift, there and back in time)? The same rule the day solver screens visits with."""
    service = service_seconds(store, policy)
    windows = start_windows(open_windows(store.opening_hours, date), service)
    return _reachable_alone(rep, store.id, windows, service, travel)


def _reachable_alone(rep: Rep, place: str, windows, service: int, travel: TravelMatrix) -> bool:
    """Can ``rep`` do this one visit on an otherwise empty day?"""
    earliest = rep.shift_start_s + travel.seconds(rep.start_key, place)
    latest = rep.shift_end_s - service - travel.seconds(place, rep.end_key)
    return bool(_clip(windows, earliest, latest))


def _fmt_windows(windows) -> str:
    return ", ".join(f"{a // 3600:02d}:{a % 3600 // 60:02d}-{b // 3600:02d}:{b % 3600 // 60:02d}" for a, b in windows)


def build_route(
    vr: vrptw.VehicleRoute, *, lunch: Break | None, date: str, service: Mapping[str, int], travel: TravelMatrix
) -> Route:
    """Turn the solver's order and start times into stops, placing the lunch break.

    A break taken on a leg is taken on the way: the rep leaves the previous stop, and the
    break sits somewhere between leaving and starting the next visit (see ``routing.check``).
    """
    stops = [Stop("start", vr.depart_s, vr.depart_s, vr.depart_s)]
    pending = None
    if lunch is not None and vr.break_start_s is not None:
        pending = (vr.break_start_s, vr.break_start_s + lunch.duration_s)
        if pending[1] <= vr.depart_s:
            pending = None  # taken before the day starts
    place, leave = vr.start, vr.depart_s
    legs = [(key, start, service[key]) for key, start in zip(vr.jobs, vr.starts_s)]
    legs.append((vr.end, None, 0))
    for key, start, service_s in legs:
        travel_s, metres = travel.seconds(place, key), travel.metres(place, key)
        arrival = leave + travel_s
        on_leg = pending is not None and (start is None or pending[1] <= start)
        break_stop = None
        if on_leg:
            b0, b1 = pending
            if start is None and b0 >= arrival:
                on_leg = False  # after the day's end: not part of the route
            else:
                break_stop = Stop("break", b0, b0, b1)
                taken_before_arrival = b0 < arrival
                if taken_before_arrival:
                    arrival += b1 - b0
            pending = None
        if break_stop is not None:
            stops.append(break_stop)
        if start is None:
            stops.append(Stop("end", arrival, arrival, arrival, travel_s=travel_s, distance_m=metres))
            break
        lunch_at_store = break_stop is not None and break_stop.start_s >= arrival
        wait = start - arrival - (break_stop.end_s - break_stop.start_s if lunch_at_store else 0)
        stops.append(Stop("visit", arrival, start, start + service_s, key, travel_s, metres, wait))
        place, leave = key, start + service_s
    return Route(vr.vehicle, date, tuple(stops))


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
