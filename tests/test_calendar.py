"""Visit patterns over a cycle: frequency, same weekday, spacing, closed days, holidays."""

import datetime as dt

import pytest

from routing.calendar import Cycle, day_patterns, may_take, required_visits
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
    patterns = [p.dates for p in day_patterns(4, FOUR_WEEKS, _usable())]
    assert len(patterns) == 5  # Monday to Friday
    for p in patterns:
        assert len(p) == 4 and len({d.weekday() for d in p}) == 1
        assert all((b - a).days == 7 for a, b in zip(p, p[1:]))


def test_twice_a_week_respects_min_gap():
    """Twice a week with at least 3 days between visits: Mo+Th, Mo+Fr, Tu+Fr ... never Mo+Tu."""
    patterns = [p.dates for p in day_patterns(8, FOUR_WEEKS, _usable(), min_gap_days=3)]
    assert patterns
    for p in patterns:
        assert len(p) == 8
        assert all((b - a).days >= 3 for a, b in zip(p, p[1:]))
    weekday_pairs = {tuple(sorted({d.weekday() for d in p})) for p in patterns}
    assert (0, 3) in weekday_pairs and (0, 1) not in weekday_pairs


def test_every_two_weeks_has_a_phase():
    """Every two weeks: same weekday, in weeks 1 and 3 or in weeks 2 and 4."""
    patterns = [p.dates for p in day_patterns(2, FOUR_WEEKS, _usable())]
    assert len(patterns) == 10  # 5 weekdays x 2 phases
    assert all(len(p) == 2 and (p[1] - p[0]).days == 14 for p in patterns)


def test_never_on_a_closed_day():
    """A store open Tuesday and Thursday only is visited on those days only."""
    patterns = day_patterns(4, FOUR_WEEKS, _usable("Tu,Th 09:00-17:00"))
    assert {d.weekday() for p in patterns for d in p.dates} == {1, 3}


def test_holiday_shortens_the_fixed_weekday_pattern():
    """Same weekday required, a holiday on a Wednesday: the Wednesday pattern loses that
    visit (it is lost, not moved) and sorts last."""
    holiday = MONDAY + dt.timedelta(days=9)
    cycle = Cycle(MONDAY, 4, holidays=frozenset({holiday}))
    patterns = day_patterns(4, cycle, _usable(), same_weekday="require")
    assert [len(p.dates) for p in patterns] == [4, 4, 4, 4, 3]
    assert all(d not in cycle.holidays for p in patterns for d in p.dates)
    assert patterns[-1].lost == (holiday,) and not any(p.moved for p in patterns)


def test_uneven_frequency_is_spread_out():
    """Three visits in four weeks: about nine days apart, on working days."""
    patterns = day_patterns(3, FOUR_WEEKS, _usable())
    best = patterns[0].dates
    assert len(best) == 3 and all(d.weekday() < 5 for d in best)
    assert all(7 <= (b - a).days <= 11 for a, b in zip(best, best[1:]))


def test_no_usable_day():
    """A store never open when the rep works has no pattern."""
    assert day_patterns(4, FOUR_WEEKS, _usable("Sa-Su 10:00-12:00")) == []


def test_store_open_on_fewer_weekdays_than_its_frequency():
    """Twice a week but open Mondays only: one visit a week is still planned (the rest is
    reported missing by the planner), not none at all."""
    patterns = day_patterns(8, FOUR_WEEKS, _usable("Mo 09:00-17:00"), min_gap_days=2)
    assert patterns and patterns[0].dates == tuple(MONDAY + dt.timedelta(days=7 * w) for w in range(4))


A_SETS = (frozenset({0, 3}), frozenset({1, 4}), frozenset({2, 5}))  # Mo+Th, Tu+Fr, We+Sa


def _weekdays(pattern):
    return frozenset(d.weekday() for d in pattern.dates)


def test_day_patterns_use_only_the_allowed_weekday_sets():
    """Twice a week with Mo+Th, Tu+Fr or We+Sa and a rep working Mo-Sa: exactly those three
    patterns, both days every week."""
    patterns = day_patterns(8, FOUR_WEEKS, _usable(days="Mo-Sa"), min_gap_days=2, weekday_sets=A_SETS)
    assert sorted(map(_weekdays, patterns), key=min) == list(A_SETS)
    for p in patterns:
        assert len(p.dates) == 8 and not p.lost and not p.moved
        assert all({d.weekday() for d in p.dates if FOUR_WEEKS.week_of(d) == w} == _weekdays(p) for w in range(4))


def test_allowed_set_with_a_day_the_rep_never_works_keeps_its_other_day():
    """A rep working Mo-Fr: We+Sa can only be Wednesdays (four visits short, sorted last);
    its Saturdays are not "lost" visits to move, they never were possible."""
    patterns = day_patterns(8, FOUR_WEEKS, _usable(), min_gap_days=2, weekday_sets=A_SETS)
    assert [len(p.dates) for p in patterns] == [8, 8, 4]
    assert _weekdays(patterns[-1]) == {2} and not patterns[-1].lost and not patterns[-1].moved


def test_every_two_weeks_on_allowed_single_weekdays():
    """Every two weeks with day patterns ["Tu", "Th"]: those weekdays only, each in two phases."""
    patterns = day_patterns(2, FOUR_WEEKS, _usable(), weekday_sets=(frozenset({1}), frozenset({3})))
    assert len(patterns) == 4
    assert all(len(p.dates) == 2 and (p.dates[1] - p.dates[0]).days == 14 and _weekdays(p) <= {1, 3} for p in patterns)


def test_prefer_moves_a_visit_lost_to_a_holiday_to_the_nearest_day():
    """Weekly, holiday on Wednesday 9 December, same weekday only preferred: the Wednesday
    pattern also comes with the holiday's visit moved to Tuesday 8 December (nearest, earlier
    on a tie), marked as moved, sorted after the four untouched weekdays."""
    holiday = MONDAY + dt.timedelta(days=9)
    cycle = Cycle(MONDAY, 4, holidays=frozenset({holiday}))
    patterns = day_patterns(4, cycle, _usable(), same_weekday="prefer")
    assert [(len(p.dates), len(p.moved)) for p in patterns] == [(4, 0)] * 4 + [(4, 1), (3, 0)]
    moved = patterns[4]
    assert moved.moved == (holiday - dt.timedelta(days=1),) and moved.lost == ()
    assert [d.weekday() for d in moved.dates] == [2, 1, 2, 2]


def test_a_moved_visit_keeps_the_minimum_gap():
    """Mo+Th with at least 3 days between visits and a Monday holiday: Tuesday would be 2 days
    before Thursday and the weekend is off, so the visit cannot move and stays lost; every
    pattern keeps the gap."""
    holiday = MONDAY + dt.timedelta(days=7)
    cycle = Cycle(MONDAY, 4, holidays=frozenset({holiday}))
    patterns = day_patterns(8, cycle, _usable(), min_gap_days=3, weekday_sets=(frozenset({0, 3}),), same_weekday="prefer")
    assert len(patterns) == 1 and patterns[0].lost == (holiday,) and not patterns[0].moved
    for p in day_patterns(8, cycle, _usable(), min_gap_days=3, same_weekday="prefer"):
        assert all((b - a).days >= 3 for a, b in zip(p.dates, p.dates[1:]))


def test_require_keeps_uneven_frequencies_on_one_weekday():
    """Three visits in four weeks with the same weekday required: one weekday per pattern."""
    patterns = day_patterns(3, FOUR_WEEKS, _usable(), same_weekday="require")
    assert patterns and all(len(_weekdays(p)) == 1 and len(p.dates) == 3 for p in patterns)


def test_which_date_may_take_a_visit():
    """One rule for the cycle planner's refill and the re-plan's carry: holidays, the gap, the
    class's weekday sets, and for a class that requires them the same weekdays and weeks."""
    day = lambda n: MONDAY + dt.timedelta(days=n)  # noqa: E731
    cycle = Cycle(MONDAY, 4, frozenset({day(9)}))
    weekly = ClassPolicy("B", 1, 20, 2)  # gap 3 days
    assert may_take(weekly, cycle, day(8), [day(1)]) and not may_take(weekly, cycle, day(3), [day(1)])
    assert not may_take(weekly, cycle, day(9), [])  # a holiday
    mo_th = ClassPolicy("A", 2, 30, 3, day_patterns=(frozenset({0, 3}),))
    assert may_take(mo_th, cycle, day(3), []) and not may_take(mo_th, cycle, day(2), [])
    fortnightly = ClassPolicy("C", 0.5, 15, 1, same_weekday="require")
    assert may_take(fortnightly, cycle, day(14), [day(0)])
    assert not may_take(fortnightly, cycle, day(7), [day(0)])  # week 2: the wrong phase
    assert not may_take(fortnightly, cycle, day(15), [day(0)])  # a Tuesday
    assert may_take(ClassPolicy("C", 0.5, 15, 1), cycle, day(15), [day(0)])  # "prefer": any weekday
