"""Request and response shapes (pydantic), which are also the OpenAPI schema.

Store and rep bodies are documented here but validated by ``routing.io`` (one path for CSV
rows, GeoJSON features and JSON bodies, with the CLI's messages)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, UrlConstraints, field_validator

from routing.events import EventKind, Outcome

T = TypeVar("T")


class StoreRecord(BaseModel):
    """A store: the columns of the stores file."""

    model_config = ConfigDict(populate_by_name=True)
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    store_class: str = Field(alias="class", min_length=1, description="one of the policy's classes")
    opening_hours: str = Field("", description="OpenStreetMap opening_hours, e.g. 'Mo-Sa 08:00-19:00'; empty = always open")
    service_min: float | None = Field(None, ge=0, description="visit minutes; default: the class's")
    rep_id: str | None = Field(None, description="the owner rep (a territory is hard in planning)")
    demand: int = 0
    area: str = Field("", max_length=100, description="a free area name (片区, e.g. a district): reports group by it")


class RepRecord(BaseModel):
    """A rep: the columns of the reps file (times HH:MM, dates ISO)."""

    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    start_lat: float = Field(ge=-90, le=90)
    start_lon: float = Field(ge=-180, le=180)
    end_lat: float | None = Field(None, ge=-90, le=90)
    end_lon: float | None = Field(None, ge=-180, le=180)
    shift_start: str | None = Field(None, examples=["08:30"])
    shift_end: str | None = Field(None, examples=["17:30"])
    break_start: str | None = None
    break_end: str | None = None
    break_min: int | None = None
    working_days: str | None = Field(None, examples=["Mo-Fr"])
    max_visits: int | None = None
    capacity: int | None = None
    days_off: str | None = Field(None, examples=["2026-12-24;2026-12-28..2026-12-31"])


class Versioned(BaseModel):
    version: int
    active: bool
    updated_at: dt.datetime


class StoreOut(StoreRecord, Versioned):
    pass


class RepOut(RepRecord, Versioned):
    pass


class Page(BaseModel, Generic[T]):
    items: list[T]
    count: int = Field(description="how many match in all")
    offset: int
    limit: int


class ImportResult(BaseModel):
    """What an import did, or with dry_run would do."""

    added: list[str]
    changed: list[str]
    deactivated: list[str]
    unchanged: int
    dry_run: bool


class VisitIn(BaseModel):
    """A visit a rep made, as another system sends it (times ISO 8601; without an offset, the
    plans' time zone)."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(max_length=200, description="the visit's id in the other system: importing it again replaces it")
    rep_id: str = Field(max_length=200)
    store_id: str = Field(max_length=200)
    checked_in: dt.datetime
    checked_out: dt.datetime
    outcome: Outcome | None = None
    order_value: float | None = Field(None, ge=0, description="an order's value")
    currency: str | None = Field(None, pattern="^[A-Za-z]{3}$")
    note: str | None = Field(None, max_length=500)
    steps: list[str] | None = Field(None, max_length=30, description="the checklist's steps done")


class TargetIn(BaseModel):
    """A month's target of a rep or an area (one of them): order value and/or visits."""

    model_config = ConfigDict(extra="forbid")
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")
    rep_id: str | None = None
    area: str | None = None
    order_value: float | None = Field(None, ge=0)
    visits: int | None = Field(None, ge=0)


class VisitImportOut(BaseModel):
    """What a visits import did, or with dry_run would do."""

    received: int
    added: int
    changed: int
    unchanged: int
    dry_run: bool


class ChangeOut(BaseModel):
    previous: float | None = Field(description="the value in the period of the same length just before")
    change: float | None = Field(description="(now - previous) / previous: 0.1 is +10 %")


class ReportRowOut(BaseModel):
    """The method's numbers for one group over a period (``routing.followup.ReportRow``):
    planned against made, the formula sales = covered x active rate x average order, the four
    opportunity KPIs (coverage, survival, focus-product rate, order value), and more. Rates
    are null where nothing counts towards them."""

    group: str = Field(description="rep, team, area, class, store or week")
    key: str = Field(description="the rep's id, 'team', the area, the class, the store's id, or the week's Monday")
    planned: int = Field(description="visits the published routes asked for (where re-plans moved them)")
    made: int = Field(description="planned visits made, on their date or another day")
    made_other_day: int
    extra: int = Field(description="made visits matching no planned one")
    missed: int = Field(description="planned, not made, their date over")
    missed_by_reason: dict[str, int] = Field(description="store_closed, rep_unavailable, carried_not_made, not_reported")
    due: int = Field(description="planned for today or later, not made yet")
    stores: int
    covered: int = Field(description="stores made at least once")
    coverage: float | None
    ordering: int = Field(description="stores with an order")
    active_rate: float | None = Field(description="ordering / covered")
    orders: int
    avg_order: float | None = Field(description="order value / orders")
    sales: float = Field(description="the order value (往来金额)")
    formula: float | None = Field(description="covered x active rate x average order")
    survival: float | None = Field(description="stores ordering in this and the period before / those ordering before")
    focus_rate: float | None = Field(description="visits whose ticked checklist has the focus step / visits with ticks")
    checklist_rate: float | None = Field(description="steps ticked / checklist steps, over visits with ticks")
    required: float = Field(description="visits the policy asks of the group's stores in the period")
    frequency: float | None = Field(description="made visits (extra too) / required")
    working_days: int
    visits_per_day: float | None
    orders_per_day: float | None
    planned_service_min: float
    actual_service_min: float
    late_arrivals: int = Field(description="check-ins more than 5 minutes after the planned start")
    far_check_ins: int
    target_order_value: float | None = None
    target_visits: float | None = None
    gap_order_value: float | None = None
    gap_visits: float | None = None
    changes: dict[str, ChangeOut] = Field(description="covered, coverage, active_rate, avg_order, sales, formula, made")


class StoreGapOut(BaseModel):
    """A store not made in the period (or longer ago than its class's spacing)."""

    store_id: str
    store_class: str = Field(alias="class")
    rep_id: str | None
    last_visit: dt.date | None
    days_since: int | None
    spacing_days: float


class RepTodayOut(BaseModel):
    """A rep's day so far: its route's stops by status, the visits made, the visits that left it."""

    rep_id: str
    done: int
    under_way: int
    next: str | None = Field(description="the store the rep is on its way to, or next")
    planned: int = Field(description="visits still ahead")
    made: int = Field(description="visits made today (check-outs, imports)")
    missed: int = Field(description="visits of the day that left every route (closed, the rep unavailable)")


SuggestionKind = Literal["store_service", "class_service", "rep_start", "store_class"]


class SuggestionOut(BaseModel):
    """A change the visits made suggest (PDCA's "Act"): never applied until a supervisor says so.

    ``store_service``: a store's visit minutes; ``class_service``: a class's in the policy;
    ``rep_start``: a rep's shift start (its typical lateness at the first visit);
    ``store_class``: a store's class from an ABC analysis of its orders."""

    id: str = Field(description="stable while the proposal is the same, e.g. 'sg-3f2a9c01b7de'")
    kind: SuggestionKind
    target: str = Field(description="the store's id, the class, or the rep's id")
    title: str = Field(description="the suggestion in plain words")
    current: float | str | None = Field(description="minutes, 'HH:MM', or a class")
    proposed: float | str = Field(description="minutes, 'HH:MM', or a class")
    evidence: dict[str, Any] = Field(description="visits, median, p25, p75 (the spread), and more by kind")
    effect: dict[str, Any] = Field(description="hours_per_cycle (+ adds, - saves), visits_per_cycle, per_rep hours")
    status: Literal["open", "applied", "dismissed"]
    decided_at: dt.datetime | None = None
    decided_by: str | None = None
    changed: dict[str, Any] | None = Field(None, description="what applying wrote: {'store'|'rep'|'policy': id, 'version': n}")


class SuggestionBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(min_length=1, max_length=1000)


class Deleted(BaseModel):
    id: str
    result: str = Field(description="'deleted', or 'deactivated' when a plan was made from it")


class PolicyOut(BaseModel):
    version: int
    created_at: dt.datetime
    policy: dict[str, Any] = Field(description="the policy file as JSON: time_zone, classes, ...")


#: A job's time limit, and the service's maximum.
TIME_LIMIT = ("seconds the search may take (default 30, or FIELDROUTE_MAX_PLAN_TIME_S when that is lower; at most "
              "FIELDROUTE_MAX_PLAN_TIME_S)")


class PlanRequest(BaseModel):
    """A cycle plan to compute (a job). Numbers and booleans in a request body are JSON's own
    (``strict``): ``true`` or ``"5"`` is refused, not read as 1 or 5; an integer is a number."""

    model_config = ConfigDict(extra="forbid")
    start: dt.date
    weeks: int = Field(4, ge=1, le=13, strict=True)
    time_limit_s: float = Field(30.0, gt=0, le=3600, strict=True, description=TIME_LIMIT)
    solution_limit: int | None = Field(None, ge=1, strict=True, description="stop after this many improving solutions "
                                       "(repeatable runs)")
    seed: int = Field(0, ge=0, le=2**31 - 1, strict=True)
    balance: int = Field(0, ge=0, le=100, strict=True)
    holidays: list[dt.date] = Field(default_factory=list, max_length=400)
    by_territory: bool = Field(False, strict=True, description="plan the fleet territory by territory, each on its own "
                               "worker (or Ray task): each rep's owned stores, the others given to the nearest rep "
                               "with room; time_limit_s is shared out by the territories' required hours, at least 5 s "
                               "each (CPU seconds: the job takes about this over the workers). For large fleets (thousands of stores); the job's phase counts the "
                               "territories planned")
    callback_url: Annotated[HttpUrl, UrlConstraints(max_length=2000)] | None = Field(
        None, description="called once with POST {job_id, status, plan_id, error} when the job ends (status succeeded, "
        "failed or cancelled): http or https to a global address, or to a host or network the service allows "
        "(FIELDROUTE_CALLBACK_ALLOW); a redirect is not followed; user:password@ in it is sent as Basic auth")

    @field_validator("start")
    @classmethod
    def _start(cls, value: dt.date) -> dt.date:
        if not dt.date(2000, 1, 1) <= value <= dt.date(2200, 12, 31):
            raise ValueError("expected a start date from 2000-01-01 to 2200-12-31")
        return value


class JobOut(BaseModel):
    id: str
    status: str = Field(description="queued, running, succeeded, failed or cancelled")
    phase: str
    progress: float = Field(ge=0, le=1)
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    error: str | None
    plan_id: int | None
    plan: PlanOut | None = None


class PlanOut(BaseModel):
    """A cycle plan's summary, KPIs, capacity report and missing visits (routes are per rep)."""

    id: int
    status: str = Field(description="draft or published")
    start: dt.date
    end: dt.date
    weeks: int
    time_zone: str
    network: str
    created_at: dt.datetime
    published_at: dt.datetime | None
    job_id: str | None
    inputs: dict[str, Any] = Field(description="the versions of the policy and counts of stores and reps it was made from")
    params: dict[str, Any]
    result: dict[str, Any] = Field(description="summary, KPIs, capacity, suggestions, unassigned visits, check")


class MissingOut(BaseModel):
    """A required visit on no route, with its reason code and the date it should have had."""

    store_id: str
    reason: str = Field(description="a reason code (see the plan's unassigned visits)")
    detail: str
    date: dt.date | None


class StopOut(BaseModel):
    """A line of a rep's day: its start, a visit, a break, its end; every stop has a place."""

    type: Literal["start", "visit", "break", "end"]
    store_id: str | None = Field(None, description="a visit's store (one of the plan's, or a new store of an urgent visit)")
    arrival: dt.datetime
    start: dt.datetime
    end: dt.datetime
    travel_s: int
    distance_m: int
    wait_s: int
    lat: float = Field(description="a visit: its store's; the start: the rep's start; the end: the rep's end (its start "
                       "when it ends at home); a break: where the rep was before it")
    lon: float
    name: str | None = Field(None, description="a visit's store's name (absent for a store the service does not know)")
    store_class: str | None = Field(None, alias="class")
    opening_hours: str | None = Field(None, description="a visit's store's (OpenStreetMap syntax; empty = always open)")
    status: Literal["done", "under_way", "next"] | None = Field(
        None, description="on a day under way: done, under_way or next (frozen stops)")
    reported: bool | None = Field(None, description="the times are the rep's check-in and check-out")


class ResumeOut(BaseModel):
    """Where a re-planned day carries on after its frozen stops."""

    after: int = Field(description="how many stops (the start included) are frozen")
    place: str
    time: dt.datetime = Field(description="when the rep is free there")
    depart: dt.datetime
    lat: float | None = None
    lon: float | None = None


_POSITION = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2, "description": "[lon, lat]"}
#: ``GET .../routes/{date}?format=geojson`` (``application/geo+json``): a Point feature per
#: stop (its properties: the stop's fields but lat and lon, and ``sequence``) and the
#: road-following LineString; the route's other fields in the collection's properties.
ROUTE_GEOJSON: dict[str, Any] = {
    "type": "object", "required": ["type", "features", "properties"], "properties": {
        "type": {"const": "FeatureCollection"},
        "features": {"type": "array", "items": {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
            "type": {"const": "Feature"},
            "geometry": {"oneOf": [
                {"type": "object", "required": ["type", "coordinates"],
                 "properties": {"type": {"const": "Point"}, "coordinates": _POSITION}},
                {"type": "object", "required": ["type", "coordinates"],
                 "properties": {"type": {"const": "LineString"}, "coordinates": {"type": "array", "items": _POSITION, "minItems": 2}}},
            ]},
            "properties": {"type": "object"}}}},
        "properties": {"type": "object", "description": "plan_id, rep_id, date, time_zone, version, summary (, resume)"},
    },
}


_RING = {"type": "array", "items": _POSITION, "minItems": 4, "description": "a closed ring: its last position is its first"}
_WORKLOAD_FIELDS = ("stores", "visits", "service_h", "travel_h", "wait_h", "work_h", "days_used", "available_h", "beyond_h")


class LeftOut(BaseModel):
    """A visit of the published route that a re-plan took off it, and where it went."""

    store_id: str
    name: str | None = Field(None, description="the store's name (absent for a store the service does not know)")
    how: Literal["moved", "carried", "missing"] = Field(
        description="moved: another rep makes it today; carried: put on a later date; missing: on no route")
    rep_id: str | None = Field(None, description="moved or carried: the rep who makes it")
    to_date: dt.date | None = Field(None, description="carried: the date it was put on")
    reason: str | None = Field(None, description="missing: the reason code (e.g. store_closed, rep_not_working)")
    detail: str | None = None


class ChecklistOut(BaseModel):
    """A store class's in-store steps a rep may tick at check-out."""

    steps: list[str]
    focus_step: str | None = Field(None, description="the focus product's step (主推), if the policy names one")


class RouteOut(BaseModel):
    """A rep's route on a date, from the published plan."""

    model_config = ConfigDict(populate_by_name=True)
    plan_id: int
    rep_id: str
    date: dt.date
    time_zone: str
    version: int
    day_off: bool = Field(description="the rep does not work on this date (its working days or a day off); "
                          "false with no visits: a working day with nothing to visit")
    stops: list[StopOut]
    summary: dict[str, int]
    resume: ResumeOut | None = None
    left: list[LeftOut] = Field(description="the day's visits that re-plans took off this route since it was published")
    checklists: dict[str, ChecklistOut] = Field(description="each store class's checklist (the policy the plan was made from)")
    new_store_class: str = Field(description="the class for an urgent visit's new place (the app's "
                                 "default: the policy's lowest priority)")


class RouteVersionOut(BaseModel):
    rep_id: str
    version: int


class EventApplied(BaseModel):
    """A same-day event as applied (times ISO 8601 in the plan's time zone; a time a little
    ahead of the service's clock is now)."""

    kind: EventKind
    time: dt.datetime
    rep_id: str | None = None
    store_id: str | None = None
    lat: float | None = Field(None, description="the phone's position (forgotten after FIELDROUTE_POSITION_DAYS)")
    lon: float | None = None
    minutes: float | None = None
    latest: dt.datetime | None = None
    priority: int | None = None
    store: StoreRecord | None = Field(None, description="the new store of an urgent visit")
    outcome: Outcome | None = Field(None, description="a check-out's outcome: order, no_order or refused")
    order_value: float | None = Field(None, description="an order's value")
    note: str | None = None
    steps: list[str] | None = Field(None, description="the checklist's steps done")


class EventOut(EventApplied):
    """A same-day event as stored: what was reported, who posted it, when it was received,
    and the route versions its post wrote."""

    id: int = Field(description="grows in the order the events were received")
    plan_id: int
    date: dt.date = Field(description="the day under way it was reported on")
    by: str = Field(description="who posted it: the token's role and name, e.g. 'rep:phone R1'")
    received_at: dt.datetime = Field(description="when the service stored it (the service's clock)")
    routes: list[RouteVersionOut] = Field(description=(
        "the versions of that day's routes its post wrote (every event of one post lists the same; a supervisor "
        "limited to a team sees its reps' only); empty for events stored before versions were recorded"))


class MovedOut(BaseModel):
    store_id: str
    from_: str = Field(alias="from")
    to: str


class ReorderedOut(BaseModel):
    store_id: str
    rep_id: str
    before: int = Field(description="its place in the rep's order before (1-based)")
    after: int


class CarriedOut(BaseModel):
    store_id: str
    rep_id: str
    to_date: dt.date


class AddedOut(BaseModel):
    store_id: str
    rep_id: str


class DroppedOut(BaseModel):
    store_id: str
    rep_id: str
    reason: str
    detail: str


class EtaOut(BaseModel):
    store_id: str
    rep_id: str
    before: dt.datetime | None = Field(description="the stop's start before (null: a new stop)")
    after: dt.datetime


class DiffOut(BaseModel):
    """What a re-plan changed against the route versions before it."""

    moved: list[MovedOut] = Field(description="visits now made by another rep today")
    reordered: list[ReorderedOut] = Field(description="visits in another place of the same rep's order")
    carried: list[CarriedOut] = Field(description="visits taken off today and put on a later date")
    added: list[AddedOut] = Field(description="visits on today's routes that were on none")
    dropped: list[DroppedOut] = Field(description="visits off today's routes and not carried, with the reason")
    etas: list[EtaOut] = Field(description="each remaining stop's new start")
    moved_visits: int = Field(description="moved plus carried")


class EventsAnswer(BaseModel):
    """The answer of an event post: what was applied, the route versions written, what changed."""

    plan_id: int
    date: dt.date
    applied: list[EventApplied]
    routes: list[RouteVersionOut] = Field(description="every route version of the day this post wrote")
    diff: DiffOut
    flags: list[str] = Field(description="kept but flagged, e.g. a check-in far from its store")
    info: dict[str, Any] = Field(description="the re-plan: reps re-planned, fast_path, solver status, wall_s")
    route: RouteOut | None = Field(None, description="the rep's new route (the rep endpoint only)")


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(pattern="^(admin|supervisor|integrator|rep)$")
    rep_id: str | None = Field(None, min_length=1, max_length=200)
    team: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(None, max_length=10000)


class TokenOut(BaseModel):
    id: int
    name: str
    role: str
    rep_id: str | None
    team: list[str] | None
    prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="the secret: shown once, only its hash is kept")


class CalendarKeyOut(BaseModel):
    rep_id: str
    url: str = Field(description="the feed's address, with the secret key; a new key revokes the old")


class LastVisitOut(BaseModel):
    """A store's last reported visit before a date: the pre-visit review (拜访前回顾)."""

    store_id: str
    date: dt.date
    rep_id: str
    checked_out_at: dt.datetime
    outcome: Outcome
    order_value: float | None
    note: str
    steps: list[str]


class SignInLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hours: float | None = Field(None, gt=0, le=24 * 30, strict=True,
                                description="how long the link stays valid unused (default FIELDROUTE_SIGN_IN_LINK_HOURS, 72)")


class SignInLinkOut(BaseModel):
    """A one-time sign-in link for a rep's phone (its code is shown once, when it is made)."""

    id: int
    rep_id: str
    status: str = Field(description="unused, used, expired or revoked")
    created_at: dt.datetime
    expires_at: dt.datetime
    used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    token_id: int | None = Field(description="the rep token the link made when used (revoking it signs the phone out)")


class SignInLinkCreated(SignInLinkOut):
    url: str = Field(description="the link to open on the rep's phone: single use; the code is after '#', so it "
                                 "reaches no server log")
    qr_svg: str = Field(description="the link as a QR code (SVG) to scan with the phone")


class WorkloadOut(BaseModel):
    """A rep's routed workload over a plan's cycle (hours)."""

    rep_id: str
    stores: int
    visits: int
    service_h: float
    travel_h: float
    wait_h: float
    work_h: float = Field(description="service + travel")
    days_used: int
    available_h: float = Field(description="the working hours the rep's shifts offer in the cycle (lunch excluded)")
    beyond_h: float = Field(description="visit hours missing for lack of time: work beyond the shifts")


class BalanceOut(BaseModel):
    max_h: float
    min_h: float
    ratio: float | None = Field(description="busiest / idlest rep's service + travel hours")
    cv_pct: float = Field(description="coefficient of variation of the reps' service + travel hours, %")


class TerritoriesOut(BaseModel):
    """Each rep's routed workload in a plan, and the balance between reps."""

    plan_id: int
    start: dt.date
    weeks: int
    reps: list[WorkloadOut]
    balance: BalanceOut


#: ``GET /v1/territories?format=geojson`` (``application/geo+json``): a Polygon (or
#: MultiPolygon) feature per rep, its territory, with the rep's routed workload as properties
#: (``WorkloadOut``'s fields; null for a rep the plan gives no work); the plan and the balance
#: in the collection's properties.
TERRITORIES_GEOJSON: dict[str, Any] = {
    "type": "object", "required": ["type", "features", "properties"], "properties": {
        "type": {"const": "FeatureCollection"},
        "features": {"type": "array", "items": {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
            "type": {"const": "Feature"},
            "id": {"type": "string"},
            "geometry": {"oneOf": [
                {"type": "object", "required": ["type", "coordinates"],
                 "properties": {"type": {"const": "Polygon"}, "coordinates": {"type": "array", "items": _RING, "minItems": 1}}},
                {"type": "object", "required": ["type", "coordinates"],
                 "properties": {"type": {"const": "MultiPolygon"}, "coordinates": {
                     "type": "array", "items": {"type": "array", "items": _RING, "minItems": 1}}}},
            ]},
            "properties": {"type": "object", "required": ["rep_id"], "properties": {
                "rep_id": {"type": "string"}, **{k: {"type": ["number", "null"]} for k in _WORKLOAD_FIELDS}}},
            "bbox": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4}}}},
        "properties": {"type": "object", "required": ["plan_id", "balance"], "properties": {
            "plan_id": {"type": "integer"}, "balance": BalanceOut.model_json_schema()}},
        "bbox": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
    },
}


#: An id in a request body: what the files accept (no NUL, which PostgreSQL refuses; no '/').
_Id = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00/]+$")]


class WhatIfIn(BaseModel):
    """A change to try: reps to add (the reps file's columns, with a home) or remove, classes
    with another frequency or visit length (the policy's class fields to change); and, with
    ``headcount_time_s``, a routed search of the team size (alone: for today's team)."""

    model_config = ConfigDict(extra="forbid")
    add_reps: list[dict[str, Any]] = Field(default_factory=list, max_length=1000)
    remove_reps: list[_Id] = Field(default_factory=list, max_length=1000)
    classes: dict[Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[^\x00]+$")], dict[str, Any]] = Field(
        default_factory=dict, max_length=100)
    headcount_time_s: float | None = Field(None, ge=1, le=3600, strict=True, description=(
        "also search the fewest reps that fit every required visit, each team size balanced and routed, for at most "
        "this long (the answer's headcount_routed; headcount is the estimate the search starts from)"))


class ProposalRequest(BaseModel):
    """A balanced territory proposal to compute from a plan's routed days (a job)."""

    model_config = ConfigDict(extra="forbid")
    plan_id: int | None = Field(None, ge=1, le=2**31 - 1, strict=True, description="default: the last published plan")
    max_moves: int | None = Field(None, ge=0, le=1_000_000, strict=True, description="at most this many stores change rep")
    max_moves_pct: float | None = Field(15.0, ge=0, le=100, strict=True, description="or at most this share of the stores (%)")
    locked_stores: list[_Id] = Field(default_factory=list, max_length=100_000)
    locked_pairs: list[tuple[_Id, _Id]] = Field(default_factory=list, max_length=100_000,
                                                description="[store id, rep id] pairs that stay together")
    keep_edits: bool = Field(True, strict=True, description="keep the stores a supervisor moved by hand with their reps")
    time_limit_s: float = Field(30.0, gt=0, le=3600, strict=True, description=TIME_LIMIT)
    seed: int = Field(0, ge=0, le=2**31 - 1, strict=True)
    what_if: WhatIfIn | None = Field(None, description="try a change instead: the answer is the routed workload per rep "
                                     "and the headcount; it cannot be applied")


class ProposalOut(BaseModel):
    """A proposal: its job's progress while it runs; then the moves and the routed workloads
    before and after."""

    id: int
    plan_id: int
    status: str = Field(description="running, proposed, applied, failed or cancelled")
    job: dict[str, Any] | None = None
    created_at: dt.datetime
    applied_at: dt.datetime | None = None
    result: dict[str, Any] | None = None


class MoveIn(BaseModel):
    """Stores to give to a rep."""

    model_config = ConfigDict(extra="forbid")
    store_ids: list[_Id] = Field(min_length=1, max_length=10_000)
    rep_id: _Id


class MoveOut(BaseModel):
    """The moves, and the routed workloads of the reps they touch before and after."""

    applied: bool
    moves: list[dict[str, Any]]
    before: list[WorkloadOut]
    after: list[WorkloadOut]


class HealthOut(BaseModel):
    """The service is up and its database answers."""

    status: Literal["ok"]
    database: Literal["ok"]
    time: dt.datetime = Field(description="the service's clock (``fieldroute serve --clock``)")
    clock: Literal["set", "system"] = Field(description="whether the clock was set, or reads the system's")


# --- response headers, as OpenAPI documents them (a route's ``responses=``) -----------------

#: A route, map or calendar feed: its version, for ``If-None-Match`` (a 304 when current).
CACHED_HEADERS: dict[str, Any] = {
    "ETag": {"description": "the answer's version: send it back in `If-None-Match` to get a 304 while it is current",
             "required": True, "schema": {"type": "string", "pattern": '^"[^"]*"$'}},
    "Cache-Control": {"description": "`private, no-cache`: a phone may keep the answer and ask again with its ETag",
                      "required": True, "schema": {"type": "string"}},
}
#: A job started (202): where to follow it.
LOCATION_HEADER: dict[str, Any] = {
    "Location": {"description": "the new resource, to follow with GET", "required": True,
                 "schema": {"type": "string", "format": "uri-reference"}}}
#: An event post answered again for a retry with the same ``Idempotency-Key``.
REPLAYED_HEADER: dict[str, Any] = {
    "Idempotent-Replayed": {"description": "`true`: the stored answer of an earlier post with this Idempotency-Key and "
                                           "body (nothing was applied again); absent on a first answer",
                            "required": False, "schema": {"type": "string", "enum": ["true"]}}}
#: A 401 of an endpoint that takes a bearer token.
AUTHENTICATE_HEADER: dict[str, Any] = {
    "WWW-Authenticate": {"description": "`Bearer`: send `Authorization: Bearer <token>`", "required": True,
                         "schema": {"type": "string"}}}
