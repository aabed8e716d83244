"""Plan a whole visit cycle: which store on which (rep, date), then each day's route.

Two steps: (1) choose for every store a rep and a day pattern (``routing.calendar``) with
the periodic-routing search (``routing.periodic``, the same core as the PVRP benchmark), on
real route costs across all days, each (rep, date)'s work within the rep's day, days kept
even; (2) route each (rep, date) with the day solver (time windows, lunch, exact times).
Every required visit ends on a route or in ``unassigned`` with its date.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from . import periodic
from .calendar import Cycle, Pattern, day_patterns, may_take, required_visits
from .clock import day_clock
from .daily import refill_day, solve_day
from .day import can_visit_alone
from .hours import open_windows
from .model import Policy, Rep, Route, SolveParams, Store, Summary, Unassigned, total_summary
from .travel import TravelMatrix

#: Share of ``SolveParams.time_limit_s`` for choosing days (``routing.periodic``); the rest
#: routes the days with the day solver.
ASSIGN_SHARE = 0.5
#: With a ``solution_limit`` (repeatable runs), the day-choice search runs this many
#: ruin-and-recreate iterations per allowed solution.
ASSIGN_ITERATIONS_PER_SOLUTION = 50
# A pattern's cost per visit it cannot hold (lost to a holiday, closure or day off, or too
# few open weekdays), as a share of the rep's day capacity in seconds: a whole day, so a
# pattern that keeps every visit wins unless the other days are overloaded.
MISSING_VISIT_SHARE = 1.0
# A pattern's cost per visit moved off its weekday ("prefer same weekday" classes), as a
# share of the rep's day capacity: a quarter day (2 h of an 8 h day), so the same weekdays
# every week win unless they cost that much more detour or load, and a moved visit still
# beats a lost one.
MOVED_VISIT_SHARE = 0.25
# Weight of the (quadratic) day load against travel seconds (``periodic.Problem.balance_weight``).
# Measured on the demo cycle (bench/field.py, 20 s; travel h / visits / day spread h):
# 1/6 -> 13.1 / 575 / 2.9; 1/4 -> 13.1 / 575 / 2.7; 1/2 -> 13.8 / 575 / 2.3 (the greedy
# planner before: 18.1 / 575 / 2.8; naive plan: 21.0 / 553 / 7.8). ``balance_weight`` multiplies it.
_LOAD_WEIGHT = 1 / 4
#: Weight of the quadratic workload of each rep over the whole cycle (the same form, over all
#: the rep's days), so stores without an owner are shared out between reps. Measured on a
#: synthetic 300-store, 4-rep territory: reps' months 33-104 h -> 48-90 h (1/4) or 68-89 h
#: (1), travel unchanged; on the demo 1/4 kept the day spread (2.6 h), 1 widened it to 5.1 h.
REP_LOAD_WEIGHT = 1 / 4


@dataclass(frozen=True)
class RepCapacity:
    """Work a rep's share of the cycle needs, against the working time the rep has."""

    rep_id: str
    required_h: float
    available_h: float
    working_days: int

    @property
    def utilisation(self) -> float:
        return self.required_h / self.available_h if self.available_h else math.inf


@dataclass(frozen=True)
class CyclePlan:
    """Routes for every (rep, date) with visits, what is missing, capacity and KPIs."""

    start: str
    weeks: int
    holidays: tuple[str, ...]
    time_zone: str
    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    capacity: tuple[RepCapacity, ...]
    kpis: dict
    suggestions: tuple[str, ...]
    params: dict = field(default_factory=dict)

    @property
    def summary(self) -> Summary:
        return total_summary(self.routes)


def _day_capacity_s(rep: Rep) -> int:
    return rep.shift_end_s - rep.shift_start_s - (rep.lunch.duration_s if rep.lunch else 0)


def plan_cycle(
    stores: Sequence[Store],
    reps: Sequence[Rep],
    policy: Policy,
    cycle: Cycle,
    *,
    travel: TravelMatrix,
    params: SolveParams = SolveParams(),
    progress: Callable[[str, float], None] | None = None,
) -> CyclePlan:
    """Plan ``cycle`` for the team. ``params.time_limit_s`` is the budget of the whole
    cycle: the first ``ASSIGN_SHARE`` of it chooses the days, the rest routes the (rep,
    date) days in proportion to their visits, keeping back the time each date's refill of
    missing visits takes (``refill_day``); ``params.balance_weight`` trades travel for
    evener days (0: the default trade-off). ``progress(phase, share)``, if given, hears how
    far the plan is (0-1) as it goes."""
    report = progress or (lambda phase, share: None)
    report("choosing days", 0.0)
    started = time.perf_counter()
    deadline = started + params.time_limit_s
    load_weight = _LOAD_WEIGHT * (1 + params.balance_weight)
    assignment, unassigned = _assign(stores, reps, policy, cycle, travel, load_weight, params,
                                     started + ASSIGN_SHARE * params.time_limit_s)
    by_rep = {r.id: r for r in reps}
    by_store = {s.id: s for s in stores}
    planned: dict[str, set[dt.date]] = defaultdict(set)
    for (_, date), store_ids in assignment.items():
        for s in store_ids:
            planned[s].add(date)
    missing_on: dict[dt.date, list[Unassigned]] = defaultdict(list)
    for u in unassigned:
        missing_on[dt.date.fromisoformat(u.date)].append(u)
    unassigned = []
    dates = sorted({d for _, d in assignment} | set(missing_on))
    left_visits = sum(len(v) for v in assignment.values()) or 1
    routes: list[Route] = []
    refill_s = 0.05  # the longest refill of a date so far: kept in reserve for each date to come
    report("routing days", ASSIGN_SHARE)
    for n, date in enumerate(dates):
        report("routing days", ASSIGN_SHARE + (1 - ASSIGN_SHARE) * n / len(dates))
        day_routes: list[Route] = []
        day_missing = list(missing_on.get(date, []))
        reserve = refill_s * (len(dates) - n)
        for rep_id, store_ids in sorted((k[0], v) for k, v in assignment.items() if k[1] == date):
            day_stores = [dataclasses.replace(by_store[s], rep_id=rep_id) for s in store_ids]
            budget = max(0.0, deadline - reserve - time.perf_counter()) * len(store_ids) / left_visits
            left_visits -= len(store_ids)
            day = solve_day(date, day_stores, [by_rep[rep_id]], policy, travel=travel,
                            params=dataclasses.replace(params, time_limit_s=budget), initial={rep_id: store_ids})
            day_routes += day.routes
            day_missing += day.unassigned
        # Visits missing on this date go where they fit this date, with any rep, unless the
        # date is a holiday, too close to the store's other visits, or (a class that
        # requires the same weekdays) on another weekday than its other visits.
        refill, keep = [], []
        for u in day_missing:
            store = by_store[u.store_id]
            if not may_take(policy.classes[store.store_class], cycle, date, planned[u.store_id] - {date}):
                keep.append(u)
            else:
                refill.append(store)
                planned[u.store_id].discard(date)
        on_routes = [by_store[v.store_id] for r in day_routes for v in r.visits]
        began = time.perf_counter()
        day_routes, left = refill_day(date, day_routes, refill, on_routes, reps, policy, travel,
                                      deadline=deadline - reserve + refill_s)
        refill_s = max(refill_s, 1.5 * (time.perf_counter() - began))
        for r in day_routes:
            for v in r.visits:
                planned[v.store_id].add(date)
        for u in left:
            planned[u.store_id].discard(date)
        routes += day_routes
        unassigned += keep + left
    capacity = _capacity(stores, reps, policy, cycle, assignment, travel)
    return assemble(stores, reps, policy, cycle, routes, unassigned, capacity, params.as_dict() | {"travel": travel.source})


def assemble(stores: Sequence[Store], reps: Sequence[Rep], policy: Policy, cycle: Cycle, routes: Sequence[Route],
             unassigned: Sequence[Unassigned], capacity: Sequence[RepCapacity], params: dict) -> CyclePlan:
    """A cycle plan from its routes, missing visits and the reps' capacity: in order, with its
    KPIs and suggestions (a planned cycle, or the merged territories of a fleet)."""
    routes = sorted(routes, key=lambda r: (r.date, r.rep_id))
    unassigned = sorted(unassigned, key=lambda u: (u.date or "", u.store_id))
    return CyclePlan(
        start=cycle.start.isoformat(), weeks=cycle.weeks, holidays=tuple(sorted(d.isoformat() for d in cycle.holidays)),
        time_zone=policy.time_zone,
        routes=tuple(routes), unassigned=tuple(unassigned), capacity=tuple(capacity),
        kpis=_kpis(stores, reps, policy, cycle, routes),
        suggestions=tuple(_suggestions(capacity, unassigned, stores, policy)), params=params,
    )


# --- (1) stores to (rep, pattern) -------------------------------------------------------


@dataclass
class _Option:
    rep: Rep
    pattern: Pattern
    penalty: float = 0.0  # for the visits the pattern misses or moves off its weekdays


class _Usable:
    """Which rep can visit which store alone on which date (``can_visit_alone``), without
    asking it store x rep x date times: working days once per rep, opening hours once per
    (hours, date), and the answer once per (rep, store, that date's hours) on dates whose
    clock is regular (a date the clocks change is asked on its own)."""

    def __init__(self, reps: Sequence[Rep], policy: Policy, cycle: Cycle, travel: TravelMatrix):
        self.policy, self.travel = policy, travel
        self.works = {r.id: {d for d in cycle.dates if r.works_on(d)} for r in reps}
        self.regular = {d: day_clock(d, policy.time_zone).regular for d in cycle.dates}
        self._hours: dict[tuple[str, dt.date], tuple] = {}
        self._alone: dict[tuple, bool] = {}

    def __call__(self, rep: Rep, store: Store, date: dt.date) -> bool:
        if date not in self.works[rep.id]:
            return False
        hours = self._hours.get((store.opening_hours, date))
        if hours is None:
            hours = self._hours[store.opening_hours, date] = tuple(open_windows(store.opening_hours, date))
        key = (rep.id, store.id, hours, None if self.regular[date] else date)
        ok = self._alone.get(key)
        if ok is None:
            ok = self._alone[key] = can_visit_alone(rep, store, date, self.policy, self.travel)
        return ok


def _options(store: Store, reps: Sequence[Rep], policy: Policy, cycle: Cycle, n: int, usable_by: _Usable) -> list[_Option]:
    cls = policy.classes[store.store_class]
    out = []
    for rep in reps:
        if store.rep_id not in (None, rep.id):
            continue

        def usable(d: dt.date, rep=rep) -> bool:
            return usable_by(rep, store, d)

        cap = _day_capacity_s(rep)
        for p in day_patterns(n, cycle, usable, min_gap_days=cls.min_gap_days, weekday_sets=cls.day_patterns,
                              same_weekday=cls.same_weekday):
            missing = max(0, n - len(p.dates))
            out.append(_Option(rep, p, cap * (MISSING_VISIT_SHARE * missing + MOVED_VISIT_SHARE * len(p.moved))))
    return out


def _assign(stores, reps, policy, cycle, travel, load_weight: float, params: SolveParams, deadline: float):
    """Each store's (rep, pattern) and each (rep, date)'s stores, by the periodic-routing
    search (``routing.periodic``) until ``deadline``: real route costs across days, every
    (rep, date) a vehicle whose day holds at most the rep's working time and
    ``max_visits``, the pattern's missing or moved visits as option costs, and
    ``load_weight`` evening out the days."""
    unassigned: list[Unassigned] = []
    prepared = []
    usable = _Usable(reps, policy, cycle, travel)
    for store in stores:
        n = required_visits(policy.classes[store.store_class], cycle.weeks)
        options = _options(store, reps, policy, cycle, n, usable)
        if not options:
            why = "owner rep" if store.rep_id else "any rep"
            for date in _report_dates(cycle, n, _telling(store, reps, cycle)):
                unassigned.append(Unassigned(store.id, "no_usable_day", f"never open and reachable during a shift of {why} in the cycle", date.isoformat()))
            continue
        prepared.append((store, n, options))
    days = sorted({(o.rep.id, d) for _, _, options in prepared for o in options for d in o.pattern.dates}, key=lambda k: (k[1], k[0]))
    day_index = {k: i for i, k in enumerate(days)}
    by_rep = {r.id: r for r in reps}
    fleet = [[periodic.Vehicle(f"{rep_id}@{date}", by_rep[rep_id].start_key, by_rep[rep_id].end_key,
                               capacity=by_rep[rep_id].capacity, max_duration_s=_day_capacity_s(by_rep[rep_id]),
                               max_jobs=by_rep[rep_id].max_visits, group=rep_id)]
             for rep_id, date in days]
    clients = [
        periodic.Client(store.id, store.id,
                        tuple(tuple(sorted(day_index[o.rep.id, d] for d in o.pattern.dates)) for o in options),
                        store.demand, policy.service_s(store), tuple(o.penalty for o in options))
        for store, _, options in prepared
    ]
    problem = periodic.Problem(clients, fleet, travel, cost="seconds", balance_weight=load_weight,
                               group_weight=REP_LOAD_WEIGHT * load_weight / _LOAD_WEIGHT)
    iterations = None if params.solution_limit is None else ASSIGN_ITERATIONS_PER_SOLUTION * params.solution_limit
    solution = periodic.solve(problem, time_limit_s=max(0.0, deadline - time.perf_counter()), iterations=iterations,
                              seed=params.seed)
    members: dict[tuple[str, dt.date], list[str]] = {}
    for (rep_id, date), routes in zip(days, solution.routes):
        for store_ids in routes.values():
            members[rep_id, date] = list(store_ids)
    for (store, n, options), client in zip(prepared, clients):
        chosen = options[client.options.index(solution.options[store.id])]
        for date in _missing_dates(chosen.pattern, n, cycle, _telling(store, reps, cycle)):
            unassigned.append(Unassigned(store.id, "no_usable_day", _why_missing(store, chosen, date, policy, cycle), date.isoformat()))
    return members, unassigned


def _planned_work(store_ids: list[str], rep: Rep, service: dict[str, int], travel: TravelMatrix) -> int:
    """Travel and visit time of a day in the planned order (the day choice's route)."""
    path = [rep.start_key, *store_ids, rep.end_key] if store_ids else []
    return sum(travel.seconds(a, b) for a, b in zip(path, path[1:])) + sum(service[s] for s in store_ids)


def _ideal_dates(cycle: Cycle, n: int) -> list[dt.date]:
    step = 7 * cycle.weeks / n
    return [cycle.start + dt.timedelta(days=int(i * step)) for i in range(n)]


def _missing_dates(pattern: Pattern, n: int, cycle: Cycle, rank: Callable[[dt.date], int]) -> list[dt.date]:
    """The dates a short pattern should also have had: first the days on its weekdays (and
    weeks) it lost to a holiday, closure or day off, then evenly spaced days of the cycle
    (``_report_dates``)."""
    short = n - len(pattern.dates)
    if short <= 0:
        return []
    lost = list(pattern.lost)[:short]
    return lost + _report_dates(cycle, n, rank, taken=[*pattern.dates, *lost], count=short - len(lost))


def _telling(store: Store, reps: Sequence[Rep], cycle: Cycle) -> Callable[[dt.date], int]:
    """How well a date shows why a visit to ``store`` cannot be made (lower is better): 0 the
    store open and an eligible rep working (its reason is then about the shift, the reach or
    the lunch), 1 open, 2 any other working day of the cycle, 3 a holiday."""
    eligible = [r for r in reps if store.rep_id in (None, r.id)]

    def rank(date: dt.date) -> int:
        if date in cycle.holidays:
            return 3
        if not open_windows(store.opening_hours, date):
            return 2
        return 0 if any(r.works_on(date) for r in eligible) else 1

    return rank


def _report_dates(cycle: Cycle, n: int, rank: Callable[[dt.date], int], taken: Sequence[dt.date] = (),
                  count: int | None = None) -> list[dt.date]:
    """``count`` (default ``n``) dates to report a store's missing visits on, out of ``n`` in
    the cycle: about evenly spaced (near ``_ideal_dates``, first those not in ``taken``), each
    the nearest date of the best ``rank`` (``_telling``) not yet taken. A store that no shift
    can serve is reported on days it is open, with what stops the visit there, not on a day it
    happens to be closed."""
    count = n if count is None else count
    taken = set(taken)
    targets = sorted(_ideal_dates(cycle, n), key=lambda d: d in taken)
    ranks = {d: rank(d) for d in cycle.dates}
    out: list[dt.date] = []
    for target in targets[:count]:
        free = [d for d in cycle.dates if d not in taken]
        if not free:
            break
        best = min(free, key=lambda d: (ranks[d], abs((d - target).days), d))
        taken.add(best)
        out.append(best)
    return sorted(out)


def _why_missing(store: Store, option: _Option, date: dt.date, policy: Policy, cycle: Cycle) -> str:
    """The detail of a missing visit: why its pattern could not hold that date."""
    rep = option.rep
    if date not in option.pattern.lost:
        return "not enough days with the store open during a shift for its frequency"
    if date in cycle.holidays:
        why = "a holiday"
    elif date in rep.days_off:
        why = f"a day off of rep {rep.id}"
    elif not rep.works_on(date):
        why = f"a day rep {rep.id} does not work"
    elif not open_windows(store.opening_hours, date):
        why = "a day the store is closed"
    else:
        why = f"a day rep {rep.id} cannot visit the store within the shift"
    if policy.classes[store.store_class].same_weekday == "require":
        return f"its weekday that week is {why}, and class {store.store_class} requires the same weekdays every week"
    return f"its weekday that week is {why}, and no nearby day took the visit"


# --- reports ---------------------------------------------------------------------------


def _capacity(stores, reps, policy, cycle, assignment, travel) -> list[RepCapacity]:
    service = {s.id: policy.service_s(s) for s in stores}
    out = []
    for rep in reps:
        days = [d for d in cycle.dates if d not in cycle.holidays and rep.works_on(d)]
        required = sum(_planned_work(ids, rep, service, travel) for (rid, _), ids in assignment.items() if rid == rep.id)
        out.append(RepCapacity(rep.id, round(required / 3600, 2), round(len(days) * _day_capacity_s(rep) / 3600, 2), len(days)))
    return out


def _kpis(stores, reps, policy, cycle, routes) -> dict:
    visited: dict[str, int] = defaultdict(int)
    for route in routes:
        for stop in route.visits:
            visited[stop.store_id] += 1
    compliance = {}
    for name, cls in sorted(policy.classes.items()):
        members = [s for s in stores if s.store_class == name]
        required = sum(required_visits(cls, cycle.weeks) for _ in members)
        planned = sum(min(visited[s.id], required_visits(cls, cycle.weeks)) for s in members)
        compliance[name] = {"required": required, "planned": planned, "share": round(planned / required, 3) if required else None}
    per_rep = {}
    for rep in reps:
        counts = [len(r.visits) for r in routes if r.rep_id == rep.id]
        per_rep[rep.id] = {"days": len(counts), "mean": round(sum(counts) / len(counts), 1) if counts else 0,
                           "min": min(counts, default=0), "max": max(counts, default=0)}
    spans = [r.summary.span_s for r in routes]
    per_rep_s = [sum(r.summary.span_s for r in routes if r.rep_id == rep.id) for rep in reps]
    total = total_summary(routes)
    return {
        "frequency_compliance": compliance,
        "coverage": round(sum(1 for s in stores if visited[s.id]) / len(stores), 3) if stores else None,
        "visits_per_day": per_rep,
        "travel_share": round(total.travel_s / total.span_s, 3) if total.span_s else 0,
        "workload_spread_h": round((max(spans) - min(spans)) / 3600, 2) if spans else 0,
        "workload_sd_h": round(statistics.pstdev(spans) / 3600, 2) if spans else 0,
        "rep_workload_h": {rep.id: round(s / 3600, 2) for rep, s in zip(reps, per_rep_s)},
        "rep_workload_spread_h": round((max(per_rep_s) - min(per_rep_s)) / 3600, 2) if per_rep_s else 0,
    }


def _suggestions(capacity, unassigned, stores, policy) -> list[str]:
    out = []
    missing = [u for u in unassigned if u.reason in ("not_enough_time", "max_visits_reached")]
    if not missing:
        return out
    by_store = {s.id: s for s in stores}
    over = [c for c in capacity if c.required_h > c.available_h]
    for c in over:
        days = math.ceil((c.required_h - c.available_h) / max(1e-9, c.available_h / max(1, c.working_days)))
        out.append(f"rep {c.rep_id} needs {c.required_h:.1f} h for {c.available_h:.1f} h available: about {days} more rep-day(s)")
    lowest = min(policy.classes.values(), key=lambda c: c.priority)
    n_low = sum(1 for u in missing if by_store[u.store_id].store_class == lowest.name)
    if lowest.visits_per_cycle is not None:
        now, unit = lowest.visits_per_cycle, "a cycle"
    else:
        now, unit = lowest.visits_per_week, "a week"
    out.append(f"{len(missing)} visit(s) did not fit; {n_low} of them are class {lowest.name} (lowest priority): "
               f"lowering class {lowest.name} from {now:g} to {now / 2:g} visits {unit} frees their time")
    return out
