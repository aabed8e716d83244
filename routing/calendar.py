"""The visit cycle: its dates, how many visits each store needs, and the day patterns that
can hold them (``routing.cycle`` chooses among them).

A pattern is the dates on which a store is visited in one cycle. Patterns repeat weekly
("same weekday every week") wherever the frequency allows it, use only the class's allowed
weekday sets when it has them, respect its minimum gap between visits, and use only days on
which the store is open and the rep works. Classes that only prefer the same weekday also
get patterns in which a visit lost to a holiday, closure or day off moves to a nearby day.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .model import ClassPolicy, SameWeekday

#: How far (in days) a visit lost to a holiday, closure or day off may move in a
#: "prefer same weekday" class: at most half a week, so it stays near its slot.
MAX_MOVE_DAYS = 3


@dataclass(frozen=True)
class Pattern:
    """The dates one store is visited on in one cycle, in order.

    ``lost``: dates on the pattern's weekdays (and, every k weeks, in its weeks) that it
    cannot hold (holiday, store closed, rep off) and that the planner reports missing.
    ``moved``: dates in ``dates`` that stand in for such a lost visit, off the pattern's
    weekdays (only for classes that prefer, not require, the same weekday every week).
    """

    dates: tuple[dt.date, ...]
    lost: tuple[dt.date, ...] = ()
    moved: tuple[dt.date, ...] = ()


@dataclass(frozen=True)
class Cycle:
    """``weeks`` weeks from ``start``; ``holidays`` are days nobody works."""

    start: dt.date
    weeks: int
    holidays: frozenset[dt.date] = frozenset()

    def __post_init__(self):
        if self.weeks < 1:
            raise ValueError("a cycle has at least one week")

    @property
    def dates(self) -> list[dt.date]:
        """Every calendar day of the cycle, holidays included."""
        return [self.start + dt.timedelta(days=i) for i in range(7 * self.weeks)]

    def week_of(self, date: dt.date) -> int:
        """0-based week of ``date`` within the cycle."""
        return (date - self.start).days // 7


def required_visits(policy: ClassPolicy, weeks: int) -> int:
    """Visits a store of this class needs in ``weeks`` weeks: ``visits_per_week`` x weeks
    rounded half up, at least one (0.5 a week over 5 weeks = 3 visits, over 7 weeks = 4;
    0.25 a week over 2 weeks = 1), or the class's ``visits_per_cycle``."""
    if policy.visits_per_cycle is not None:
        return policy.visits_per_cycle
    return max(1, math.floor(policy.visits_per_week * weeks + 0.5 + 1e-9))


def min_gap(policy: ClassPolicy, weeks: int) -> int:
    """Fewest days between two visits of a store of this class: the class's
    ``min_gap_days``, else half the ideal interval (a weekly store at least 3 days apart,
    an every-2-weeks store 7), the room the planner's moved visits need."""
    if policy.min_gap_days is not None:
        return policy.min_gap_days
    return _default_gap(required_visits(policy, weeks), weeks)


def may_take(cls: ClassPolicy, cycle: Cycle, date: dt.date, others: Iterable[dt.date]) -> bool:
    """May ``date`` take a visit to a store of class ``cls`` whose other visits in the cycle
    fall on ``others``? Not on a holiday, at least the class's gap (``min_gap``) from the
    other visits, on a weekday of one of the class's ``day_patterns`` (when it has them);
    a class that requires the same weekdays also keeps its other visits' weekdays and, every
    k weeks, their weeks. The one rule of the cycle planner's refill and the re-plan's carry."""
    others = sorted(others)
    gap = min_gap(cls, cycle.weeks)
    if date in cycle.holidays or any(abs((d - date).days) < gap for d in others):
        return False
    if cls.day_patterns and not any(date.weekday() in allowed for allowed in cls.day_patterns):
        return False
    if cls.same_weekday == "require" and others:
        if date.weekday() not in {d.weekday() for d in others}:
            return False
        need = required_visits(cls, cycle.weeks)
        if need < cycle.weeks and cycle.weeks % need == 0:
            k = cycle.weeks // need
            return cycle.week_of(date) % k == cycle.week_of(others[0]) % k
    return True


def day_patterns(
    n_visits: int,
    cycle: Cycle,
    usable: Callable[[dt.date], bool],
    *,
    min_gap_days: int | None = None,
    weekday_sets: Sequence[frozenset[int]] | None = None,
    same_weekday: SameWeekday = "prefer",
) -> list[Pattern]:
    """Candidate visit patterns for one store, best first (fewest visits lost, fewest moved).

    ``usable(date)`` says whether the store can be visited that day (open, rep working, not
    a day off); holidays are never usable. A pattern may hold fewer than ``n_visits`` dates
    when a holiday or closure falls on a fixed weekday, or when the store is open on too few
    weekdays for its frequency; the planner reports the missing ones.

    ``weekday_sets`` (a class's ``day_patterns``) limits the weekdays: each pattern then
    uses one set's weekdays, every week (every k weeks: one weekday of one set). With
    ``same_weekday="prefer"`` each pattern that loses visits also comes with a variant in
    which each lost visit moves to the nearest usable day at most ``MAX_MOVE_DAYS`` away that
    keeps the gap to the neighbouring visits. Frequencies without a weekly rhythm (3 visits
    in 4 weeks) are spread evenly: on fixed weekdays, and with "prefer" on any day too.
    """
    gap = _default_gap(n_visits, cycle.weeks) if min_gap_days is None else min_gap_days
    days = [d for d in cycle.dates if d not in cycle.holidays and usable(d)]
    if not days:
        return []
    groups = [days] if weekday_sets is None else [[d for d in days if d.weekday() in s] for s in weekday_sets]
    candidates: list[Pattern] = []
    for group in filter(None, groups):
        if n_visits % cycle.weeks == 0:
            candidates += [_weekly(chosen, cycle, group) for chosen in _weekday_choices(n_visits // cycle.weeks, group, gap)]
        elif cycle.weeks % n_visits == 0:
            candidates += _every_k_weeks(cycle.weeks // n_visits, cycle, group)
        else:
            per_week = -(-n_visits // cycle.weeks)
            for chosen in _weekday_choices(per_week, group, gap):
                candidates += _evenly_spaced(n_visits, cycle, [d for d in group if d.weekday() in chosen])
            if same_weekday == "prefer" and weekday_sets is None:
                candidates += _evenly_spaced(n_visits, cycle, group)
    if same_weekday == "prefer":
        candidates += [m for m in (_move_lost(p, days, gap) for p in candidates) if m is not None]
    candidates = [p for p in candidates if p.dates and _gaps_ok(p.dates, gap)]
    candidates.sort(key=lambda p: (-len(p.dates), len(p.moved), _spread(p.dates, n_visits, cycle)))
    unique: dict[tuple[dt.date, ...], Pattern] = {}
    for p in candidates:
        unique.setdefault(p.dates, p)  # the same dates with fewer moved visits come first
    return list(unique.values())


def _default_gap(n_visits: int, weeks: int) -> int:
    """Without a class rule, visits are at least half the ideal interval apart."""
    return max(1, (7 * weeks // n_visits) // 2) if n_visits > 1 else 0


def _weekday_choices(per_week: int, days: list[dt.date], gap: int) -> list[tuple[int, ...]]:
    """Sets of ``per_week`` weekdays among those of ``days``, at least ``gap`` days apart
    week after week; fewer weekdays a week when no such set exists."""
    weekdays = sorted({d.weekday() for d in days})
    for k in range(min(per_week, len(weekdays)), 0, -1):
        found = [c for c in itertools.combinations(weekdays, k) if k == 1 or min(_cyclic_gaps(c)) >= gap]
        if found:
            return found
    return []


def _weekly(chosen: tuple[int, ...], cycle: Cycle, days: list[dt.date]) -> Pattern:
    """The ``chosen`` weekdays every week."""
    dates = tuple(d for d in days if d.weekday() in chosen)
    return Pattern(dates, tuple(d for d in cycle.dates if d.weekday() in chosen and d not in dates))


def _every_k_weeks(k: int, cycle: Cycle, days: list[dt.date]) -> list[Pattern]:
    """One weekday, in weeks phase, phase + k, ..."""
    out = []
    for phase in range(k):
        for weekday in sorted({d.weekday() for d in days}):
            slots = [d for d in cycle.dates if d.weekday() == weekday and cycle.week_of(d) % k == phase]
            dates = tuple(d for d in days if d in slots)
            out.append(Pattern(dates, tuple(d for d in slots if d not in dates)))
    return out


def _evenly_spaced(n: int, cycle: Cycle, days: list[dt.date]) -> list[Pattern]:
    """Visits about (cycle length / n) days apart, from each possible first day."""
    if not days:
        return []
    interval = 7 * cycle.weeks / n
    out = []
    for first in range(int(interval)):
        picks = []
        for i in range(n):
            target = cycle.start + dt.timedelta(days=round(first + i * interval))
            nearest = min(days, key=lambda d: (abs((d - target).days), d))
            if nearest not in picks:
                picks.append(nearest)
        out.append(Pattern(tuple(sorted(picks))))
    return out


def _move_lost(pattern: Pattern, days: list[dt.date], gap: int) -> Pattern | None:
    """The pattern with each lost visit moved to the nearest usable free day (at most
    ``MAX_MOVE_DAYS`` away, earlier first on a tie) that keeps ``gap`` days to the visits
    before and after it; None when no lost visit can move."""
    dates, moved, lost = sorted(pattern.dates), [], []
    for date in pattern.lost:
        near = sorted((d for d in days if 0 < abs((d - date).days) <= MAX_MOVE_DAYS and d not in dates),
                      key=lambda d: (abs((d - date).days), d))
        spot = next((d for d in near if _gaps_ok(tuple(sorted([*dates, d])), gap)), None)
        if spot is None:
            lost.append(date)
        else:
            dates = sorted([*dates, spot])
            moved.append(spot)
    return Pattern(tuple(dates), tuple(lost), tuple(moved)) if moved else None


def _cyclic_gaps(weekdays: Iterable[int]) -> list[int]:
    w = sorted(weekdays)
    return [(b - a) % 7 or 7 for a, b in zip(w, w[1:] + w[:1])]


def _gaps_ok(dates: Sequence[dt.date], gap: int) -> bool:
    return all((b - a).days >= gap for a, b in zip(dates, dates[1:]))


def _spread(pattern: Sequence[dt.date], n_visits: int, cycle: Cycle) -> float:
    """How far the gaps are from the ideal interval (0 = perfectly even)."""
    ideal = 7 * cycle.weeks / n_visits
    gaps = [(b - a).days for a, b in zip(pattern, pattern[1:])]
    return sum(abs(g - ideal) for g in gaps) / max(1, len(gaps))
