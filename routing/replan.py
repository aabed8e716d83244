"""Re-plan a day under way when something happens, change little, and never lose a visit.

``apply_events`` takes a cycle plan as it stands (the current version of every route), the
events of the date so far, and new events; it returns the routes that changed, the visits
that are missing now, and what changed (``Diff``).

For each rep the day splits in two at the current time:

* **frozen**: what is done or under way (reported by the rep, else where the current route
  puts the rep now), and the next stop once the rep is on the way to it. Frozen stops never
  change (a report only replaces planned times by the actual ones);
* **the rest**: re-planned from where the rep is (``Route.resume``: the last frozen stop, a
  reported position, or home) by the day solver (``routing.daily`` with a ``routing.day.Restart``), with
  a minimal-change objective: each visit given to another rep and each leg that was not on
  the rep's route costs extra (``ReplanParams``).

A store keeps, that day, the rep its route gave it, except that when a rep becomes
unavailable other reps may cover its visits (a cover), and an urgent visit without an owner
goes to whichever rep fits it best. A visit that no longer fits today is carried to the next
day of the cycle that keeps the class's spacing and day rules and has room on its rep's
route (nothing there is taken out); a visit that fits no later day stays missing today with
its reason. An urgent visit takes a fast path: the cheapest feasible insertion, making room
by taking out lower-priority visits (which are then carried), no search.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .calendar import Cycle, may_take
from .clock import day_clock
from .daily import insert_visit, solve_day
from .day import Restart
from .events import KINDS, REP_KINDS, REPORTS, Event, EventRejected, check_event, position_key
from .hours import open_windows
from .model import Policy, Rep, Resume, Route, SolveParams, Stop, Store, Unassigned
from .timing import build_route, time_route
from .travel import Point, TravelMatrix, places_of, with_places


@dataclass(frozen=True)
class ReplanParams:
    """Limits and weights of a re-plan. ``minimal_change=False`` is a plain re-solve of the
    same state (the benchmark's baseline)."""

    time_limit_s: float = 1.0
    solution_limit: int | None = None
    seed: int = 0
    change_cost_s: int = 1800
    """A visit given to another rep costs as much as this much driving (30 min)."""
    order_cost_s: int = 120
    """Each leg a rep drives that was not on its route costs this much (2 min)."""
    minimal_change: bool = True
    max_moves: int | None = None
    """At most this many visits may move to another rep or off today (the search keeps to
    it; visits that must move, an unavailable rep's, do not count; the repair, which never
    leaves out a visit that fits nor keeps a lower-priority one in its place, may go past
    it). None: no cap."""
    check_in_radius_m: float = 300.0
    """A check-in reported farther than this from the store is kept but flagged."""
    clock_skew_s: int = 0
    """An event stamped up to this many seconds after now (a phone's clock running ahead)
    counts as now."""

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Situation:
    """A cycle plan as it stands on ``date``: the inputs, the current version of every route
    (all dates), the missing visits, and the events of ``date`` applied so far."""

    date: dt.date
    stores: tuple[Store, ...]
    reps: tuple[Rep, ...]
    policy: Policy
    cycle: Cycle
    travel: TravelMatrix
    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    events: tuple[Event, ...] = ()
    now_s: int | None = None
    """When the last re-plan ran: later re-plans never run earlier (the clock only moves on)."""


@dataclass(frozen=True)
class Diff:
    """What a re-plan changed against the versions before it. Times are real seconds of the
    date (``routing.clock``)."""

    moved: tuple[dict, ...] = ()
    """Visits now done by another rep today: store_id, from, to."""
    reordered: tuple[dict, ...] = ()
    """Visits in another place of the same rep's order: store_id, rep_id, before, after (1-based)."""
    carried: tuple[dict, ...] = ()
    """Visits taken off today and put on a later date: store_id, rep_id, to_date."""
    added: tuple[dict, ...] = ()
    """Visits on today's routes that were on none: store_id, rep_id."""
    dropped: tuple[dict, ...] = ()
    """Visits off today's routes and not carried: store_id, rep_id, reason, detail."""
    etas: tuple[dict, ...] = ()
    """Each remaining stop's start before and after: store_id, rep_id, before_s (None: new), after_s."""

    @property
    def moved_visits(self) -> int:
        """Rep changes plus carry-overs: the benchmark's churn measure."""
        return len(self.moved) + len(self.carried)


@dataclass(frozen=True)
class Replan:
    """The outcome of applying events: the situation after them, the routes that changed
    (new versions, any date), what changed, and flags (kept, not refused: a check-in far
    from its store)."""

    situation: Situation
    changed: tuple[Route, ...]
    diff: Diff
    flags: tuple[str, ...] = ()
    info: dict = field(default_factory=dict)
    applied: tuple[Event, ...] = ()
    """The events as applied, in the order posted (a time a little ahead of now: now; an
    exact repeat of an event of the same post: once)."""


def travel_with_events(travel: TravelMatrix, stores: Sequence[Store], reps: Sequence[Rep], policy: Policy,
                       events: Sequence[Event]) -> TravelMatrix:
    """``travel`` with the places events bring (reported positions, new stores of urgent
    visits) added by ``travel.with_places``: the re-plan and the checker build the same."""
    new: dict[str, Point] = {}
    for e in events:
        if e.kind == "position" and e.position is not None:
            new[position_key(e.rep_id, e.time_s)] = Point(*e.position)
        if e.kind == "urgent_visit" and e.store is not None:
            new[e.store.id] = Point(e.store.lat, e.store.lon)
    return with_places(travel, new, places_of(stores, reps), speed_kmh=policy.speed_kmh, circuity=policy.circuity)


# --- one rep's day ------------------------------------------------------------------------


@dataclass
class _Day:
    """A rep's day while events are applied: the frozen stops, where the rep is free and
    when, and the store ids still to visit in the current order."""

    rep: Rep  # shift and lunch in real seconds
    frozen: list[Stop]
    tail: list[str]
    position: tuple[str, int, float, float] | None = None  # key, time, lat, lon
    off_from: int | None = None
    back_from: int | None = None
    planned_depart: int | None = None

    @property
    def home(self) -> str:
        return self.rep.start_key

    def last_reported(self) -> int:
        """Index after the last reported frozen stop (0: none)."""
        return max((i + 1 for i, s in enumerate(self.frozen) if s.reported), default=0)

    def origin(self, now: int) -> tuple[str, int]:
        """Where and from when the rep is free: the end of the last frozen stop, a later
        reported position, or home (not before the shift nor before ``now`` when the rep is
        idle there)."""
        place, free = self.home, None
        for stop in self.frozen:
            if stop.type == "visit":
                place = stop.store_id
            free = stop.end_s
        if self.position is not None and (free is None or self.position[1] >= free):
            place, free = self.position[0], self.position[1]
        if self.back_from is not None and (free is None or self.back_from >= free):
            place, free = self.home, self.back_from
        if free is None:
            return place, max(self.rep.shift_start_s, now)
        return place, max(free, now)

    def lunch_taken(self) -> bool:
        return any(s.type == "break" for s in self.frozen)

    def unfreeze_from(self, time_s: int) -> None:
        """Give back to the rest of the day the frozen stops the clock assumed (not reported)
        after the last reported one that start at or after ``time_s``."""
        keep = self.last_reported()
        while keep < len(self.frozen) and self.frozen[keep].start_s < time_s:
            keep += 1  # begun before ``time_s``: frozen for good
        back = [s for s in self.frozen[keep:] if s.type == "visit"]
        self.frozen = self.frozen[:keep]
        self.tail = [s.store_id for s in back] + self.tail

    def unreported(self) -> _Day:
        """The day before any report of the rep: every visit of the day still to make, in
        the current order, leaving home at the planned time (or when it left, if earlier).
        A rep's day is rebuilt from this and all its reports, so a stop the clock assumed
        done but nobody reported goes back to the rest of the day."""
        visits = [s.store_id for s in self.frozen if s.type == "visit"] + self.tail
        left = [s.start_s for s in self.frozen if s.type == "start"]
        depart = min(left + ([self.planned_depart] if self.planned_depart is not None else []), default=None)
        return _Day(self.rep, [], visits, None, self.off_from, self.back_from, depart)

    def drop(self, store_id: str) -> None:
        """Take a visit the rep did not report off the day; the stops the clock assumed
        after it go back to the rest of the day, to be re-timed (those of a rep who stopped
        working stay: they were made before it stopped)."""
        stop = self.find(store_id)
        if stop is not None and self.off_from is not None:
            self.frozen.remove(stop)
        elif stop is not None:
            i = self.frozen.index(stop)
            back = [s.store_id for s in self.frozen[i + 1:] if s.type == "visit" and not s.reported]
            self.frozen = self.frozen[:i] + [s for s in self.frozen[i + 1:] if s.reported or s.type != "visit"]
            self.tail = back + self.tail
        self.tail = [s for s in self.tail if s != store_id]

    def release_after(self, stop: Stop) -> None:
        """A frozen stop now ends later (a late check-out, an overrun): the stops the clock
        assumed after it go back to the rest of the day, to be re-timed."""
        i = self.frozen.index(stop) + 1
        back = [s for s in self.frozen[i:] if s.type == "visit" and not s.reported]
        self.frozen = self.frozen[:i] + [s for s in self.frozen[i:] if s.reported]
        self.tail = [s.store_id for s in back] + self.tail

    def find(self, store_id: str) -> Stop | None:
        return next((s for s in self.frozen if s.store_id == store_id), None)


def _day_of(route: Route | None, rep: Rep, now: int) -> _Day:
    """A rep's day from its current route, with the stops the clock puts before ``now``
    frozen (done, or under way): the route's times hold since the last re-plan."""
    if route is None:
        return _Day(rep, [], [])
    if route.resume is not None:
        frozen, rest = list(route.stops[: route.resume.after]), list(route.stops[route.resume.after:])
        frozen = [s if s.reported or s.type == "start" else dataclasses.replace(s, status=_by_clock(s, now)) for s in frozen]
        r = route.resume
        position = (r.place, r.time_s, r.lat, r.lon) if r.lat is not None else None
        day = _Day(rep, frozen, [], position)
    else:
        frozen, rest = [], list(route.stops)
        day = _Day(rep, frozen, [], None, planned_depart=route.stops[0].start_s)
    for i, stop in enumerate(rest):
        if stop.type == "end" or stop.start_s > now:
            day.tail = [s.store_id for s in rest[i:] if s.type == "visit"]
            break
        day.frozen.append(stop if stop.type == "start" else dataclasses.replace(stop, status=_by_clock(stop, now)))
    return day


def _by_clock(stop: Stop, now: int) -> str:
    """The status the clock gives a stop the rep did not report."""
    return "done" if stop.end_s <= now else "under_way" if stop.start_s <= now else "next"


# --- the re-plan ----------------------------------------------------------------------


class _State:
    """Everything ``apply_events`` works on: today's days by rep, the rules events add, and
    the cycle's other routes. The days of the reps in ``rebuild`` start unreported
    (``_Day.unreported``) and their reports (``REPORTS``) are left to be applied again."""

    def __init__(self, sit: Situation, now: int, params: ReplanParams, rebuild: frozenset[str] = frozenset()):
        self.sit, self.params, self.now = sit, params, now
        self.date = sit.date
        self.clock = day_clock(sit.date, sit.policy.time_zone)
        self.stores = {s.id: s for s in sit.stores}
        self.reps = {r.id: self.clock.rep(r) for r in sit.reps}
        self.today = {r.rep_id: r for r in sit.routes if r.date == sit.date.isoformat()}
        self.days = {rid: _day_of(self.today.get(rid), rep, now) for rid, rep in self.reps.items() if rep.works_on(sit.date)}
        self.rebuilt = rebuild & self.days.keys()
        for rid in self.rebuilt:
            self.days[rid] = self.days[rid].unreported()
        self.closed: set[str] = set()
        self.extra_s: dict[str, int] = {}
        self.urgent: dict[str, Event] = {}
        self.last_time: dict[str, int] = {}
        self.done: dict[str, str] = {}  # store id -> rep that reported it done
        self.off: dict[str, int] = {}
        self.back: dict[str, int] = {}
        for e in sit.events:
            if not (e.rep_id in rebuild and e.kind in REPORTS):
                self.remember(e)
        for rid, day in self.days.items():
            day.off_from = self.off.get(rid)
            day.back_from = self.back.get(rid)
        # What the event being applied adds to this re-plan only:
        self.carry: list[tuple[str, str]] = []  # (store id, rep) taken off today: closed
        self.covers: list[str] = []  # store ids of an unavailable rep's rest of day
        self.urgent_for: dict[str, str | None] = {}  # store id -> the rep it goes to first (None: the best)

    def remember(self, e: Event) -> None:
        """Rules of an applied event that outlive the re-plan that applied it."""
        if e.rep_id is not None:
            self.last_time[e.rep_id] = max(self.last_time.get(e.rep_id, e.time_s), e.time_s)
        KINDS[e.kind].remember(self, e)

    def store(self, store_id: str) -> Store | None:
        if store_id in self.stores:
            return self.stores[store_id]
        event = self.urgent.get(store_id)
        return event.store if event is not None else None

    def service_s(self, store: Store) -> int:
        return self.sit.policy.service_s(store) + self.extra_s.get(store.id, 0)

    def holder(self, store_id: str) -> str | None:
        """The rep whose day has the store (frozen or still to visit) today."""
        return next((rid for rid, d in self.days.items() if d.find(store_id) or store_id in d.tail), None)


def _apply(state: _State, e: Event) -> tuple[set[str], str | None]:
    """Apply one valid event to the state (its kind's ``apply``, ``routing.events``); returns
    the reps whose rest of day is re-planned, and a flag (or None)."""
    day = state.days.get(e.rep_id) if e.rep_id is not None else None
    if day is not None and e.kind in REP_KINDS and day.planned_depart is not None and not day.frozen:
        # The rep is out: the day's start is behind it.
        left = min(day.planned_depart, e.time_s)
        day.frozen.append(Stop("start", left, left, left))
    return KINDS[e.kind].apply(state, day, e)


def _freeze_next(state: _State, day: _Day, now: int) -> None:
    """Once the rep has left where it was (free before ``now``), it is on the way to its next
    visit: that visit is frozen (``next``). Not one the clock would have begun by now: only a
    check-in says a visit began, and a rep that far behind is re-planned from where it was."""
    if not day.tail or day.off_from is not None:
        return
    place, free = day.origin(-1)
    if free >= now or (day.position is None and not day.frozen):
        return
    travel = state.sit.travel
    store = state.store(day.tail[0])
    service = state.service_s(store)
    arrival = free + travel.seconds(place, store.id)
    windows = state.clock.windows(open_windows(store.opening_hours, state.date))
    start = next((max(a, arrival) for a, b in windows if max(a, arrival) + service <= b), None)
    if start is None or start + service > day.rep.shift_end_s or start <= now or store.id in state.closed:
        return
    stop = Stop("visit", arrival, start, start + service, store.id, travel.seconds(place, store.id),
                travel.metres(place, store.id), start - arrival)
    day.frozen.append(dataclasses.replace(stop, status=_by_clock(stop, now)))
    day.tail.pop(0)


def apply_events(sit: Situation, events: Sequence[Event], now_s: int, params: ReplanParams = ReplanParams()) -> Replan:
    """Apply ``events`` to the day under way ``sit.date`` at ``now_s`` (real seconds of the
    date) and re-plan once the rest of the day of the reps they touch.

    A rep's reports are applied in the order of their own times, whenever they arrive: the
    day of a rep with an event here is rebuilt from all its reports (``_Day.unreported``),
    so an older report that contradicts none is accepted; one that does is refused
    (``EventRejected``: nothing changes). A rep's event re-plans only that rep's rest of day;
    other routes change only for a rep unavailable (its visits go to others as covers) and
    for an urgent visit its first rep cannot fit, which goes to exactly one other rep
    (``_place_urgent``). Urgent visits alone take the fast path (no search)."""
    started = time.perf_counter()
    now = max(now_s, sit.now_s if sit.now_s is not None else now_s)
    at_now = [dataclasses.replace(e, time_s=now) if now < e.time_s <= now + params.clock_skew_s else e for e in events]
    posted = [(n, e) for n, e in enumerate(at_now) if e not in at_now[:n]]  # a phone's queue sent one twice: once
    applied = tuple(e for _, e in posted)
    rebuild = frozenset(e.rep_id for e in applied if e.rep_id is not None and e.kind in REP_KINDS)
    travel = travel_with_events(sit.travel, sit.stores, sit.reps, sit.policy, [*sit.events, *applied])
    state = _State(dataclasses.replace(sit, travel=travel), now, params, rebuild)
    touched, flags = _apply_all(state, posted, len(events) > 1, now)
    for rid in sorted(touched):
        _freeze_next(state, state.days[rid], now)
    fast = all(e.kind == "urgent_visit" for e in applied)
    routes, missing, status = _resolve(state, touched, now, params, fast=fast)
    _place_urgent(state, routes, missing, now, params)
    after, changed = _merge(state, routes, missing, applied)
    before = {(r.rep_id, r.date): r for r in sit.routes}
    info = {"events": len(applied), "reps": sorted(routes), "fast_path": fast, "status": status,
            "wall_s": round(time.perf_counter() - started, 3)}
    changed = tuple(r for r in sorted(changed, key=lambda r: (r.date, r.rep_id)) if r != before.get((r.rep_id, r.date)))
    return Replan(after, changed, diff_routes(sit, after), tuple(flags), info, applied)


def _apply_all(state: _State, posted: Sequence[tuple[int, Event]], numbered: bool, now: int) -> tuple[set[str], list[str]]:
    """Check and apply the new events (``posted``: each with its place in the post, which a
    refusal names when ``numbered``) together with the earlier reports of the reps being
    rebuilt, all in the order of their times (an earlier report before a new one at the
    same second). Returns the reps whose rest of day is re-planned, and the flags."""
    earlier = [e for e in state.sit.events if e.rep_id in state.rebuilt and e.kind in REPORTS]
    hm = state.clock.clock_time
    order = sorted([(e.time_s, 0, n, e) for n, e in enumerate(earlier)] + [(e.time_s, 1, n, e) for n, e in posted],
                   key=lambda item: item[:3])
    for n, e in posted:  # a rep who stopped working: its reports are refused as such, not replayed
        day = state.days.get(e.rep_id) if e.rep_id is not None else None
        if day is not None and day.off_from is not None and e.kind in REP_KINDS:
            raise EventRejected("rep_unavailable", f"rep {e.rep_id} is unavailable since {hm(day.off_from)}",
                                index=n if numbered else None)
    touched: set[str] = set()
    flags: list[str] = []
    last_new: int | None = None
    for _, new, n, e in order:
        index = n if new else last_new
        try:
            check_event(state, e, now)
        except EventRejected as exc:
            if new:
                raise EventRejected(exc.code, exc.message, index=index if numbered else None) from None
            first = next(i for i, x in posted if x.rep_id == e.rep_id) if index is None else index
            raise EventRejected("out_of_order", f"it contradicts rep {e.rep_id}'s report of {hm(e.time_s)} "
                                f"({e.kind}, {e.store_id or 'no store'}): {exc.message}",
                                index=first if numbered else None) from None
        state.remember(e)
        reps, flag = _apply(state, e)
        if new:  # an earlier report only rebuilds its rep's day: re-planned if a new event touches it
            touched |= reps
            last_new = n
            if flag:
                flags.append(flag)
    return touched, flags


#: Reasons of a missing visit that depend on the reps who work.
_REP_REASONS = frozenset({"outside_shift", "unreachable_in_shift", "lunch_break", "over_capacity", "max_visits_reached",
                          "not_enough_time"})
#: Reasons of a missing visit that a freer day, or a rep working again, may undo (the others hold all day).
_UNDONE_BY_ROOM = frozenset({"not_enough_time", "max_visits_reached", "rep_not_working"})


def _resolve(state: _State, touched: set[str], now: int, params: ReplanParams, *, fast: bool, backfill: bool = True,
             urgent: str | None = None):
    """Re-plan the rest of the day of the reps in ``touched``; returns their new routes, the
    visits left out (Unassigned, today) and the solver status. ``backfill``: visits missing
    today for lack of time are offered to them again; ``urgent``: this urgent visit may go to
    any of them."""
    sit = state.sit
    active = {rid for rid in touched if state.days[rid].off_from is None}
    jobs: dict[str, Store] = {}
    previous: dict[str, list[str]] = {}
    for rid in sorted(active):
        day = state.days[rid]
        previous[rid] = [s for s in day.tail if s not in state.closed]
        for sid in previous[rid]:
            store = state.store(sid)
            free = sid in state.urgent and store.rep_id is None  # an urgent visit without an owner: any of them
            jobs[sid] = dataclasses.replace(store, rep_id=None if free else rid)
    for sid in state.covers:
        if sid not in state.closed:
            jobs[sid] = dataclasses.replace(state.store(sid), rep_id=None)
    today = state.date.isoformat()
    for u in sit.unassigned if backfill else ():  # visits missing today for lack of time may fit now
        store = state.stores.get(u.store_id)
        if (u.date == today and u.reason in _UNDONE_BY_ROOM and store is not None and u.store_id not in state.closed
                and store.rep_id in (None, *active) and active):
            jobs.setdefault(u.store_id, store)
    for sid, first in state.urgent_for.items():
        if first in active:
            jobs[sid] = dataclasses.replace(state.store(sid), rep_id=first)
    if urgent is not None:
        jobs[urgent] = dataclasses.replace(state.store(urgent), rep_id=None)
    for sid, s in list(jobs.items()):
        extra = state.extra_s.get(sid, 0)
        if extra:
            jobs[sid] = dataclasses.replace(s, service_min=sit.policy.service_s(s) / 60 + extra / 60)
    starts, lunch_taken = {}, set()
    for rid in active:
        day = state.days[rid]
        place, free = day.origin(now)
        starts[rid] = (place, free)
        if day.lunch_taken():
            lunch_taken.add(rid)
    latest = {sid: e.latest_s for sid, e in state.urgent.items() if e.latest_s is not None}
    priority = {sid: e.priority for sid, e in state.urgent.items() if e.priority is not None}
    restart = Restart(starts, frozenset(lunch_taken), latest, priority,
                      previous if params.minimal_change or params.max_moves is not None else None,
                      params.change_cost_s if params.minimal_change else 0,
                      params.order_cost_s if params.minimal_change else 0, params.max_moves)
    reps = [r for r in sit.reps if r.id in active]
    solve = SolveParams(time_limit_s=0.0 if fast else params.time_limit_s,
                        solution_limit=None if fast else params.solution_limit, seed=params.seed)
    plan = solve_day(state.date, list(jobs.values()), reps, sit.policy, travel=sit.travel, params=solve,
                     initial=previous if (params.minimal_change or fast) else None, restart=restart)
    routes = {}
    by_rep = {r.rep_id: r for r in plan.routes}
    for rid in touched:
        tail = by_rep.get(rid)
        if tail is None and rid in active:  # nothing left to visit: home, with the lunch if still due
            vehicle = restart.vehicle(state.days[rid].rep)
            if vehicle.earliest_s <= vehicle.latest_s:
                timing = time_route(vehicle, [], sit.travel)
                tail = build_route(vehicle, [], timing, date=state.date.isoformat(), travel=sit.travel) if timing else None
        routes[rid] = _route_of(state, state.days[rid], tail, starts.get(rid), now)
    return routes, list(plan.unassigned), plan.params.get("status")


def _place_urgent(state: _State, routes: dict[str, Route], missing: list[Unassigned], now: int,
                  params: ReplanParams) -> None:
    """An urgent visit that its first rep cannot fit (the reporting rep, else the store's
    owner, else the rep whose route had it: see ``_apply``), or that has none, goes to exactly
    one rep: the one the cheapest insertion puts it with (the fast path over every working
    rep; only the receiving rep's new route is kept, so the others' days do not change). This
    holds for an urgent visit a later re-plan of its rep leaves out too. Updates ``routes``
    and ``missing`` (a visit nobody takes keeps the reason the fast path gives for the team)."""
    pending = [sid for sid, first in state.urgent_for.items() if first is None]
    pending += [u.store_id for u in missing if u.store_id in state.urgent]
    for sid in dict.fromkeys(pending):
        if any(v.store_id == sid for r in routes.values() for v in r.visits):
            continue
        working = {rid for rid, d in state.days.items() if d.off_from is None}
        for rid in working - routes.keys():
            _freeze_next(state, state.days[rid], now)
        trial, left, _ = _resolve(state, working, now, params, fast=True, backfill=False, urgent=sid)
        taker = next((rid for rid, r in trial.items() if any(v.store_id == sid for v in r.visits)), None)
        if taker is None:
            missing[:] = [u for u in missing if u.store_id != sid] + [u for u in left if u.store_id == sid]
            continue
        own = set(state.days[taker].tail)
        routes[taker] = trial[taker]
        missing[:] = [u for u in missing if u.store_id != sid and u.store_id not in own] + [u for u in left if u.store_id in own]
        state.urgent_for[sid] = taker


def _route_of(state: _State, day: _Day, tail: Route | None, start: tuple[str, int] | None, now: int) -> Route:
    """The rep's new route: the frozen stops, then the re-planned rest (or home)."""
    sit = state.sit
    date = state.date.isoformat()
    frozen = list(day.frozen)
    place, free = start if start is not None else day.origin(now)
    if tail is None:  # nothing left to visit: home from where the rep is
        travel_s = sit.travel.seconds(place, day.home) if place != day.home else 0
        metres = sit.travel.metres(place, day.home) if place != day.home else 0
        if not frozen:
            frozen = [Stop("start", free, free, free)]
            travel_s, metres = 0, 0
        end = Stop("end", free + travel_s, free + travel_s, free + travel_s, None, travel_s, metres)
        stops = (*frozen, end)
        resume = Resume(len(frozen), place, free, free, *_latlon(day, place))
        return Route(day.rep.id, date, stops, resume)
    if not frozen and place == day.home and day.position is None:
        return tail  # the rep has not left home: a whole day
    if not frozen:
        first = min(day.position[1] if day.position else free, tail.stops[0].start_s)
        frozen = [Stop("start", first, first, first)]
    resume = Resume(len(frozen), place, free, tail.stops[0].start_s, *_latlon(day, place))
    return Route(day.rep.id, date, (*frozen, *tail.stops[1:]), resume)


def _latlon(day: _Day, place: str) -> tuple[float | None, float | None]:
    if day.position is not None and day.position[0] == place and day.position[2] is not None:
        return day.position[2], day.position[3]
    return None, None


# --- carrying visits to later days --------------------------------------------------------


def _merge(state: _State, routes: Mapping[str, Route], missing: Sequence[Unassigned], events: Sequence[Event]):
    """The situation after a re-plan: today's new routes, visits that no longer fit today
    carried to later days, the missing visits updated. Returns (situation, changed routes)."""
    sit = state.sit
    today = state.date.isoformat()
    all_routes = {(r.rep_id, r.date): r for r in sit.routes}
    changed: list[Route] = []
    for rid, route in routes.items():
        all_routes[rid, today] = route
        changed.append(route)
    on_today = {v.store_id for r in all_routes.values() if r.date == today for v in r.visits}
    unassigned = [u for u in sit.unassigned if not (u.date == today and u.store_id in on_today)]
    left = {u.store_id: u for u in missing}
    for sid, holder in state.carry:
        left.setdefault(sid, Unassigned(sid, "closed_on_date", f"store {sid} closed today (reported)", today))
    for sid, u in left.items():
        if sid in on_today:
            continue
        store = state.stores.get(sid)
        if store is None or sid in state.urgent:  # an urgent visit is for today: it stays missing today
            unassigned.append(u)
            continue
        holder = next((h for s, h in state.carry if s == sid), None) or _holder_before(sit, sid) or store.rep_id
        carried = _carry(state, store, holder, all_routes)
        if carried is None:
            if not any(x.store_id == sid and x.date == today for x in unassigned):
                unassigned.append(dataclasses.replace(u, detail=u.detail + "; no later day of the cycle can take it"))
            continue
        all_routes[carried.rep_id, carried.date] = carried
        changed.append(carried)
    if not any(d.off_from is None for d in state.days.values()):  # nobody works the rest of today
        unassigned = [dataclasses.replace(u, reason="rep_not_working", detail="no rep works the rest of today")
                      if u.date == today and u.reason in _REP_REASONS else u for u in unassigned]
    new = dataclasses.replace(sit, routes=tuple(sorted(all_routes.values(), key=lambda r: (r.date, r.rep_id))),
                              unassigned=tuple(sorted(unassigned, key=lambda u: (u.date or "", u.store_id))),
                              events=(*sit.events, *events), now_s=state.now)
    return new, changed


def _holder_before(sit: Situation, store_id: str) -> str | None:
    today = sit.date.isoformat()
    return next((r.rep_id for r in sit.routes if r.date == today and any(v.store_id == store_id for v in r.visits)), None)


def _carry(state: _State, store: Store, rep_id: str | None, routes: Mapping[tuple[str, str], Route]) -> Route | None:
    """The route of the next date after today that can take ``store``'s visit with the
    class's spacing and day rules kept and nothing else moved; None if none can."""
    sit = state.sit
    cls = sit.policy.classes[store.store_class]
    today = state.date
    others = [dt.date.fromisoformat(r.date) for r in routes.values() if r.date != today.isoformat()
              and any(v.store_id == store.id for v in r.visits)]
    rep_ids = [rep_id] if rep_id else [r.id for r in sit.reps]
    reps = {r.id: r for r in sit.reps}
    for date in sit.cycle.dates:
        if date <= today or not may_take(cls, sit.cycle, date, others):
            continue
        for rid in rep_ids:
            if rid not in reps:
                continue
            route = routes.get((rid, date.isoformat()))
            on_route = [state.stores[v.store_id] for v in route.visits] if route else []
            new = insert_visit(date, route, on_route, store, reps[rid], sit.policy, sit.travel)
            if new is not None:
                return new
    return None


# --- what changed ------------------------------------------------------------------------


def diff_routes(before: Situation, after: Situation) -> Diff:
    """What changed from ``before`` to ``after`` on ``before.date`` and the later dates."""
    today = before.date.isoformat()

    def visits(sit: Situation, date_filter) -> dict[str, tuple[str, str, int, str | None]]:
        out = {}
        for r in sit.routes:
            if date_filter(r.date):
                for v in r.visits:
                    out[r.date, v.store_id] = (r.rep_id, r.date, v.start_s, v.status)
        return out

    old_today = {k[1]: v for k, v in visits(before, lambda d: d == today).items()}
    new_today = {k[1]: v for k, v in visits(after, lambda d: d == today).items()}
    old_later = visits(before, lambda d: d > today)
    new_later = visits(after, lambda d: d > today)
    moved, carried, added, dropped, etas, reordered = [], [], [], [], [], []
    for sid, (rep, _, start, _) in sorted(old_today.items()):
        if sid in new_today:
            if new_today[sid][0] != rep:
                moved.append({"store_id": sid, "from": rep, "to": new_today[sid][0]})
            continue
        to = sorted(k[0] for k in new_later if k[1] == sid and k not in old_later)
        if to:
            carried.append({"store_id": sid, "rep_id": new_later[to[0], sid][0], "to_date": to[0]})
        else:
            why = next((u for u in after.unassigned if u.store_id == sid and u.date == today), None)
            dropped.append({"store_id": sid, "rep_id": rep, "reason": why.reason if why else "done_elsewhere",
                            "detail": why.detail if why else ""})
    for sid, (rep, _, start, status) in sorted(new_today.items()):
        if sid not in old_today:
            added.append({"store_id": sid, "rep_id": rep})
        if status is None or status == "next":
            before_s = old_today[sid][2] if sid in old_today else None
            if before_s != start:
                etas.append({"store_id": sid, "rep_id": rep, "before_s": before_s, "after_s": start})
    for rep in sorted({v[0] for v in new_today.values()}):
        old = [sid for sid, v in sorted(old_today.items(), key=lambda kv: kv[1][2]) if v[0] == rep]
        new = [sid for sid, v in sorted(new_today.items(), key=lambda kv: kv[1][2]) if v[0] == rep]
        common = set(old) & set(new)
        old_pos = {s: i for i, s in enumerate(x for x in old if x in common)}
        for i, s in enumerate(x for x in new if x in common):
            if old_pos[s] != i:
                reordered.append({"store_id": s, "rep_id": rep, "before": old_pos[s] + 1, "after": i + 1})
    return Diff(tuple(moved), tuple(reordered), tuple(carried), tuple(added), tuple(dropped), tuple(etas))


