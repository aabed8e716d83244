"""Same-day events: what a rep's phone or a supervisor reports while a day is under way.

The vocabulary is close to the field-service tools': a visit started (check-in) or done
(check-out), a position and time (running late or early), a visit taking longer than
planned (overrun), a store found or announced closed today, an urgent visit, and a rep
unavailable from a time (sick, car broken) or available again. ``routing.replan`` applies
them; ``routing.check`` derives the same day's rules from them on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .model import Store
from .travel import Point, haversine_m

EventKind = Literal["visit_started", "visit_done", "position", "overrun", "store_closed", "urgent_visit",
                    "rep_unavailable", "rep_available"]

#: Each kind, what it means, and the fields it needs besides ``kind`` and ``time``.
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "visit_started": ("the rep checked in at a store (optionally with the phone's position)", ("rep_id", "store_id")),
    "visit_done": ("the rep checked out of a store", ("rep_id", "store_id")),
    "position": ("the rep is at a position (or, without one, still where it was) at this time: running late or early",
                 ("rep_id",)),
    "overrun": ("a visit takes longer than planned, by ``minutes``", ("rep_id", "store_id", "minutes")),
    "store_closed": ("a store is closed for the rest of the day (found closed, or announced)", ("store_id",)),
    "urgent_visit": ("visit a store today (an existing one, or a new one given as ``store``), ending by ``latest`` "
                     "if given, at ``priority`` if given", ("store_id",)),
    "rep_unavailable": ("the rep stops working from this time (sick, car broken): the rest of the day goes to "
                        "the other reps as covers, or to later days", ("rep_id",)),
    "rep_available": ("the rep works again from this time, from home", ("rep_id",)),
}

#: Kinds a rep may report about its own day (the others come from a supervisor).
REP_KINDS = frozenset({"visit_started", "visit_done", "position", "overrun", "store_closed", "urgent_visit"})
#: What a rep may post itself: its reports, and that it cannot go on today ("I can't go on"),
#: which re-plans as when a supervisor says so (its rest of the day goes to the others).
REP_MAY_POST = REP_KINDS | {"rep_unavailable"}


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


class EventRejected(ValueError):
    """An event that cannot apply to the day as it stands: nothing was changed.

    ``code``: the event is wrong (422) — ``unknown_kind``, ``missing_field``, ``not_today``,
    ``in_the_future``, ``unknown_rep``, ``unknown_store``, ``bad_store``, ``bad_minutes``,
    ``not_owner``; the day refuses it (409) — ``out_of_order`` (a supervisor's event before
    the rep's last one, or a late report that contradicts the rep's other reports),
    ``already_done``, ``already_urgent``, ``under_way``, ``not_on_route``, ``store_closed``,
    ``rep_unavailable``, ``rep_available``, ``not_working``. ``conflict`` is True when the event is well formed but the day's state
    refuses it (HTTP 409), False when the event itself is wrong (422)."""

    def __init__(self, code: str, message: str, *, index: int | None = None, conflict: bool = True):
        self.code, self.message, self.index, self.conflict = code, message, index, conflict
        super().__init__(f"{'' if index is None else f'event {index}: '}{message}")


def far_check_in_m(event: Event, store: Store, radius_m: float) -> float | None:
    """How far from ``store`` a check-in (``visit_started`` with the phone's position) was,
    when farther than ``radius_m``; None when near or without a position. Such a check-in is
    kept, and flagged."""
    if event.kind != "visit_started" or event.position is None:
        return None
    far = haversine_m(Point(*event.position), Point(store.lat, store.lon))
    return far if far > radius_m else None
