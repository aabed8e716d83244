"""Domain types: stores, reps, the visit policy, and the plans the solvers return.

Times inside a plan are integer seconds of real time since the instant of local midnight of
the plan's date, in the policy's time zone (``routing.clock``; on ordinary days the same as
clock-face seconds); they become ISO 8601 only at the edges (``routing.io``). Inputs such as
shifts, lunch windows and opening hours are clock-face times: ``DayClock`` converts them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from .hours import works_on

#: Keys shared by a plan's summary and every route's summary (VROOM style).
SUMMARY_KEYS = ("visits", "travel_s", "service_s", "wait_s", "distance_m", "span_s")

#: Two-letter weekday names of the OpenStreetMap syntax; the index is ``date.weekday()``.
WEEKDAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")

SameWeekday = Literal["prefer", "require"]
#: The method's steps in a store (进店 enter, 查 check the shelf, 做 fix the display, 说 tell
#: about promotions, 销 take the order, 训 train the staff, 出 leave): every class's checklist
#: unless the policy gives it another.
DEFAULT_CHECKLIST = ("enter", "check_shelf", "fix_display", "tell_promotions", "take_order", "train_staff", "leave")


@dataclass(frozen=True)
class ClassPolicy:
    """How a store class is served: frequency, visit length, drop priority and day rules.

    ``day_patterns``: the allowed weekday sets of one week's visits (0 = Monday), e.g.
    Mo+Th, Tu+Fr, We+Sa; None = any weekdays. ``same_weekday``: "require" = the same
    weekdays every week, a visit lost to a holiday, closure or day off is reported missing;
    "prefer" = such a visit may move to a nearby day, at a cost (``routing.cycle``).
    """

    name: str
    visits_per_week: float | None
    service_min: float
    priority: int
    min_gap_days: int | None = None
    day_patterns: tuple[frozenset[int], ...] | None = None
    same_weekday: SameWeekday = "prefer"
    visits_per_cycle: int | None = None
    """Visits in a whole cycle, whatever its length (instead of ``visits_per_week``)."""
    checklist: tuple[str, ...] = DEFAULT_CHECKLIST
    """The steps of a visit a rep may tick at check-out."""
    focus_step: str | None = None
    """The checklist's step for the focus product (主推), which the follow-up reports count."""


@dataclass(frozen=True)
class Policy:
    """Company-wide settings: time zone, straight-line travel model, store classes."""

    time_zone: str
    classes: dict[str, ClassPolicy]
    speed_kmh: float = 30.0
    circuity: float = 1.3

    def service_s(self, store: "Store") -> int:
        """A visit's length in seconds: the store's own ``service_min``, else its class's."""
        minutes = store.service_min if store.service_min is not None else self.classes[store.store_class].service_min
        return int(round(minutes * 60))


@dataclass(frozen=True)
class Store:
    """A store to visit. ``opening_hours`` uses the OpenStreetMap syntax; empty = always open."""

    id: str
    name: str
    lat: float
    lon: float
    store_class: str
    opening_hours: str = ""
    service_min: float | None = None
    rep_id: str | None = None
    demand: int = 0
    area: str = ""
    """A free area name (片区, e.g. a district): the follow-up reports group by it."""


@dataclass(frozen=True)
class Break:
    """A lunch break of ``duration_s`` that must lie wholly inside [earliest_s, latest_s]."""

    earliest_s: int
    latest_s: int
    duration_s: int


@dataclass(frozen=True)
class Rep:
    """A sales rep: where the day starts and ends, the shift, the lunch break, limits."""

    id: str
    name: str
    start_lat: float
    start_lon: float
    end_lat: float
    end_lon: float
    shift_start_s: int = 8 * 3600
    shift_end_s: int = 18 * 3600
    lunch: Break | None = None
    working_days: str = "Mo-Fr"
    max_visits: int | None = None
    capacity: int | None = None
    days_off: frozenset[dt.date] = frozenset()

    def works_on(self, date: dt.date) -> bool:
        """True if ``date`` is one of the rep's working days and not a day off."""
        return date not in self.days_off and works_on(self.working_days, date)

    @property
    def start_key(self) -> str:
        """Travel-matrix key of the place the rep's day starts."""
        return f"rep:{self.id}:start"

    @property
    def end_key(self) -> str:
        """Travel-matrix key of the place the rep's day ends."""
        return f"rep:{self.id}:end"


@dataclass(frozen=True)
class SolveParams:
    """Search limits and seed; recorded in every plan so a run can be repeated."""

    time_limit_s: float = 10.0
    solution_limit: int | None = None
    seed: int = 0
    balance_weight: int = 0

    def as_dict(self) -> dict:
        return {
            "time_limit_s": self.time_limit_s,
            "solution_limit": self.solution_limit,
            "seed": self.seed,
            "balance_weight": self.balance_weight,
        }


StopType = Literal["start", "visit", "break", "end"]
#: A frozen stop of a day under way (``routing.replan``): done, under way, or the next stop
#: the rep is driving to. None: planned.
StopStatus = Literal["done", "under_way", "next"]


@dataclass(frozen=True)
class Stop:
    """One line of a rep's day. Times are real seconds since local midnight (``routing.clock``).

    ``travel_s``/``distance_m`` are for the leg that leads here; ``wait_s`` is the idle time
    between arriving and starting (a break taken on that leg is not waiting).
    """

    type: StopType
    arrival_s: int
    start_s: int
    end_s: int
    store_id: str | None = None
    travel_s: int = 0
    distance_m: int = 0
    wait_s: int = 0
    status: StopStatus | None = None
    reported: bool = False
    """True when the times are the rep's own check-in and check-out (else the plan's)."""


@dataclass(frozen=True)
class Resume:
    """Where a re-planned day carries on: the stops after the first ``after`` (which are
    frozen) start from ``place`` (a travel-matrix key: a store, the rep's home or a reported
    position at ``lat``/``lon``), where the rep is free at ``time_s`` and leaves at
    ``depart_s``."""

    after: int
    place: str
    time_s: int
    depart_s: int
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class Summary:
    """Totals of a route or a whole plan; the two share these keys."""

    visits: int = 0
    travel_s: int = 0
    service_s: int = 0
    wait_s: int = 0
    distance_m: int = 0
    span_s: int = 0

    def __add__(self, other: Summary) -> Summary:
        return Summary(*(getattr(self, k) + getattr(other, k) for k in SUMMARY_KEYS))

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in SUMMARY_KEYS}


def total_summary(routes) -> Summary:
    """The totals of several routes (the same keys as one route's summary)."""
    return sum((r.summary for r in routes), Summary())


@dataclass(frozen=True)
class Route:
    """A rep's day: start, visits and break in order, end."""

    rep_id: str
    date: str
    stops: tuple[Stop, ...]
    resume: Resume | None = None

    @property
    def visits(self) -> list[Stop]:
        return [s for s in self.stops if s.type == "visit"]

    @property
    def summary(self) -> Summary:
        visits = self.visits
        return Summary(
            visits=len(visits),
            travel_s=sum(s.travel_s for s in self.stops),
            service_s=sum(s.end_s - s.start_s for s in visits),
            wait_s=sum(s.wait_s for s in self.stops),
            distance_m=sum(s.distance_m for s in self.stops),
            span_s=self.stops[-1].arrival_s - self.stops[0].start_s,
        )


#: Why a visit is not on any route.
REASONS = {
    "closed_on_date": "the store has no opening hours on this date",
    "outside_shift": "the store's opening hours do not overlap any eligible rep's shift",
    "window_too_short": "no opening window that day is long enough for the visit",
    "unreachable_in_shift": "no eligible rep can reach the store, visit it and get home within the shift",
    "lunch_break": "the store is open only while every eligible rep has the lunch break",
    "rep_not_working": "the store's owner rep does not work on this date or is not in the team",
    "over_capacity": "the visit's demand exceeds every eligible rep's capacity",
    "max_visits_reached": "every eligible rep already has the maximum number of visits",
    "not_enough_time": "the eligible reps' days are full; lower-priority visits are dropped first",
    "no_usable_day": "the date cannot take the visit: a holiday, the store closed, no eligible rep working or able to reach it, or too close to the store's other visits",
}


@dataclass(frozen=True)
class Unassigned:
    """A requested visit that is not on any route, with a reason code from ``REASONS``."""

    store_id: str
    reason: str
    detail: str
    date: str | None = None


@dataclass(frozen=True)
class DayPlan:
    """The result of planning one date: routes, what did not fit, and how it was solved."""

    date: str
    time_zone: str
    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    params: dict = field(default_factory=dict)

    @property
    def summary(self) -> Summary:
        return total_summary(self.routes)

    def route_of(self, rep_id: str) -> Route | None:
        return next((r for r in self.routes if r.rep_id == rep_id), None)
