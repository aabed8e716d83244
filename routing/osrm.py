"""OSRM as the road engine of big extracts: preprocessed once, then tables in a second or two.

An OpenStreetMap extract is turned into OSRM's contraction hierarchy once (``prepare``: the
``osrm-extract`` and ``osrm-contract`` tools and the ``car.lua`` profile of the
``osrm-bindings`` wheel, cached by the file's hash), then queried in this process
(``local``); or a shared ``osrm-routed`` is asked over HTTP (``remote``). Both are a
``routing.travel.Roads``: matrices (durations and distances of the fastest path, asymmetric),
snapping, and the road lines of routes. OSRM keeps no street layer to draw (``streets`` is []).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .travel import Point, RoadNetworkError, Snap, TravelMatrix

PROFILE = "car.lua"
#: Cells (sources x destinations) per table request. Each request searches back from every
#: destination again, so fewer requests are faster, but the answer is Python objects: on Porto,
#: 2,020 places in one request peaked at 1.3 GB; in requests of 512 sources (about 2^20 cells)
#: 3.3 s and 465 MB, of 256 sources 4.2 s, of 1,020 sources 3.6 s and 765 MB.
CELLS = 2**20
EXTRACTS = (".osm.pbf", ".osm", ".osm.bz2")
HTTP_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class ToolRun:
    """One run of an OSRM tool: its wall time and peak memory."""

    tool: str
    seconds: float
    peak_mb: float


@dataclass(frozen=True)
class Prepared:
    """An extract's OSRM data (``base``: the ``.osrm`` path), and the tool runs that made it
    (empty when it came from the cache)."""

    base: Path
    digest: str
    runs: tuple[ToolRun, ...]


def _package() -> Path:
    try:
        import osrm
    except ImportError as exc:
        raise RoadNetworkError("the OSRM engine needs the osrm-bindings wheel (Linux x86_64 or aarch64, "
                               "Python >= 3.12): pip install osrm-bindings") from exc
    return Path(osrm.__file__).parent


def _version() -> str:
    from importlib.metadata import version

    return version("osrm-bindings")


def prepare(extract: Path, cache_dir: Path) -> Prepared:
    """The OSRM data of ``extract`` under ``cache_dir``, made now if it is not there yet.

    One process makes it while others wait (a lock file); a half-made folder is never used."""
    extract = Path(extract).resolve()
    if not extract.is_file():
        raise RoadNetworkError(f"{extract}: no such file")
    if not extract.name.lower().endswith(EXTRACTS):
        raise RoadNetworkError(f"{extract.name}: OSRM reads an OpenStreetMap extract ({', '.join(EXTRACTS)})")
    package = _package()
    profile = package / "share" / "profiles" / PROFILE
    h = hashlib.sha256(extract.read_bytes())
    h.update(profile.read_bytes())
    digest = f"osrm-{_version()}-{h.hexdigest()[:16]}"
    folder = Path(cache_dir) / digest
    base = folder / "roads.osrm"
    if (folder / "ready").exists():
        return Prepared(base, digest, ())
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _locked(folder.with_suffix(".lock")):
        if (folder / "ready").exists():
            return Prepared(base, digest, ())
        work = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f"{digest}.tmp"))
        try:
            runs = (
                _run(package, "osrm-extract", ["-p", str(profile), "-o", str(work / "roads.osrm"), str(extract)], work),
                _run(package, "osrm-contract", [str(work / "roads.osrm")], work),
            )
            (work / "ready").write_text(json.dumps([run.__dict__ for run in runs]))
            shutil.rmtree(folder, ignore_errors=True)
            work.rename(folder)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return Prepared(base, digest, runs)


@contextlib.contextmanager
def _locked(path: Path):
    import fcntl

    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(package: Path, tool: str, args: list[str], work: Path) -> ToolRun:
    """Run one of the wheel's tools; its output goes to ``work/<tool>.log``."""
    started = time.perf_counter()
    log = work / f"{tool}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([str(package / "bin" / tool), *args], stdout=out, stderr=subprocess.STDOUT, cwd=work)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
        raise RoadNetworkError(f"{tool} failed (exit {process.returncode}): " + " | ".join(tail))
    return ToolRun(tool, round(time.perf_counter() - started, 2), round(usage.ru_maxrss / 1024, 1))


@dataclass(frozen=True)
class _Table:
    """One table answer: seconds and metres (NaN: no path), and where each source joins the roads."""

    seconds: np.ndarray
    metres: np.ndarray
    sources: list[dict]


class _Local:
    """OSRM in this process, on prepared data (memory-mapped: loading takes milliseconds)."""

    def __init__(self, base: Path):
        self.base = base
        self._engine = None

    def __getstate__(self):  # the engine is not picklable; a copy loads its own
        return {"base": self.base, "_engine": None}

    def _osrm(self):
        if self._engine is None:
            import osrm

            self._engine = osrm.OSRM(storage_config=str(self.base), algorithm="CH", use_shared_memory=False)
        return self._engine

    def table(self, coords: list[tuple[float, float]], sources: list[int], destinations: list[int]) -> _Table:
        import osrm

        params = osrm.TableParameters(coordinates=coords, sources=sources, destinations=destinations,
                                      annotations=["duration", "distance"])
        try:
            answer = self._osrm().Table(params)
        except RuntimeError as exc:  # the binding's only error: OSRM's message
            raise RoadNetworkError(f"OSRM: {exc}") from exc
        return _Table(_floats(answer["durations"]), _floats(answer["distances"]),
                      [{"distance": s["distance"], "location": list(s["location"])} for s in answer["sources"]])

    def route(self, coords: list[tuple[float, float]]) -> list[list[float]]:
        import osrm

        params = osrm.RouteParameters(coordinates=coords, geometries="geojson", overview="full")
        try:
            answer = self._osrm().Route(params)
        except RuntimeError as exc:
            raise RoadNetworkError(f"OSRM: {exc}") from exc
        return [list(c) for c in answer["routes"][0]["geometry"]["coordinates"]]


def _floats(rows) -> np.ndarray:
    """An OSRM answer's rows of numbers as floats, None (no path) as NaN."""
    try:
        return np.array([list(row) for row in rows], dtype=float)
    except TypeError:
        return np.array([[math.nan if x is None else x for x in row] for row in rows], dtype=float)


class _Remote:
    """A shared ``osrm-routed``; start it with ``--max-table-size`` at least the number of
    places of a plan (its default, 100, refuses bigger tables: the error says ``TooBig``)."""

    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def _get(self, service: str, coords: list[tuple[float, float]], query: dict[str, str]) -> dict:
        path = urllib.parse.quote(f"polyline6({_polyline6(coords)})", safe="")
        url = f"{self.url}/{service}/v1/driving/{path}?{urllib.parse.urlencode(query, safe=';,')}"
        try:
            with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            try:
                body = json.load(exc)
            except ValueError:
                body = {}
            raise RoadNetworkError(f"OSRM server {self.url}: {body.get('code', exc.code)}: "
                                   f"{body.get('message', exc.reason)}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise RoadNetworkError(f"OSRM server {self.url} cannot be reached: {exc}") from exc

    def table(self, coords: list[tuple[float, float]], sources: list[int], destinations: list[int]) -> _Table:
        query = {"annotations": "duration,distance", "sources": ";".join(map(str, sources))}
        if destinations:
            query["destinations"] = ";".join(map(str, destinations))
        answer = self._get("table", coords, query)
        return _Table(_floats(answer["durations"]), _floats(answer["distances"]), answer["sources"])

    def route(self, coords: list[tuple[float, float]]) -> list[list[float]]:
        answer = self._get("route", coords, {"overview": "full", "geometries": "geojson", "steps": "false"})
        return answer["routes"][0]["geometry"]["coordinates"]


def _polyline6(coords: Sequence[tuple[float, float]]) -> str:
    """(lon, lat) pairs in Google's encoded polyline format at 1e-6 degrees (OSRM's polyline6)."""
    out, last = [], (0, 0)
    for lon, lat in coords:
        point = (round(lat * 1e6), round(lon * 1e6))
        for value in (point[0] - last[0], point[1] - last[1]):
            value = ~(value << 1) if value < 0 else value << 1
            while value >= 0x20:
                out.append(chr((0x20 | (value & 0x1F)) + 63))
                value >>= 5
            out.append(chr(value + 63))
        last = point
    return "".join(out)


def _lon_lat(point: Point) -> tuple[float, float]:
    """A point as OSRM takes it, at the 1e-6 degrees (0.1 m) a server is sent, so the engine in
    this process and a shared server are asked the same question."""
    return round(point.lon, 6), round(point.lat, 6)


class OsrmRoads:
    """A ``routing.travel.Roads`` answered by OSRM."""

    def __init__(self, client: _Local | _Remote, *, source: str, digest: str):
        self._client, self.source, self.digest = client, source, digest

    def snap(self, points: Mapping[str, Point]) -> list[Snap]:
        """How far each point is from where OSRM joins it to a road."""
        keys = list(points)
        if not keys:
            return []
        coords = [_lon_lat(points[k]) for k in keys]
        coords.append(coords[0])  # a table needs two places: one more, as the destination
        joins: list[dict] = []
        for start in range(0, len(keys), CELLS):
            joins += self._client.table(coords, list(range(start, min(start + CELLS, len(keys)))), [len(keys)]).sources
        return [Snap(k, float(j["distance"]), Point(j["location"][1], j["location"][0])) for k, j in zip(keys, joins)]

    def matrix(self, points: Mapping[str, Point]) -> TravelMatrix:
        """Seconds (rounded up) and metres of the fastest path between every pair of points,
        from the road positions OSRM snaps them to (the way from a point to its road is not
        counted, as with the embedded engine)."""
        keys = list(points)
        where = {k: _lon_lat(points[k]) for k in keys}
        coords = list(dict.fromkeys(where.values()))  # places at the same spot are asked once
        n = len(coords)
        block = max(1, CELLS // max(n, 1))
        seconds, metres = np.zeros((n, n)), np.zeros((n, n))
        for start in range(0, n if n > 1 else 0, block):  # one place is zero from itself
            table = self._client.table(coords, list(range(start, min(start + block, n))), [])
            seconds[start:start + block], metres[start:start + block] = table.seconds, table.metres
        lost = np.argwhere(np.isnan(seconds) | np.isnan(metres))
        if len(lost):
            first = {c: k for k, c in reversed(where.items())}
            a, b = lost[0]
            raise RoadNetworkError(f"{first[coords[a]]} cannot reach {first[coords[b]]} on the roads"
                                   + (f" ({len(lost) - 1} more pairs cannot)" if len(lost) > 1 else ""))
        index = {c: i for i, c in enumerate(coords)}
        rows = np.array([index[where[k]] for k in keys], dtype=np.int64)
        pick = np.ix_(rows, rows)
        return TravelMatrix(keys, np.ceil(seconds[pick] - 1e-9).astype(np.int64),
                            np.rint(metres[pick]).astype(np.int64), source=self.source)

    def path(self, a: Point, b: Point) -> list[tuple[float, float]]:
        """The fastest road path from ``a`` to ``b`` as (lat, lon) pairs, from the points
        themselves through the roads OSRM joins them to."""
        line = self._client.route([_lon_lat(a), _lon_lat(b)])
        return [(a.lat, a.lon), *((lat, lon) for lon, lat in line), (b.lat, b.lon)]

    def streets(self, bbox: tuple[float, float, float, float]) -> list[list[tuple[float, float]]]:
        """OSRM keeps no street layer: maps on it show the routes' own roads (and tiles when online)."""
        return []


def local(extract: Path, cache_dir: Path) -> OsrmRoads:
    """OSRM in this process on ``extract`` (prepared into ``cache_dir`` on first use)."""
    prepared = prepare(extract, cache_dir)
    return OsrmRoads(_Local(prepared.base), source=f"OSRM {_version()} {PROFILE} on {Path(extract).name}",
                     digest=prepared.digest)


def remote(url: str) -> OsrmRoads:
    """A shared ``osrm-routed`` at ``url`` (http://HOST:PORT). Its data can change under us,
    so its matrices are not cached."""
    return OsrmRoads(_Remote(url), source=f"OSRM server {url.rstrip('/')}", digest="")
