"""An independent checker: re-derives every time of a plan from the travel matrix.

It does not trust the solver. From the stores, reps and policy it works out each store's
opening windows and visit length and each rep's shift and lunch, then walks every route:

* a route starts at the rep's start place, ends at the rep's end place, inside the shift;
* each leg's ``travel_s``/``distance_m`` equal the matrix; ``arrival`` = leaving the previous
  stop + travel (+ the break, when the break starts before the rep would have arrived);
* each visit starts no earlier than arrival, lasts the visit length, and lies wholly inside
  one opening window of that day; ``wait_s`` is the idle time before it;
* the lunch break lasts its length, lies inside its window and between the two stops around
  it, and the gap between those stops holds travel and break; a route without a break must
  leave room for it before its start or after its end;
* at most ``max_visits`` visits and ``capacity`` demand; a store with an owner is visited by
  its owner; each store at most once; every requested store on a route or unassigned with
  a known reason, never both; no route on a day the rep does not work (days off included).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .hours import open_windows
from .model import REASONS, WEEKDAYS, Break, ClassPolicy, DayPlan, Policy, Rep, Route, Store, Unassigned
from .travel import TravelMatrix


@dataclass(frozen=True)
class Violation:
    """One broken rule, located by rep and store where that makes sense."""

    code: str
    message: str
    rep_id: str | None = None
    store_id: str | None = None

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


def check_plan(plan: DayPlan, stores: Sequence[Store], reps: Sequence[Rep], policy: Policy, travel: TravelMatrix) -> list[Violation]:
    """Check a day plan against the inputs it was made from. Empty list = valid."""
    date = dt.date.fromisoformat(plan.date)
    store_rules = {}
    for s in stores:
        minutes = s.service_min if s.service_min is not None else policy.classes[s.store_class].service_min
        store_rules[s.id] = StoreRule(tuple(open_windows(s.opening_hours, date)), int(round(minutes * 60)), s.demand, s.rep_id)
    rep_rules = {
        r.id: RepRule(r.start_key, r.end_key, r.shift_start_s, r.shift_end_s, r.lunch, r.max_visits, r.capacity)
        for r in reps
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
    return problems + check_routes(routes, plan.unassigned, store_rules, rep_rules, travel, requested=[s.id for s in stores])


def check_routes(
    routes: Sequence[Route],
    unassigned: Sequence[Unassigned],
    stores: Mapping[str, StoreRule],
    reps: Mapping[str, RepRule],
    travel: TravelMatrix,
    *,
    requested: Iterable[str],
) -> list[Violation]:
    """Check routes and unassigned visits against explicit rules (used by the benchmarks too)."""
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
        problems += _check_route(route, stores, reps[route.rep_id], travel)
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


def _check_route(route: Route, stores: Mapping[str, StoreRule], rep: RepRule, travel: TravelMatrix) -> list[Violation]:
    rep_id = route.rep_id
    out: list[Violation] = []

    def bad(code: str, message: str, store_id: str | None = None) -> None:
        out.append(Violation(code, message, rep_id, store_id))

    stops = route.stops
    if len(stops) < 2 or stops[0].type != "start" or stops[-1].type != "end":
        bad("malformed_route", "a route must begin with a start stop and finish with an end stop")
        return out
    if any(s.type not in ("start", "visit", "break", "end") for s in stops) or any(s.type in ("start", "end") for s in stops[1:-1]):
        bad("malformed_route", "stops between start and end must be visits or a break")
        return out
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
        bad("shift", f"leaves at {_hm(first.start_s)}, before the shift starts at {_hm(rep.shift_start_s)}")
    if last.arrival_s > rep.shift_end_s:
        bad("shift", f"gets back at {_hm(last.arrival_s)}, after the shift ends at {_hm(rep.shift_end_s)}")

    place, leave, pending_break = rep.start, first.end_s, None
    load, visits = 0, 0
    for stop in stops[1:]:
        if stop.type == "break":
            pending_break = stop
            _check_break(stop, rep, leave, bad)
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
        expected_arrival = leave + travel_s
        break_s = 0
        lunch_at_stop = False
        if pending_break is not None:
            break_s = pending_break.end_s - pending_break.start_s
            if pending_break.start_s < expected_arrival:
                expected_arrival += break_s
            else:
                lunch_at_stop = True
            ready = stop.start_s if stop.type == "visit" else stop.arrival_s
            if pending_break.end_s > ready:
                bad("break", f"break ends at {_hm(pending_break.end_s)}, after the next stop begins at {_hm(ready)}", stop.store_id)
            if ready - leave < travel_s + break_s:
                bad("break", "the gap between the stops around the break does not hold travel and break", stop.store_id)
        if stop.arrival_s != expected_arrival:
            bad("time", f"arrives at {_hm(stop.arrival_s)}, the matrix gives {_hm(expected_arrival)}", stop.store_id)
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
            bad("time", f"starts at {_hm(stop.start_s)}, before arriving at {_hm(stop.arrival_s)}", stop.store_id)
        if stop.end_s - stop.start_s != rule.service_s:
            bad("service", f"visit lasts {stop.end_s - stop.start_s} s, expected {rule.service_s} s", stop.store_id)
        expected_wait = stop.start_s - stop.arrival_s - (break_s if lunch_at_stop else 0)
        if stop.wait_s != expected_wait:
            bad("time", f"wait_s is {stop.wait_s}, the times give {expected_wait}", stop.store_id)
        if not any(a <= stop.start_s and stop.start_s + rule.service_s <= b for a, b in rule.windows):
            hours = ", ".join(f"{_hm(a)}-{_hm(b)}" for a, b in rule.windows) or "closed"
            bad("opening_hours", f"visit {_hm(stop.start_s)}-{_hm(stop.start_s + rule.service_s)} is outside the opening hours ({hours})", stop.store_id)
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


def _check_break(stop, rep: RepRule, leave: int, bad) -> None:
    if rep.lunch is None:
        bad("break", "a break on a rep without a lunch break")
        return
    lunch = rep.lunch
    if stop.end_s - stop.start_s != lunch.duration_s:
        bad("break", f"break lasts {stop.end_s - stop.start_s} s, expected {lunch.duration_s} s")
    if stop.start_s < lunch.earliest_s or stop.end_s > lunch.latest_s:
        bad("break", f"break {_hm(stop.start_s)}-{_hm(stop.end_s)} is outside {_hm(lunch.earliest_s)}-{_hm(lunch.latest_s)}")
    if stop.start_s < leave:
        bad("break", f"break starts at {_hm(stop.start_s)}, before the previous stop ends at {_hm(leave)}")


def _hm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def check_cycle(
    routes: Sequence[Route],
    unassigned: Sequence[Unassigned],
    stores: Sequence[Store],
    reps: Sequence[Rep],
    policy: Policy,
    cycle,
    travel: TravelMatrix,
) -> list[Violation]:
    """Check a cycle plan: every day's routes as in ``check_plan`` (no route on a rep's day
    off), plus frequencies (each required visit routed or unassigned with its date), spacing,
    dates in the cycle, and for classes that require it the same weekdays every week."""
    from .calendar import required_visits

    problems: list[Violation] = []
    dates = set(cycle.dates)
    by_date: dict[str, list[Route]] = {}
    for route in routes:
        by_date.setdefault(route.date, []).append(route)
    missing_by_date: dict[str | None, list[Unassigned]] = {}
    for u in unassigned:
        missing_by_date.setdefault(u.date, []).append(u)
        if u.date is None:
            problems.append(Violation("no_date", "a missing cycle visit must say which date it should have had", store_id=u.store_id))
    for date_text in sorted(set(by_date) | {d for d in missing_by_date if d}):
        date = dt.date.fromisoformat(date_text)
        if date not in dates:
            problems.append(Violation("outside_cycle", f"{date_text} is not a day of the cycle"))
            continue
        if date in cycle.holidays and by_date.get(date_text):
            problems.append(Violation("holiday", f"routes on the holiday {date_text}"))
        day = DayPlan(date_text, policy.time_zone, tuple(by_date.get(date_text, ())), tuple(missing_by_date.get(date_text, ())))
        day_stores = {s.store_id for r in day.routes for s in r.visits} | {u.store_id for u in day.unassigned}
        problems += [
            dataclasses.replace(v, message=f"{date_text}: {v.message}")
            for v in check_plan(day, [s for s in stores if s.id in day_stores], reps, policy, travel)
        ]
    visits: dict[str, list[dt.date]] = {}
    for route in routes:
        for stop in route.visits:
            visits.setdefault(stop.store_id, []).append(dt.date.fromisoformat(route.date))
    missing = {}
    for u in unassigned:
        missing[u.store_id] = missing.get(u.store_id, 0) + 1
    for store in stores:
        cls = policy.classes[store.store_class]
        need = required_visits(cls, cycle.weeks)
        done = sorted(visits.get(store.id, []))
        if len(done) + missing.get(store.id, 0) != need:
            problems.append(Violation("frequency", f"{len(done)} visits + {missing.get(store.id, 0)} reported missing, class {cls.name} needs {need}", store_id=store.id))
        gap = cls.min_gap_days
        for a, b in zip(done, done[1:]):
            if gap is not None and (b - a).days < gap:
                problems.append(Violation("spacing", f"visits on {a} and {b} are closer than {gap} days", store_id=store.id))
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
