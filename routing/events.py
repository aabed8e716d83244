"""Same-day events: what a rep's phone or a supervisor reports while a day is under way.

The vocabulary is close to the field-service tools': a visit started (check-in) or done
(check-out), a position and time (running late or early), a visit taking longer than
planned (overrun), a store found or announced closed today, an urgent visit, and a rep
unavailable from a time (sick, car broken) or available again.

``KINDS`` is the table of kinds: each kind's fields, who may post it, when the day refuses it,
what it does to the day (``routing.replan`` applies it), what it leaves for later re-plans,
and the rule the checker (``routing.check``) derives from it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from collections.abc import Sequence
from typing import Any, Literal, NoReturn

from .model import Store
from .travel import Point, haversine_m

EventKind = Literal["visit_started", "visit_done", "position", "overrun", "store_closed", "urgent_visit",
                    "rep_unavailable", "rep_available"]

Outcome = Literal["order", "no_order", "refused"]
OUTCOMES: tuple[str, ...] = ("order", "no_order", "refused")


@dataclass(frozen=True)
class VisitReport:
    """What a check-out says of the visit (the follow-up reports read it): the outcome, the
    order's value (an order only), a short note, and the steps of the store class's
    checklist the rep ticked."""

    outcome: Outcome
    order_value: float | None = None
    note: str = ""
    steps: tuple[str, ...] = ()


@dataclass(frozen=True)
class Event:
    """One thing that happened on a date. ``time_s`` is real seconds since local midnight
    of the date (``routing.clock``), like every time inside a plan."""

    kind: EventKind
    time_s: int
    rep_id: str | None = None
    store_id: str | None = None
    lat: float | None = None
    lon: float | None = None
    minutes: float | None = None
    latest_s: int | None = None
    priority: int | None = None
    store: Store | None = None
    """The new store of an urgent visit to a store that is not in the stores."""
    report: VisitReport | None = None
    """A check-out's (``visit_done``) outcome, order, note and checklist."""

    @property
    def position(self) -> tuple[float, float] | None:
        return None if self.lat is None or self.lon is None else (self.lat, self.lon)


#: Why a re-plan refuses an event, each code once: whether the day's state refuses it (409,
#: a conflict) or the event itself is wrong (422), and what it means.
REFUSALS: dict[str, tuple[bool, str]] = {
    "unknown_kind": (False, "not a kind of event"),
    "missing_field": (False, "a field the kind needs is missing"),
    "not_today": (False, "a time not on the day under way"),
    "in_the_future": (False, "stamped after now"),
    "unknown_rep": (False, "no such rep in the team"),
    "unknown_store": (False, "no such store"),
    "bad_store": (False, "an urgent visit's new store does not match its store_id, or the store exists"),
    "bad_minutes": (False, "an overrun of no minutes"),
    "not_owner": (False, "an urgent visit given to another rep than the store's working owner"),
    "not_working": (True, "the rep does not work today"),
    "out_of_order": (True, "a supervisor's event before the rep's last one, or a late report that contradicts the "
                           "rep's other reports"),
    "rep_unavailable": (True, "the rep is unavailable"),
    "rep_available": (True, "the rep is not unavailable"),
    "already_done": (True, "the visit was made, checked in or over"),
    "already_urgent": (True, "an urgent visit to the store is on today's plan"),
    "under_way": (True, "another visit is under way"),
    "not_on_route": (True, "the store is not on the rep's route today"),
    "store_closed": (True, "the store was reported closed today"),
}


class EventRejected(ValueError):
    """An event that cannot apply to the day as it stands: nothing was changed. ``code`` is
    one of ``REFUSALS``; ``conflict`` is True when the event is well formed but the day's
    state refuses it (HTTP 409), False when the event itself is wrong (422)."""

    def __init__(self, code: str, message: str, *, index: int | None = None):
        self.code, self.message, self.index, self.conflict = code, message, index, REFUSALS[code][0]
        super().__init__(f"{'' if index is None else f'event {index}: '}{message}")


def refuse(code: str, message: str) -> NoReturn:
    raise EventRejected(code, message)


def far_check_in_m(event: Event, store: Store, radius_m: float) -> float | None:
    """How far from ``store`` a check-in (``visit_started`` with the phone's position) was,
    when farther than ``radius_m``; None when near or without a position. Such a check-in is
    kept, and flagged."""
    if event.kind != "visit_started" or event.position is None:
        return None
    far = haversine_m(Point(*event.position), Point(store.lat, store.lon))
    return far if far > radius_m else None


def position_key(rep_id: str, time_s: int) -> str:
    """The travel-matrix key of a position the rep reported at ``time_s``."""
    return f"pos:{rep_id}:{time_s}"


@dataclass
class DayRules:
    """What a day's events change in the rules of that day, as the checker derives them (in
    the order of the events' times): stores closed, visits made longer or ending by a time,
    urgent visits' priorities and new stores, reps unavailable (since when) and whose stores
    others may cover, and each reported check-in or check-out (store id -> rep id, check-out
    time or None)."""

    closed: set[str] = field(default_factory=set)
    extra_s: dict[str, int] = field(default_factory=dict)
    latest_s: dict[str, int] = field(default_factory=dict)
    priority: dict[str, int] = field(default_factory=dict)
    off_from: dict[str, int] = field(default_factory=dict)
    covered: set[str] = field(default_factory=set)
    new_stores: list[Store] = field(default_factory=list)
    urgent: set[str] = field(default_factory=set)
    reported: dict[str, tuple[str, int | None]] = field(default_factory=dict)


# --- the kinds ---------------------------------------------------------------------------
#
# Each kind's hooks take the re-plan's state (``routing.replan._State``: ``days`` by rep with
# their frozen stops and the rest of the day, ``stores``, what earlier events left) and the
# rep's day (``_Day``; None for a kind without a rep). ``check`` raises ``EventRejected``.


class Kind:
    """A kind of event. ``needs``: the fields it needs besides kind and time; ``by_rep``: a
    rep's report of its own day (re-applied in the order of their times when the rep's day is
    rebuilt if ``replayed``); ``rep_may_post``: a rep's phone may post it."""

    name: str = ""
    meaning: str = ""
    needs: tuple[str, ...] = ()
    by_rep: bool = False
    replayed: bool = False
    rep_may_post: bool = False
    while_off: bool = False
    """Accepted while its rep is unavailable."""
    after_done: bool = False
    """Accepted naming a store already visited today."""
    new_store: bool = False
    """May bring a store that is not in the stores."""

    def check_event(self, state: Any, e: Event) -> None:
        """Refuse an event wrong in itself, before the day's state is asked."""

    def check(self, state: Any, day: Any, e: Event) -> None:
        """Refuse an event the day as it stands cannot take."""

    def apply(self, state: Any, day: Any, e: Event) -> tuple[set[str], str | None]:
        """Change the day; returns the reps whose rest of the day is re-planned, and a flag."""
        raise NotImplementedError

    def remember(self, state: Any, e: Event) -> None:
        """Record what outlives the re-plan that applied the event."""

    def rule(self, rules: DayRules, e: Event) -> None:
        """The checker's rule of the day from the event."""


class _Visit(Kind):
    """Shared by the reports about a stop of the rep's own route."""

    needs = ("rep_id", "store_id")
    by_rep = replayed = rep_may_post = True

    def check(self, state, day, e):
        hm = state.clock.clock_time
        if day.find(e.store_id) is None and e.store_id not in day.tail:
            refuse("not_on_route", f"store {e.store_id} is not on rep {e.rep_id}'s route today")
        under = next((s for s in day.frozen if s.status == "under_way" and s.reported), None)
        if self.name == "visit_started" and under is not None:
            refuse("under_way", f"the visit to {under.store_id} is under way since {hm(under.start_s)}; report it done first")
        if self.name == "visit_done" and under is not None and under.store_id != e.store_id:
            refuse("under_way", f"the visit to {under.store_id} is under way; report it done first")

    def apply(self, state, day, e):
        stop = day.find(e.store_id)
        store = state.store(e.store_id)
        if stop is not None and stop.reported:  # done after a reported check-in
            i = day.frozen.index(stop)
            day.frozen[i] = dataclasses.replace(stop, end_s=max(e.time_s, stop.start_s), status="done")
            day.release_after(day.frozen[i])
        else:
            day.drop(e.store_id)
            service = state.service_s(store)
            if self.name == "visit_started":
                day.frozen.append(_reported_visit(state, day, e.store_id, e.time_s, e.time_s + service, "under_way"))
            else:
                day.frozen.append(_reported_visit(state, day, e.store_id, e.time_s - service, e.time_s, "done"))
        flag = None
        if (far := far_check_in_m(e, store, state.params.check_in_radius_m)) is not None:
            flag = f"rep {e.rep_id} checked in at {e.store_id} {far:.0f} m from the store"
        return {e.rep_id}, flag


def _reported_visit(state, day, store_id: str, start: int, end: int, status: str):
    """A reported visit placed after the frozen stops (its leg from there)."""
    from .model import Stop

    place, leave = day.origin(0)
    travel = state.sit.travel
    start = max(start, min(end, leave))
    return Stop("visit", start, start, max(end, start), store_id, travel.seconds(place, store_id),
                travel.metres(place, store_id), 0, status, True)


class VisitStarted(_Visit):
    name = "visit_started"
    meaning = "the rep checked in at a store (optionally with the phone's position)"

    def rule(self, rules, e):
        rules.reported[e.store_id] = (e.rep_id, None)


class VisitDone(_Visit):
    name = "visit_done"
    meaning = "the rep checked out of a store"

    def remember(self, state, e):
        state.done[e.store_id] = e.rep_id

    def rule(self, rules, e):
        rules.reported[e.store_id] = (e.rep_id, e.time_s)


class Position(Kind):
    name = "position"
    meaning = "the rep is at a position (or, without one, still where it was) at this time: running late or early"
    needs = ("rep_id",)
    by_rep = replayed = rep_may_post = True
    after_done = True

    def apply(self, state, day, e):
        if e.position is not None:
            day.position = (position_key(e.rep_id, e.time_s), e.time_s, *e.position)
        else:
            place, _ = day.origin(0)
            day.position = (place, e.time_s, None, None)
        return {e.rep_id}, None


class Overrun(_Visit):
    name = "overrun"
    meaning = "a visit takes longer than planned, by ``minutes``"
    needs = ("rep_id", "store_id", "minutes")

    def check(self, state, day, e):
        super().check(state, day, e)
        if e.minutes is None or e.minutes <= 0:
            refuse("bad_minutes", "an overrun needs minutes > 0")
        stop = day.find(e.store_id)
        if stop is not None and stop.status == "done":
            refuse("already_done", f"the visit to {e.store_id} is over (by the plan's clock at "
                   f"{state.clock.clock_time(stop.end_s)}): report an overrun while the visit is under way, or the check-out")

    def apply(self, state, day, e):
        stop = day.find(e.store_id)
        if stop is not None and stop.status in ("under_way", "done"):
            i = day.frozen.index(stop)
            day.frozen[i] = dataclasses.replace(stop, end_s=stop.end_s + int(round(e.minutes * 60)))
            day.release_after(day.frozen[i])
            state.extra_s.pop(e.store_id, None)  # counted in the stop
        return {e.rep_id}, None

    def remember(self, state, e):
        state.extra_s[e.store_id] = state.extra_s.get(e.store_id, 0) + int(round(e.minutes * 60))

    def rule(self, rules, e):
        rules.extra_s[e.store_id] = rules.extra_s.get(e.store_id, 0) + int(round(e.minutes * 60))


class StoreClosed(Kind):
    name = "store_closed"
    meaning = "a store is closed for the rest of the day (found closed, or announced)"
    needs = ("store_id",)
    by_rep = rep_may_post = True

    def check(self, state, day, e):
        holder = state.holder(e.store_id)
        if e.rep_id is not None and holder != e.rep_id:
            refuse("not_on_route", f"store {e.store_id} is not on rep {e.rep_id}'s route today")
        stop = state.days[holder].find(e.store_id) if holder else None
        if stop is not None and stop.reported:  # the clock's guesses give way to the report
            refuse("already_done", f"rep {holder} checked in at store {e.store_id} at {state.clock.clock_time(stop.start_s)}")

    def apply(self, state, day, e):
        holder = state.holder(e.store_id)
        if holder is None:
            return set(), None
        state.days[holder].drop(e.store_id)
        state.carry.append((e.store_id, holder))
        return {holder}, None

    def remember(self, state, e):
        state.closed.add(e.store_id)

    def rule(self, rules, e):
        rules.closed.add(e.store_id)


class UrgentVisit(Kind):
    name = "urgent_visit"
    meaning = ("visit a store today (an existing one, or a new one given as ``store``), ending by ``latest`` if given, "
               "at ``priority`` if given")
    needs = ("store_id",)
    by_rep = rep_may_post = True
    new_store = True

    def check_event(self, state, e):
        if e.store is not None and e.store.id != e.store_id:
            refuse("bad_store", "the new store's id must be the event's store_id")
        if e.store is not None and e.store_id in state.stores:
            refuse("bad_store", f"store {e.store_id} exists: send its id without a new store")

    def check(self, state, day, e):
        holder = state.holder(e.store_id)
        if e.rep_id is not None and holder not in (None, e.rep_id):
            refuse("not_on_route", f"store {e.store_id} is on rep {holder}'s route today")
        owner = state.store(e.store_id).rep_id if state.store(e.store_id) else None
        if e.rep_id is not None and owner not in (None, e.rep_id) and state.days.get(owner) and state.days[owner].off_from is None:
            refuse("not_owner", f"store {e.store_id} belongs to rep {owner}: its urgent visit goes to its owner")
        if e.store_id in state.urgent:
            refuse("already_urgent", f"an urgent visit to {e.store_id} is already on today's plan")
        if e.store_id in state.closed:
            refuse("store_closed", f"store {e.store_id} was reported closed today")
        stop = state.days[holder].find(e.store_id) if holder else None
        if stop is not None and (stop.reported or stop.status in ("done", "under_way")):
            refuse("already_done", f"store {e.store_id} is visited today already (rep {holder}, "
                   f"{state.clock.clock_time(stop.start_s)})")

    def apply(self, state, day, e):
        holder = state.holder(e.store_id)
        if holder is not None:
            state.days[holder].drop(e.store_id)
        store = state.store(e.store_id)
        first = e.rep_id
        if first is None and store.rep_id in state.days and state.days[store.rep_id].off_from is None:
            first = store.rep_id
        state.urgent_for[e.store_id] = first or holder  # None: the rep it fits best (_place_urgent)
        return {r for r in (first, holder) if r is not None}, None

    def remember(self, state, e):
        state.urgent[e.store_id] = e

    def rule(self, rules, e):
        rules.urgent.add(e.store_id)
        if e.latest_s is not None:
            rules.latest_s[e.store_id] = e.latest_s
        if e.priority is not None:
            rules.priority[e.store_id] = e.priority
        if e.store is not None:
            rules.new_stores.append(e.store)


class RepUnavailable(Kind):
    name = "rep_unavailable"
    meaning = ("the rep stops working from this time (sick, car broken): the rest of the day goes to the other reps "
               "as covers, or to later days")
    needs = ("rep_id",)
    rep_may_post = True  # "I can't go on": re-plans as when a supervisor says so
    while_off = True

    def check(self, state, day, e):
        if day.off_from is not None:
            refuse("rep_unavailable", f"rep {e.rep_id} is already unavailable since {state.clock.clock_time(day.off_from)}")

    def apply(self, state, day, e):
        day.off_from = e.time_s
        day.unfreeze_from(e.time_s)
        day.frozen = [s for s in day.frozen if s.status != "next"]
        state.covers += day.tail
        day.tail = []
        return set(state.days), None

    def remember(self, state, e):
        state.off[e.rep_id] = e.time_s
        state.back.pop(e.rep_id, None)

    def rule(self, rules, e):
        rules.off_from[e.rep_id] = e.time_s
        rules.covered.add(e.rep_id)


class RepAvailable(Kind):
    name = "rep_available"
    meaning = "the rep works again from this time, from home"
    needs = ("rep_id",)
    while_off = True

    def check(self, state, day, e):
        if day.off_from is None:
            refuse("rep_available", f"rep {e.rep_id} is not unavailable")

    def apply(self, state, day, e):
        day.off_from = None
        day.back_from = e.time_s
        return {e.rep_id}, None

    def remember(self, state, e):
        state.off.pop(e.rep_id, None)
        state.back[e.rep_id] = e.time_s

    def rule(self, rules, e):
        rules.off_from.pop(e.rep_id, None)


#: The kinds of event, by name.
KINDS: dict[str, Kind] = {k.name: k for k in (VisitStarted(), VisitDone(), Position(), Overrun(), StoreClosed(),
                                                UrgentVisit(), RepUnavailable(), RepAvailable())}
#: Kinds a rep reports about its own day (the others come from a supervisor).
REP_KINDS = frozenset(k.name for k in KINDS.values() if k.by_rep)
#: What a rep may post itself: its reports, and that it cannot go on today.
REP_MAY_POST = frozenset(k.name for k in KINDS.values() if k.rep_may_post)
#: A rep's reports of its own day: replayed in the order of their times when its day is rebuilt.
REPORTS = frozenset(k.name for k in KINDS.values() if k.replayed)


def check_event(state: Any, e: Event, now: int) -> None:
    """Refuse ``e`` (``EventRejected``) unless the day as it stands (the re-plan's state) can
    take it: what every kind is checked for, then the kind's own rules."""
    hm = state.clock.clock_time  # the local clock time of a plan time, for messages
    kind = KINDS.get(e.kind)
    if kind is None:
        refuse("unknown_kind", f"unknown event kind {e.kind!r}; expected one of {', '.join(KINDS)}")
    for name in kind.needs:
        if getattr(e, name) is None:
            refuse("missing_field", f"a {e.kind} event needs {name}")
    if not 0 <= e.time_s <= state.clock.length_s:
        refuse("not_today", f"the event's time is not on {state.date}")
    if e.latest_s is not None and not 0 <= e.latest_s <= state.clock.length_s:
        refuse("not_today", f"the urgent visit's latest time is not on {state.date}")
    if e.time_s > now:
        refuse("in_the_future", f"the event's time is after now ({hm(e.time_s)} > {hm(now)})")
    if e.rep_id is not None:
        if e.rep_id not in state.reps:
            refuse("unknown_rep", f"no rep {e.rep_id!r} in the team")
        if e.rep_id not in state.days:
            refuse("not_working", f"rep {e.rep_id} does not work on {state.date}")
        last = state.last_time.get(e.rep_id)
        if not kind.by_rep and last is not None and e.time_s < last:  # a rep's own reports: in time order
            refuse("out_of_order", f"rep {e.rep_id}'s last event was at {hm(last)}, this one is at {hm(e.time_s)}")
    if e.store_id is not None and state.store(e.store_id) is None and not (kind.new_store and e.store):
        refuse("unknown_store", f"no store {e.store_id!r}")
    kind.check_event(state, e)
    day = state.days.get(e.rep_id) if e.rep_id is not None else None
    if day is not None and day.off_from is not None and not kind.while_off:
        refuse("rep_unavailable", f"rep {e.rep_id} is unavailable since {hm(day.off_from)}")
    if e.store_id is not None and e.store_id in state.done and not kind.after_done:
        refuse("already_done", f"store {e.store_id} was already visited today (done by rep {state.done[e.store_id]})")
    kind.check(state, day, e)


def day_rules(events: Sequence[Event]) -> DayRules:
    """The checker's rules of a day from its events, taken in the order of their times."""
    rules = DayRules()
    for e in sorted(events, key=lambda e: e.time_s):
        KINDS[e.kind].rule(rules, e)
    return rules
