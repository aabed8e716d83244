"""The OSRM road engine: preparing an extract once (cached, locked, nothing half-made kept), its
matrices against the embedded engine on the same roads, and a real osrm-routed over HTTP
answering exactly what the in-process engine answers."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from routing.network import check_network, road_network
from routing import osrm
from routing.travel import Point, RoadNetworkError

from .test_roads import NODES, _at, _osm_xml

ROOT = Path(__file__).resolve().parents[1]
MONACO = ROOT / "data" / "osm" / "monaco.osm.pbf"


@pytest.fixture(scope="module")
def monaco(tmp_path_factory):
    """OSRM on the bundled Monaco extract, prepared into a cache of this module's own."""
    cache = tmp_path_factory.mktemp("osrm")
    return osrm.local(MONACO, cache), cache


def _stores(network, n: int, seed: int) -> dict[str, Point]:
    """``n`` places where the embedded engine's graph has nodes (so both engines agree where they are)."""
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(network.node_ids), n, replace=False)
    return {f"p{i}": Point(float(network.lat[k]), float(network.lon[k])) for i, k in enumerate(picks)}


def test_an_extract_is_prepared_once_and_then_comes_from_the_cache(tmp_path):
    """The first use runs osrm-extract and osrm-contract (their time and memory reported); two
    processes asking at once (threads here: the lock is per open file) prepare it once."""
    with ThreadPoolExecutor(2) as pool:
        first = list(pool.map(lambda _: osrm.prepare(MONACO, tmp_path), range(2)))
    assert sorted(len(p.runs) for p in first) == [0, 2]
    ran = next(p for p in first if p.runs)
    assert [r.tool for r in ran.runs] == ["osrm-extract", "osrm-contract"]
    assert all(r.seconds > 0 and r.peak_mb > 10 for r in ran.runs)
    again = osrm.prepare(MONACO, tmp_path)
    assert again.runs == () and again.base == ran.base and again.base.with_suffix(".osrm.hsgr").is_file()
    assert [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []


def test_a_file_osrm_cannot_read_is_refused_and_nothing_is_kept(tmp_path):
    bad = tmp_path / "broken.osm.pbf"
    bad.write_bytes(b"this is not a protocol buffer")
    with pytest.raises(RoadNetworkError, match="osrm-extract failed"):
        osrm.prepare(bad, tmp_path / "cache")
    assert [p for p in (tmp_path / "cache").iterdir() if p.is_dir()] == []
    csv = tmp_path / "stores.csv"
    csv.write_text("id,name\n")
    with pytest.raises(RoadNetworkError, match="OpenStreetMap extract"):
        osrm.prepare(csv, tmp_path / "cache")


def test_one_way_streets_on_osrm(tmp_path):
    """The test square of the embedded engine's tests: 2 -> 3 is one block, 3 -> 2 may not take
    the one-way side. Unlike the embedded engine, car.lua lets a trip begin or end on a private
    way (access=private counts as destination traffic), so 3 -> 2 takes the private diagonal
    3 -> 1 (283 m) and then 1 -> 2, not the three blocks round the square."""
    square = tmp_path / "square.osm"
    square.write_text(_osm_xml())
    roads = osrm.local(square, tmp_path / "cache")
    m = roads.matrix({"se": _at(2), "ne": _at(3)})
    assert m.metres("se", "ne") == pytest.approx(200, abs=5)
    assert m.metres("ne", "se") == pytest.approx(200 + 283, abs=15)
    assert m.seconds("ne", "se") > 2.5 * m.seconds("se", "ne") > 0
    off = Point(NODES[1][0] - 50 / 111_320, NODES[1][1])  # 50 m south of the corner
    (snap,) = roads.snap({"store": off})
    assert snap.distance_m == pytest.approx(50, abs=1)
    assert (snap.road.lat, snap.road.lon) == pytest.approx(NODES[1], abs=1e-5)


def test_osrm_matrices_agree_with_the_embedded_engine_on_monaco(monaco, demo_roads):
    """Same places, same roads: distances within a few percent, times in the same range (OSRM's
    car.lua drives slower and adds turn costs), asymmetric, zero on the diagonal; places at
    the same spot are asked once and come back zero apart."""
    roads, _ = monaco
    places = _stores(demo_roads, 120, seed=4)
    places["twin"] = places["p0"]
    m, ref = roads.matrix(places), demo_roads.matrix(places)
    assert m.keys == ref.keys and m.source.startswith("OSRM 26")
    sec, met = m.seconds_array, m.metres_array
    assert (np.diag(sec) == 0).all() and m.seconds("p0", "twin") == m.seconds("twin", "p0") == 0
    off = ~np.eye(len(places), dtype=bool)
    off[0, -1] = off[-1, 0] = False
    assert (sec[off] > 0).all() and (met[off] > 0).all()
    assert np.mean(sec != sec.T) > 0.5
    assert np.median(met[off] / ref.metres_array[off]) == pytest.approx(1.0, abs=0.05)
    assert 0.9 < np.median(sec[off] / ref.seconds_array[off]) < 1.6
    assert np.corrcoef(sec[off], ref.seconds_array[off])[0, 1] > 0.9


def test_a_road_line_runs_along_the_roads_from_one_place_to_the_other(monaco):
    roads, _ = monaco
    a, b = Point(43.7295, 7.4133), Point(43.7350, 7.4200)
    line = roads.path(a, b)
    assert line[0] == (a.lat, a.lon) and line[-1] == (b.lat, b.lon) and len(line) > 10
    length = sum(np.hypot((p[0] - q[0]) * 111_320, (p[1] - q[1]) * 80_500) for p, q in zip(line, line[1:]))
    assert length == pytest.approx(roads.matrix({"a": a, "b": b}).metres("a", "b"), rel=0.1)
    assert roads.streets((43.72, 7.40, 43.74, 7.43)) == []


def test_the_network_names_the_service_and_cli_take(tmp_path):
    assert check_network("osrm:demo") == "osrm:demo"
    assert check_network(f"osrm:{MONACO}") == f"osrm:{MONACO}"
    assert check_network("osrm+http://127.0.0.1:5000") == "osrm+http://127.0.0.1:5000"
    for bad, says in (("osrm:missing.osm.pbf", "is not a file"), ("osrm+http://", "HOST:PORT"),
                      ("osrm+http://h:5000/table?x=1", "HOST:PORT"), ("osm.pbf", "osrm:")):
        with pytest.raises(RoadNetworkError, match=says):
            check_network(bad)
    assert road_network("osrm:demo", cache=tmp_path).digest.startswith("osrm-26")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def routed(base: Path, *, max_table_size: int):
    """The wheel's osrm-routed on 127.0.0.1 serving ``base``, until the block ends."""
    import osrm as wheel

    port = _free_port()
    binary = Path(wheel.__file__).parent / "bin" / "osrm-routed"
    server = subprocess.Popen([str(binary), "--ip", "127.0.0.1", "--port", str(port), "-a", "CH",
                               "--max-table-size", str(max_table_size), str(base)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/nearest/v1/driving/7.4133,43.7295", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "osrm-routed did not start"
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_shared_osrm_routed_answers_what_the_engine_in_process_answers(monaco, demo_roads):
    roads, cache = monaco
    base = osrm.prepare(MONACO, cache).base
    places = _stores(demo_roads, 60, seed=5)
    with routed(base, max_table_size=1000) as url:
        shared = road_network(f"osrm+{url}")
        assert shared.digest == ""  # a server's data may change: its matrices are not cached
        here, there = roads.matrix(places), shared.matrix(places)
        assert there.keys == here.keys
        assert np.array_equal(there.seconds_array, here.seconds_array)
        assert np.array_equal(there.metres_array, here.metres_array)
        a, b = places["p1"], places["p2"]
        assert np.allclose(shared.path(a, b), roads.path(a, b), atol=2e-6, rtol=0)
        assert [s.distance_m for s in shared.snap(places)] == pytest.approx([s.distance_m for s in roads.snap(places)], abs=0.5)
    with routed(base, max_table_size=10) as url:
        with pytest.raises(RoadNetworkError, match=f"OSRM server {url}: TooBig"):
            road_network(f"osrm+{url}").matrix(places)
    with pytest.raises(RoadNetworkError, match="cannot be reached"):
        road_network(f"osrm+{url}").matrix(places)


def test_without_the_wheel_the_engine_says_what_to_install(monkeypatch, tmp_path):
    import builtins

    real = builtins.__import__

    def no_osrm(name, *args, **kwargs):
        if name == "osrm":
            raise ImportError("No module named 'osrm'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_osrm)
    with pytest.raises(RoadNetworkError, match="pip install osrm-bindings"):
        osrm.prepare(MONACO, tmp_path)
