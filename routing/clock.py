"""Plan seconds on one date: real elapsed time since the instant of local midnight.

A plan's times are integer seconds since the instant of local midnight (00:00 on the clock)
of the plan's date, in the policy's time zone, measured in REAL time. On an ordinary day they
equal the clock-face (wall-clock) seconds; on the days the clocks change they do not, and
wall-clock arithmetic would write times that do not exist, book an hour twice or lose one
(the spring day in Paris is 23 h long, the autumn day 25 h). ``DayClock`` converts between the
two: inputs such as opening hours and shifts are wall-clock times, the solver and the plan
file work in real seconds, and times are shown as local wall-clock time with the offset in
force at that instant.

The rule for wall-clock times that do not exist or happen twice is Python's ``fold=0``:

* a time in the spring-forward gap is read with the UTC offset in force before the change, so
  it lands as far past the gap as it was into it: 02:30 on 2026-03-29 in Europe/Paris is
  02:30+01:00 = 03:30+02:00, 9000 s after midnight;
* a time that happens twice (the autumn fall-back hour) means its first occurrence, in summer
  time: 02:30 on 2026-10-25 in Europe/Paris is 02:30+02:00, 9000 s after midnight (the second
  02:30, 02:30+01:00, is 12600 s).

Midnight itself follows the same rule in the few zones whose clocks change at 00:00.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from .model import Break, Rep

_UTC = dt.timezone.utc
DAY_S = 24 * 3600


def hhmm(wall_s: int, *, seconds: bool = False) -> str:
    """Clock-face seconds since 00:00 as ``HH:MM`` (``HH:MM:SS`` with ``seconds``); 24:00 is
    the next midnight, the end of a day open until midnight."""
    text = f"{wall_s // 3600:02d}:{wall_s % 3600 // 60:02d}"
    return f"{text}:{wall_s % 60:02d}" if seconds else text


@dataclasses.dataclass(frozen=True)
class DayClock:
    """The clock of one date in one time zone: ``DayClock(date, policy.time_zone)``.

    ``time_zone`` is a ``ZoneInfo`` or an IANA name (stored as a ``ZoneInfo``).
    """

    date: dt.date
    time_zone: ZoneInfo | str
    _midnight: dt.datetime = dataclasses.field(init=False, repr=False, compare=False)
    _plain: bool = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.time_zone, str):
            object.__setattr__(self, "time_zone", ZoneInfo(self.time_zone))
        object.__setattr__(self, "_midnight", self._utc(dt.datetime.combine(self.date, dt.time())))
        object.__setattr__(self, "_plain", False)
        next_midnight = dt.datetime.combine(self.date + dt.timedelta(days=1), dt.time()).replace(tzinfo=self.time_zone)
        plain = self.real(DAY_S) == DAY_S and next_midnight.utcoffset() == self.instant(0).utcoffset()
        object.__setattr__(self, "_plain", plain)  # no change of offset that day: real = wall

    def _utc(self, local: dt.datetime) -> dt.datetime:
        """A naive local wall-clock datetime as a UTC instant (its ``fold`` picks the reading)."""
        return local.replace(tzinfo=self.time_zone).astimezone(_UTC)

    def real(self, wall_s: int) -> int:
        """Real seconds since midnight of the clock-face time ``wall_s`` seconds after 00:00.

        ``wall_s`` may pass 24 h (24:00 is the next midnight). Gap and repeated times follow
        the module's ``fold=0`` rule.
        """
        if self._plain and 0 <= wall_s <= DAY_S:
            return wall_s
        local = dt.datetime.combine(self.date, dt.time()) + dt.timedelta(seconds=wall_s)
        return int((self._utc(local) - self._midnight).total_seconds())

    def wall(self, real_s: int) -> int:
        """Clock-face seconds since 00:00 of the date at ``real_s``, for display.

        The inverse of ``real`` except inside the repeated hour, where both occurrences read the
        same (the second 02:30 is 02:30), and after a gap (``real`` of 02:30 gives 03:30).
        """
        local = self.instant(real_s).replace(tzinfo=None)
        return int((local - dt.datetime.combine(self.date, dt.time())).total_seconds())

    def clock_time(self, real_s: int, *, seconds: bool = False) -> str:
        """The local clock time of the instant ``real_s`` after midnight, for messages
        (``hhmm`` of ``wall``): 03:10 for real 02:10 on a spring day whose clocks skip 02:00-03:00,
        24:00 for the end of the day whatever its length. A time of the repeated hour of an
        autumn day carries its UTC offset, which tells the two apart (02:30+02:00, 02:30+01:00)."""
        if self._plain and 0 <= real_s <= DAY_S:
            return hhmm(real_s, seconds=seconds)
        moment = self.instant(real_s)
        text = hhmm(self.wall(real_s), seconds=seconds)
        local = moment.replace(tzinfo=None)
        first, second = (local.replace(tzinfo=self.time_zone, fold=f).utcoffset() for f in (0, 1))
        return f"{text}{moment.isoformat()[-6:]}" if first != second else text

    def hours_text(self, windows: Iterable[tuple[int, int]], *, seconds: bool = False) -> str:
        """(open_s, close_s) windows in real seconds as local clock times, ``08:00-12:00,
        14:00-24:00`` (``clock_time``); ``closed`` when there are none."""
        return ", ".join(f"{self.clock_time(a, seconds=seconds)}-{self.clock_time(b, seconds=seconds)}"
                         for a, b in windows) or "closed"

    def instant(self, real_s: int) -> dt.datetime:
        """The aware datetime ``real_s`` after midnight, with the UTC offset in force then."""
        return (self._midnight + dt.timedelta(seconds=real_s)).astimezone(self.time_zone)

    def from_instant(self, moment: dt.datetime) -> int:
        """Real seconds since midnight of ``moment`` (rounded to the second).

        An aware datetime is an instant, whatever its offset; a naive one is local wall-clock
        time in this zone, read with the ``fold=0`` rule (its ``fold`` attribute, 0 unless set).
        """
        utc = self._utc(moment) if moment.tzinfo is None else moment.astimezone(_UTC)
        return int(round((utc - self._midnight).total_seconds()))

    @property
    def regular(self) -> bool:
        """No change of UTC offset on this date: real seconds are clock-face seconds."""
        return self._plain

    @property
    def length_s(self) -> int:
        """Real length of the day: 86400, or 82800 / 90000 when the clocks go forward / back."""
        return self.real(DAY_S)

    def windows(self, wall_windows: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
        """Wall-clock (open_s, close_s) windows, e.g. from ``routing.hours.open_windows``, in
        real seconds: sorted, overlapping or touching ones merged, empty ones dropped (a window
        02:00-03:00 on the spring day is empty)."""
        out: list[tuple[int, int]] = []
        for a, b in sorted((self.real(a), self.real(b)) for a, b in wall_windows):
            if b <= a:
                continue
            if out and a <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], b))
            else:
                out.append((a, b))
        return out

    def rep(self, rep: Rep) -> Rep:
        """``rep`` with its shift and lunch window (wall-clock, as read from the reps file) in
        real seconds; the lunch's length is unchanged. Convert a rep only once."""
        lunch = rep.lunch
        if lunch is not None:
            lunch = Break(self.real(lunch.earliest_s), self.real(lunch.latest_s), lunch.duration_s)
        return dataclasses.replace(rep, shift_start_s=self.real(rep.shift_start_s),
                                   shift_end_s=self.real(rep.shift_end_s), lunch=lunch)


@functools.lru_cache(maxsize=1024)
def day_clock(date: dt.date, time_zone: str) -> DayClock:
    """The (cached) clock of ``date`` in the zone named ``time_zone``."""
    return DayClock(date, time_zone)
