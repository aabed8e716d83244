"""An independent checker: re-derives every time of a plan from the travel matrix, and
proves every reason a plan gives for a visit it leaves out.

It does not trust the solver. From the stores, reps and policy it works out each store's
opening windows and visit length and each rep's shift and lunch, then walks every route:

* a route starts at the rep's start place, ends at the rep's end place, inside the shift;
* each leg's ``travel_s``/``distance_m`` equal the matrix; without a break on the leg,
  ``arrival`` = leaving the previous stop + travel; with one, the break starts no earlier
  than leaving and ``arrival = max(leave + travel, break start) + break length`` (lunch on
  the way, or on arrival before the visit: either way the break is over when the rep is
  listed as arrived);
* each visit starts no earlier than arrival, lasts the visit length, and lies wholly inside
  one opening window of that day; ``wait_s`` is all idle time on the leg before it;
* stop times never go backwards in list order;
* the lunch break lasts its length and lies inside its window; a route without a break must
  leave room for it before its start or after its end;
* at most ``max_visits`` visits and ``capacity`` demand; a store with an owner is visited by
  its owner; each store at most once; every requested store on a route or unassigned with
  a known reason, never both; no route on a day the rep does not work (days off included).

Then every left-out visit (``check_plan``):

* its reason is proven from the inputs: a store called closed has no opening hours that
  date, an owner called off does not work, a visit called out of reach cannot be made even
  on an otherwise empty day, a rep called full has ``max_visits`` visits;
* it fits no working, eligible rep's route (an empty day included) at any position with
  the other visits kept in order (the lunch may move): otherwise ``left_out_fits``;
* it fits no such route once that route's lower-priority visits are out (each priority
  level outweighs any number of visits of the levels below): otherwise
  ``priority_inversion``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .clock import DayClock, day_clock
from .events import Event, day_rules
from .hours import fits_in, open_windows
from .model import REASONS, WEEKDAYS, Break, ClassPolicy, DayPlan, Policy, Rep, Resume, Route, Stop, Store, Unassigned
from .travel import TravelMatrix


@dataclass(frozen=True)
class Violation:
    """One broken rule, located by rep and store where that makes sense."""

    code: str
    message: str
    rep_id: str | None = None
    store_id: str | None = None
    date: str | None = None
    """Set by ``check_cycle`` on what it found checking one date."""

    def __str__(self) -> str:
        where = " ".join(x for x in (self.rep_id and f"rep {self.rep_id}", self.store_id and f"store {self.store_id}") if x)
        return f"{self.code}: {where + ': ' if where else ''}{self.message}"


@dataclass(frozen=True)
class StoreRule:
    """What a visit to a store must respect: the visit lies wholly inside one window."""

    windows: tuple[tuple[int, int], ...]
    service_s: int
    demand: int = 0
    owner: str | None = None


@dataclass(frozen=True)
class RepRule:
    """What a rep's route must respect."""

    start: str
    end: str
    shift_start_s: int
    shift_end_s: int
    lunch: Break | None = None
    max_visits: int | None = None
    capacity: int | None = None


@dataclass(frozen=True)
class DayEvents:
    """What a day's events (``routing.events``) change in the rules of that day, derived here
    from the events alone: stores closed, visits made longer (overrun) or ending by a time
    (urgent), priorities of urgent visits, reps unavailable at the end of the events, reps
    whose stores others may cover (unavailable at some time), and new stores."""

    closed: frozenset[str] = frozenset()
    extra_s: Mapping[str, int] = dataclasses.field(default_factory=dict)
    latest_s: Mapping[str, int] = dataclasses.field(default_factory=dict)
    priority: Mapping[str, int] = dataclasses.field(default_factory=dict)
    off: frozenset[str] = frozenset()
    covered: frozenset[str] = frozenset()
    new_stores: tuple[Store, ...] = ()
    off_from: Mapping[str, int] = dataclasses.field(default_factory=dict)
    """Rep id -> since when it is unavailable (for the reps in ``off``)."""
    urgent: frozenset[str] = frozenset()
    reported: Mapping[str, tuple[str, int | None]] = dataclasses.field(default_factory=dict)
    """Store id -> (rep id, check-out time or None) of each reported check-in or check-out."""
    now_s: int | None = None
    """When the day stands (the last re-plan): a left-out visit must not fit what is left of
    a route after it."""

    @classmethod
    def of(cls, events: Sequence[Event], now_s: int | None = None) -> DayEvents:
        """The rules of ``events`` (each kind's ``rule``, ``routing.events``), taken in the
        order of their times (as the re-plan does)."""
        r = day_rules(events)
        return cls(frozenset(r.closed), r.extra_s, r.latest_s, r.priority, frozenset(r.off_from), frozenset(r.covered),
                   tuple(r.new_stores), r.off_from, frozenset(r.urgent), r.reported, now_s)


def check_plan(plan: DayPlan, stores: Sequence[Store], reps: Sequence[Rep], policy: Policy, travel: TravelMatrix,
               events: Sequence[Event] = ()) -> list[Violation]:
    """Check a day plan against the inputs it was made from (and the day's ``events``, when
    it is a day under way). Empty list = valid."""
    return _check_day(plan, stores, reps, policy, travel, day_events=DayEvents.of(events) if events else None)


def _check_day(plan: DayPlan, stores: Sequence[Store], reps: Sequence[Rep], policy: Policy, travel: TravelMatrix,
               proven: Mapping[str, str] | None = None, day_events: DayEvents | None = None) -> list[Violation]:
    """``check_plan``; ``proven``: store id -> why its left-out visit needs no proof that
    it does not fit (a cycle's date its pattern does not allow).

    A route that resumes (``Route.resume``: a day under way) is checked from its resume
    point on with the rep's rule for the rest of the day (``_rest_rule``); its frozen stops
    only for their order, stores and owners. Visits left out are judged against the rest of
    the day of every rep that resumes, and whole days of the others."""
    date = dt.date.fromisoformat(plan.date)
    ev = day_events or DayEvents()
    stores = [*stores, *(s for s in ev.new_stores if s.id not in {x.id for x in stores})]
    store_rules = _store_rules(stores, policy, date, ev)
    clock = day_clock(date, policy.time_zone)
    rep_rules = {
        r.id: RepRule(r.start_key, r.end_key, r.shift_start_s, r.shift_end_s, r.lunch, r.max_visits, r.capacity)
        for r in (clock.rep(r) for r in reps)
        if r.works_on(date)
    }
    problems = [
        Violation("wrong_date", f"route is for {r.date}, plan is for {plan.date}", r.rep_id)
        for r in plan.routes
        if r.date != plan.date
    ]
    off = {r.id: r for r in reps if not r.works_on(date)}
    for route in plan.routes:
        if route.rep_id in off:
            rep = off[route.rep_id]
            why = "the rep's day off" if date in rep.days_off else f"not one of the rep's working days ({rep.working_days})"
            problems.append(Violation("rep_not_working", f"route on {plan.date}, {why}", route.rep_id))
    routes = [r for r in plan.routes if r.rep_id not in off]
    problems += _check_reported(routes, ev, clock)
    hm = _times(clock)
    for rid in ev.off:  # an unavailable rep has no lunch to take, nor any visit after it stopped
        if rid in rep_rules:
            rep_rules[rid] = dataclasses.replace(rep_rules[rid], lunch=None)
    for route in routes:
        for stop in route.visits:
            if route.rep_id in ev.off_from and stop.start_s >= ev.off_from[route.rep_id] and not stop.reported:
                problems.append(Violation("rep_unavailable", f"visit at {hm(stop.start_s)}, but the rep is unavailable "
                                          f"since {hm(ev.off_from[route.rep_id])}", route.rep_id, stop.store_id))
    problems += check_routes(routes, plan.unassigned, store_rules, rep_rules, travel, requested=[s.id for s in stores],
                             clock=clock)
    # Left-out visits: the rest of the day of each rep that resumes; nobody unavailable.
    fit_rules, fit_routes = {}, []
    for route in routes:
        rule = rep_rules.get(route.rep_id)
        route = _at(route, ev.now_s, rule.start if rule is not None else "")
        if rule is not None and route.resume is not None and _resume_ok(route):
            rule = _rest_rule(route, rule, store_rules)
            route = _rest_route(route)
        fit_rules[route.rep_id] = rule
        fit_routes.append(route)
    fit_rules = {k: v for k, v in ({**rep_rules, **fit_rules}).items() if v is not None and k not in ev.off}
    return problems + _check_left_out(fit_routes, plan.unassigned, stores, policy, store_rules, fit_rules, travel,
                                      proven or {}, ev.priority, clock=clock)


def _check_reported(routes: Sequence[Route], ev: DayEvents, clock: DayClock) -> list[Violation]:
    """Every visit a rep reported is on that rep's route, marked reported, ending at the
    reported check-out."""
    hm = _times(clock)
    out = []
    stops = {(r.rep_id, s.store_id): s for r in routes for s in r.visits}
    for store_id, (rep_id, out_s) in ev.reported.items():
        stop = stops.get((rep_id, store_id))
        if stop is None or not stop.reported:
            out.append(Violation("reported", "a visit the rep reported is not on its route as reported", rep_id, store_id))
        elif out_s is not None and stop.end_s != out_s:
            out.append(Violation("reported", f"the visit ends at {hm(stop.end_s)}, the rep checked out at {hm(out_s)}",
                                 rep_id, store_id))
    return out


def _store_rules(stores: Sequence[Store], policy: Policy, date: dt.date, ev: DayEvents | None = None) -> dict[str, StoreRule]:
    clock = day_clock(date, policy.time_zone)
    ev = ev or DayEvents()
    rules = {}
    for s in stores:
        minutes = s.service_min if s.service_min is not None else policy.classes[s.store_class].service_min
        windows = [] if s.id in ev.closed else clock.windows(open_windows(s.opening_hours, date))
        if s.id in ev.latest_s:
            windows = [(a, max(a, min(b, ev.latest_s[s.id]))) for a, b in windows]  # too late: empty, not closed
        owner = None if s.rep_id in ev.covered or s.id in ev.urgent else s.rep_id  # urgent: its owner, else any rep
        rules[s.id] = StoreRule(tuple(windows), int(round(minutes * 60)) + ev.extra_s.get(s.id, 0), s.demand, owner)
    return rules


def _at(route: Route, now_s: int | None, home: str) -> Route:
    """``route`` resuming at ``now_s``: the stops the clock puts before it are frozen, and the
    next visit too once the rep has left for it (as ``routing.replan`` freezes them)."""
    if now_s is None:
        return route
    stops, r = route.stops, route.resume
    after = k = r.after if r is not None else 0
    while k < len(stops) and stops[k].type != "end" and stops[k].start_s <= now_s:
        k += 1
    if 0 < k < len(stops) and stops[k].type == "visit" and stops[k - 1].end_s < now_s:
        k += 1  # on the way to it
    if k == 0 or (k == after and r.time_s >= now_s):
        return route
    if k == after:
        return dataclasses.replace(route, resume=dataclasses.replace(r, time_s=now_s, depart_s=max(r.depart_s, now_s)))
    place = next((s.store_id for s in reversed(stops[after:k]) if s.type == "visit"), None)
    lat = lon = None
    if place is None:
        place, lat, lon = (r.place, r.lat, r.lon) if r is not None else (home, None, None)
    free = max(stops[k - 1].end_s, now_s)
    return dataclasses.replace(route, resume=Resume(k, place, free, free, lat, lon))


def _resume_ok(route: Route) -> bool:
    return 1 <= route.resume.after < len(route.stops)


def _rest_route(route: Route) -> Route:
    """The rest of a resumed day as a route of its own: a start at the departure, then the
    stops after the frozen ones."""
    r = route.resume
    return Route(route.rep_id, route.date, (Stop("start", r.depart_s, r.depart_s, r.depart_s), *route.stops[r.after:]))


def _rest_rule(route: Route, rep: RepRule, stores: Mapping[str, StoreRule]) -> RepRule:
    """The rule of the rest of a resumed day: from the resume place, not before the resume
    time; the lunch done if a frozen stop is the break, else still due unless its window no
    longer holds it (taken no earlier than the resume time); limits less the frozen visits."""
    r = route.resume
    frozen = route.stops[: r.after]
    visits = [s.store_id for s in frozen if s.type == "visit"]
    lunch = rep.lunch
    if any(s.type == "break" for s in frozen) or lunch is None:
        lunch = None
    elif max(lunch.earliest_s, r.time_s) + lunch.duration_s > lunch.latest_s:
        lunch = None
    else:
        lunch = Break(max(lunch.earliest_s, r.time_s), lunch.latest_s, lunch.duration_s)
    return dataclasses.replace(
        rep, start=r.place, shift_start_s=r.time_s, lunch=lunch,
        max_visits=None if rep.max_visits is None else rep.max_visits - len(visits),
        capacity=None if rep.capacity is None else rep.capacity - sum(stores[v].demand for v in visits if v in stores))


def check_routes(
    routes: Sequence[Route],
    unassigned: Sequence[Unassigned],
    stores: Mapping[str, StoreRule],
    reps: Mapping[str, RepRule],
    travel: TravelMatrix,
    *,
    requested: Iterable[str],
    clock: DayClock | None = None,
) -> list[Violation]:
    """Check routes and unassigned visits against explicit rules (used by the benchmarks too).
    ``clock``: the routes' date in its time zone, which messages show times in (None: plan
    seconds are clock-face seconds)."""
    clock = clock or _NO_ZONE
    problems: list[Violation] = []
    seen_reps: set[str] = set()
    visited: dict[str, str] = {}
    for route in routes:
        if route.rep_id not in reps:
            problems.append(Violation("unknown_rep", "route for a rep who is not working or not in the team", route.rep_id))
            continue
        if route.rep_id in seen_reps:
            problems.append(Violation("duplicate_route", "more than one route for the rep", route.rep_id))
        seen_reps.add(route.rep_id)
        problems += _check_route(route, stores, reps[route.rep_id], travel, clock)
        for stop in route.visits:
            if stop.store_id in visited:
                problems.append(Violation("visited_twice", f"also visited by rep {visited[stop.store_id]}", route.rep_id, stop.store_id))
            visited[stop.store_id] = route.rep_id
    requested = list(requested)
    reported: set[str] = set()
    for u in unassigned:
        if u.store_id not in stores:
            problems.append(Violation("unknown_store", "unassigned entry for an unknown store", store_id=u.store_id))
        if u.reason not in REASONS:
            problems.append(Violation("unknown_reason", f"reason {u.reason!r} is not a known code", store_id=u.store_id))
        if not u.detail:
            problems.append(Violation("no_detail", "unassigned entry without a detail", store_id=u.store_id))
        if u.store_id in visited:
            problems.append(Violation("both_routed_and_unassigned", "on a route and also unassigned", store_id=u.store_id))
        if u.store_id in reported:
            problems.append(Violation("unassigned_twice", "listed twice in unassigned", store_id=u.store_id))
        reported.add(u.store_id)
    for store_id in requested:
        if store_id not in visited and store_id not in reported:
            problems.append(Violation("lost_visit", "neither on a route nor unassigned", store_id=store_id))
    return problems


def _check_route(route: Route, stores: Mapping[str, StoreRule], rep: RepRule, travel: TravelMatrix,
                 clock: DayClock) -> list[Violation]:
    rep_id = route.rep_id
    hm = _times(clock)
    out: list[Violation] = []

    def bad(code: str, message: str, store_id: str | None = None) -> None:
        out.append(Violation(code, message, rep_id, store_id))

    if route.resume is not None:
        r = route.resume
        if not _resume_ok(route) or route.stops[0].type != "start":
            bad("malformed_route", f"resumes after {r.after} stops of {len(route.stops)}, not after a start and frozen stops")
            return out
        frozen = route.stops[: r.after]
        if any(s.type not in ("visit", "break") for s in frozen[1:]):
            bad("malformed_route", "frozen stops after the start must be visits or a break")
        for a, b in zip(frozen, frozen[1:]):
            if not (a.start_s <= a.end_s <= b.start_s):
                bad("order", f"frozen stop times go backwards: a {a.type} ending {hm(a.end_s)}, then a {b.type} "
                    f"starting {hm(b.start_s)}", b.store_id)
        if frozen[-1].end_s > r.time_s:
            bad("resume", f"resumes at {hm(r.time_s)}, before the last frozen stop ends at {hm(frozen[-1].end_s)}")
        if r.place not in travel:
            bad("travel", f"no travel data for the resume place {r.place}")
            return out
        for stop in frozen:
            if stop.type != "visit":
                continue
            if stop.store_id not in stores:
                bad("unknown_store", "visit to a store that is not in the input", stop.store_id)
            elif stores[stop.store_id].owner not in (None, rep_id):
                bad("owner", f"store belongs to rep {stores[stop.store_id].owner}", stop.store_id)
        return out + _check_route(_rest_route(route), stores, _rest_rule(route, rep, stores), travel, clock)

    stops = route.stops
    if len(stops) < 2 or stops[0].type != "start" or stops[-1].type != "end":
        bad("malformed_route", "a route must begin with a start stop and finish with an end stop")
        return out
    if any(s.type not in ("start", "visit", "break", "end") for s in stops) or any(s.type in ("start", "end") for s in stops[1:-1]):
        bad("malformed_route", "stops between start and end must be visits or a break")
        return out
    for a, b in zip(stops, stops[1:]):
        if not (a.arrival_s <= a.start_s <= a.end_s <= b.arrival_s):
            bad("order", f"stop times go backwards in list order: a {a.type} ending {hm(a.end_s)}, then a {b.type} "
                f"arriving {hm(b.arrival_s)}", b.store_id)
    breaks = [s for s in stops if s.type == "break"]
    if len(breaks) > 1:
        bad("break", f"{len(breaks)} breaks; at most one")
    first, last = stops[0], stops[-1]
    if not first.arrival_s == first.start_s == first.end_s:
        bad("time", "the start stop must have one time (departure)")
    for stop in (first, *breaks):
        if stop.travel_s or stop.distance_m or stop.wait_s:
            bad("time", f"a {stop.type} stop has no leg: travel_s, distance_m and wait_s must be 0")
    for stop in breaks:
        if stop.arrival_s != stop.start_s:
            bad("break", "a break's arrival must equal its start")
    if first.start_s < rep.shift_start_s:
        bad("shift", f"leaves at {hm(first.start_s)}, before the shift starts at {hm(rep.shift_start_s)}")
    if last.arrival_s > rep.shift_end_s:
        bad("shift", f"gets back at {hm(last.arrival_s)}, after the shift ends at {hm(rep.shift_end_s)}")

    place, leave, pending_break = rep.start, first.end_s, None
    load, visits = 0, 0
    for stop in stops[1:]:
        if stop.type == "break":
            pending_break = stop
            _check_break(stop, rep, leave, bad, hm)
            continue
        key = stop.store_id if stop.type == "visit" else rep.end
        if stop.type == "visit" and stop.store_id not in stores:
            bad("unknown_store", "visit to a store that is not in the input", stop.store_id)
            return out
        if key not in travel:
            bad("travel", f"no travel data for {key}", stop.store_id)
            return out
        travel_s, metres = travel.seconds(place, key), travel.metres(place, key)
        if stop.travel_s != travel_s or stop.distance_m != metres:
            bad("travel", f"leg says {stop.travel_s} s / {stop.distance_m} m, the matrix says {travel_s} s / {metres} m", stop.store_id)
        expected_arrival, idle = leave + travel_s, 0
        if pending_break is not None:
            length = pending_break.end_s - pending_break.start_s
            expected_arrival = max(leave + travel_s, pending_break.start_s) + length
            idle = expected_arrival - leave - travel_s - length  # waiting for the lunch window
        if stop.arrival_s != expected_arrival:
            bad("time", f"arrives at {hm(stop.arrival_s)}, the matrix gives {hm(expected_arrival)}", stop.store_id)
        if stop.type == "end":
            if not stop.arrival_s == stop.start_s == stop.end_s:
                bad("time", "the end stop must have one time (arrival)")
            if stop.wait_s != 0:
                bad("time", "the end stop cannot wait")
            break
        rule = stores[stop.store_id]
        if rule.owner is not None and rule.owner != rep_id:
            bad("owner", f"store belongs to rep {rule.owner}", stop.store_id)
        if stop.start_s < stop.arrival_s:
            bad("time", f"starts at {hm(stop.start_s)}, before arriving at {hm(stop.arrival_s)}", stop.store_id)
        if stop.end_s - stop.start_s != rule.service_s:
            bad("service", f"visit lasts {stop.end_s - stop.start_s} s, expected {rule.service_s} s", stop.store_id)
        expected_wait = stop.start_s - stop.arrival_s + idle
        if stop.wait_s != expected_wait:
            bad("time", f"wait_s is {stop.wait_s}, the times give {expected_wait}", stop.store_id)
        if not any(a <= stop.start_s and stop.start_s + rule.service_s <= b for a, b in rule.windows):
            hours = clock.hours_text(rule.windows, seconds=True)
            bad("opening_hours", f"visit {hm(stop.start_s)}-{hm(stop.start_s + rule.service_s)} is outside the opening hours ({hours})", stop.store_id)
        load += rule.demand
        visits += 1
        place, leave, pending_break = stop.store_id, stop.end_s, None
    if rep.max_visits is not None and visits > rep.max_visits:
        bad("max_visits", f"{visits} visits, at most {rep.max_visits}")
    if rep.capacity is not None and load > rep.capacity:
        bad("capacity", f"load {load} over capacity {rep.capacity}")
    if rep.lunch is not None and not breaks:
        lunch = rep.lunch
        if not (last.arrival_s <= lunch.latest_s - lunch.duration_s or first.start_s >= lunch.earliest_s + lunch.duration_s):
            bad("break", "no lunch break, and the day leaves no room for it before the start or after the end")
    return out


def _check_break(stop, rep: RepRule, leave: int, bad, hm) -> None:
    if rep.lunch is None:
        bad("break", "a break on a rep without a lunch break")
        return
    lunch = rep.lunch
    if stop.end_s - stop.start_s != lunch.duration_s:
        bad("break", f"break lasts {stop.end_s - stop.start_s} s, expected {lunch.duration_s} s")
    if stop.start_s < lunch.earliest_s or stop.end_s > lunch.latest_s:
        bad("break", f"break {hm(stop.start_s)}-{hm(stop.end_s)} is outside {hm(lunch.earliest_s)}-{hm(lunch.latest_s)}")
    if stop.start_s < leave:
        bad("break", f"break starts at {hm(stop.start_s)}, before the previous stop ends at {hm(leave)}")


#: Reasons that say a visit could not be made that day at all: proven on their own, so the
#: visit needs no insertion test. Every other reason also needs "fits no route".
_CANNOT = {"closed_on_date", "window_too_short", "rep_not_working", "outside_shift", "unreachable_in_shift",
           "lunch_break", "no_usable_day"}


def _check_left_out(routes, unassigned, stores, policy, store_rules, rep_rules, travel,
                    proven: Mapping[str, str], priority_of: Mapping[str, int] | None = None, *,
                    clock: DayClock) -> list[Violation]:
    """Prove each left-out visit's reason, then that it fits no eligible route (those of
    the working reps, ``rep_rules``) as it is, nor once that route's lower-priority visits
    are out."""
    by_id = {s.id: s for s in stores}
    visits_of = {r.rep_id: [s.store_id for s in r.visits] for r in routes}
    priority = {s.id: (priority_of or {}).get(s.id, policy.classes[s.store_class].priority) for s in stores}
    out: list[Violation] = []
    judged: list[Store] = []
    for u in unassigned:
        store = by_id.get(u.store_id)
        if store is None or u.reason not in REASONS:
            continue  # reported by check_routes
        owner = store_rules[store.id].owner
        eligible = [(rep_id, rule) for rep_id, rule in rep_rules.items() if owner in (None, rep_id)]
        why = _disproof(u.reason, store, store_rules, eligible, visits_of, rep_rules, travel, proven, clock)
        if why:
            out.append(Violation("false_reason", f"said {u.reason}, but {why}", store_id=store.id))
        if u.reason in _CANNOT and not why:
            continue
        judged.append(store)
    for rep_id, rule in rep_rules.items():
        route = visits_of.get(rep_id, [])
        candidates = [s.id for s in judged if store_rules[s.id].owner in (None, rep_id)]
        fits = _fit_mask(rule, route, candidates, store_rules, travel)
        for store_id in (c for c, f in zip(candidates, fits) if f):
            where = f"rep {rep_id}'s route" if route else f"an empty day of rep {rep_id}, who works"
            out.append(Violation("left_out_fits", f"left out, but it fits {where}", rep_id, store_id))
        rest = [c for c, f in zip(candidates, fits) if not f]
        for level in sorted({priority[c] for c in rest}):
            kept = [v for v in route if priority[v] >= level]
            if len(kept) == len(route):
                continue
            mine = [c for c in rest if priority[c] == level]
            for store_id in (c for c, f in zip(mine, _fit_mask(rule, kept, mine, store_rules, travel)) if f):
                lower = sorted({by_id[v].store_class for v in route if priority[v] < level})
                out.append(Violation("priority_inversion", f"left out (class {by_id[store_id].store_class}), but it fits "
                                     f"once the route's lower-priority visits (class {', '.join(lower)}) are out",
                                     rep_id, store_id))
    return out


def _disproof(reason: str, store: Store, store_rules: Mapping[str, StoreRule], eligible: Sequence[tuple[str, RepRule]],
              visits_of: Mapping[str, list[str]], rep_rules: Mapping[str, RepRule], travel: TravelMatrix,
              proven: Mapping[str, str], clock: DayClock) -> str | None:
    """None when the inputs prove ``reason`` for this store on this date, else what refutes
    it. ``eligible``: (rep id, rule) of the working reps allowed to visit the store."""
    rule = store_rules[store.id]
    windows = rule.windows
    long_enough = [w for w in windows if w[1] - w[0] >= rule.service_s]

    def alone(rep: RepRule, lunch: bool = True) -> bool:
        r = rep if lunch else dataclasses.replace(rep, lunch=None, max_visits=None, capacity=None)
        return bool(_fit_mask(r, [], [store.id], store_rules, travel)[0])

    if reason == "closed_on_date":
        return f"it is open {clock.hours_text(windows)}" if windows else None
    if reason == "window_too_short":
        if not windows:
            return "it is closed that date (closed_on_date)"
        return f"{clock.hours_text(long_enough[:1])} holds the {rule.service_s // 60} min visit" if long_enough else None
    if reason == "rep_not_working":
        if store.rep_id is not None:
            return f"its owner rep {store.rep_id} works that date" if store.rep_id in rep_rules else None
        return f"rep {eligible[0][0]} works that date" if eligible else None
    if reason == "outside_shift":
        for rep_id, rep in eligible:
            if fits_in(windows, rule.service_s, rep.shift_start_s, rep.shift_end_s):
                return f"its hours {clock.hours_text(windows)} hold the visit inside rep {rep_id}'s shift"
        return None if eligible else "no rep is eligible to have a shift"
    if reason == "unreachable_in_shift":
        for rep_id, rep in eligible:
            if alone(rep, lunch=False):
                return f"rep {rep_id} can make it on an otherwise empty day"
        return None if eligible else "no rep is eligible"
    if reason == "lunch_break":
        for rep_id, rep in eligible:
            if alone(rep):
                return f"rep {rep_id} can make it on an otherwise empty day, lunch included"
        if not any(alone(rep, lunch=False) for _, rep in eligible):
            return "no eligible rep could make it even without a lunch break (the lunch is not the reason)"
        return None
    if reason == "over_capacity":
        for rep_id, rep in eligible:
            load = sum(store_rules[v].demand for v in visits_of.get(rep_id, []))
            if rep.capacity is None or load + store.demand <= rep.capacity:
                return f"rep {rep_id} has room for demand {store.demand}"
        return None if eligible else "no rep is eligible"
    if reason == "max_visits_reached":
        for rep_id, rep in eligible:
            if rep.max_visits is None or len(visits_of.get(rep_id, [])) < rep.max_visits:
                return f"rep {rep_id} has fewer than max_visits visits"
        return None if eligible else "no rep is eligible"
    if reason == "no_usable_day":
        if store.id in proven:
            return None
        usable = [rep_id for rep_id, rep in eligible if alone(rep)]
        return f"rep {usable[0]} could visit it that date" if usable else None
    return None  # not_enough_time: proven by fitting no route


def _fit_mask(rep: RepRule, route: Sequence[str], candidates: Sequence[str], rules: Mapping[str, StoreRule],
              travel: TravelMatrix) -> np.ndarray:
    """For each candidate store: could it join ``route`` (store ids in order) at some place,
    the other visits kept in order, with every window, the shift, the lunch (which may
    move), ``max_visits`` and capacity holding? A full re-simulation of the route for each
    place, vectorised over the candidates."""
    m = len(candidates)
    ok = np.zeros(m, dtype=bool)
    if not m or (rep.max_visits is not None and len(route) + 1 > rep.max_visits):
        return ok
    S = travel.seconds_array
    index = travel.index
    demand = np.array([rules[c].demand for c in candidates])
    room = np.ones(m, dtype=bool) if rep.capacity is None else sum(rules[v].demand for v in route) + demand <= rep.capacity
    cidx = np.array([index[c] for c in candidates])
    ridx = [index[rep.start], *(index[v] for v in route), index[rep.end]]
    cws, cwe, csvc = _windows([rules[c] for c in candidates])
    # A cheap necessary condition first: the added travel and service must fit the slack of the shift.
    busy = sum(int(S[a, b]) for a, b in zip(ridx, ridx[1:])) + sum(rules[v].service_s for v in route)
    prev, nxt = np.array(ridx[:-1]), np.array(ridx[1:])
    detour = (S[prev[None, :], cidx[:, None]] + S[cidx[:, None], nxt[None, :]] - S[prev, nxt][None, :]).min(axis=1)
    live = room & (busy + detour + csvc <= rep.shift_end_s - rep.shift_start_s)
    if not live.any():
        return ok
    pick = np.flatnonzero(live)
    cidx, cws, cwe, csvc = cidx[pick], cws[pick], cwe[pick], csvc[pick]
    route_w = [_windows([rules[v]]) for v in route]
    step = _stepper(rep)
    lunch = rep.lunch
    first0 = float(rep.shift_start_s) if lunch else math.inf
    first1 = float(max(rep.shift_start_s, lunch.earliest_s + lunch.duration_s)) if lunch else float(rep.shift_start_s)
    prefix = [(np.array([first0]), np.array([first1]))]
    for k, v in enumerate(route):
        lv0, lv1 = prefix[-1]
        prefix.append(step(lv0, lv1, S[ridx[k], ridx[k + 1]], *route_w[k]))
    end_latest0 = min(rep.shift_end_s, lunch.latest_s - lunch.duration_s) if lunch else -math.inf
    found = np.zeros(len(pick), dtype=bool)
    for p in range(len(route) + 1):
        lv0, lv1 = prefix[p]
        lv0, lv1 = step(lv0, lv1, S[ridx[p], cidx], cws, cwe, csvc)
        at = cidx
        for q in range(p, len(route)):
            lv0, lv1 = step(lv0, lv1, S[at, ridx[q + 1]], *route_w[q])
            at = ridx[q + 1]
        home0, home1 = step(lv0, lv1, S[at, ridx[-1]], *_ANY_TIME)
        found |= (home1 <= rep.shift_end_s) | (home0 <= end_latest0)
    ok[pick] = found
    return ok


_ANY_TIME = (np.array([[-math.inf]]), np.array([[math.inf]]), 0.0)  # the end of the day: no window, no service


def _windows(rules: Sequence[StoreRule]):
    """Start windows (when a visit may begin and still end in the same opening window),
    padded to one width, and visit lengths, as arrays."""
    starts = [[(a, b - r.service_s) for a, b in r.windows if b - a >= r.service_s] for r in rules]
    width = max(1, max(len(s) for s in starts))
    ws = np.full((len(rules), width), math.inf)
    we = np.full((len(rules), width), -math.inf)
    for i, s in enumerate(starts):
        for k, (a, b) in enumerate(s):
            ws[i, k], we[i, k] = a, b
    return ws, we, np.array([r.service_s for r in rules], dtype=float)


def _stepper(rep: RepRule):
    """One leg and one visit: from the leave times before (lunch not yet taken, taken) to
    the leave times after, starting as early as possible."""
    lunch = rep.lunch

    def earliest(arrival, ws, we):
        s = np.maximum(np.asarray(arrival, dtype=float)[..., None], ws)
        return np.where(s <= we, s, math.inf).min(axis=-1)

    def step(lv0, lv1, travel_s, ws, we, svc):
        a0 = lv0 + travel_s
        s0 = earliest(a0, ws, we)
        s1 = earliest(lv1 + travel_s, ws, we)
        if lunch is not None:
            b = np.maximum(lv0, lunch.earliest_s)
            after = earliest(np.maximum(a0, b) + lunch.duration_s, ws, we)
            s1 = np.minimum(s1, np.where(b + lunch.duration_s <= lunch.latest_s, after, math.inf))
        return s0 + svc, s1 + svc

    return step


#: The clock of routes checked without a time zone (``check_routes`` alone): plan seconds are
#: read as clock-face seconds (UTC never changes its offset).
_NO_ZONE = DayClock(dt.date(2000, 1, 1), "UTC")


def _times(clock: DayClock) -> Callable[[int], str]:
    """Plan seconds as the local clock time of the instant, to the second, for messages."""
    return functools.partial(clock.clock_time, seconds=True)


def check_cycle(
    routes: Sequence[Route],
    unassigned: Sequence[Unassigned],
    stores: Sequence[Store],
    reps: Sequence[Rep],
    policy: Policy,
    cycle,
    travel: TravelMatrix,
    *,
    events: Sequence[Event] = (),
    events_date: str | None = None,
    now_s: int | None = None,
) -> list[Violation]:
    """Check a cycle plan: every day's routes and left-out visits as in ``check_plan`` (no
    route on a rep's day off), plus frequencies (each required visit routed or unassigned
    with its date), spacing of every class, dates in the cycle, and for classes that
    require it the same weekdays every week.

    A missing visit is judged on its date: it must not fit a route of that date (nor fit
    once lower-priority visits are out) unless its pattern does not allow that date (a
    holiday, too close to the store's other visits, a weekday outside the class's
    ``day_patterns``, another weekday than the store's visits in a class that requires the
    same weekdays), which is then the proof of ``no_usable_day``. ``events`` are the events
    of the day under way ``events_date`` (see ``check_plan``) and ``now_s`` when that day
    stands (``Situation.now_s``)."""
    from .calendar import min_gap, required_visits

    problems: list[Violation] = []
    dates = set(cycle.dates)
    by_store = {s.id: s for s in stores}
    by_date: dict[str, list[Route]] = {}
    for route in routes:
        by_date.setdefault(route.date, []).append(route)
    missing_by_date: dict[str | None, list[Unassigned]] = {}
    for u in unassigned:
        missing_by_date.setdefault(u.date, []).append(u)
        if u.date is None:
            problems.append(Violation("no_date", "a missing cycle visit must say which date it should have had", store_id=u.store_id))
    visits: dict[str, list[dt.date]] = {}
    for route in routes:
        for stop in route.visits:
            visits.setdefault(stop.store_id, []).append(dt.date.fromisoformat(route.date))
    for date_text in sorted(set(by_date) | {d for d in missing_by_date if d}):
        date = dt.date.fromisoformat(date_text)
        if date not in dates:
            problems.append(Violation("outside_cycle", f"{date_text} is not a day of the cycle"))
            continue
        if date in cycle.holidays and by_date.get(date_text):
            problems.append(Violation("holiday", f"routes on the holiday {date_text}"))
        missing = missing_by_date.get(date_text, [])
        proven = {}
        for u in missing:
            store = by_store.get(u.store_id)
            if store is None or store.store_class not in policy.classes:
                continue
            cls = policy.classes[store.store_class]
            gap = min_gap(cls, cycle.weeks)
            near = [d for d in visits.get(u.store_id, []) if abs((d - date).days) < gap]
            if date in cycle.holidays:
                proven[u.store_id] = "a holiday"
            elif near:
                proven[u.store_id] = f"within {gap} days of its visit on {near[0]}"
            elif cls.day_patterns and not any(date.weekday() in allowed for allowed in cls.day_patterns):
                proven[u.store_id] = "a weekday outside the class's day patterns"
            elif (cls.same_weekday == "require" and visits.get(u.store_id)
                  and date.weekday() not in {d.weekday() for d in visits[u.store_id]}):
                proven[u.store_id] = "another weekday than its visits, and the class requires the same weekdays"
        day = DayPlan(date_text, policy.time_zone, tuple(by_date.get(date_text, ())), tuple(missing))
        day_stores = {s.store_id for r in day.routes for s in r.visits} | {u.store_id for u in day.unassigned}
        if events and date_text == events_date:
            day_stores |= {e.store_id for e in events if e.kind == "urgent_visit"}
        problems += [
            dataclasses.replace(v, message=f"{date_text}: {v.message}", date=date_text)
            for v in _check_day(day, [s for s in stores if s.id in day_stores], reps, policy, travel, proven,
                                DayEvents.of(events, now_s) if events and date_text == events_date else None)
        ]
    missing_count: dict[str, int] = {}
    for u in unassigned:
        missing_count[u.store_id] = missing_count.get(u.store_id, 0) + 1
    urgent = {e.store_id for e in events if e.kind == "urgent_visit"}
    for store in stores:
        cls = policy.classes[store.store_class]
        need = required_visits(cls, cycle.weeks)
        done = sorted(visits.get(store.id, []))
        if store.id in urgent and events_date:  # an extra visit asked for that day counts for nothing
            day = dt.date.fromisoformat(events_date)
            missed = sum(1 for u in unassigned if u.store_id == store.id and u.date == events_date)
            extra = done.count(day) + missed
            if extra and len(done) + missing_count.get(store.id, 0) - extra >= need:
                done = [d for d in done if d != day]
                missing_count[store.id] = missing_count.get(store.id, 0) - missed
        if len(done) + missing_count.get(store.id, 0) != need:
            problems.append(Violation("frequency", f"{len(done)} visits + {missing_count.get(store.id, 0)} reported missing, class {cls.name} needs {need}", store_id=store.id))
        gap = min_gap(cls, cycle.weeks)
        for a, b in zip(done, done[1:]):
            if (b - a).days < gap:
                problems.append(Violation("spacing", f"visits on {a} and {b} are closer than {gap} days (class {cls.name})", store_id=store.id))
        if cls.same_weekday == "require" and done:
            problems += _same_weekdays(store, cls, done, need, cycle)
    return problems


def _same_weekdays(store: Store, cls: ClassPolicy, done: list[dt.date], need: int, cycle) -> list[Violation]:
    """A class that requires the same weekday every week: all of a store's visits fall on
    one set of at most ceil(visits / weeks) weekdays (one of the class's ``day_patterns``
    when it has them), and every-k-weeks visits keep one phase."""
    out = []
    weekdays = frozenset(d.weekday() for d in done)
    names = "+".join(WEEKDAYS[w] for w in sorted(weekdays))
    per_week = -(-need // cycle.weeks)
    if len(weekdays) > per_week:
        out.append(Violation("same_weekday", f"visits fall on {names}; class {cls.name} requires the same "
                             f"{per_week} weekday(s) every week", store_id=store.id))
    elif cls.day_patterns and not any(weekdays <= allowed for allowed in cls.day_patterns):
        sets = ", ".join("+".join(WEEKDAYS[w] for w in sorted(a)) for a in cls.day_patterns)
        out.append(Violation("day_pattern", f"visits fall on {names}, not one of class {cls.name}'s day patterns ({sets})",
                             store_id=store.id))
    if need < cycle.weeks and cycle.weeks % need == 0:
        k = cycle.weeks // need
        weeks = sorted({cycle.week_of(d) for d in done})
        if len({w % k for w in weeks}) > 1:
            out.append(Violation("same_weekday", f"visits in weeks {', '.join(str(w + 1) for w in weeks)}; class {cls.name} "
                                 f"requires one every {k} weeks", store_id=store.id))
    return out
