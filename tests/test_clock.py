"""Plan seconds as real time since local midnight (``routing.clock``), and plan files on the
days the clocks change.

Every expected number below is worked out by hand from the Europe/Paris rules (CET +01:00,
CEST +02:00; in 2026 summer time starts 2026-03-29 at 01:00Z, 02:00 -> 03:00 on the clock,
and ends 2026-10-25 at 01:00Z, 03:00 -> 02:00):

* 2026-03-29: midnight is 00:00+01:00 = 2026-03-28T23:00Z; the day ends at 2026-03-30
  00:00+02:00 = 2026-03-29T22:00Z, 23 h later.
* 2026-10-25: midnight is 00:00+02:00 = 2026-10-24T22:00Z; the day ends at 2026-10-26
  00:00+01:00 = 2026-10-25T23:00Z, 25 h later.
* 2026-06-15: +02:00 all day, 24 h.
"""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from routing.clock import DayClock
from routing.io import route_from_dict, route_to_dict
from routing.model import Break, Rep, Route, Stop

PARIS = ZoneInfo("Europe/Paris")
SPRING = DayClock(dt.date(2026, 3, 29), "Europe/Paris")
AUTUMN = DayClock(dt.date(2026, 10, 25), PARIS)
ORDINARY = DayClock(dt.date(2026, 6, 15), "Europe/Paris")

H = 3600


def test_time_zone_name_or_zoneinfo():
    assert SPRING.time_zone is PARIS
    assert DayClock(dt.date(2026, 3, 29), PARIS) == SPRING


def test_length_of_day():
    assert (SPRING.length_s, ORDINARY.length_s, AUTUMN.length_s) == (82800, 86400, 90000)


@pytest.mark.parametrize(
    "wall, real",
    [
        (0, 0),
        (5400, 5400),  # 01:30+01:00 = 00:30Z, 1.5 h after 23:00Z
        (7200, 7200),  # 02:00 does not exist; fold=0 reads it +01:00 = 01:00Z
        (9000, 9000),  # 02:30 does not exist; 02:30+01:00 = 01:30Z (= 03:30+02:00)
        (10800, 7200),  # 03:00+02:00 = 01:00Z, 2 h after 23:00Z
        (12600, 9000),  # 03:30+02:00 = 01:30Z
        (43200, 39600),  # 12:00+02:00 = 10:00Z, 11 h
        (86400, 82800),  # 24:00 = 2026-03-30 00:00+02:00 = 22:00Z, 23 h
    ],
)
def test_real_spring(wall, real):
    assert SPRING.real(wall) == real


@pytest.mark.parametrize(
    "wall, real",
    [
        (0, 0),
        (5400, 5400),  # 01:30+02:00 = 23:30Z, 1.5 h after 22:00Z
        (7200, 7200),  # 02:00 happens twice; the first is +02:00 = 00:00Z
        (9000, 9000),  # the first 02:30, +02:00 = 00:30Z
        (10800, 14400),  # 03:00+01:00 = 02:00Z, 4 h
        (12600, 16200),  # 03:30+01:00 = 02:30Z
        (43200, 46800),  # 12:00+01:00 = 11:00Z, 13 h
        (86400, 90000),  # 24:00 = 2026-10-26 00:00+01:00 = 23:00Z, 25 h
    ],
)
def test_real_autumn(wall, real):
    assert AUTUMN.real(wall) == real


@pytest.mark.parametrize("wall", [0, 5400, 9000, 10800, 12600, 43200, 86400, 90000])
def test_real_ordinary_day_is_wall_clock(wall):
    assert ORDINARY.real(wall) == wall


@pytest.mark.parametrize(
    "clock, real, text",
    [
        (SPRING, 0, "2026-03-29T00:00:00+01:00"),
        (SPRING, 7199, "2026-03-29T01:59:59+01:00"),  # 00:59:59Z
        (SPRING, 7200, "2026-03-29T03:00:00+02:00"),  # 01:00Z
        (SPRING, 9000, "2026-03-29T03:30:00+02:00"),  # 01:30Z
        (SPRING, 82800, "2026-03-30T00:00:00+02:00"),  # 22:00Z
        (AUTUMN, 0, "2026-10-25T00:00:00+02:00"),
        (AUTUMN, 7200, "2026-10-25T02:00:00+02:00"),  # 00:00Z
        (AUTUMN, 10799, "2026-10-25T02:59:59+02:00"),  # 00:59:59Z
        (AUTUMN, 10800, "2026-10-25T02:00:00+01:00"),  # 01:00Z
        (AUTUMN, 14400, "2026-10-25T03:00:00+01:00"),  # 02:00Z
        (AUTUMN, 90000, "2026-10-26T00:00:00+01:00"),  # 23:00Z
        (ORDINARY, 45000, "2026-06-15T12:30:00+02:00"),
    ],
)
def test_instant(clock, real, text):
    assert clock.instant(real).isoformat() == text
    assert clock.from_instant(dt.datetime.fromisoformat(text)) == real


@pytest.mark.parametrize(
    "clock, real, wall",
    [
        (SPRING, 3600, 3600),
        (SPRING, 7200, 10800),  # 03:00 on the clock
        (SPRING, 82800, 86400),
        (AUTUMN, 7200, 7200),
        (AUTUMN, 10800, 7200),  # the second 02:00
        (AUTUMN, 14400, 10800),
        (AUTUMN, 90000, 86400),
    ],
)
def test_wall(clock, real, wall):
    assert clock.wall(real) == wall


@pytest.mark.parametrize(
    "clock, text, real",
    [
        # naive = local wall clock, fold=0
        (SPRING, "2026-03-29T02:30:00", 9000),
        (SPRING, "2026-03-29T03:30:00", 9000),
        (AUTUMN, "2026-10-25T02:30:00", 9000),  # the first 02:30
        (AUTUMN, "2026-10-25T03:30:00", 16200),
        # an offset makes it an instant, whichever offset it is
        (SPRING, "2026-03-29T01:30:00Z", 9000),
        (SPRING, "2026-03-29T02:30:00+01:00", 9000),
        (AUTUMN, "2026-10-25T02:30:00+01:00", 12600),  # the second 02:30 = 01:30Z, 3.5 h
        (AUTUMN, "2026-10-24T23:00:00+00:00", 3600),
        (ORDINARY, "2026-06-16T00:00:00+02:00", 86400),
    ],
)
def test_from_instant(clock, text, real):
    assert clock.from_instant(dt.datetime.fromisoformat(text)) == real


@pytest.mark.parametrize(
    "clock, real, text",
    [
        (SPRING, 7800, "03:10"),  # 01:10Z: 2 h 10 min after midnight is ten past three on the clock
        (SPRING, 82800, "24:00"),  # the end of the 23 h day
        (AUTUMN, 5400, "01:30"),
        (AUTUMN, 9000, "02:30+02:00"),  # the first 02:30
        (AUTUMN, 12600, "02:30+01:00"),  # the second 02:30
        (AUTUMN, 14400, "03:00"),
        (AUTUMN, 90000, "24:00"),  # the end of the 25 h day
        (ORDINARY, 45000, "12:30"),
        (ORDINARY, 86400, "24:00"),
    ],
)
def test_clock_time_is_the_local_time_of_the_instant(clock, real, text):
    """Messages show real plan seconds as the clock reads at that instant (``clock_time``)."""
    assert clock.clock_time(real) == text


def test_clock_time_with_seconds_and_hours_text():
    assert ORDINARY.clock_time(45005, seconds=True) == "12:30:05"
    assert SPRING.clock_time(7805, seconds=True) == "03:10:05"
    # open all day: 24:00 on the clock closes the day whatever its real length
    assert SPRING.hours_text(SPRING.windows([(0, 24 * H)])) == "00:00-24:00"
    assert AUTUMN.hours_text(AUTUMN.windows([(0, 24 * H)])) == "00:00-24:00"
    assert SPRING.hours_text(SPRING.windows([(0, 5 * H), (22 * H, 24 * H)])) == "00:00-05:00, 22:00-24:00"
    assert AUTUMN.hours_text([]) == "closed"


def test_naive_fold_one_is_the_second_occurrence():
    assert AUTUMN.from_instant(dt.datetime(2026, 10, 25, 2, 30, fold=1)) == 12600


@pytest.mark.parametrize("clock", [SPRING, AUTUMN, ORDINARY], ids=["spring", "autumn", "ordinary"])
def test_round_trip_every_second(clock):
    """Every real second of the day (and an hour either side) survives instant -> ISO text ->
    from_instant, and wall -> real except in the second run of a repeated hour."""
    for x in range(-H, clock.length_s + H + 1):
        text = clock.instant(x).isoformat()
        assert clock.from_instant(dt.datetime.fromisoformat(text)) == x, text
    for x in range(-H, clock.length_s + H + 1, 60):
        repeated = clock is AUTUMN and 3 * H <= x < 4 * H  # real 3 h..4 h = the second 02:00-03:00
        assert clock.real(clock.wall(x)) == (x - H if repeated else x)


def test_windows():
    day = [(8 * H, 12 * H), (14 * H, 18 * H)]
    # spring: after the change, real = wall - 1 h; autumn: real = wall + 1 h
    assert SPRING.windows(day) == [(7 * H, 11 * H), (13 * H, 17 * H)]
    assert AUTUMN.windows(day) == [(9 * H, 13 * H), (15 * H, 19 * H)]
    assert ORDINARY.windows(day) == day
    assert SPRING.windows([(0, 24 * H)]) == [(0, 82800)]
    assert AUTUMN.windows([(0, 24 * H)]) == [(0, 90000)]
    # 02:00-03:00 does not exist on the spring day: 7200..7200, dropped
    assert SPRING.windows([(2 * H, 3 * H), (9 * H, 10 * H)]) == [(8 * H, 9 * H)]
    # 01:00-02:30 ends at real 9000 (= 03:30+02:00), past the start of 03:00-04:00 (real 7200):
    # the two overlap in real time and merge into 01:00+01:00 .. 04:00+02:00
    assert SPRING.windows([(1 * H, 9000), (3 * H, 4 * H)]) == [(3600, 10800)]
    # autumn 02:00-03:00 on the clock: the first 02:00 (real 7200) to 03:00+01:00 (real 14400)
    assert AUTUMN.windows([(2 * H, 3 * H)]) == [(7200, 14400)]
    assert AUTUMN.windows([]) == []


def test_rep_shift_and_lunch_in_real_seconds():
    rep = Rep("r", "R", 0, 0, 0, 0, shift_start_s=1 * H, shift_end_s=12 * H, lunch=Break(10 * H, 12 * H, 1800))
    assert SPRING.rep(rep) == Rep("r", "R", 0, 0, 0, 0, shift_start_s=1 * H, shift_end_s=11 * H,
                                  lunch=Break(9 * H, 11 * H, 1800))
    assert AUTUMN.rep(rep).shift_end_s == 13 * H and AUTUMN.rep(rep).lunch == Break(11 * H, 13 * H, 1800)
    assert ORDINARY.rep(rep) == rep
    assert SPRING.rep(Rep("r", "R", 0, 0, 0, 0)).lunch is None


def test_midnight_inside_a_gap():
    """America/Santiago moves 00:00 -> 01:00 on 2026-09-06 (-04:00 -> -03:00, at 04:00Z): by the
    fold=0 rule midnight is 00:00-04:00 = 04:00Z, shown as 01:00-03:00; the day ends at
    2026-09-07 00:00-03:00 = 03:00Z, 23 h later."""
    clock = DayClock(dt.date(2026, 9, 6), "America/Santiago")
    assert clock.instant(0).isoformat() == "2026-09-06T01:00:00-03:00"
    assert clock.real(0) == 0 and clock.real(H) == 0 and clock.real(2 * H) == H
    assert clock.length_s == 82800


# --- plan files ---------------------------------------------------------------------------

# A night shift across the change. Spring: real 3600 = 00:00Z = 01:00+01:00, 6600 = 00:50Z =
# 01:50+01:00, 8400 = 01:20Z = 03:20+02:00, 9000 = 03:30+02:00, 9600 = 03:40+02:00,
# 11400 = 04:10+02:00, 12600 = 04:30+02:00.
SPRING_ROUTE = Route("r1", "2026-03-29", (
    Stop("start", 3600, 3600, 3600),
    Stop("visit", 6600, 6600, 8400, "s1", travel_s=3000, distance_m=20000),
    Stop("visit", 9000, 9600, 11400, "s2", travel_s=600, distance_m=5000, wait_s=600),
    Stop("end", 12600, 12600, 12600, travel_s=1200, distance_m=9000),
))
SPRING_TEXT = [
    ("2026-03-29T01:00:00+01:00",) * 3,
    ("2026-03-29T01:50:00+01:00", "2026-03-29T01:50:00+01:00", "2026-03-29T03:20:00+02:00"),
    ("2026-03-29T03:30:00+02:00", "2026-03-29T03:40:00+02:00", "2026-03-29T04:10:00+02:00"),
    ("2026-03-29T04:30:00+02:00",) * 3,
]
# Autumn (midnight 22:00Z): 3600 = 23:00Z = 01:00+02:00, 6600 = 23:50Z = 01:50+02:00,
# 8400 = 00:20Z = 02:20+02:00, 11400 = 01:10Z = 02:10+01:00 (the second 02:10),
# 13200 = 01:40Z = 02:40+01:00, 15000 = 02:10Z = 03:10+01:00.
AUTUMN_ROUTE = Route("r1", "2026-10-25", (
    Stop("start", 3600, 3600, 3600),
    Stop("visit", 6600, 6600, 8400, "s1", travel_s=3000, distance_m=20000),
    Stop("visit", 11400, 11400, 13200, "s2", travel_s=3000, distance_m=20000),
    Stop("end", 15000, 15000, 15000, travel_s=1800, distance_m=12000),
))
AUTUMN_TEXT = [
    ("2026-10-25T01:00:00+02:00",) * 3,
    ("2026-10-25T01:50:00+02:00", "2026-10-25T01:50:00+02:00", "2026-10-25T02:20:00+02:00"),
    ("2026-10-25T02:10:00+01:00", "2026-10-25T02:10:00+01:00", "2026-10-25T02:40:00+01:00"),
    ("2026-10-25T03:10:00+01:00",) * 3,
]


@pytest.mark.parametrize("route, text", [(SPRING_ROUTE, SPRING_TEXT), (AUTUMN_ROUTE, AUTUMN_TEXT)],
                         ids=["spring", "autumn"])
def test_route_file_round_trip_across_the_change(route, text):
    data = json.loads(json.dumps(route_to_dict(route, PARIS)))
    written = [(s["arrival"], s["start"], s["end"]) for s in data["stops"]]
    assert written == text
    moments = [dt.datetime.fromisoformat(t) for stop in written for t in stop]
    # every written time exists: it is what the zone shows at that instant, offset included
    assert all(m.astimezone(PARIS).isoformat() == m.isoformat() for m in moments)
    # and they run forward in real time: arrival <= start <= end, each stop after the last
    assert moments == sorted(moments)
    assert all(a < b for a, b in zip(moments[2::3], moments[3::3]))
    assert route_from_dict(data, PARIS) == route
    assert route_from_dict(data, PARIS).summary == route.summary
