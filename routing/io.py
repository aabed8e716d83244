"""Read and validate stores, reps and policy files; write and read plans as JSON.

A file is accepted whole or rejected whole: every problem in it is collected and raised in
one ``InputError`` that names the file, the row (CSV line or GeoJSON feature) and the field.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import re
import tomllib
from io import StringIO
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .clock import DayClock, hhmm
from .errors import InputError, InputProblem
from .hours import HoursError, validate
from .model import DEFAULT_CHECKLIST, WEEKDAYS, Break, ClassPolicy, DayPlan, Policy, Rep, Resume, Route, Stop, Store, Unassigned

STORE_REQUIRED = ("id", "name", "lat", "lon", "class", "opening_hours")
#: Longest id (store, rep) and class name; ids also may not hold '/' (they are parts of URLs).
MAX_ID_LEN = 200
MAX_CLASS_LEN = 50
MAX_AREA_LEN = 100
#: Longest ``days_off`` range, and most days off in all: a typo such as 2026..9026 is refused.
MAX_DAYS_OFF = 1000
REP_REQUIRED = ("id", "name", "start_lat", "start_lon")


class _Row:
    """One input row, with helpers that parse a field or record a problem about it."""

    def __init__(self, source: str, where: str, values: Mapping[str, Any], problems: list[InputProblem]):
        self.source, self.where, self.values, self.problems = source, where, values, problems

    def fail(self, field: str | None, message: str) -> None:
        self.problems.append(InputProblem(self.source, self.where, field, message))

    def text(self, field: str) -> str:
        value = self.values.get(field)
        if isinstance(value, (dict, list, bool)):
            got = "a list" if isinstance(value, list) else "an object" if isinstance(value, dict) else str(value).lower()
            self.fail(field, f"expected a text or a number, got {got}")
            return ""
        text = "" if value is None else str(value).strip()
        if "\x00" in text:
            self.fail(field, "contains a NUL character")
            return ""
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            self.fail(field, "contains a character that is not valid Unicode text (a lone surrogate)")
            return ""
        return text

    def identifier(self, field: str, *, required: bool = True) -> str | None:
        """An id: at most ``MAX_ID_LEN`` characters, no '/' (ids are parts of URLs)."""
        value = self.required(field) if required else (self.text(field) or None)
        if value is not None and (len(value) > MAX_ID_LEN or "/" in value):
            self.fail(field, f"expected an id of at most {MAX_ID_LEN} characters without '/', got {value[:40]!r}"
                      + ("..." if len(value) > 40 else ""))
            return None
        return value

    def required(self, field: str) -> str | None:
        value = self.text(field)
        if not value:
            self.fail(field, "required, got an empty value")
            return None
        return value

    def number(self, field: str, *, lo=None, hi=None, default=None, integer=False, required=False):
        raw = self.text(field)
        if not raw:
            if required:
                self.fail(field, "required, got an empty value")
            return default
        try:
            value = int(raw) if integer else float(raw)
        except ValueError:
            kind = "a whole number" if integer else "a number"
            self.fail(field, f"expected {kind}, got {raw!r}")
            return None
        if isinstance(value, float) and not math.isfinite(value) or (lo is not None and value < lo) or (hi is not None and value > hi):
            self.fail(field, f"expected a value in [{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}], got {raw!r}")
            return None
        return value

    def clock(self, field: str, default: int | None) -> int | None:
        raw = self.text(field)
        if not raw:
            return default
        try:
            h, m = raw.split(":")
            seconds = int(h) * 3600 + int(m) * 60
            if not (0 <= int(m) < 60 and 0 <= seconds <= 24 * 3600):
                raise ValueError
            return seconds
        except ValueError:
            self.fail(field, f"expected a time HH:MM between 00:00 and 24:00, got {raw!r}")
            return None

    def dates(self, field: str) -> frozenset[dt.date]:
        """ISO dates and ranges ``first..last`` separated by ';' or whitespace."""
        out: set[dt.date] = set()
        for item in re.split(r"[;\s]+", self.text(field)):
            if not item:
                continue
            first, dots, last = item.partition("..")
            try:
                a = dt.date.fromisoformat(first)
                b = dt.date.fromisoformat(last) if dots else a
            except ValueError:
                self.fail(field, f"expected ISO dates or ranges such as '2026-12-07;2026-12-21..2026-12-24', got {item!r}")
                continue
            if b < a:
                self.fail(field, f"the range {item!r} ends before it starts")
                continue
            if (b - a).days >= MAX_DAYS_OFF or len(out) + (b - a).days >= MAX_DAYS_OFF:
                self.fail(field, f"at most {MAX_DAYS_OFF} days in all, got the range {item!r}")
                return frozenset(out)
            out.update(a + dt.timedelta(days=i) for i in range((b - a).days + 1))
        return frozenset(out)

    def hours(self, field: str, default: str = "") -> str:
        raw = self.text(field) or default
        try:
            validate(raw)
        except HoursError as exc:
            self.fail(field, f"expected OpenStreetMap opening_hours syntax such as 'Mo-Fr 08:00-18:00', got {raw!r}: {exc}")
        return raw


def _csv_rows(path: Path, required: tuple[str, ...], problems: list[InputProblem]) -> Iterator[_Row]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(InputProblem(path.name, None, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})"))
        return
    yield from _csv_text_rows(text, path.name, required, problems)


def _csv_text_rows(text: str, source: str, required: tuple[str, ...], problems: list[InputProblem]) -> Iterator[_Row]:
    reader = csv.DictReader(StringIO(text.removeprefix("\ufeff"), newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    if missing:
        problems.append(InputProblem(source, "line 1", None, f"missing required column(s): {', '.join(missing)}; the header is {','.join(header) or '(empty)'}"))
        return
    reader.fieldnames = header
    for record in reader:
        if None in record:
            problems.append(InputProblem(source, f"line {reader.line_num}", None, f"more fields than the header's {len(header)}"))
            continue
        yield _Row(source, f"line {reader.line_num}", record, problems)


def _geojson_rows(path: Path, required: tuple[str, ...], problems: list[InputProblem]) -> Iterator[_Row]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        problems.append(InputProblem(path.name, None, None, f"not valid JSON: {exc}"))
        return
    yield from _geojson_data_rows(data, path.name, required, problems)


def _geojson_data_rows(data: Any, source: str, required: tuple[str, ...], problems: list[InputProblem]) -> Iterator[_Row]:
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not isinstance(data.get("features"), list):
        problems.append(InputProblem(source, None, None, "expected a GeoJSON FeatureCollection"))
        return
    for n, feature in enumerate(data["features"], start=1):
        where = f"feature {n}"
        if not isinstance(feature, dict):
            problems.append(InputProblem(source, where, None, "expected a GeoJSON Feature object"))
            continue
        geometry = feature.get("geometry") if isinstance(feature.get("geometry"), dict) else {}
        props = dict(feature.get("properties") or {}) if isinstance(feature.get("properties") or {}, dict) else {}
        coords = geometry.get("coordinates")
        if geometry.get("type") != "Point" or not isinstance(coords, list) or len(coords) < 2:
            problems.append(InputProblem(source, where, "geometry", "expected a Point with [lon, lat] coordinates"))
            continue
        for axis, value in (("lon", coords[0]), ("lat", coords[1])):
            if axis in props and str(props[axis]) != str(value):
                problems.append(InputProblem(source, where, axis, f"property {axis}={props[axis]!r} disagrees with the geometry ({value!r})"))
            props[axis] = value
        missing = [c for c in required if c not in props]
        for column in missing:
            problems.append(InputProblem(source, where, column, "required property is missing"))
        if not missing:
            yield _Row(source, where, props, problems)


def _record_rows(records: Any, source: str, required: tuple[str, ...], problems: list[InputProblem]) -> Iterator[_Row]:
    """Rows of a JSON list of objects (an API body); row ``[i]`` is the list's item i (from 0)."""
    if not isinstance(records, list):
        problems.append(InputProblem(source, None, None, "expected a JSON list of objects"))
        return
    for n, record in enumerate(records):
        where = f"[{n}]"
        if not isinstance(record, dict):
            problems.append(InputProblem(source, where, None, "expected a JSON object"))
            continue
        missing = [c for c in required if record.get(c) is None]
        for column in missing:
            problems.append(InputProblem(source, where, column, "required, got nothing"))
        if not missing:
            yield _Row(source, where, record, problems)


#: Readers of store and rep rows by format: a file or text for CSV, parsed JSON otherwise.
_ROW_READERS = {"csv": _csv_text_rows, "geojson": _geojson_data_rows, "json": _record_rows}


def _unique(row: _Row, value: str | None, seen: dict[str, str]) -> None:
    if value is None:
        return
    if value in seen:
        row.fail("id", f"duplicate id {value!r} (first at {seen[value]})")
    else:
        seen[value] = row.where


def _stores(path: Path, policy: Policy | None, rep_ids: set[str] | None, problems: list[InputProblem]) -> list[Store]:
    reader = _geojson_rows if path.suffix.lower() in (".geojson", ".json") else _csv_rows
    return _store_rows(reader(path, STORE_REQUIRED, problems), policy, rep_ids, problems)


def _store_rows(rows: Iterator[_Row], policy: Policy | None, rep_ids: set[str] | None, problems: list[InputProblem]) -> list[Store]:
    stores, seen = [], {}
    for row in rows:
        before = len(problems)
        store_id, name = row.identifier("id"), row.required("name")
        _unique(row, store_id, seen)
        lat = row.number("lat", lo=-90, hi=90, required=True)
        lon = row.number("lon", lo=-180, hi=180, required=True)
        store_class = row.required("class")
        if store_class and len(store_class) > MAX_CLASS_LEN:
            row.fail("class", f"expected a class name of at most {MAX_CLASS_LEN} characters")
        if store_class and policy is not None and store_class not in policy.classes:
            row.fail("class", f"expected one of the policy's classes ({', '.join(policy.classes)}), got {store_class!r}")
        hours = row.hours("opening_hours")
        service = row.number("service_min", lo=0)
        demand = row.number("demand", lo=0, default=0, integer=True)
        owner = row.identifier("rep_id", required=False)
        area = row.text("area")
        if len(area) > MAX_AREA_LEN:
            row.fail("area", f"at most {MAX_AREA_LEN} characters, got {len(area)}")
        if owner is not None and rep_ids is not None and owner not in rep_ids:
            row.fail("rep_id", f"no rep with id {owner!r} among the reps")
        if len(problems) == before:
            stores.append(Store(store_id, name, lat, lon, store_class, hours, service, owner, demand, area))
    return stores


def _reps(path: Path, problems: list[InputProblem]) -> list[Rep]:
    return _rep_rows(_csv_rows(path, REP_REQUIRED, problems), problems)


def _rep_rows(rows: Iterator[_Row], problems: list[InputProblem]) -> list[Rep]:
    reps, seen = [], {}
    for row in rows:
        before = len(problems)
        rep_id, name = row.identifier("id"), row.required("name")
        _unique(row, rep_id, seen)
        lat = row.number("start_lat", lo=-90, hi=90, required=True)
        lon = row.number("start_lon", lo=-180, hi=180, required=True)
        end_lat = row.number("end_lat", lo=-90, hi=90, default=lat)
        end_lon = row.number("end_lon", lo=-180, hi=180, default=lon)
        if bool(row.text("end_lat")) != bool(row.text("end_lon")):
            row.fail("end_lat" if not row.text("end_lat") else "end_lon", "give both end_lat and end_lon, or neither")
        shift_start, shift_end = row.clock("shift_start", 8 * 3600), row.clock("shift_end", 18 * 3600)
        if shift_start is not None and shift_end is not None and shift_start >= shift_end:
            row.fail("shift_end", f"expected a time after shift_start ({row.text('shift_start') or '08:00'})")
        lunch = _lunch(row, shift_start, shift_end)
        working_days = row.hours("working_days", "Mo-Fr")
        max_visits = row.number("max_visits", lo=1, integer=True)
        capacity = row.number("capacity", lo=0, integer=True)
        days_off = row.dates("days_off")
        if len(problems) == before:
            reps.append(Rep(rep_id, name, lat, lon, end_lat, end_lon, shift_start, shift_end, lunch, working_days,
                            max_visits, capacity, days_off))
    return reps


def _lunch(row: _Row, shift_start: int | None, shift_end: int | None) -> Break | None:
    fields = ("break_start", "break_end", "break_min")
    given = [f for f in fields if row.text(f)]
    if not given:
        return None
    if len(given) != 3:
        for f in fields:
            if f not in given:
                row.fail(f, "a lunch break needs break_start, break_end and break_min together")
        return None
    start, end = row.clock("break_start", None), row.clock("break_end", None)
    minutes = row.number("break_min", lo=1, integer=True)
    if None in (start, end, minutes):
        return None
    if end - start < minutes * 60:
        row.fail("break_end", f"the break window {row.text('break_start')}-{row.text('break_end')} is shorter than break_min ({minutes} min)")
        return None
    if shift_start is not None and shift_end is not None and (start < shift_start or end > shift_end):
        row.fail("break_start", "the break window must lie inside the shift")
        return None
    return Break(start, end, minutes * 60)


def _policy(path: Path, problems: list[InputProblem]) -> Policy | None:
    source = path.name
    try:
        raw = path.read_text(encoding="utf-8")
        data = json.loads(raw) if path.suffix.lower() == ".json" else tomllib.loads(raw)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problems.append(InputProblem(source, None, None, f"cannot parse: {exc}"))
        return None
    return _policy_data(data, source, problems)


def _policy_data(data: Any, source: str, problems: list[InputProblem]) -> Policy | None:
    if not isinstance(data, dict):
        problems.append(InputProblem(source, None, None, "expected a table (TOML) or an object (JSON) at the top level"))
        return None
    before = len(problems)
    top = _Row(source, None, data, problems)
    time_zone = top.required("time_zone")
    if time_zone:
        try:
            ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            top.fail("time_zone", f"expected an IANA time zone such as 'Europe/Helsinki', got {time_zone!r}")
    speed = top.number("speed_kmh", lo=0.1, default=30.0)
    circuity = top.number("circuity", lo=1.0, default=1.3)
    classes = data.get("classes")
    parsed: dict[str, ClassPolicy] = {}
    if not isinstance(classes, dict) or not classes:
        top.fail("classes", "expected a table of store classes, e.g. [classes.A] visits_per_week = 2")
        classes = {}
    for name, spec in classes.items():
        row = _Row(source, f"classes.{name}", spec if isinstance(spec, dict) else {}, problems)
        if not isinstance(spec, dict):
            row.fail(None, "expected a table with visits_per_week (or visits_per_cycle), service_min, priority")
            continue
        if len(str(name)) > MAX_CLASS_LEN or "\x00" in str(name):
            row.fail(None, f"a class name has at most {MAX_CLASS_LEN} characters and no NUL")
            continue
        for field in ("service_min", "priority"):
            if field not in spec:
                row.fail(field, "required")
        if ("visits_per_week" in spec) == ("visits_per_cycle" in spec):
            row.fail("visits_per_week", "give exactly one of visits_per_week (e.g. 0.5 = every two weeks) "
                     "and visits_per_cycle (visits in the whole cycle)")
        per_week = row.number("visits_per_week", lo=0.01)
        per_cycle = row.number("visits_per_cycle", lo=1, integer=True)
        service = row.number("service_min", lo=0)
        priority = row.number("priority", integer=True)
        gap = row.number("min_gap_days", lo=0, integer=True)
        patterns = _day_patterns(row, per_week, gap)
        same_weekday = spec.get("same_weekday", "prefer")
        if same_weekday not in ("prefer", "require"):
            row.fail("same_weekday", f"expected \"prefer\" or \"require\", got {same_weekday!r}")
        checklist, focus = _checklist(row)
        if (per_week is not None or per_cycle is not None) and None not in (service, priority):
            parsed[str(name)] = ClassPolicy(str(name), per_week, service, priority, gap, patterns, same_weekday, per_cycle,
                                            checklist, focus)
    if len(problems) > before:
        return None
    return Policy(time_zone, parsed, speed, circuity)


def _checklist(row: _Row) -> tuple[tuple[str, ...], str | None]:
    """A class's ``checklist`` (the steps of a visit, default ``DEFAULT_CHECKLIST``) and its
    ``focus_step``, one of them."""
    raw = row.values.get("checklist", list(DEFAULT_CHECKLIST))
    steps: tuple[str, ...] = DEFAULT_CHECKLIST
    if (not isinstance(raw, list) or not 1 <= len(raw) <= 30
            or not all(isinstance(x, str) and re.fullmatch(r"[a-z][a-z0-9_]{0,39}", x) for x in raw) or len(set(raw)) < len(raw)):
        row.fail("checklist", "expected 1 to 30 different step names such as \"check_shelf\" (lower case letters, "
                 f"digits and _, at most 40 characters), got {str(raw)[:80]!r}")
    else:
        steps = tuple(raw)
    focus = row.values.get("focus_step")
    if focus is not None and focus not in steps:
        row.fail("focus_step", f"expected one of the checklist's steps ({', '.join(steps)}), got {str(focus)[:40]!r}")
        focus = None
    return steps, focus


def _day_patterns(row: _Row, per_week: float | None, gap: int | None) -> tuple[frozenset[int], ...] | None:
    """A class's ``day_patterns``: a list of entries such as "Mo,Th", each the weekdays of one
    week's visits; checked against ``visits_per_week`` and ``min_gap_days``."""
    raw = row.values.get("day_patterns")
    if raw is None:
        return None
    example = 'a list of weekday sets such as ["Mo,Th", "Tu,Fr", "We,Sa"]'
    if not isinstance(raw, list) or not raw or not all(isinstance(e, str) for e in raw):
        row.fail("day_patterns", f"expected {example}, got {raw!r}")
        return None
    if per_week is None:
        size = None
    elif per_week < 1:
        size = 1
    else:
        size = int(per_week) if per_week == int(per_week) else None
    out: list[frozenset[int]] = []
    before = len(row.problems)
    for entry in raw:
        names = [n.strip() for n in entry.split(",")]
        unknown = [n for n in names if n not in WEEKDAYS]
        if unknown:
            row.fail("day_patterns", f"entry {entry!r}: unknown weekday(s) {', '.join(map(repr, unknown))}; "
                     f"expected two-letter names {' '.join(WEEKDAYS)} separated by commas")
            continue
        days = frozenset(WEEKDAYS.index(n) for n in names)
        if len(days) != len(names):
            row.fail("day_patterns", f"entry {entry!r} names a weekday twice")
            continue
        if days in out:
            row.fail("day_patterns", f"entry {entry!r} is given twice")
            continue
        if size is not None and len(days) != size:
            want = f"{per_week:g} visit(s) a week" if per_week >= 1 else f"a visit every {1 / per_week:g} weeks"
            row.fail("day_patterns", f"entry {entry!r} has {len(days)} weekday(s); visits_per_week = {per_week:g} "
                     f"({want}) needs {size}")
            continue
        if gap and len(days) > 1:
            ordered = sorted(days)
            closest = min((b - a) % 7 or 7 for a, b in zip(ordered, ordered[1:] + ordered[:1]))
            if closest < gap:
                row.fail("day_patterns", f"entry {entry!r} has visits {closest} day(s) apart week after week; "
                         f"min_gap_days is {gap}")
                continue
        out.append(days)
    return tuple(out) if len(row.problems) == before else None


def load_inputs(stores: Path, reps: Path, policy: Path) -> tuple[list[Store], list[Rep], Policy]:
    """Read and validate all three inputs together; raise one ``InputError`` listing every problem."""
    problems: list[InputProblem] = []
    for path in (stores, reps, policy):
        if not Path(path).is_file():
            problems.append(InputProblem(str(path), None, None, "no such file"))
    if problems:
        raise InputError(problems)
    parsed_policy = _policy(Path(policy), problems)
    before = len(problems)
    parsed_reps = _reps(Path(reps), problems)
    rep_ids = {r.id for r in parsed_reps} if len(problems) == before else None
    parsed_stores = _stores(Path(stores), parsed_policy, rep_ids, problems)
    if problems:
        raise InputError(problems)
    return parsed_stores, parsed_reps, parsed_policy


def load_policy(path: Path) -> Policy:
    """Read and validate a policy file (TOML or JSON)."""
    problems: list[InputProblem] = []
    policy = _policy(Path(path), problems)
    if problems:
        raise InputError(problems)
    return policy


def parse_stores(data: Any, *, fmt: str, source: str = "stores", policy: Policy | None = None,
                 rep_ids: set[str] | None = None) -> list[Store]:
    """Validate stores given as CSV text (``fmt="csv"``), a parsed GeoJSON FeatureCollection
    (``"geojson"``) or a JSON list of objects (``"json"``, the columns of the CSV as keys): the
    same rules and messages as the files. ``policy`` and ``rep_ids``, when given, are what a
    store's class and owner must name. Raises one ``InputError`` listing every problem."""
    problems: list[InputProblem] = []
    stores = _store_rows(_ROW_READERS[fmt](data, source, STORE_REQUIRED, problems), policy, rep_ids, problems)
    if problems:
        raise InputError(problems)
    return stores


def parse_reps(data: Any, *, fmt: str, source: str = "reps") -> list[Rep]:
    """Validate reps given as CSV text or a JSON list of objects (see ``parse_stores``)."""
    problems: list[InputProblem] = []
    reps = _rep_rows(_ROW_READERS[fmt](data, source, REP_REQUIRED, problems), problems)
    if problems:
        raise InputError(problems)
    return reps


def parse_policy(data: Any, *, source: str = "policy") -> Policy:
    """Validate a policy given as parsed TOML or JSON data (the file's rules and messages)."""
    problems: list[InputProblem] = []
    policy = _policy_data(data, source, problems)
    if problems:
        raise InputError(problems)
    return policy


def store_record(store: Store) -> dict[str, Any]:
    """A store as a JSON object with the stores file's columns (``parse_stores`` reads it back)."""
    record = {"id": store.id, "name": store.name, "lat": store.lat, "lon": store.lon, "class": store.store_class,
              "opening_hours": store.opening_hours, "service_min": store.service_min, "rep_id": store.rep_id,
              "demand": store.demand}
    if store.area:  # only when given: stores stored before areas existed keep their versions
        record["area"] = store.area
    return record


def rep_record(rep: Rep) -> dict[str, Any]:
    """A rep as a JSON object with the reps file's columns (``parse_reps`` reads it back); a
    rep whose day ends where it starts has no end, so moving the start moves the end too."""
    lunch = rep.lunch
    ends_home = (rep.end_lat, rep.end_lon) == (rep.start_lat, rep.start_lon)
    return {
        "id": rep.id, "name": rep.name, "start_lat": rep.start_lat, "start_lon": rep.start_lon,
        "end_lat": None if ends_home else rep.end_lat, "end_lon": None if ends_home else rep.end_lon,
        "shift_start": hhmm(rep.shift_start_s), "shift_end": hhmm(rep.shift_end_s),  # clock-face times
        "break_start": hhmm(lunch.earliest_s) if lunch else None, "break_end": hhmm(lunch.latest_s) if lunch else None,
        "break_min": lunch.duration_s // 60 if lunch else None,
        "working_days": rep.working_days, "max_visits": rep.max_visits, "capacity": rep.capacity,
        "days_off": ";".join(sorted(d.isoformat() for d in rep.days_off)) or None,
    }


# --- plans ------------------------------------------------------------------------------


def _iso(date: dt.date, seconds: int, zone: ZoneInfo) -> str:
    """The instant ``seconds`` (real time) after local midnight of ``date``, as ISO 8601 with
    the UTC offset in force then (``routing.clock``)."""
    return DayClock(date, zone).instant(seconds).isoformat()


def _seconds(date: dt.date, value: str, zone: ZoneInfo) -> int:
    """Real seconds since local midnight of ``date`` of an ISO 8601 time (the inverse of
    ``_iso``); a time without offset is local wall-clock time (``routing.clock``'s rule)."""
    return DayClock(date, zone).from_instant(dt.datetime.fromisoformat(value))


def route_to_dict(route: Route, zone: ZoneInfo) -> dict:
    """A route as JSON-ready data; times are ISO 8601 local times with the offset in force."""
    date = dt.date.fromisoformat(route.date)

    def stop(s: Stop) -> dict:
        out = {"type": s.type} | ({"store_id": s.store_id} if s.store_id is not None else {})
        return out | {
            "arrival": _iso(date, s.arrival_s, zone),
            "start": _iso(date, s.start_s, zone),
            "end": _iso(date, s.end_s, zone),
            "travel_s": s.travel_s,
            "distance_m": s.distance_m,
            "wait_s": s.wait_s,
        } | ({"status": s.status, "reported": s.reported} if s.status else {})

    out = {"rep_id": route.rep_id, "date": route.date, "stops": [stop(s) for s in route.stops], "summary": route.summary.as_dict()}
    if (r := route.resume) is not None:
        out["resume"] = {"after": r.after, "place": r.place, "time": _iso(date, r.time_s, zone),
                         "depart": _iso(date, r.depart_s, zone)} | ({"lat": r.lat, "lon": r.lon} if r.lat is not None else {})
    return out


def route_from_dict(data: dict, zone: ZoneInfo) -> Route:
    """Inverse of ``route_to_dict`` (the summary is derived again, not read)."""
    date = dt.date.fromisoformat(data["date"])
    stops = tuple(
        Stop(
            type=s["type"],
            arrival_s=_seconds(date, s["arrival"], zone),
            start_s=_seconds(date, s["start"], zone),
            end_s=_seconds(date, s["end"], zone),
            store_id=s.get("store_id"),
            travel_s=int(s.get("travel_s", 0)),
            distance_m=int(s.get("distance_m", 0)),
            wait_s=int(s.get("wait_s", 0)),
            status=s.get("status"),
            reported=bool(s.get("reported", False)),
        )
        for s in data["stops"]
    )
    resume = None
    if (r := data.get("resume")) is not None:
        resume = Resume(int(r["after"]), r["place"], _seconds(date, r["time"], zone), _seconds(date, r["depart"], zone),
                        r.get("lat"), r.get("lon"))
    return Route(data["rep_id"], data["date"], stops, resume)


def _unassigned_to_dict(u: Unassigned) -> dict:
    return {"store_id": u.store_id, "reason": u.reason, "detail": u.detail} | ({"date": u.date} if u.date else {})


def _unassigned_from_dict(data: dict) -> Unassigned:
    return Unassigned(data["store_id"], data["reason"], data.get("detail", ""), data.get("date"))


def plan_to_dict(plan: DayPlan) -> dict:
    """The plan as JSON-ready data: ISO 8601 local times with offset, VROOM-style summaries."""
    zone = ZoneInfo(plan.time_zone)
    return {
        "date": plan.date,
        "time_zone": plan.time_zone,
        "params": plan.params,
        "summary": plan.summary.as_dict() | {"unassigned": len(plan.unassigned)},
        "routes": [route_to_dict(r, zone) for r in plan.routes],
        "unassigned": [_unassigned_to_dict(u) for u in plan.unassigned],
    }


def plan_from_dict(data: dict) -> DayPlan:
    """Inverse of ``plan_to_dict`` (summaries are derived again, not read)."""
    zone = ZoneInfo(data["time_zone"])
    routes = tuple(route_from_dict(r, zone) for r in data["routes"])
    unassigned = tuple(_unassigned_from_dict(u) for u in data.get("unassigned", []))
    return DayPlan(data["date"], data["time_zone"], routes, unassigned, dict(data.get("params", {})))


def cycle_to_dict(plan) -> dict:
    """A ``CyclePlan`` as JSON: the same route objects as a day plan, one per rep and date."""
    zone = ZoneInfo(plan.time_zone)
    return {
        "cycle": {"start": plan.start, "weeks": plan.weeks, "holidays": list(plan.holidays)},
        "time_zone": plan.time_zone,
        "params": plan.params,
        "summary": plan.summary.as_dict() | {"unassigned": len(plan.unassigned)} | plan.kpis,
        "capacity": [
            {"rep_id": c.rep_id, "required_h": c.required_h, "available_h": c.available_h,
             "working_days": c.working_days, "utilisation": round(c.utilisation, 3)}
            for c in plan.capacity
        ],
        "suggestions": list(plan.suggestions),
        "routes": [route_to_dict(r, zone) for r in plan.routes],
        "unassigned": [_unassigned_to_dict(u) for u in plan.unassigned],
    }


def fleet_to_dict(plan, cycle, time_zone: str) -> dict:
    """A ``routing.fleet.FleetPlan`` as JSON: the cycle, each territory's outcome (visits,
    missing, seconds, the worker's peak memory, tries, error, the checker's violations), and the
    merged routes and missing visits as in a cycle plan."""
    zone = ZoneInfo(time_zone)
    return {
        "cycle": {"start": cycle.start.isoformat(), "weeks": cycle.weeks,
                  "holidays": sorted(d.isoformat() for d in cycle.holidays)},
        "time_zone": time_zone,
        "wall_s": round(plan.wall_s, 3),
        "territories": [
            {"key": t.key, "visits": sum(len(r.visits) for r in t.routes), "missing": len(t.unassigned),
             "wall_s": round(t.wall_s, 3), "worker_peak_mb": round(t.worker_peak_mb, 1), "tries": t.tries,
             "error": t.error, "violations": [str(v) for v in t.violations]}
            for t in plan.territories
        ],
        "routes": [route_to_dict(r, zone) for r in plan.routes],
        "unassigned": [_unassigned_to_dict(u) for u in plan.unassigned],
    }


def cycle_from_dict(data: dict):
    """The parts of a cycle plan JSON a check needs: (Cycle, routes, unassigned)."""
    from .calendar import Cycle

    zone = ZoneInfo(data["time_zone"])
    spec = data["cycle"]
    cycle = Cycle(dt.date.fromisoformat(spec["start"]), int(spec["weeks"]),
                  frozenset(dt.date.fromisoformat(d) for d in spec.get("holidays", [])))
    routes = [route_from_dict(r, zone) for r in data["routes"]]
    return cycle, routes, [_unassigned_from_dict(u) for u in data.get("unassigned", [])]


def read_json(path: Path) -> dict:
    """Read a plan or cycle plan JSON file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_json(data: dict, path: Path) -> None:
    """Write indented UTF-8 JSON, creating the folder."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_plan(plan: DayPlan, path: Path) -> None:
    """Write a day plan as indented JSON (UTF-8)."""
    write_json(plan_to_dict(plan), path)


def read_plan(path: Path) -> tuple[DayPlan, dict]:
    """Read a day plan JSON file; returns the plan and the raw data (for checking stored summaries)."""
    data = read_json(path)
    return plan_from_dict(data), data


# --- same-day events ---------------------------------------------------------------------

EVENT_FIELDS = ("kind", "time", "rep_id", "store_id", "lat", "lon", "minutes", "latest", "priority", "store",
                "outcome", "order_value", "note", "steps")
#: A check-out's report of the visit (``routing.events.VisitReport``).
REPORT_FIELDS = ("outcome", "order_value", "note", "steps")
MAX_NOTE = 500


def parse_events(data: Any, *, date: dt.date, time_zone: str, source: str = "events",
                 policy: Policy | None = None) -> list:
    """Validate same-day events given as a JSON list of objects (``routing.events``): ``kind``,
    ``time`` (ISO 8601; without an offset, local time) on ``date``, and the fields the kind
    needs. ``latest`` is ISO 8601 or HH:MM of that date; ``store`` (an urgent visit to a new
    store) has the stores file's columns. Raises one ``InputError`` naming item and field."""
    from .events import KINDS, Event

    problems: list[InputProblem] = []
    clock = DayClock(date, ZoneInfo(time_zone))
    events = []
    for row in _record_rows(data, source, ("kind", "time"), problems):
        before = len(problems)
        unknown = sorted(set(row.values) - set(EVENT_FIELDS))
        if unknown:
            row.fail(unknown[0], f"unknown field; expected some of {', '.join(EVENT_FIELDS)}")
        kind = row.text("kind")
        if kind not in KINDS:
            row.fail("kind", f"expected one of {', '.join(KINDS)}, got {kind!r}")
            continue
        time_s = _event_time(row, "time", date, clock, required=True)
        latest = _event_time(row, "latest", date, clock) if row.text("latest") else None
        lat = row.number("lat", lo=-90, hi=90)
        lon = row.number("lon", lo=-180, hi=180)
        if (lat is None) != (lon is None):
            row.fail("lat" if lat is None else "lon", "give both lat and lon, or neither")
        store = None
        if isinstance(row.values.get("store"), dict):
            try:
                store = parse_stores([row.values["store"]], fmt="json", source=f"{source} {row.where} store",
                                     policy=policy)[0]
            except InputError as exc:
                problems.extend(exc.problems)
        elif row.values.get("store") is not None:
            row.fail("store", "expected an object with the stores file's columns")
        values = {"rep_id": row.identifier("rep_id", required=False), "store_id": row.identifier("store_id", required=False),
                  "minutes": row.number("minutes", lo=0.5, hi=24 * 60), "priority": row.number("priority", integer=True,
                                                                                             lo=-10**6, hi=10**6)}
        if store is not None and values["store_id"] is None:
            values["store_id"] = store.id
        for name in KINDS[kind].needs:
            if values.get(name) is None and len(problems) == before:
                row.fail(name, f"required for a {kind} event")
        report = _visit_report(row, kind, policy)
        if len(problems) == before:
            events.append(Event(kind, time_s, values["rep_id"], values["store_id"], lat, lon, values["minutes"],
                                latest, values["priority"], store, report))
    if problems:
        raise InputError(problems)
    return events


def _visit_report(row: _Row, kind: str, policy: Policy | None):
    """A check-out's ``VisitReport`` (outcome, order_value, note, steps), or None without one."""
    from .events import OUTCOMES, VisitReport

    given = [f for f in REPORT_FIELDS if row.values.get(f) not in (None, "", [])]
    if not given:
        return None
    if kind != "visit_done":
        row.fail(given[0], "only a visit_done event (the check-out) reports the visit")
        return None
    outcome = row.text("outcome")
    if outcome not in OUTCOMES:
        row.fail("outcome", f"expected one of {', '.join(OUTCOMES)}, got {outcome!r}" if outcome
                 else "required with order_value, note or steps")
        return None
    value = row.number("order_value", lo=0, hi=1e12)
    if value is not None and outcome != "order":
        row.fail("order_value", f"only an order has a value (the outcome is {outcome})")
    note = row.text("note")
    if len(note) > MAX_NOTE:
        row.fail("note", f"at most {MAX_NOTE} characters, got {len(note)}")
    raw = row.values.get("steps") or []
    if isinstance(raw, str):  # a CSV cell: "check_shelf;take_order"
        raw = [x for x in re.split(r"[;\s]+", raw) if x]
    known = set(DEFAULT_CHECKLIST) if policy is None else {s for c in policy.classes.values() for s in c.checklist}
    steps: tuple[str, ...] = ()
    if not isinstance(raw, list) or len(raw) > 30 or not all(isinstance(x, str) for x in raw):
        row.fail("steps", 'expected a list of at most 30 checklist steps such as ["check_shelf", "take_order"]')
    elif unknown := [x for x in raw if x not in known]:
        row.fail("steps", f"{unknown[0][:40]!r} is not a step of the policy's checklists ({', '.join(sorted(known))})")
    else:
        steps = tuple(dict.fromkeys(raw))
    return VisitReport(outcome, value, note, steps)


def _event_time(row: _Row, field: str, date: dt.date, clock: DayClock, *, required: bool = False) -> int | None:
    raw = row.text(field)
    if not raw:
        if required:
            row.fail(field, "required, got an empty value")
        return None
    if re.fullmatch(r"\d{1,2}:\d{2}", raw):
        h, m = (int(x) for x in raw.split(":"))
        if m >= 60 or h * 60 + m >= 24 * 60:
            row.fail(field, f"expected a time HH:MM from 00:00 to 23:59, got {raw!r}")
            return None
        return clock.real(h * 3600 + m * 60)
    try:
        moment = dt.datetime.fromisoformat(raw)
        local = moment.astimezone(clock.time_zone) if moment.tzinfo else moment
    except (ValueError, OverflowError):
        row.fail(field, f"expected an ISO 8601 date and time such as '{date}T10:30:00+01:00', got {raw!r}")
        return None
    if local.date() != date:
        row.fail(field, f"expected a time on {date} (the day under way), got {raw!r}")
        return None
    return clock.from_instant(moment)


#: Columns of actual visits imported from another system (``parse_visits``).
VISIT_REQUIRED = ("id", "rep_id", "store_id", "checked_in", "checked_out")
VISIT_FIELDS = (*VISIT_REQUIRED, "outcome", "order_value", "currency", "note", "steps")
MAX_VISIT_H = 24


def parse_visits(data: Any, *, fmt: str, time_zone: str, policy: Policy | None = None, rep_ids: Collection[str] | None = None,
                 store_ids: Collection[str] | None = None, source: str = "visits") -> list:
    """Visits reps made, from another system (CSV text or a JSON list of objects), as
    ``routing.followup.MadeVisit``s: the visit's ``id``, ``rep_id``, ``store_id``,
    ``checked_in`` and ``checked_out`` (ISO 8601; without an offset, in ``time_zone``), and
    optionally ``outcome`` (order, no_order, refused), ``order_value`` (an order's) and its
    ``currency``, ``note`` and the checklist's ``steps`` (a list, or ';'-separated in CSV), checked
    as a check-out's. Reps and stores must be among ``rep_ids`` and ``store_ids`` if given; an
    id twice is refused. Raises one ``InputError`` naming each bad row and field."""
    from .followup import MadeVisit

    problems: list[InputProblem] = []
    zone = ZoneInfo(time_zone)
    visits = []
    seen: set[str] = set()
    for row in _ROW_READERS[fmt](data, source, VISIT_REQUIRED, problems):
        before = len(problems)
        if unknown := sorted(set(row.values) - set(VISIT_FIELDS)):
            row.fail(unknown[0], f"unknown column; expected some of {', '.join(VISIT_FIELDS)}")
        vid, rep_id, store_id = row.identifier("id"), row.identifier("rep_id"), row.identifier("store_id")
        if vid is not None and vid in seen:
            row.fail("id", f"visit {vid!r} is given twice")
        seen.add(vid)
        if rep_id is not None and rep_ids is not None and rep_id not in rep_ids:
            row.fail("rep_id", f"no rep {rep_id!r} here")
        if store_id is not None and store_ids is not None and store_id not in store_ids:
            row.fail("store_id", f"no store {store_id!r}")
        start, end = _instant(row, "checked_in", zone), _instant(row, "checked_out", zone)
        if start is not None and end is not None and not dt.timedelta(0) <= end - start <= dt.timedelta(hours=MAX_VISIT_H):
            row.fail("checked_out", f"expected a time from the check-in to {MAX_VISIT_H} h after it, got {row.text('checked_out')!r}")
        currency = row.text("currency").upper() or None
        if currency is not None and not re.fullmatch(r"[A-Z]{3}", currency):
            row.fail("currency", f"expected a three-letter code such as EUR, got {row.text('currency')[:20]!r}")
        report = _visit_report(row, "visit_done", policy)
        if len(problems) == before:
            visits.append(MadeVisit(vid, rep_id, store_id, start.astimezone(zone).date(), start, end,
                                    report.outcome if report else None, report.order_value if report else None,
                                    report.steps if report else (), note=report.note if report else "", currency=currency))
    if problems:
        raise InputError(problems)
    return visits


TARGET_FIELDS = ("month", "rep_id", "area", "order_value", "visits")


def parse_targets(data: Any, *, fmt: str, rep_ids: Collection[str] | None = None, source: str = "targets") -> list:
    """Monthly targets (``routing.followup.Target``) from CSV text or a JSON list: ``month``
    (YYYY-MM), a ``rep_id`` or an ``area`` (one of them), and its ``order_value`` and/or
    ``visits``. A month's rep or area twice is refused."""
    from .followup import Target

    problems: list[InputProblem] = []
    out, seen = [], set()
    for row in _ROW_READERS[fmt](data, source, ("month",), problems):
        before = len(problems)
        if unknown := sorted(set(row.values) - set(TARGET_FIELDS)):
            row.fail(unknown[0], f"unknown column; expected some of {', '.join(TARGET_FIELDS)}")
        month = row.required("month")
        if month is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
            row.fail("month", f"expected a month such as 2026-12, got {month[:20]!r}")
        rep_id, area = row.identifier("rep_id", required=False), row.text("area") or None
        if (rep_id is None) == (area is None):
            row.fail("rep_id", "give a rep_id or an area (one of them)")
        elif rep_id is not None and rep_ids is not None and rep_id not in rep_ids:
            row.fail("rep_id", f"no rep {rep_id!r} here")
        if area is not None and len(area) > MAX_AREA_LEN:
            row.fail("area", f"at most {MAX_AREA_LEN} characters, got {len(area)}")
        value, visits = row.number("order_value", lo=0, hi=1e15), row.number("visits", lo=0, hi=10**7, integer=True)
        if value is None and visits is None and len(problems) == before:
            row.fail("order_value", "give an order_value, visits or both")
        if (month, rep_id, area) in seen:
            row.fail("month", f"a second target for {rep_id or area} in {month}")
        seen.add((month, rep_id, area))
        if len(problems) == before:
            out.append(Target(month, rep_id, area, value, visits))
    if problems:
        raise InputError(problems)
    return out


def _instant(row: _Row, field: str, zone: ZoneInfo) -> dt.datetime | None:
    """An ISO 8601 date and time; without an offset, in ``zone``."""
    raw = row.required(field)
    if raw is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(raw)
    except (ValueError, OverflowError):
        row.fail(field, f"expected an ISO 8601 date and time such as '2026-12-07T10:30:00+01:00', got {raw[:40]!r}")
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def event_to_dict(event, date: dt.date, time_zone: str) -> dict:
    """An event as JSON (``parse_events`` reads it back)."""
    zone = ZoneInfo(time_zone)
    out = {"kind": event.kind, "time": _iso(date, event.time_s, zone)}
    for name in ("rep_id", "store_id", "lat", "lon", "minutes", "priority"):
        if getattr(event, name) is not None:
            out[name] = getattr(event, name)
    if event.latest_s is not None:
        out["latest"] = _iso(date, event.latest_s, zone)
    if event.store is not None:
        out["store"] = {k: v for k, v in store_record(event.store).items() if v is not None}
    if event.report is not None:
        report = event.report
        out |= {"outcome": report.outcome} | ({"order_value": report.order_value} if report.order_value is not None else {}) \
            | ({"note": report.note} if report.note else {}) | ({"steps": list(report.steps)} if report.steps else {})
    return out


def diff_to_dict(diff, date: dt.date, time_zone: str) -> dict:
    """A re-plan's ``Diff`` as JSON: the lists as they are, ETAs as ISO 8601 times."""
    zone = ZoneInfo(time_zone)
    etas = [{"store_id": e["store_id"], "rep_id": e["rep_id"],
             "before": None if e["before_s"] is None else _iso(date, e["before_s"], zone),
             "after": _iso(date, e["after_s"], zone)} for e in diff.etas]
    return {"moved": list(diff.moved), "reordered": list(diff.reordered), "carried": list(diff.carried),
            "added": list(diff.added), "dropped": list(diff.dropped), "etas": etas,
            "moved_visits": diff.moved_visits}
