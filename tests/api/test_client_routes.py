"""The paths a phone and a supervisor's screen walk, driven as a client would, every answer
checked against the published OpenAPI schema: a route and its road line (every stop has a
place), an urgent visit to a new store (its place, name, class and hours on every page that
shows the day), and the day's events log."""

from __future__ import annotations

import csv
import datetime as dt
import io
from urllib.parse import urlsplit

import httpx
import pytest

from api import plans
from api.clock import ServiceClock
from api.models import RouteRow

from .conftest import busiest_rep_day, load_team, make_token, plan_and_publish
from .openapi_check import SchemaViolation, check, check_response, path_template

REPS = ("R1", "R2", "R3", "R4")
NEW_STORE = {"id": "NEW1", "name": "Pop-up kiosk", "lat": 43.738, "lon": 7.424, "class": "B",
             "opening_hours": "Mo-Su 07:00-21:00"}


class Client:
    """The TestClient with the published schema: every answer it gets is checked."""

    def __init__(self, client):
        self.client = client
        self.schema = client.get("/openapi.json").json()

    def get(self, url: str, headers: dict, **params):
        response = self.client.get(url, headers=headers, params=params or None)
        check(self.schema, response)
        return response

    def post(self, url: str, headers: dict, body=None, **params):
        response = self.client.post(url, headers=headers, json=body, params=params or None)
        check(self.schema, response)
        return response


class Day:
    """A published week from Monday; its busiest rep-day, with the service's clock set a
    minute into that rep's first visit (the rest of its day still to come)."""

    def __init__(self, app, client, admin):
        load_team(client, admin)
        self.plan = plan_and_publish(client, admin, time_limit_s=2)
        self.api, self.admin = Client(client), admin
        self.date, self.rep_id, visits = busiest_rep_day(client, admin, REPS)
        assert len(visits) >= 3
        self.now = dt.datetime.fromisoformat(visits[0]["start"]) + dt.timedelta(minutes=1)
        app.state.clock = ServiceClock(self.now)

    def at(self, minutes: float = 0) -> str:
        """An event time ``minutes`` after the clock was set (negative: before)."""
        return (self.now + dt.timedelta(minutes=minutes)).isoformat()

    def clock(self) -> str:
        """The service's now (its clock runs on from where it was set), in the plan's zone."""
        return self.api.client.app.state.clock().astimezone(self.now.tzinfo).isoformat()

    def route(self, rep_id: str, headers: dict | None = None, **params) -> dict | list:
        r = self.api.get(f"/v1/reps/{rep_id}/routes/{self.date}", headers or self.admin, **params)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture
def day(app, client, admin) -> Day:
    return Day(app, client, admin)


def _places(geojson: dict) -> list[tuple[str, list]]:
    return [(f["geometry"]["type"], f["geometry"]["coordinates"]) for f in geojson["features"]]


def _numbers(coordinates) -> bool:
    if isinstance(coordinates, list) and coordinates and isinstance(coordinates[0], list):
        return all(_numbers(c) for c in coordinates)
    return len(coordinates) == 2 and all(isinstance(x, float | int) and not isinstance(x, bool) for x in coordinates)


def test_the_path_template_of_a_url(client):
    """A concrete URL maps to its operation's path template; a literal segment wins."""
    schema = Client(client).schema
    assert path_template(schema, "/v1/reps/R1/routes/today?format=geojson") == "/v1/reps/{rep_id}/routes/{date}"
    assert path_template(schema, "/v1/stores/import") == "/v1/stores/import"
    assert path_template(schema, "/v1/stores/N1") == "/v1/stores/{store_id}"


def test_the_checker_refuses_what_the_schema_does_not_list(client):
    """The checker passes a listed answer and refuses an unlisted status, an unlisted
    content type, and a body its schema does not allow."""
    schema = Client(client).schema
    check(schema, client.get("/v1/plans/1"))  # 401, listed, a problem+json body
    operation = "/v1/plans/{plan_id}"
    for status, headers, body in [(418, {"content-type": "application/json"}, b"{}"),
                                  (401, {"content-type": "text/html"}, b"<p>no</p>"),
                                  (401, {"content-type": "application/problem+json"}, b'{"title": 1, "status": 401}'),
                                  (401, {"content-type": "application/problem+json"}, b"not json")]:
        with pytest.raises(SchemaViolation):
            check_response(schema, "GET", operation, httpx.Response(status, headers=headers, content=body))


def test_every_stop_has_a_place_and_the_road_line_answers(day):
    """Item 1: the end stop of a rep who ends at home is its home (not null), on every
    route, several days and the GeoJSON; every answer valid for the schema."""
    for rep_id in REPS:
        rep = day.api.get(f"/v1/reps/{rep_id}", day.admin).json()
        assert rep["end_lat"] is None  # the demo's reps end their day at home
        home = (rep["start_lat"], rep["start_lon"])
        route = day.route(rep_id)
        if not route["stops"]:
            continue
        start, end = route["stops"][0], route["stops"][-1]
        assert (start["type"], end["type"]) == ("start", "end")
        assert (start["lat"], start["lon"]) == (end["lat"], end["lon"]) == home
        geo = day.route(rep_id, format="geojson")
        assert geo["type"] == "FeatureCollection" and all(_numbers(c) for _, c in _places(geo))
        assert [c for kind, c in _places(geo) if kind == "Point"] == [[s["lon"], s["lat"]] for s in route["stops"]]
    several = day.api.get(f"/v1/reps/{day.rep_id}/routes", day.admin, **{"from": str(day.date), "to": str(day.date + dt.timedelta(days=2))})
    assert several.status_code == 200 and several.json()[0]["date"] == str(day.date)
    # A rep re-planned after an event: its new version's stops have places too.
    rep = make_token(day.api.client.app, "rep", day.rep_id)
    r = day.api.post(f"/v1/reps/{day.rep_id}/routes/{day.date}/events", rep, {"kind": "position", "time": day.at()})
    assert r.status_code == 200, r.text
    assert all(isinstance(s["lat"], float) for s in r.json()["route"]["stops"])
    assert day.route(day.rep_id, rep, format="geojson")["properties"]["version"] == 2


def _find(day: Day, store_id: str) -> tuple[str, dict]:
    """The rep whose route of the day visits ``store_id``, and the stop."""
    for rep_id in REPS:
        for stop in day.route(rep_id)["stops"]:
            if stop.get("store_id") == store_id:
                return rep_id, stop
    raise AssertionError(f"{store_id} is on no route of {day.date}")


def _shows_the_store(day: Day, rep_id: str, store: dict) -> None:
    """Every page of the day shows ``store`` (a new store of an urgent visit) where it is."""
    api, admin = day.api, day.admin
    _, stop = _find(day, store["id"])
    assert (stop["lat"], stop["lon"]) == (store["lat"], store["lon"])
    assert (stop["name"], stop["class"], stop["opening_hours"]) == (store["name"], store["class"], store["opening_hours"])
    geo = day.route(rep_id, format="geojson")
    point = next(f for f in geo["features"] if f["properties"].get("store_id") == store["id"])
    assert point["geometry"]["coordinates"] == [store["lon"], store["lat"]] and point["properties"]["name"] == store["name"]
    for url in (f"/v1/reps/{rep_id}/routes/{day.date}/map", f"/v1/plans/{day.plan['id']}/map?date={day.date}"):
        page = api.get(url, admin)
        assert page.status_code == 200 and store["name"] in page.text, url
    key = api.post(f"/v1/reps/{rep_id}/calendar-key", admin)
    assert key.status_code == 200
    feed = api.get(urlsplit(key.json()["url"]).path + "?" + urlsplit(key.json()["url"]).query, {})
    assert feed.status_code == 200 and f"Visit {store['name']} ({store['class']})" in feed.text
    export = api.get(f"/v1/plans/{day.plan['id']}/export.csv", admin)
    assert export.status_code == 200
    rows = [r for r in csv.DictReader(io.StringIO(export.text)) if r["store_id"] == store["id"]]
    assert rows and rows[0]["store_name"] == store["name"] and rows[0]["class"] == store["class"]
    for url in ("/v1/territories", "/v1/territories?format=geojson", "/v1/territories/map"):  # the plan's workloads
        assert api.get(url, admin).status_code == 200, url


def test_an_urgent_visit_to_a_new_store_is_shown_where_the_store_is(day):
    """Item 2: a rep's urgent visit to a new store, then a supervisor's to another: each stop
    has the new store's place, name, class and hours on the route, the GeoJSON, both maps,
    the calendar feed and the export."""
    rep = make_token(day.api.client.app, "rep", day.rep_id)
    r = day.api.post(f"/v1/reps/{day.rep_id}/routes/{day.date}/events", rep,
                     {"kind": "urgent_visit", "time": day.at(), "store_id": "NEW1", "store": NEW_STORE})
    assert r.status_code == 200, r.text
    rep_id, _ = _find(day, "NEW1")
    _shows_the_store(day, rep_id, NEW_STORE)
    other = NEW_STORE | {"id": "NEW2", "name": "Market stall", "lat": 43.7401, "lon": 7.4262, "class": "C", "opening_hours": ""}
    supervisor = make_token(day.api.client.app, "supervisor")
    r = day.api.post(f"/v1/plans/{day.plan['id']}/events", supervisor,
                     {"kind": "urgent_visit", "time": day.clock(), "store_id": "NEW2", "store": other})
    assert r.status_code == 200, r.text
    rep_id, _ = _find(day, "NEW2")
    _shows_the_store(day, rep_id, other)


def test_a_stop_whose_store_is_unknown_is_never_a_500(day):
    """A route version whose visit names a store the service does not know (none should,
    but a renderer must not fail the day): every page of the day still answers."""
    app = day.api.client.app
    with app.state.sessions() as s:
        row = plans.route_row(s, day.plan["id"], day.rep_id, str(day.date))
        stops = [dict(st) for st in row.data["stops"]]
        visit = next(st for st in reversed(stops) if st["type"] == "visit")
        visit["store_id"] = "GHOST"
        s.add(RouteRow(plan_id=row.plan_id, rep_id=row.rep_id, date=row.date, version=row.version + 1,
                       data=dict(row.data, stops=stops)))
        s.commit()
    route = day.route(day.rep_id)
    ghost = next(st for st in route["stops"] if st.get("store_id") == "GHOST")
    assert isinstance(ghost["lat"], float) and isinstance(ghost["lon"], float)
    assert day.route(day.rep_id, format="geojson")["type"] == "FeatureCollection"
    for url in (f"/v1/reps/{day.rep_id}/routes/{day.date}/map", f"/v1/plans/{day.plan['id']}/map?date={day.date}",
                f"/v1/plans/{day.plan['id']}/export.csv"):
        assert day.api.get(url, day.admin).status_code == 200, url
    key = day.api.post(f"/v1/reps/{day.rep_id}/calendar-key", day.admin).json()["url"]
    assert day.api.get(urlsplit(key).path + "?" + urlsplit(key).query, {}).status_code == 200


def test_a_supervisor_reads_the_days_events(day):
    """Item 8: ``GET /v1/plans/{id}/events``: each stored event in the order received, with
    its kind, times, rep, store, who posted it, when, and the route versions its post wrote;
    filtered by date and rep; a team supervisor sees its reps' events and those without a
    rep, never another rep's."""
    api, app, plan_id = day.api, day.api.client.app, day.plan["id"]
    url = f"/v1/plans/{plan_id}/events"
    supervisor = make_token(app, "supervisor")
    empty = api.get(url, supervisor)
    assert empty.status_code == 200 and empty.json()["items"] == [] and empty.json()["count"] == 0
    rep = make_token(app, "rep", day.rep_id)
    posted = api.post(f"/v1/reps/{day.rep_id}/routes/{day.date}/events", rep,
                      [{"kind": "position", "time": day.at(-0.5), "lat": 43.7301, "lon": 7.4201},
                       {"kind": "urgent_visit", "time": day.at(), "store_id": "NEW1", "store": NEW_STORE, "latest": "16:00",
                        "priority": 5}])
    assert posted.status_code == 200, posted.text
    later = day.route(day.rep_id)["stops"]
    closed = next(s["store_id"] for s in reversed(later) if s["type"] == "visit" and s["store_id"] != "NEW1")
    by_supervisor = api.post(url, supervisor, {"kind": "store_closed", "time": day.clock(), "store_id": closed})
    assert by_supervisor.status_code == 200, by_supervisor.text

    log = api.get(url, supervisor, date=str(day.date))
    assert log.status_code == 200
    items = log.json()["items"]
    assert log.json()["count"] == 3 and [e["kind"] for e in items] == ["position", "urgent_visit", "store_closed"]
    assert [e["id"] for e in items] == sorted(e["id"] for e in items)
    applied = posted.json()["applied"] + by_supervisor.json()["applied"]
    for event, sent in zip(items, applied):
        assert dt.datetime.fromisoformat(event["time"]) == dt.datetime.fromisoformat(sent["time"])
        assert event["time"].endswith(day.now.isoformat()[-6:])  # in the plan's zone, as the post answered
        assert (event["plan_id"], event["date"]) == (plan_id, str(day.date))
        assert event.get("rep_id") == sent.get("rep_id") and event.get("store_id") == sent.get("store_id")
        assert dt.datetime.fromisoformat(event["received_at"]).tzinfo is not None
    position, urgent, store_closed = items
    assert (position["lat"], position["lon"]) == (43.7301, 7.4201)
    assert urgent["store"]["name"] == NEW_STORE["name"] and urgent["priority"] == 5
    assert dt.datetime.fromisoformat(urgent["latest"]).strftime("%H:%M") == "16:00"
    assert position["by"] == urgent["by"] == "rep:test rep" and store_closed["by"] == "supervisor:test supervisor"
    assert position["routes"] == urgent["routes"] == posted.json()["routes"] != []
    assert store_closed["routes"] == by_supervisor.json()["routes"]
    assert store_closed.get("rep_id") is None

    # Filters: a rep's events, another date, paging.
    mine = api.get(url, supervisor, rep_id=day.rep_id).json()["items"]
    assert [e["kind"] for e in mine] == ["position", "urgent_visit"]
    other_day = day.date + dt.timedelta(days=1 if day.date.weekday() < 4 else -1)
    assert api.get(url, supervisor, date=str(other_day)).json()["items"] == []
    page = api.get(url, supervisor, offset=1, limit=1).json()
    assert page["count"] == 3 and [e["kind"] for e in page["items"]] == ["urgent_visit"]
    # A supervisor of another team sees the event without a rep, never this rep's.
    others = [r for r in REPS if r != day.rep_id]
    team = make_token(app, "supervisor", team=others)
    seen = api.get(url, team).json()["items"]
    assert [e["kind"] for e in seen] == ["store_closed"] and all(v["rep_id"] in others for v in seen[0]["routes"])
    assert api.get(url, team, rep_id=day.rep_id).status_code == 403
    # Refused: a rep, an unknown plan, a bad date, a date outside the cycle.
    assert api.get(url, rep).status_code == 403
    assert api.get(f"/v1/plans/{plan_id + 100}/events", supervisor).status_code == 404
    assert api.get(url, supervisor, date="2026-13-01").status_code == 422
    assert api.get(url, supervisor, date="2027-06-01").status_code == 422
