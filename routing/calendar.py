"""The visit cycle: its dates, how many visits each store needs, and the day patterns that
can hold them (``routing.cycle`` chooses among them).

A pattern is the tuple of dates on which a store is visited in one cycle. Patterns repeat
weekly ("same weekday every week") wherever the frequency allows it, respect the class's
minimum gap between visits, and use only days on which the store is open and the rep works.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .model import ClassPolicy

Pattern = tuple[dt.date, ...]


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
    """Visits a store of this class needs in ``weeks`` weeks (at least one)."""
    return max(1, round(policy.visits_per_week * weeks))


def day_patterns(
    n_visits: int,
    cycle: Cycle,
    usable: Callable[[dt.date], bool],
    *,
    min_gap_days: int | None = None,
) -> list[Pattern]:
    """Candidate visit dates for one store, best first (fewest visits lost to closed days).

    ``usable(date)`` says whether the store can be visited that day (open, rep working, not
    a holiday). A pattern may hold fewer than ``n_visits`` dates when a holiday or closure
    falls on a fixed weekday, or when the store is open on too few weekdays for its
    frequency; the planner reports the missing ones.
    """
    gap = _default_gap(n_visits, cycle.weeks) if min_gap_days is None else min_gap_days
    days = [d for d in cycle.dates if d not in cycle.holidays and usable(d)]
    if not days:
        return []
    if n_visits % cycle.weeks == 0:
        candidates = []
        for per_week in range(n_visits // cycle.weeks, 0, -1):  # fewer a week if the store allows no more
            candidates = _weekly(per_week, cycle, days, gap)
            if candidates:
                break
    elif cycle.weeks % n_visits == 0:
        candidates = _every_k_weeks(cycle.weeks // n_visits, cycle, days)
    else:
        candidates = _evenly_spaced(n_visits, cycle, days)
    candidates = [p for p in dict.fromkeys(candidates) if p and _gaps_ok(p, gap)]
    candidates.sort(key=lambda p: (-len(p), _spread(p, n_visits, cycle)))
    return candidates


def _default_gap(n_visits: int, weeks: int) -> int:
    """Without a class rule, visits are at least half the ideal interval apart."""
    return max(1, (7 * weeks // n_visits) // 2) if n_visits > 1 else 0


def _weekly(per_week: int, cycle: Cycle, days: list[dt.date], gap: int) -> list[Pattern]:
    """The same ``per_week`` weekdays every week."""
    weekdays = sorted({d.weekday() for d in days})
    out = []
    for chosen in itertools.combinations(weekdays, per_week):
        if per_week > 1 and min(_cyclic_gaps(chosen)) < gap:
            continue
        out.append(tuple(d for d in days if d.weekday() in chosen))
    return out


def _every_k_weeks(k: int, cycle: Cycle, days: list[dt.date]) -> list[Pattern]:
    """One weekday, in weeks phase, phase + k, ..."""
    out = []
    for phase in range(k):
        for weekday in range(7):
            out.append(tuple(d for d in days if d.weekday() == weekday and cycle.week_of(d) % k == phase))
    return out


def _evenly_spaced(n: int, cycle: Cycle, days: list[dt.date]) -> list[Pattern]:
    """Visits about (cycle length / n) days apart, from each possible first day."""
    interval = 7 * cycle.weeks / n
    out = []
    for first in range(int(interval)):
        picks = []
        for i in range(n):
            target = cycle.start + dt.timedelta(days=round(first + i * interval))
            nearest = min(days, key=lambda d: (abs((d - target).days), d))
            if nearest not in picks:
                picks.append(nearest)
        out.append(tuple(sorted(picks)))
    return out


def _cyclic_gaps(weekdays: Iterable[int]) -> list[int]:
    w = sorted(weekdays)
    return [(b - a) % 7 or 7 for a, b in zip(w, w[1:] + w[:1])]


def _gaps_ok(pattern: Pattern, gap: int) -> bool:
    return all((b - a).days >= gap for a, b in zip(pattern, pattern[1:]))


def _spread(pattern: Pattern, n_visits: int, cycle: Cycle) -> float:
    """How far the gaps are from the ideal interval (0 = perfectly even)."""
    ideal = 7 * cycle.weeks / n_visits
    gaps = [(b - a).days for a, b in zip(pattern, pattern[1:])]
    return sum(abs(g - ideal) for g in gaps) / max(1, len(gaps))
