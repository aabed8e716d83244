"""The straight-line travel model."""

import numpy as np
import pytest

from routing.travel import Point, TravelMatrix, haversine_m, straight_line_matrix


def test_haversine_known_distance():
    """Helsinki railway station to Tallinn old town is about 82 km."""
    d = haversine_m(Point(60.1719, 24.9414), Point(59.4370, 24.7536))
    assert 81_000 < d < 83_000


def test_matrix_applies_circuity_and_speed():
    """Distance = great circle x circuity; time = distance / speed, rounded up."""
    pts = {"a": Point(60.17, 24.94), "b": Point(60.18, 24.94)}
    m = straight_line_matrix(pts, speed_kmh=36, circuity=1.5)
    line = haversine_m(pts["a"], pts["b"])
    assert m.metres("a", "b") == round(line * 1.5)
    assert m.seconds("a", "b") == int(np.ceil(line * 1.5 / 10))
    assert m.seconds("a", "a") == 0 and m.seconds("b", "a") == m.seconds("a", "b")


def test_matrix_rejects_bad_settings():
    """A zero speed or a circuity below 1 makes no sense."""
    with pytest.raises(ValueError):
        straight_line_matrix({"a": Point(0, 0)}, speed_kmh=0, circuity=1.2)
    with pytest.raises(ValueError):
        straight_line_matrix({"a": Point(0, 0)}, speed_kmh=30, circuity=0.9)


def test_asymmetric_matrix_keeps_direction():
    """A matrix can differ by direction; lookups are row = from, column = to."""
    m = TravelMatrix(["a", "b"], np.array([[0, 10], [30, 0]]), np.array([[0, 100], [300, 0]]), source="test")
    assert m.seconds("a", "b") == 10 and m.seconds("b", "a") == 30
    assert m.metres("b", "a") == 300
