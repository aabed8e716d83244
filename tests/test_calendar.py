"""Visit patterns over a cycle: frequency, same weekday, spacing, closed days, holidays."""

import datetime as dt

import pytest

from routing.calendar import Cycle, day_patterns, required_visits
from routing.hours import open_windows, works_on
from routing.model import ClassPolicy

MONDAY = dt.date(2026, 11, 30)
FOUR_WEEKS = Cycle(MONDAY, 4)


def _usable(hours="", days="Mo-Fr"):
    return lambda d: works_on(days, d) and bool(open_windows(hours, d))


@pytest.mark.parametrize(("per_week", "expected"), [(2, 8), (1, 4), (0.5, 2), (0.25, 1), (0.1, 1)])
def test_required_visits(per_week, expected):
    """Visits per week x weeks, at least one."""
    assert required_visits(ClassPolicy("X", per_week, 10, 1), 4) == expected


def test_weekly_store_keeps_its_weekday():
    """Once a week over four weeks: every pattern is one weekday, four dates, seven days apart."""
    patterns = day_patterns(4, FOUR_WEEKS, _usable())
    assert len(patterns) == 5  # Monday to Friday
    for p in patterns:
        assert len(p) == 4 and len({d.weekday() for d in p}) == 1
        assert all((b - a).days == 7 for a, b in zip(p, p[1:]))


def test_twice_a_week_respects_min_gap():
    """Twice a week with at least 3 days between visits: Mo+Th, Mo+Fr, Tu+Fr ... never Mo+Tu."""
    patterns = day_patterns(8, FOUR_WEEKS, _usable(), min_gap_days=3)
    assert patterns
    for p in patterns:
        assert len(p) == 8
        assert all((b - a).days >= 3 for a, b in zip(p, p[1:]))
    weekday_pairs = {tuple(sorted({d.weekday() for d in p})) for p in patterns}
    assert (0, 3) in weekday_pairs and (0, 1) not in weekday_pairs


def test_every_two_weeks_has_a_phase():
    """Every two weeks: same weekday, in weeks 1 and 3 or in weeks 2 and 4."""
    patterns = day_patterns(2, FOUR_WEEKS, _usable())
    assert len(patterns) == 10  # 5 weekdays x 2 phases
    assert all(len(p) == 2 and (p[1] - p[0]).days == 14 for p in patterns)


def test_never_on_a_closed_day():
    """A store open Tuesday and Thursday only is visited on those days only."""
    patterns = day_patterns(4, FOUR_WEEKS, _usable("Tu,Th 09:00-17:00"))
    assert {d.weekday() for p in patterns for d in p} == {1, 3}


def test_holiday_shortens_the_fixed_weekday_pattern():
    """A holiday on a Wednesday: the Wednesday pattern loses that visit and sorts last."""
    cycle = Cycle(MONDAY, 4, holidays=frozenset({MONDAY + dt.timedelta(days=9)}))
    patterns = day_patterns(4, cycle, _usable())
    assert [len(p) for p in patterns] == [4, 4, 4, 4, 3]
    assert all(d not in cycle.holidays for p in patterns for d in p)


def test_uneven_frequency_is_spread_out():
    """Three visits in four weeks: about nine days apart, on working days."""
    patterns = day_patterns(3, FOUR_WEEKS, _usable())
    best = patterns[0]
    assert len(best) == 3 and all(d.weekday() < 5 for d in best)
    assert all(7 <= (b - a).days <= 11 for a, b in zip(best, best[1:]))


def test_no_usable_day():
    """A store never open when the rep works has no pattern."""
    assert day_patterns(4, FOUR_WEEKS, _usable("Sa-Su 10:00-12:00")) == []


def test_store_open_on_fewer_weekdays_than_its_frequency():
    """Twice a week but open Mondays only: one visit a week is still planned (the rest is
    reported missing by the planner), not none at all."""
    patterns = day_patterns(8, FOUR_WEEKS, _usable("Mo 09:00-17:00"), min_gap_days=2)
    assert patterns and patterns[0] == tuple(MONDAY + dt.timedelta(days=7 * w) for w in range(4))
