"""The service's clock: what "now" is for every request that asks which day is under way
('today', 'tomorrow', events, the calendar feed).

By default it is the system clock. ``FIELDROUTE_CLOCK`` (``fieldroute serve --clock``) starts
it at a set instant and lets it run from there, so a demo, a test or an app developer can live
in a working morning whatever the real time. Every worker process of one server reads the
same clock: ``FIELDROUTE_CLOCK_SINCE`` is the real time at which it read the set instant.
Token, session and job times stay real.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo


class ServiceClock:
    """``clock()``: the present, or the set instant plus the real time elapsed since
    ``since`` (Unix time; default: now). A start without an offset is local time in the
    zone ``zone()`` names when the clock is first read (the plans' zone; UTC for None)."""

    def __init__(self, start: dt.datetime | None = None, since: float | None = None,
                 zone: Callable[[], str | None] = lambda: None):
        self.start, self._zone = start, zone
        self.since = time.time() if since is None else since

    @property
    def is_set(self) -> bool:
        return self.start is not None

    def __call__(self) -> dt.datetime:
        if self.start is None:
            return dt.datetime.now(dt.timezone.utc)
        if self.start.tzinfo is None:
            self.start = resolve_start(self.start, self._zone())
        return (self.start + dt.timedelta(seconds=time.time() - self.since)).astimezone(dt.timezone.utc)


def resolve_start(start: dt.datetime, zone_name: str | None) -> dt.datetime:
    """A set instant without an offset is local time in ``zone_name`` (the plans' time zone;
    UTC without one)."""
    if start.tzinfo is not None:
        return start
    return start.replace(tzinfo=ZoneInfo(zone_name) if zone_name else dt.timezone.utc)
