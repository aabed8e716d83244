"""Travel times and distances between places, behind one matrix type.

A ``TravelMatrix`` is keyed by place keys (store ids, ``rep:<id>:start`` ...). It may be
asymmetric. The straight-line model lives here; a road-network model returns the same type.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class Point:
    """A WGS84 position."""

    lat: float
    lon: float


class TravelMatrix:
    """Integer seconds and metres from each place to each other place (row = from)."""

    def __init__(self, keys: Sequence[str], seconds: np.ndarray, metres: np.ndarray, *, source: str):
        n = len(keys)
        if seconds.shape != (n, n) or metres.shape != (n, n):
            raise ValueError(f"matrices must be {n}x{n} for {n} keys")
        if len(set(keys)) != n:
            raise ValueError("matrix keys must be unique")
        self.keys = tuple(keys)
        self.index = {k: i for i, k in enumerate(self.keys)}
        self.seconds_array = np.asarray(seconds, dtype=np.int64)
        self.metres_array = np.asarray(metres, dtype=np.int64)
        self.source = source

    def __contains__(self, key: str) -> bool:
        return key in self.index

    def seconds(self, a: str, b: str) -> int:
        """Travel time from place ``a`` to place ``b``."""
        return int(self.seconds_array[self.index[a], self.index[b]])

    def metres(self, a: str, b: str) -> int:
        """Travel distance from place ``a`` to place ``b``."""
        return int(self.metres_array[self.index[a], self.index[b]])

    def sub(self, keys: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        """Seconds and metres among ``keys`` only, in that order."""
        idx = np.array([self.index[k] for k in keys], dtype=np.int64)
        return self.seconds_array[np.ix_(idx, idx)], self.metres_array[np.ix_(idx, idx)]


def haversine_m(a: Point, b: Point) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))


def straight_line_matrix(points: Mapping[str, Point], *, speed_kmh: float, circuity: float) -> TravelMatrix:
    """Great-circle distance x ``circuity``, driven at ``speed_kmh``; symmetric.

    Times are rounded up to whole seconds so a plan feasible on this matrix stays feasible.
    """
    if speed_kmh <= 0 or circuity < 1:
        raise ValueError("speed_kmh must be > 0 and circuity >= 1")
    keys = list(points)
    lat = np.radians([points[k].lat for k in keys])
    lon = np.radians([points[k].lon for k in keys])
    dlat = lat[None, :] - lat[:, None]
    dlon = lon[None, :] - lon[:, None]
    h = np.sin(dlat / 2) ** 2 + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(dlon / 2) ** 2
    metres = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0, 1))) * circuity
    seconds = np.ceil(metres / (speed_kmh / 3.6))
    return TravelMatrix(
        keys,
        seconds.astype(np.int64),
        np.rint(metres).astype(np.int64),
        source=f"straight line x {circuity} at {speed_kmh} km/h",
    )


def places_of(stores, reps) -> dict[str, Point]:
    """Every place a day needs: each store (by id) and each rep's start and end."""
    points = {s.id: Point(s.lat, s.lon) for s in stores}
    for rep in reps:
        points[rep.start_key] = Point(rep.start_lat, rep.start_lon)
        points[rep.end_key] = Point(rep.end_lat, rep.end_lon)
    return points
