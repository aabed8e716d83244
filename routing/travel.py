"""Travel times and distances between places, behind one matrix type.

A ``TravelMatrix`` is keyed by place keys (store ids, ``rep:<id>:start`` ...). It may be
asymmetric. The straight-line model lives here; a road engine (``Roads``: the embedded
``routing.roads`` or OSRM's ``routing.osrm``) returns the same type.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class Point:
    """A WGS84 position."""

    lat: float
    lon: float


class RoadNetworkError(ValueError):
    """The road data cannot be turned into a usable drivable network, or places on it cannot
    reach each other."""


@dataclass(frozen=True)
class Snap:
    """Where a place joins the road network (``road``) and how far it had to move to get there
    (``node``: the embedded engine's graph node; None for engines that snap to a segment)."""

    key: str
    distance_m: float
    road: Point
    node: int | None = None


class Roads(Protocol):
    """A road engine: what plans, maps and GeoJSON need of a road network."""

    source: str  # what the travel times come from, for plans and reports
    digest: str  # names the data (a file's hash); matrices are cached under it, "" for none

    def snap(self, points: Mapping[str, Point]) -> list[Snap]:
        """Where each point joins the roads."""

    def matrix(self, points: Mapping[str, Point]) -> TravelMatrix:
        """Seconds and metres along the fastest road path between every pair of points."""

    def path(self, a: Point, b: Point) -> list[tuple[float, float]]:
        """The fastest road path from ``a`` to ``b`` as (lat, lon) pairs, for drawing."""

    def streets(self, bbox: tuple[float, float, float, float]) -> list[list[tuple[float, float]]]:
        """The streets within ``bbox`` (south, west, north, east) as (lat, lon) polylines, to
        draw a map without tiles; [] where the engine keeps no street layer."""


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


def great_circle_m(a: Sequence[Point], b: Sequence[Point]) -> np.ndarray:
    """Great-circle metres from each of ``a`` (rows) to each of ``b`` (columns)."""
    lat_a, lon_a = np.radians([p.lat for p in a]), np.radians([p.lon for p in a])
    lat_b, lon_b = np.radians([p.lat for p in b]), np.radians([p.lon for p in b])
    dlat = lat_b[None, :] - lat_a[:, None]
    dlon = lon_b[None, :] - lon_a[:, None]
    h = np.sin(dlat / 2) ** 2 + np.cos(lat_a)[:, None] * np.cos(lat_b)[None, :] * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def straight_line_matrix(points: Mapping[str, Point], *, speed_kmh: float, circuity: float) -> TravelMatrix:
    """Great-circle distance x ``circuity``, driven at ``speed_kmh``; symmetric.

    Times are rounded up to whole seconds so a plan feasible on this matrix stays feasible.
    """
    if speed_kmh <= 0 or circuity < 1:
        raise ValueError("speed_kmh must be > 0 and circuity >= 1")
    keys = list(points)
    every = [points[k] for k in keys]
    metres = great_circle_m(every, every) * circuity
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


def with_places(matrix: TravelMatrix, new: Mapping[str, Point], known: Mapping[str, Point], *, speed_kmh: float,
                circuity: float) -> TravelMatrix:
    """``matrix`` with the places ``new`` added (a reported position, a new store): each is
    reached through its nearest place of ``known`` (places of the matrix), plus a straight
    line to it x ``circuity`` at ``speed_kmh``. An estimate, rebuilt the same way from the
    same inputs (a road network is not searched again for one event); places already in the
    matrix are left as they are."""
    new = {k: p for k, p in new.items() if k not in matrix}
    if not new:
        return matrix
    names = [k for k in known if k in matrix]
    if not names:
        raise ValueError("with_places needs at least one known place of the matrix")
    lat = np.radians([known[k].lat for k in names])
    lon = np.radians([known[k].lon for k in names])
    near, leg_m = [], []
    for point in new.values():
        p, q = math.radians(point.lat), math.radians(point.lon)
        h = np.sin((lat - p) / 2) ** 2 + math.cos(p) * np.cos(lat) * np.sin((lon - q) / 2) ** 2
        d = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
        i = int(np.argmin(d))
        near.append(matrix.index[names[i]])
        leg_m.append(float(d[i]) * circuity)
    leg_m_arr = np.rint(np.array(leg_m)).astype(np.int64)
    leg_s = np.ceil(np.array(leg_m) / (speed_kmh / 3.6)).astype(np.int64)
    near_arr = np.array(near)
    out = []
    for a, legs in ((matrix.seconds_array, leg_s), (matrix.metres_array, leg_m_arr)):
        n, k = a.shape[0], len(new)
        b = np.zeros((n + k, n + k), dtype=np.int64)
        b[:n, :n] = a
        b[n:, :n] = a[near_arr, :] + legs[:, None]
        b[:n, n:] = a[:, near_arr] + legs[None, :]
        b[n:, n:] = a[np.ix_(near_arr, near_arr)] + legs[:, None] + legs[None, :]
        b[n + np.arange(k), n + np.arange(k)] = 0
        out.append(b)
    return TravelMatrix([*matrix.keys, *new], out[0], out[1], source=matrix.source)
