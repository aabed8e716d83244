"""A rep's routes: one date (JSON, GeoJSON, HTML map), several dates, and a calendar feed.

Route answers carry an ``ETag``; a phone that sends it back in ``If-None-Match`` gets 304."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Annotated, Literal, NamedTuple

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from .. import auth, plans
from ..deps import PrincipalDep, SessionDep, allow, read_db, require_rep_access
from ..models import Plan, RepRow, RouteRow
from ..models import Visit as VisitRow
from ..problems import ProblemError, responses
from ..schemas import CACHED_HEADERS, ROUTE_GEOJSON, CalendarKeyOut, LastVisitOut, RouteOut
from .plans import render_map

router = APIRouter(prefix="/v1/reps/{rep_id}", tags=["routes"])
READERS = ("admin", "supervisor", "rep")
MAX_DAYS = 62


def _date(request: Request, session, text: str) -> dt.date:
    date = plans.resolve_date(session, text, request.app.state.clock())
    if date is None:
        raise ProblemError(422, f"date: expected YYYY-MM-DD, 'today' or 'tomorrow', got {text!r}")
    return date


def route_body(session, plan: Plan, rep_id: str, date: str, row: RouteRow | None) -> dict:
    """A route as the API shows it: stops with the stores' names, classes, hours and places
    (the plan's stores and those its urgent visits brought, ``plans.store_data``)."""
    stops = row.data["stops"] if row else []
    left = row.data.get("left", []) if row else []
    stores = plans.store_data(session, plan, {s["store_id"] for s in stops + left if s.get("store_id")})
    rep = plans.plan_reps(session, plan, {rep_id})[0]
    policy = plans.plan_policy(session, plan)
    out = []
    for stop in stops:
        item = dict(stop)
        store = stores.get(stop.get("store_id") or "")
        if store:
            item |= {"lat": store["lat"], "lon": store["lon"], "name": store["name"], "class": store["class"],
                     "opening_hours": store.get("opening_hours", "")}
        else:
            item |= _stop_place(stop["type"], rep, out[-1] if out else None)
        out.append(item)
    summary = row.data["summary"] if row else {"visits": 0, "travel_s": 0, "service_s": 0, "wait_s": 0, "distance_m": 0, "span_s": 0}
    body = {"plan_id": plan.id, "rep_id": rep_id, "date": date, "time_zone": plan.time_zone,
            "version": row.version if row else 0, "day_off": not rep.works_on(dt.date.fromisoformat(date)),
            "stops": out, "summary": summary,
            "left": [item | {"name": stores[item["store_id"]]["name"]} if item["store_id"] in stores else item for item in left],
            "checklists": {c.name: {"steps": list(c.checklist), "focus_step": c.focus_step} for c in policy.classes.values()},
            "new_store_class": min(policy.classes.values(), key=lambda c: c.priority).name}
    if row is not None and row.data.get("resume"):
        body["resume"] = row.data["resume"]
    return body


def _stop_place(stop_type: str, rep, previous: dict | None) -> dict[str, float]:
    """Where a stop without a known store is: the start at the rep's start, the end at its end
    (its start when it ends at home); a break, or a visit to a store the service does not know,
    where the rep was before it."""
    if stop_type == "end":
        return {"lat": rep.end_lat, "lon": rep.end_lon}
    if stop_type == "start" or previous is None:
        return {"lat": rep.start_lat, "lon": rep.start_lon}
    return {"lat": previous["lat"], "lon": previous["lon"]}


class Rendered(NamedTuple):
    """An answer as sent: its JSON text and ETag. The route cache keeps these (a route's text
    is a few KB; its parsed body would take about four times that)."""

    content: str
    etag: str

    def body(self):
        return json.loads(self.content)


def _etag(content: str) -> str:
    return '"' + hashlib.sha256(content.encode()).hexdigest()[:32] + '"'


def _render(body: dict | list) -> Rendered:
    content = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return Rendered(content, _etag(content))


def _route(request: Request, session, principal, rep_id: str, date: dt.date) -> tuple[plans.RouteStamp, Rendered]:
    """``_lookup`` for a caller who may read ``rep_id``'s routes."""
    require_rep_access(principal, rep_id)
    return _lookup(request, session, rep_id, date)


def _lookup(request: Request, session, rep_id: str, date: dt.date) -> tuple[plans.RouteStamp, Rendered]:
    """The rep's route on ``date``, rendered; from this process's route cache while the plan
    and route version it was made from are still the ones that date resolves to (one small
    query, ``plans.route_stamp``, per call)."""
    stamp = plans.route_stamp(session, rep_id, date)
    if stamp is None:
        raise ProblemError(404, f"no published plan holds {date}")
    cache = request.app.state.route_cache
    rendered = cache.get(stamp)
    if rendered is None:
        plan = session.get(Plan, stamp.plan_id)
        if rep_id not in plan.inputs["reps"]:
            raise ProblemError(404, f"rep {rep_id!r} is not in plan {plan.id}")
        row = session.get(RouteRow, stamp.route_id) if stamp.route_id is not None else None
        rendered = _render(route_body(session, plan, rep_id, stamp.date, row))
        cache.put(stamp, rendered)
    return stamp, rendered


def _cached(request: Request, body: dict | list | str, media_type: str) -> Response:
    """``body`` with an ETag, or 304 if the client has it already."""
    if isinstance(body, str):
        return _answer(request, body, _etag(body), media_type)
    return _answer(request, *_render(body), media_type)


def _answer(request: Request, content: str, etag: str, media_type: str) -> Response:
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    sent = {t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")}
    if etag in sent or "*" in sent:  # weak comparison (RFC 9110 13.1.2)
        return Response(status_code=304, headers=headers)
    return Response(content, media_type=media_type, headers=headers)


def _geojson(request: Request, session, body: dict) -> dict:
    from routing.travel import Point

    roads = request.app.state.road_network(session.get(Plan, body["plan_id"]).network)
    places = [(s["lat"], s["lon"]) for s in body["stops"]]
    line: list[tuple[float, float]] = []
    for a, b in zip(places, places[1:]):
        line += roads.path(Point(*a), Point(*b)) if roads is not None else [a, b]
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [s["lon"], s["lat"]]},
                 "properties": {k: v for k, v in s.items() if k not in ("lat", "lon")} | {"sequence": n}}
                for n, s in enumerate(body["stops"])]
    if len(line) > 1:
        features.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[lon, lat] for lat, lon in line]},
                         "properties": {"kind": "route", "distance_m": body["summary"]["distance_m"]}})
    meta = {k: v for k, v in body.items() if k != "stops"}
    return {"type": "FeatureCollection", "features": features, "properties": meta}


def _cached_responses(ok: dict, *codes: int) -> dict:
    """OpenAPI responses of an answer with an ETag: ``ok`` (the 200's), the 304, the problems."""
    return responses(*codes) | {
        200: ok | {"description": ok.get("description", "OK"), "headers": CACHED_HEADERS},
        304: {"description": "Not Modified: the ETag in If-None-Match is current", "headers": CACHED_HEADERS},
    }


_ROUTE_RESPONSES = _cached_responses({"model": RouteOut, "content": {"application/geo+json": {"schema": ROUTE_GEOJSON}}},
                                     401, 403, 404, 422)


@router.get("/routes/{date}", response_model=RouteOut, responses=_ROUTE_RESPONSES, **allow(*READERS))
async def get_route(rep_id: str, date: str, request: Request, principal: PrincipalDep,
                    format: Literal["json", "geojson"] = "json",
                    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Response:
    """The rep's route on ``date`` (YYYY-MM-DD, ``today`` or ``tomorrow`` in the plan's time
    zone) from the published plan: stops with ETAs, each store's name, class, opening hours
    and place, and the totals. ``format=geojson``: the stops and the road-following line.
    A day re-planned after events has several versions: the latest by default, an earlier
    one with ``version``. Stops of a day under way carry a ``status`` (done, under_way,
    next) and ``reported`` (the rep's own times)."""
    # GeoJSON follows the roads (the first call loads the road network): not in the event loop
    return await read_db(request, _get_route, request, principal, rep_id, date, format, version, in_loop=format == "json")


def _get_route(session, request: Request, principal, rep_id: str, date: str, format: str, version: int | None = None) -> Response:
    stamp, rendered = _route(request, session, principal, rep_id, _date(request, session, date))
    if version is not None:
        row = session.scalar(select(RouteRow).where(RouteRow.plan_id == stamp.plan_id, RouteRow.rep_id == rep_id,
                                                    RouteRow.date == stamp.date, RouteRow.version == version))
        if row is None:
            raise ProblemError(404, f"rep {rep_id!r} has no version {version} of its route on {stamp.date}")
        rendered = _render(route_body(session, session.get(Plan, stamp.plan_id), rep_id, stamp.date, row))
    if format == "geojson":
        return _cached(request, _geojson(request, session, rendered.body()), "application/geo+json")
    return _answer(request, rendered.content, rendered.etag, "application/json")


@router.get("/routes/{date}/last-visits", response_model=list[LastVisitOut], responses=responses(401, 403, 404, 422),
            **allow(*READERS))
def get_last_visits(rep_id: str, date: str, request: Request, session: SessionDep, principal: PrincipalDep) -> list[LastVisitOut]:
    """For each store on the rep's route on ``date``, its last visit reported before that
    date (by any rep): outcome, order value, note and checklist, for the review before the
    visit. Stores never reported on are left out."""
    day = _date(request, session, date)
    _, rendered = _route(request, session, principal, rep_id, day)
    store_ids = {s["store_id"] for s in rendered.body()["stops"] if s.get("store_id")}
    rows = session.scalars(select(VisitRow).where(VisitRow.store_id.in_(store_ids), VisitRow.date < day.isoformat(),
                                                  VisitRow.outcome.is_not(None))
                           .order_by(VisitRow.date.desc(), VisitRow.checked_out_at.desc()))
    last: dict[str, VisitRow] = {}
    for row in rows:
        last.setdefault(row.store_id, row)
    return [LastVisitOut(store_id=r.store_id, date=r.date, rep_id=r.rep_id, checked_out_at=r.checked_out_at, outcome=r.outcome,
                         order_value=r.order_value, note=r.note, steps=r.steps) for r in sorted(last.values(), key=lambda r: r.store_id)]


@router.get("/routes/{date}/map", response_class=HTMLResponse, responses=_cached_responses({}, 401, 403, 404, 422),
            **allow(*READERS))
def get_route_map(rep_id: str, date: str, request: Request, session: SessionDep, principal: PrincipalDep) -> Response:
    """The rep's route on ``date`` as an HTML map (opens in a browser after /login)."""
    day = _date(request, session, date)
    stamp, _ = _route(request, session, principal, rep_id, day)
    plan = session.get(Plan, stamp.plan_id)
    return _cached(request, render_map(request, session, plan, day.isoformat(), frozenset({rep_id})), "text/html")


@router.get("/routes", response_model=list[RouteOut], responses=_cached_responses({}, 401, 403, 422), **allow(*READERS))
def get_routes(rep_id: str, request: Request, session: SessionDep, principal: PrincipalDep,
               from_: Annotated[str, Query(alias="from")] = "today", to: str = "tomorrow") -> Response:
    """The rep's routes from ``from`` to ``to`` (inclusive, at most 62 days), so a phone can go
    offline: dates without a published plan are left out."""
    first, last = _date(request, session, from_), _date(request, session, to)
    if last < first or (last - first).days >= MAX_DAYS:
        latest = first + dt.timedelta(days=min(MAX_DAYS - 1, (dt.date.max - first).days))
        raise ProblemError(422, f"to: expected a date from {first} to {latest}, got {last}")
    require_rep_access(principal, rep_id)
    days = []
    for n in range((last - first).days + 1):
        try:
            days.append(_lookup(request, session, rep_id, first + dt.timedelta(days=n))[1].body())
        except ProblemError as exc:
            if exc.status != 404:
                raise
    return _cached(request, days, "application/json")


@router.post("/calendar-key", response_model=CalendarKeyOut, responses=responses(401, 403, 404), **allow(*READERS))
def new_calendar_key(rep_id: str, request: Request, session: SessionDep, principal: PrincipalDep) -> CalendarKeyOut:
    """A new secret address of the rep's calendar feed (the old one stops working): calendar
    apps send no headers, so the key is in the URL."""
    require_rep_access(principal, rep_id)
    if session.get(RepRow, rep_id) is None:
        raise ProblemError(404, f"no rep {rep_id!r}")
    key = auth.new_calendar_key(session, rep_id)
    session.commit()
    url = str(request.url_for("calendar_feed", rep_id=rep_id).include_query_params(key=key))
    return CalendarKeyOut(rep_id=rep_id, url=url)


@router.delete("/calendar-key", status_code=204, responses=responses(401, 403, 404), **allow(*READERS))
def revoke_calendar_key(rep_id: str, session: SessionDep, principal: PrincipalDep) -> Response:
    """Revoke the rep's calendar feed address."""
    require_rep_access(principal, rep_id)
    if not auth.revoke_calendar_key(session, rep_id):
        raise ProblemError(404, f"rep {rep_id!r} has no calendar key")
    session.commit()
    return Response(status_code=204)


CALENDAR_PAST_DAYS = 14


@router.get("/calendar.ics", name="calendar_feed", response_class=Response, responses=_cached_responses(
    {"content": {"text/calendar": {"schema": {"type": "string"}}}}, 401, 404), openapi_extra={"x-roles": ["calendar key"]})
def calendar_feed(rep_id: str, request: Request, session: SessionDep, key: str = "") -> Response:
    """The rep's published visits (from two weeks ago on) as an iCalendar feed a phone's
    calendar can subscribe to; ``key`` comes from ``POST .../calendar-key``."""
    from icalendar import Calendar, Event

    if not key or not auth.calendar_key_valid(session, rep_id, key):
        raise ProblemError(401, "the calendar key is unknown or revoked")
    today = plans.local_today(session, request.app.state.clock())
    cal = Calendar()
    cal.add("prodid", "-//Fieldroute//visits//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"Visits {rep_id}")
    for n in range(CALENDAR_PAST_DAYS + 7 * 13):
        date = today + dt.timedelta(days=n - CALENDAR_PAST_DAYS)
        try:  # the same cached answers as the route endpoint
            stamp, rendered = _lookup(request, session, rep_id, date)
        except ProblemError:  # no published plan holds the date, or the rep is not in it
            continue
        plan = session.get(Plan, stamp.plan_id)
        for stop in rendered.body()["stops"]:
            if stop["type"] != "visit":
                continue
            event = Event()
            event.add("uid", f"{plan.id}-{rep_id}-{date}-{stop['store_id']}@fieldroute")
            name = stop.get("name") or f"store {stop['store_id']}"  # a store the service does not know: its id
            event.add("summary", f"Visit {name}" + (f" ({stop['class']})" if stop.get("class") else ""))
            event.add("dtstart", dt.datetime.fromisoformat(stop["start"]).astimezone(dt.timezone.utc))
            event.add("dtend", dt.datetime.fromisoformat(stop["end"]).astimezone(dt.timezone.utc))
            event.add("dtstamp", plan.published_at or plan.created_at)  # stable, so the ETag is
            event.add("geo", (stop["lat"], stop["lon"]))
            event.add("description", f"Store {stop['store_id']}; opening hours {stop.get('opening_hours') or 'always'}")
            cal.add_component(event)
    return _cached(request, cal.to_ical().decode(), "text/calendar")
