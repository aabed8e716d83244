"""Make the synthetic demo team (stores.csv, reps.csv) around central Helsinki.

Reproducible: a fixed seed. Run from the repo root: python data/make_synthetic_demo.py
"""

import csv
import math
import random
from pathlib import Path

OUT = Path(__file__).parent / "demo"
CENTRE = (60.1699, 24.9384)
HOURS = [
    "Mo-Fr 08:00-20:00; Sa 09:00-18:00; Su off",
    "Mo-Sa 07:00-22:00; Su 10:00-20:00",
    "Mo-Fr 09:00-12:00,13:00-18:00; Sa 10:00-14:00",
    "24/7",
    "",
    "Mo-Fr 10:00-19:00",
    "Tu-Sa 11:00-17:00",
]
CLASSES = ["A"] * 8 + ["B"] * 16 + ["C"] * 22 + ["D"] * 14
KINDS = ["Kiosk", "Market", "Deli", "Grocer", "Minimart", "Corner shop"]
STREETS = ["Aleksanterinkatu", "Mannerheimintie", "Hämeentie", "Fredrikinkatu", "Bulevardi", "Kaisaniemenkatu",
           "Runeberginkatu", "Sturenkatu", "Itämerenkatu", "Tehtaankatu"]


def main() -> None:
    rng = random.Random(7)
    reps = [
        ("R1", "Aino Virtanen", 60.1880, 24.9520, "Mo-Fr"),
        ("R2", "Mikko Korhonen", 60.1620, 24.9050, "Mo-Fr"),
        ("R3", "Sanna Mäkinen", 60.1760, 24.9700, "Mo-Th"),
    ]
    OUT.mkdir(exist_ok=True)
    with open(OUT / "reps.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "start_lat", "start_lon", "shift_start", "shift_end",
                    "break_start", "break_end", "break_min", "working_days", "max_visits"])
        for rid, name, lat, lon, days in reps:
            w.writerow([rid, name, lat, lon, "08:00", "17:00", "11:30", "13:30", 45, days, 18])
    with open(OUT / "stores.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "lat", "lon", "class", "opening_hours", "service_min", "rep_id"])
        for i, cls in enumerate(CLASSES, start=1):
            r = 4000 * math.sqrt(rng.random())
            a = rng.random() * 2 * math.pi
            lat = CENTRE[0] + r * math.sin(a) / 111_320
            lon = CENTRE[1] + r * math.cos(a) / (111_320 * math.cos(math.radians(CENTRE[0])))
            hours = rng.choice(HOURS)
            if i == 13:
                hours = "Sa-Su 10:00-16:00"  # closed on weekdays
            if i == 29:
                hours = "Mo-Su 19:00-23:00"  # evening kiosk: outside every shift
            owner = rng.choice(["R1", "R2", "R3"]) if i % 5 == 0 else ""
            service = rng.choice(["", "", "", "25"])
            name = f"{rng.choice(KINDS)} {rng.choice(STREETS)}"
            w.writerow([f"S{i:03d}", name, round(lat, 6), round(lon, 6), cls, hours, service, owner])


if __name__ == "__main__":
    main()
