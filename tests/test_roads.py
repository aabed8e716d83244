"""Road-network travel on a tiny OSM file written here: one-way streets, snapping, cache."""

import numpy as np
import pytest

from routing.roads import RoadNetworkError, build_road_network, street_lines
from routing.travel import Point, haversine_m

# A 200 m square: 1 (SW) - 2 (SE) - 3 (NE) - 4 (NW), all residential, two-way except
# the east side 2 -> 3, which is one-way northbound. A stub 3-5 leads north.
NODES = {1: (60.1700, 24.9400), 2: (60.1700, 24.9436), 3: (60.1718, 24.9436), 4: (60.1718, 24.9400), 5: (60.1736, 24.9436)}
WAYS = [([1, 2], {}), ([2, 3], {"oneway": "yes"}), ([3, 4], {}), ([4, 1], {}), ([3, 5], {}),
        ([2, 4], {"highway": "footway"}), ([1, 3], {"access": "private"})]  # diagonals no car may use


def _osm_xml() -> str:
    nodes = "\n".join(f'  <node id="{i}" lat="{lat}" lon="{lon}" version="1"/>' for i, (lat, lon) in NODES.items())
    ways = []
    for n, (refs, tags) in enumerate(WAYS, start=100):
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        extra = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        highway = "" if "highway" in tags else '<tag k="highway" v="residential"/>'
        ways.append(f'  <way id="{n}" version="1">{nds}{highway}{extra}</way>')
    return '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n' + nodes + "\n" + "\n".join(ways) + "\n</osm>\n"


@pytest.fixture
def osm_file(tmp_path):
    path = tmp_path / "square.osm"
    path.write_text(_osm_xml())
    return path


def _at(node):
    return Point(*NODES[node])


def test_one_way_street_makes_the_matrix_asymmetric(osm_file):
    """2 -> 3 is one block; 3 -> 2 has to go round the square (three blocks)."""
    roads = build_road_network(osm_file)
    m = roads.matrix({"se": _at(2), "ne": _at(3)})
    assert m.metres("se", "ne") == pytest.approx(200, abs=5)
    assert m.metres("ne", "se") == pytest.approx(200 + 200 + 200, abs=15)
    assert m.seconds("ne", "se") > 2.5 * m.seconds("se", "ne")
    # 30 km/h on residential streets: 200 m in about 24 s
    assert m.seconds("se", "ne") == pytest.approx(24, abs=2)


def test_snapping_reports_the_distance(osm_file):
    """A point 50 m off the network snaps to the nearest node and says how far it moved."""
    roads = build_road_network(osm_file)
    off = Point(60.1700 - 50 / 111_320, 24.9400)  # 50 m south of node 1
    (snap,) = roads.snap({"store": off})
    assert roads.node_ids[snap.node] == 1
    assert snap.distance_m == pytest.approx(50, abs=1)


def test_cache_hit_on_second_build(osm_file, tmp_path, monkeypatch):
    """The second build of the same file comes from the cache and does not parse the file."""
    cache = tmp_path / "cache"
    first = build_road_network(osm_file, cache_dir=cache)
    assert len(list(cache.iterdir())) == 1

    import routing.roads as roads_module

    def fail(_path):
        raise AssertionError("parsed again")

    monkeypatch.setattr(roads_module, "_drive_graph", fail)
    second = build_road_network(osm_file, cache_dir=cache)
    pts = {"a": _at(1), "b": _at(3)}
    assert np.array_equal(first.matrix(pts).seconds_array, second.matrix(pts).seconds_array)


def test_path_follows_the_roads(osm_file):
    """3 -> 2 goes 3, 4, 1, 2 round the square, not along the one-way street."""
    roads = build_road_network(osm_file)
    line = roads.path(_at(3), _at(2))
    corners = [p for p in line[1:-1]]
    assert corners == [NODES[3], NODES[4], NODES[1], NODES[2]]


def test_not_an_osm_file(tmp_path):
    """A file of the wrong kind is refused with its name."""
    bad = tmp_path / "roads.csv"
    bad.write_text("a,b\n")
    with pytest.raises(RoadNetworkError, match="roads.csv"):
        build_road_network(bad)


def test_footways_and_private_roads_are_not_driven(osm_file):
    """The footway diagonal 2-4 and the private diagonal 1-3 are not used: 2 -> 4 goes by road."""
    roads = build_road_network(osm_file)
    m = roads.matrix({"se": _at(2), "nw": _at(4), "sw": _at(1), "ne": _at(3)})
    assert m.metres("se", "nw") == pytest.approx(400, abs=10)
    assert m.metres("sw", "ne") == pytest.approx(400, abs=10)


def _drawn_m(lines) -> float:
    return sum(haversine_m(Point(*a), Point(*b)) for line in lines for a, b in zip(line, line[1:]))


def test_street_lines_draw_each_street_once(osm_file):
    """The four sides and the stub, 1,000 m of street, are drawn once each although three
    sides are two-way (1,800 m of directed edges), merged into the ring and the stub; the
    square's corners survive simplification; the footway and private diagonals are not drawn."""
    roads = build_road_network(osm_file)
    lines = street_lines(roads, tolerance_m=3)
    assert _drawn_m(lines) == pytest.approx(1000, abs=5)
    assert sorted(len(line) for line in lines) == [2, 5]  # stub 3-5; ring 3-4-1-2-3 (or from another corner)
    ring = max(lines, key=len)
    assert ring[0] == ring[-1] and set(ring) == {NODES[n] for n in (1, 2, 3, 4)}


def test_street_lines_are_clipped_to_the_box(osm_file):
    """A box over the southern half of the square keeps the south side and half of the east and
    west sides (400 m), every point inside the box."""
    roads = build_road_network(osm_file)
    south, west, north, east = 60.1695, 24.9390, 60.1709, 24.9450
    lines = street_lines(roads, (south, west, north, east), tolerance_m=3)
    points = [p for line in lines for p in line]
    assert all(south <= lat <= north and west <= lon <= east for lat, lon in points)
    assert _drawn_m(lines) == pytest.approx(200 + 2 * 100, abs=5)
