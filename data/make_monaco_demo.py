"""Make the demo territory (data/demo/stores.csv, reps.csv) from real OpenStreetMap outlets.

Source: data/osm/monaco.osm.pbf (see data/README.md and data/osm/NOTICE). Reproducible: the
same file gives the same CSVs. Run from the repo root: python data/make_monaco_demo.py

Rules (documented in data/README.md):
- outlets: food retail shops and HoReCa/pharmacy amenities a consumer-goods rep calls on;
- class by channel: A supermarket/convenience, B kiosk/newsagent/bakery/cafe/bar/pub/fast food,
  C restaurant/pharmacy, D other food shops (butcher, deli, greengrocer, ...);
- opening hours: the OSM `opening_hours` tag where it parses, else the channel default below.
"""

from __future__ import annotations

import csv
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from routing.hours import HoursError, validate  # noqa: E402

PBF = ROOT / "data" / "osm" / "monaco.osm.pbf"
OUT = ROOT / "data" / "demo"

# (tag, value) -> (channel, class, default opening hours)
CHANNELS = {
    ("shop", "supermarket"): ("supermarket", "A", "Mo-Sa 08:30-19:30"),
    ("shop", "convenience"): ("convenience", "A", "Mo-Sa 07:30-20:00; Su 08:00-13:00"),
    ("shop", "kiosk"): ("kiosk", "B", "Mo-Sa 07:00-19:00; Su 07:00-12:00"),
    ("shop", "newsagent"): ("kiosk", "B", "Mo-Sa 07:00-19:00; Su 07:00-12:00"),
    ("shop", "bakery"): ("bakery", "B", "Mo-Sa 06:30-19:30; Su 07:00-13:00"),
    ("amenity", "cafe"): ("cafe/bar", "B", "Mo-Su 08:00-20:00"),
    ("amenity", "bar"): ("cafe/bar", "B", "Mo-Su 10:00-20:00"),
    ("amenity", "pub"): ("cafe/bar", "B", "Mo-Su 10:00-20:00"),
    ("amenity", "fast_food"): ("fast food", "B", "Mo-Su 10:00-22:00"),
    ("amenity", "ice_cream"): ("fast food", "B", "Mo-Su 10:00-22:00"),
    ("amenity", "restaurant"): ("restaurant", "C", "Mo-Sa 10:00-15:00,18:00-23:00"),
    ("amenity", "pharmacy"): ("pharmacy", "C", "Mo-Fr 08:30-19:30; Sa 08:30-12:30"),
    ("shop", "butcher"): ("food shop", "D", "Tu-Sa 08:00-12:30,15:30-19:30"),
    ("shop", "deli"): ("food shop", "D", "Tu-Sa 08:00-12:30,15:30-19:30"),
    ("shop", "greengrocer"): ("food shop", "D", "Tu-Sa 08:00-12:30,15:30-19:30"),
    ("shop", "beverages"): ("food shop", "D", "Tu-Sa 08:00-12:30,15:30-19:30"),
    ("shop", "alcohol"): ("food shop", "D", "Tu-Sa 08:00-12:30,15:30-19:30"),
}

# Four reps living on the network around the territory; one works Tuesday to Saturday.
REPS = [
    ("R1", "Camille Rossi", 43.7262, 7.4148, "Mo-Fr"),  # Fontvieille
    ("R2", "Luca Bianchi", 43.7352, 7.4203, "Mo-Fr"),  # La Condamine
    ("R3", "Sophie Martin", 43.7436, 7.4292, "Mo-Fr"),  # Monte-Carlo
    ("R4", "Marco Ferri", 43.7318, 7.3980, "Tu-Sa"),  # Cap-d'Ail
]


def channel_of(row) -> tuple[str, str, str] | None:
    for tag in ("shop", "amenity"):
        value = row.get(tag)
        if isinstance(value, str):
            for part in value.split(";"):
                if (tag, part) in CHANNELS:
                    return CHANNELS[(tag, part)]
    return None


def main() -> None:
    import pyrosm

    warnings.simplefilter("ignore")
    pois = pyrosm.OSM(str(PBF)).get_pois(
        custom_filter={"shop": True, "amenity": ["cafe", "bar", "restaurant", "pub", "fast_food", "pharmacy", "ice_cream"]}
    )
    rows = []
    for _, poi in pois.iterrows():
        found = channel_of(poi)
        if found is None:
            continue
        channel, store_class, default_hours = found
        hours, source = default_hours, "default"
        tag = poi.get("opening_hours")
        if isinstance(tag, str) and tag.strip():
            try:
                validate(tag)
                hours, source = tag.strip(), "osm"
            except HoursError:
                pass
        point = poi.geometry.centroid
        prefix = {"node": "N", "way": "W", "relation": "R"}.get(poi.get("osm_type"), "X")
        name = poi.get("name") if isinstance(poi.get("name"), str) else f"Unnamed {channel}"
        rows.append([f"{prefix}{int(poi['id'])}", name, round(point.y, 6), round(point.x, 6), store_class, hours,
                     channel, source])
    rows.sort(key=lambda r: r[0])
    OUT.mkdir(exist_ok=True)
    with open(OUT / "stores.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "lat", "lon", "class", "opening_hours", "channel", "hours_source"])
        w.writerows(rows)
    with open(OUT / "reps.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "start_lat", "start_lon", "shift_start", "shift_end",
                    "break_start", "break_end", "break_min", "working_days", "max_visits"])
        for rid, name, lat, lon, days in REPS:
            w.writerow([rid, name, lat, lon, "08:30", "17:30", "12:00", "14:00", 45, days, 22])
    print(f"{len(rows)} outlets, {sum(r[7] == 'osm' for r in rows)} with OSM opening hours -> {OUT}")


if __name__ == "__main__":
    main()
