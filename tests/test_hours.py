"""Opening hours become per-date windows in seconds from midnight."""

import datetime as dt

import pytest

from routing.hours import HoursError, open_windows, validate, works_on

from .conftest import SUNDAY, THURSDAY


def test_several_windows_a_day():
    """A lunch closure gives two windows."""
    assert open_windows("Mo-Fr 08:00-12:00,14:00-19:00; Sa 09:00-13:00; Su off", THURSDAY) == [
        (8 * 3600, 12 * 3600),
        (14 * 3600, 19 * 3600),
    ]


def test_off_and_day_ranges():
    """`Su off` closes the day; a day outside every range is closed too."""
    assert open_windows("Mo-Fr 08:00-12:00; Su off", SUNDAY) == []
    assert open_windows("Tu-We 10:00-11:00", THURSDAY) == []


def test_always_open():
    """`24/7` and an empty value both mean open all day."""
    assert open_windows("24/7", THURSDAY) == [(0, 86400)]
    assert open_windows("", THURSDAY) == [(0, 86400)]


def test_past_midnight_is_cut_at_midnight():
    """Friday 05:00-01:00: Friday keeps 00:00-01:00 from Thursday and 05:00-24:00."""
    friday = THURSDAY + dt.timedelta(days=1)
    assert open_windows("Mo-Th 05:00-23:00; Fr-Sa 05:00-01:00", friday) == [(5 * 3600, 86400)]
    saturday = friday + dt.timedelta(days=1)
    assert open_windows("Mo-Th 05:00-23:00; Fr-Sa 05:00-01:00", saturday) == [(0, 3600), (5 * 3600, 86400)]


def test_invalid_syntax_is_rejected():
    """A value the parser cannot read raises HoursError, a ValueError."""
    with pytest.raises(HoursError):
        validate("Mo-Fr 7:00-21")
    with pytest.raises(ValueError):
        validate("whenever")


def test_working_days():
    """`Mo-Fr` includes a Thursday and not a Sunday; lists of days work."""
    assert works_on("Mo-Fr", THURSDAY)
    assert not works_on("Mo-Fr", SUNDAY)
    assert works_on("Mo,Th", THURSDAY)
    assert not works_on("Mo,We", THURSDAY)
