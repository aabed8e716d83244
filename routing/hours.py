"""Opening hours and working days, in the OpenStreetMap ``opening_hours`` syntax.

Parsing is done by opening-hours-py (a maintained implementation of the OSM specification);
this module only turns its intervals into seconds from local midnight on the clock face
(wall-clock); ``routing.clock.DayClock.windows`` turns those into a plan's real seconds.
``fits_in`` is the one rule of a visit inside windows and a shift.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import lru_cache

import opening_hours

DAY_S = 24 * 3600

Window = tuple[int, int]


class HoursError(ValueError):
    """An ``opening_hours`` value the parser cannot read."""


@lru_cache(maxsize=4096)
def _parse(expression: str) -> opening_hours.OpeningHours:
    try:
        return opening_hours.OpeningHours(expression)
    except opening_hours.ParserError as exc:
        first = str(exc).strip().splitlines()[-1].strip(" =")
        raise HoursError(f"not valid opening_hours syntax ({first})") from None


def validate(expression: str) -> None:
    """Raise ``HoursError`` if ``expression`` is not valid ``opening_hours`` syntax."""
    if expression.strip():
        _parse(expression.strip())


def open_windows(expression: str, date: dt.date) -> list[Window]:
    """Open intervals on ``date`` as (open_s, close_s) seconds from local midnight.

    An empty expression means open all day. Intervals that run past midnight are cut
    at 24:00 (the next day's part belongs to the next day). Adjacent intervals merge.
    """
    if not expression.strip():
        return [(0, DAY_S)]
    midnight = dt.datetime.combine(date, dt.time())
    windows: list[Window] = []
    for begin, end, state, _comment in _parse(expression.strip()).intervals(
        midnight, midnight + dt.timedelta(days=1)
    ):
        if state != opening_hours.State.OPEN:
            continue
        a = int((begin - midnight).total_seconds())
        b = min(int((end - midnight).total_seconds()), DAY_S)
        if windows and windows[-1][1] == a:
            windows[-1] = (windows[-1][0], b)
        elif b > a:
            windows.append((a, b))
    return windows


def fits_in(windows: Iterable[Window], service_s: int, earliest_s: int, latest_s: int) -> bool:
    """Can a visit of ``service_s`` lie wholly inside one of ``windows`` and inside
    [``earliest_s``, ``latest_s``] (a rep's shift)? The rule behind ``outside_shift``, for the
    day solver and the checker alike; any unit, as long as all of them are in the same."""
    return any(max(a, earliest_s) + service_s <= min(b, latest_s) for a, b in windows)


def works_on(working_days: str, date: dt.date) -> bool:
    """True if a ``working_days`` rule such as ``Mo-Fr`` or ``Mo,We,Fr`` includes ``date``."""
    return bool(open_windows(working_days, date))
