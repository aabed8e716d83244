"""One date's problem, built once: the visits that can be made (windows in real time, each
with its drop penalty) and those that cannot with their reasons, the working reps' days as
vehicles, and the travel matrix.

Visits are screened here (closed that day, outside every shift, out of reach ...): such a
visit never reaches a solver and gets its own reason. ``DayProblem`` is plain, picklable
data: the day search (``routing.daily``), the repair, the cycle planner's refill, an inserted
visit and the re-plan all start from one, and a worker process can build the OR-Tools model
where it runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from . import vrptw
from .clock import day_clock
from .hours import fits_in, open_windows
from .model import Break, Policy, Rep, Route, Store, Unassigned
from .timing import feasible, timed_route
from .travel import TravelMatrix


def start_windows(opening: Sequence[tuple[int, int]], service_s: int) -> list[tuple[int, int]]:
    """When a visit may start so that it begins and ends inside one opening window."""
    return [(a, b - service_s) for a, b in opening if b - a >= service_s]


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
        vehicle = rep_vehicle(rep, fair_day_s)
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
class DayProblem:
    """A date's problem (``day_problem`` builds it): ``jobs``, the visits to plan; ``left_out``,
    the visits screened out with their reasons; ``reps``, the reps who work (shifts and lunch
    in real seconds of the date) and ``vehicles`` their days (the same order); ``restart``,
    the rest of a day under way."""

    date: dt.date
    policy: Policy
    stores: tuple[Store, ...]
    reps: tuple[Rep, ...]
    vehicles: tuple[vrptw.Vehicle, ...]
    jobs: tuple[vrptw.Job, ...]
    left_out: tuple[Unassigned, ...]
    travel: TravelMatrix
    restart: Restart = Restart()

    def routes(self, orders: Mapping[str, Sequence[vrptw.Job]]) -> list[Route]:
        """The routes with visits (vehicle key -> jobs in order), timed and turned into stops, by rep id."""
        by_vehicle = {v.key: v for v in self.vehicles}
        return sorted((timed_route(by_vehicle[k], jobs, self.travel, date=self.date.isoformat())
                       for k, jobs in orders.items() if jobs), key=lambda r: r.rep_id)

    def explain(self, dropped: Iterable[str], routes: Sequence[Route]) -> list[Unassigned]:
        """Reasons for the visits the search left out (store ids), given the routes."""
        return _explain_dropped(list(dropped), self.stores, self.reps, routes, self.policy, self.date)


def day_problem(date: dt.date, stores: Sequence[Store], reps: Sequence[Rep], policy: Policy, travel: TravelMatrix, *,
                restart: Restart | None = None, balance_weight: int = 0) -> DayProblem:
    """Screen ``stores``' visits on ``date`` for the reps who work that day (``restart``: the
    rest of a day under way; ``balance_weight`` raises the drop penalties to outweigh it)."""
    restart = restart or Restart()
    reps = real_time(reps, date, policy)
    working = [r for r in reps if r.works_on(date)]
    vehicle_of = {r.id: restart.vehicle(r) for r in working}
    working = [r for r in working if vehicle_of[r.id].earliest_s <= vehicle_of[r.id].latest_s]
    screened = _screen(date, stores, reps, working, policy, travel, balance_weight, restart, vehicle_of)
    return DayProblem(date, policy, tuple(stores), tuple(working), tuple(vehicle_of[r.id] for r in working),
                      tuple(screened.jobs), tuple(screened.unassigned), travel, restart)


@dataclass(frozen=True)
class _Screened:
    jobs: list[vrptw.Job]
    unassigned: list[Unassigned]


def real_time(reps: Sequence[Rep], date: dt.date, policy: Policy) -> list[Rep]:
    """The reps with shifts and lunch windows in real seconds of ``date`` (``routing.clock``)."""
    clock = day_clock(date, policy.time_zone)
    return [clock.rep(r) for r in reps]


def rep_vehicle(rep: Rep, fair_day_s: int | None = None) -> vrptw.Vehicle:
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
    vehicle = rep_vehicle(rep)
    if not _reachable_alone(vehicle, store.id, windows, service, travel):
        return False
    return feasible(vehicle, [vrptw.Job(store.id, store.id, tuple(windows), service)], travel)


def _reachable_alone(vehicle: vrptw.Vehicle, place: str, windows, service: int, travel: TravelMatrix) -> bool:
    """Can the rep (its day as ``vehicle``) do this one visit on an otherwise empty day?"""
    earliest = vehicle.earliest_s + travel.seconds(vehicle.start, place)
    latest = vehicle.latest_s - service - travel.seconds(place, vehicle.end)
    return bool(_clip(windows, earliest, latest))


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
