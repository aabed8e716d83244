"""Same-day events: a rep reports on its own day, a supervisor on the team's; each post
re-plans the rest of the day (``routing.replan``) and answers the new route versions and
what changed. An ``Idempotency-Key`` header makes a retry safe."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from routing.errors import InputError, InputProblem
from routing.events import KINDS, OUTCOMES, REP_MAY_POST, EventRejected
from routing.io import MAX_NOTE, parse_events
from routing.replan import ReplanParams

from .. import plans, replans
from ..deps import PrincipalDep, SessionDep, allow, require_rep_access
from ..models import Event as EventRow
from ..models import IdempotencyKey, Plan, utcnow
from ..problems import ProblemError, responses
from ..schemas import REPLAYED_HEADER, EventOut, EventsAnswer, Page
from ._inputs import IsoDate, loads
from .plans import PlanId
from .rep_routes import route_body

router = APIRouter(tags=["events"])

_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["kind", "time"],
    "properties": {
        "kind": {"type": "string", "enum": list(KINDS), "description": "; ".join(f"{k}: {v.meaning}" for k, v in KINDS.items())},
        "time": {"type": "string", "description": "ISO 8601, today; without an offset: local time"},
        "rep_id": {"type": "string"}, "store_id": {"type": "string"},
        "lat": {"type": "number"}, "lon": {"type": "number"}, "minutes": {"type": "number"},
        "latest": {"type": "string", "description": "ISO 8601 or HH:MM: the visit ends by then"},
        "priority": {"type": "integer"},
        "store": {"type": "object", "description": "a new store (the stores file's columns)"},
        "outcome": {"type": "string", "enum": list(OUTCOMES), "description": "visit_done (check-out): how the visit went"},
        "order_value": {"type": "number", "minimum": 0, "description": "visit_done with outcome order: the order's value"},
        "note": {"type": "string", "maxLength": MAX_NOTE, "description": "visit_done: a short note for the next visit"},
        "steps": {"type": "array", "items": {"type": "string"}, "maxItems": 30,
                  "description": "visit_done: the steps of the store class's checklist done (the policy's `checklist`)"},
    },
    "additionalProperties": False,
}
_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "oneOf": [_EVENT_SCHEMA, {"type": "array", "items": _EVENT_SCHEMA, "minItems": 1, "maxItems": 50}]},
    "example": {"kind": "visit_done", "time": "2026-12-02T10:40:00+01:00", "store_id": "N274497719"}}}}}
_IDEMPOTENCY = Annotated[str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200,
                                            description="the same key and body again return the first answer and change nothing")]
#: Events per post (a phone syncing an offline morning sends them at once): one re-plan for
#: them all, done while the day is locked.
MAX_EVENTS = 50
_MAX_MOVES = Annotated[int | None, Query(ge=0, le=100_000, description="at most this many visits may move to another rep "
                                         "or off today (an unavailable rep's visits do not count)")]
#: Days an idempotency key's answer is kept.
IDEMPOTENCY_DAYS = 7


def _digest(request: Request, body: bytes) -> str:
    target = request.url.path + ("?" + request.url.query if request.url.query else "")
    return hashlib.sha256(request.method.encode() + b" " + target.encode() + b"\n" + body).hexdigest()


async def _post(request: Request, principal, key: str | None, handle) -> JSONResponse:
    """Run ``handle(session, data, commit)`` once per idempotency key: a retry with the same
    request gets the stored answer, one with another request a 422. ``handle`` calls
    ``commit(status, answer)`` while it still holds the plan's lock, so the next event of
    the plan starts from this one's routes."""
    body = await request.body()
    digest = _digest(request, body)
    owner = _owner(principal)
    state = request.app.state

    def run() -> tuple[int, dict, bool]:
        with state.event_sessions() as session:
            if key is not None:
                kept = session.scalar(select(IdempotencyKey).where(IdempotencyKey.owner == owner, IdempotencyKey.key == key))
                if kept is not None:
                    if kept.request_hash != digest:
                        raise ProblemError(422, "this Idempotency-Key was used with another request; use a new key")
                    return kept.status_code, kept.response, True
            try:
                data = loads(body)
            except ValueError as exc:
                raise InputError([InputProblem("events", None, None, f"not valid JSON: {exc}")]) from None

            def commit(status: int, response: dict) -> None:
                try:
                    if key is not None:
                        cutoff = utcnow() - dt.timedelta(days=IDEMPOTENCY_DAYS)
                        session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff))
                        session.add(IdempotencyKey(owner=owner, key=key, request_hash=digest, status_code=status,
                                                   response=response))
                    session.commit()
                except IntegrityError:
                    session.rollback()
                    kept = key is not None and session.scalar(select(IdempotencyKey).where(
                        IdempotencyKey.owner == owner, IdempotencyKey.key == key))
                    if kept and kept.request_hash == digest:  # the same request, answered meanwhile
                        raise _Replay(kept.status_code, kept.response) from None
                    raise _busy() from None

            try:
                status, response = handle(session, data, commit)
            except _Replay as replay:
                return replay.status, replay.response, True
            except replans.Busy:
                raise _busy() from None
            return status, response, False

    status, response, replayed = await run_in_threadpool(run)
    return JSONResponse(response, status_code=status, headers={"Idempotent-Replayed": "true"} if replayed else None)


def _owner(principal) -> str:
    """Whose idempotency keys these are: a rep's, whatever sign-in it posts with (a phone that
    signs in again retries its reports with the keys it made), else the token's."""
    if principal.role == "rep" and principal.rep_id:
        return "rep:" + hashlib.sha256(principal.rep_id.encode()).hexdigest()[:40]
    return str(principal.token_id)


class _Replay(Exception):
    """The same request was answered while this one waited: send that answer."""

    def __init__(self, status: int, response: dict):
        super().__init__(status)
        self.status, self.response = status, response


def _busy() -> ProblemError:
    return ProblemError(409, "another change to this day was written at the same time; send the event again",
                        headers={"Retry-After": "1"})


def _events(data: Any, plan: Plan, date: dt.date, policy, *, rep_id: str | None, rep_role: bool) -> list:
    """The posted events (one object or a list), checked: a rep's own kinds, its own rep id."""
    items = data if isinstance(data, list) else [data]
    if not items or len(items) > MAX_EVENTS:
        raise ProblemError(422, f"send 1 to {MAX_EVENTS} events")
    problems = []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            continue  # parse_events says so
        if rep_id is not None:
            if item.get("rep_id") not in (None, rep_id):
                problems.append(InputProblem("events", f"[{n}]", "rep_id", f"expected {rep_id!r} (the route's rep) or nothing"))
            if rep_role and isinstance(item.get("kind"), str) and item["kind"] in KINDS and item["kind"] not in REP_MAY_POST:
                problems.append(InputProblem("events", f"[{n}]", "kind", f"a rep may report {', '.join(sorted(REP_MAY_POST))}"))
    if problems:
        raise InputError(problems)
    if rep_id is not None:
        items = [dict(item, rep_id=rep_id) if isinstance(item, dict) else item for item in items]
    return parse_events(items, date=date, time_zone=plan.time_zone, policy=policy)


def _today(plan: Plan, date: dt.date | None, now: dt.datetime) -> dt.date:
    """The day under way in the plan's time zone at ``now``; 409 if ``date`` is another."""
    today = now.astimezone(ZoneInfo(plan.time_zone)).date()
    if date is not None and date != today:
        raise ProblemError(409, f"events are for the day under way: today is {today} in {plan.time_zone}, not {date}")
    if not plan.start <= today.isoformat() <= plan.end:
        raise ProblemError(409, f"plan {plan.id} covers {plan.start} to {plan.end}, not today ({today})")
    return today


def _replan(request: Request, session, plan: Plan, date: dt.date, now: dt.datetime, data, principal, commit, *,
            rep_id: str | None, max_moves: int | None = None) -> dict:
    """Apply the posted events to the plan's day ``date`` and commit (``_post``); the answer."""
    settings = request.app.state.settings
    base = request.app.state.replan_bases.get(session, plan, request.app.state.road_network, settings.cache_dir)
    events = _events(data, plan, date, base.policy, rep_id=rep_id, rep_role=principal.role == "rep")
    if principal.team is not None:
        outside = [e for e in events if e.rep_id is None or e.rep_id not in principal.team
                   or e.kind in ("rep_unavailable", "rep_available", "urgent_visit")]
        if outside:
            raise ProblemError(403, "a supervisor limited to a team may report only its reps' own events (not a rep "
                                    "unavailable or an urgent visit: those may move visits to reps outside the team)")
    team = len(plan.inputs["reps"]) > 1 and any(e.kind in ("rep_unavailable", "urgent_visit") for e in events)
    params = ReplanParams(time_limit_s=settings.replan_team_time_s if team else settings.replan_time_s,
                          check_in_radius_m=settings.check_in_radius_m, max_moves=max_moves,
                          clock_skew_s=int(settings.clock_skew_s))
    with replans.day_locked(session, plan):
        sit = replans.situation(session, plan, date, base)
        try:
            result, versions = replans.apply(session, plan, sit, events, now, params,
                                             by=f"{principal.role}:{principal.name}")
        except EventRejected as exc:
            raise ProblemError(409 if exc.conflict else 422, f"{exc}; nothing was changed") from None
        except IntegrityError:
            session.rollback()
            raise _busy() from None
        replans.purge_positions(session, settings.position_days)
        body = replans.answer(plan, date, result, versions)
        if rep_id is not None:
            row = plans.route_row(session, plan.id, rep_id, date.isoformat())
            body["route"] = route_body(session, plan, rep_id, date.isoformat(), row)
        try:
            json.dumps(body, allow_nan=False).encode("utf-8")  # what the answer will be: before anything is kept
        except (ValueError, UnicodeEncodeError) as exc:
            raise ProblemError(422, f"the answer cannot be written as JSON ({exc}); nothing was changed") from None
        commit(200, body)
    return body


_RESPONSES = responses(401, 403, 404, 409, 422) | {
    200: {"model": EventsAnswer, "description": "the events applied", "headers": REPLAYED_HEADER}}


@router.post("/v1/reps/{rep_id}/routes/{date}/events", responses=_RESPONSES, **allow("admin", "supervisor", "rep", openapi=_BODY))
async def post_rep_events(rep_id: str, date: str, request: Request, principal: PrincipalDep,
                          idempotency_key: _IDEMPOTENCY = None, max_moves: _MAX_MOVES = None) -> JSONResponse:
    """Report events of the rep's day (``date`` must be today): check-in, check-out, position,
    overrun, store closed, urgent visit; one event or a list of up to 50 (a phone syncing an
    offline morning), re-planned once; a rep may also say it cannot go on today
    (``rep_unavailable``: its rest of the day goes to the other reps, or to later days). A rep's reports are applied in the order of their own
    times whenever they arrive: its day is rebuilt from all of them, so a late report that
    contradicts none is accepted, and a stop the plan's clock assumed done that nobody
    reported goes back to the rest of the day. A time up to ``FIELDROUTE_CLOCK_SKEW_S``
    (120 s) after the service's now counts as now. Only this rep's rest of day is re-planned
    (an urgent visit it cannot fit goes to exactly one other rep). The answer is the rep's new
    route (``route``, a new version), every route version written and what changed
    (``diff``). Refused events (409: the day's state, or a late report that contradicts
    what the rep reported; 422: the event) change nothing."""
    require_rep_access(principal, rep_id)

    def handle(session, data, commit) -> tuple[int, dict]:
        now = request.app.state.clock()
        day = plans.resolve_date(session, date, now)
        if day is None:
            raise ProblemError(422, f"date: expected YYYY-MM-DD, 'today' or 'tomorrow', got {date!r}")
        plan = plans.plan_for_rep(session, rep_id, day)
        if plan is None:
            raise ProblemError(404, f"no published plan holds {day}")
        if rep_id not in plan.inputs["reps"]:
            raise ProblemError(404, f"rep {rep_id!r} is not in plan {plan.id}")
        today = _today(plan, day, now)
        return 200, _replan(request, session, plan, today, now, data, principal, commit, rep_id=rep_id, max_moves=max_moves)

    return await _post(request, principal, idempotency_key, handle)


@router.post("/v1/plans/{plan_id}/events", responses=_RESPONSES, **allow("admin", "supervisor", openapi=_BODY))
async def post_plan_events(plan_id: PlanId, request: Request, principal: PrincipalDep, idempotency_key: _IDEMPOTENCY = None,
                           date: IsoDate | None = None, max_moves: _MAX_MOVES = None) -> JSONResponse:
    """Report events of the team's day under way in a published plan: a rep unavailable (off
    sick) or available again, an urgent visit (to the owner, else the rep it fits best), a
    store closed, or any rep's event. The affected reps' days are re-planned at once; they see
    their new routes on their next fetch (their ETags change). ``date``, if given, must be
    today in the plan's time zone."""

    def handle(session, data, commit) -> tuple[int, dict]:
        plan = session.get(Plan, plan_id)
        if plan is None:
            raise ProblemError(404, f"no plan {plan_id}")
        if plan.status != "published":
            raise ProblemError(409, f"plan {plan_id} is a draft: publish it first")
        now = request.app.state.clock()
        today = _today(plan, date, now)
        current = plans.plan_of_day(session, today)
        if current is None or current.id != plan.id:
            raise ProblemError(409, f"today's routes are on plan {current.id if current else '(none)'}, not plan {plan_id}")
        return 200, _replan(request, session, plan, today, now, data, principal, commit, rep_id=None, max_moves=max_moves)

    return await _post(request, principal, idempotency_key, handle)


# --- the events log -------------------------------------------------------------------------


@router.get("/v1/plans/{plan_id}/events", response_model=Page[EventOut], responses=responses(401, 403, 404, 422),
            **allow("admin", "supervisor"))
def list_plan_events(plan_id: PlanId, session: SessionDep, principal: PrincipalDep, date: IsoDate | None = None,
                     rep_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
                     offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
                     limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Page[EventOut]:
    """The events reported on the plan's days, in the order they were received: each with its
    kind, times (ISO 8601 in the plan's time zone), rep, store and other fields, who posted
    it (``by``), when it was received, and the route versions its post wrote. ``date``: one
    day of the plan's cycle (default: every day); ``rep_id``: that rep's own events. A
    supervisor limited to a team sees its reps' events and those of no rep (a store closed
    or an urgent visit a supervisor reported), with its reps' route versions only; never
    another rep's events."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise ProblemError(404, f"no plan {plan_id}")
    if date is not None and not plan.start <= date.isoformat() <= plan.end:
        raise ProblemError(422, f"date: {date} is outside the plan's cycle ({plan.start} to {plan.end})")
    if rep_id is not None:
        require_rep_access(principal, rep_id)
    team = principal.team
    rep_ids = {rep_id} if rep_id is not None else None if team is None else {*team, ""}
    count, rows = replans.event_log(session, plan, date=date, rep_ids=rep_ids, offset=offset, limit=limit)
    return Page[EventOut](items=[_logged(row, team) for row in rows], count=count, offset=offset, limit=limit)


def _logged(row: EventRow, team: frozenset[str] | None) -> EventOut:
    """An event row as the log shows it (to a supervisor limited to ``team``)."""
    versions = row.data.get("versions", {})
    routes = [{"rep_id": r, "version": v} for r, v in sorted(versions.items()) if team is None or r in team]
    return EventOut.model_validate(row.data["event"] | {
        "id": row.id, "plan_id": row.plan_id, "date": row.date, "by": row.data.get("by", ""),
        "received_at": row.data.get("received_at") or row.created_at, "routes": routes})
