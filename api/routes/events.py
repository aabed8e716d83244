"""Same-day events: a rep reports on its own day, a supervisor on the team's; each post
re-plans the rest of the day (``routing.replan``) and answers the new route versions and
what changed. An ``Idempotency-Key`` header makes a retry safe."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from routing.errors import InputError, InputProblem
from routing.events import KINDS, REP_KINDS, EventRejected
from routing.io import parse_events
from routing.replan import ReplanParams

from .. import plans, replans
from ..deps import PrincipalDep, allow, require_rep_access
from ..models import IdempotencyKey, Plan
from ..problems import ProblemError, responses
from ._inputs import loads
from .plans import PlanId
from .rep_routes import route_body

router = APIRouter(tags=["events"])

_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["kind", "time"],
    "properties": {
        "kind": {"type": "string", "enum": list(KINDS), "description": "; ".join(f"{k}: {v[0]}" for k, v in KINDS.items())},
        "time": {"type": "string", "description": "ISO 8601, today; without an offset: local time"},
        "rep_id": {"type": "string"}, "store_id": {"type": "string"},
        "lat": {"type": "number"}, "lon": {"type": "number"}, "minutes": {"type": "number"},
        "latest": {"type": "string", "description": "ISO 8601 or HH:MM: the visit ends by then"},
        "priority": {"type": "integer"},
        "store": {"type": "object", "description": "a new store (the stores file's columns)"},
    },
    "additionalProperties": False,
}
_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "oneOf": [_EVENT_SCHEMA, {"type": "array", "items": _EVENT_SCHEMA, "minItems": 1, "maxItems": 50}]},
    "example": {"kind": "visit_done", "time": "2026-12-02T10:40:00+01:00", "store_id": "N274497719"}}}}}
_IDEMPOTENCY = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200,
                                            description="the same key and body again return the first answer and change nothing")]
MAX_EVENTS = 50


def _digest(request: Request, body: bytes) -> str:
    return hashlib.sha256(request.method.encode() + b" " + request.url.path.encode() + b"\n" + body).hexdigest()


async def _post(request: Request, principal, key: str | None, handle) -> JSONResponse:
    """Run ``handle(session, data)`` once per idempotency key: a retry with the same body gets
    the stored answer, one with another body a 422."""
    body = await request.body()
    digest = _digest(request, body)
    owner = str(principal.token_id)
    state = request.app.state

    def run() -> tuple[int, dict, bool]:
        with state.sessions() as session:
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
            status, response = handle(session, data)
            if key is not None:
                session.add(IdempotencyKey(owner=owner, key=key, request_hash=digest, status_code=status, response=response))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                raise ProblemError(409, "another change to this day was written at the same time; send the event again") from None
            return status, response, False

    status, response, replayed = await run_in_threadpool(run)
    return JSONResponse(response, status_code=status, headers={"Idempotent-Replayed": "true"} if replayed else None)


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
            if rep_role and item.get("kind") in KINDS and item["kind"] not in REP_KINDS:
                problems.append(InputProblem("events", f"[{n}]", "kind", f"a rep may report {', '.join(sorted(REP_KINDS))}"))
    if problems:
        raise InputError(problems)
    if rep_id is not None:
        items = [dict(item, rep_id=rep_id) if isinstance(item, dict) else item for item in items]
    return parse_events(items, date=date, time_zone=plan.time_zone, policy=policy)


def _today(plan: Plan, text: str | None, now: dt.datetime) -> dt.date:
    """The day under way in the plan's time zone at ``now``; 409 if ``text`` names another date."""
    today = now.astimezone(ZoneInfo(plan.time_zone)).date()
    if text is not None:
        date = dt.date.fromisoformat(text) if text not in ("today", "tomorrow") else today + dt.timedelta(days=text == "tomorrow")
        if date != today:
            raise ProblemError(409, f"events are for the day under way: today is {today} in {plan.time_zone}, not {date}")
    if not plan.start <= today.isoformat() <= plan.end:
        raise ProblemError(409, f"plan {plan.id} covers {plan.start} to {plan.end}, not today ({today})")
    return today


def _replan(request: Request, session, plan: Plan, date: dt.date, now: dt.datetime, data, principal, *,
            rep_id: str | None) -> tuple[Any, Any, list, dict]:
    settings = request.app.state.settings
    base = request.app.state.replan_bases.get(session, plan, request.app.state.road_network, settings.cache_dir)
    events = _events(data, plan, date, base[2], rep_id=rep_id, rep_role=principal.role == "rep")
    if principal.team is not None:
        outside = [e for e in events if e.rep_id is None or e.rep_id not in principal.team]
        if outside:
            raise ProblemError(403, "a supervisor limited to a team may report only on its reps' days, with their rep_id")
    team = len(plan.inputs["reps"]) > 1 and any(e.kind in ("rep_unavailable", "urgent_visit") for e in events)
    params = ReplanParams(time_limit_s=settings.replan_team_time_s if team else settings.replan_time_s,
                          check_in_radius_m=settings.check_in_radius_m)
    with replans.plan_lock(plan.id):
        session.expire_all()
        sit = replans.situation(session, plan, date, base)
        try:
            result, versions = replans.apply(session, plan, sit, events, replans.now_seconds(plan, date, now), params,
                                             by=f"{principal.role}:{principal.name}")
        except EventRejected as exc:
            raise ProblemError(409 if exc.conflict else 422, f"{exc}; nothing was changed") from None
        replans.purge_positions(session, settings.position_days)
    return result, versions, events, replans.answer(plan, date, events, result, versions)


_RESPONSES = responses(401, 403, 404, 409, 422)


@router.post("/v1/reps/{rep_id}/routes/{date}/events", responses=_RESPONSES, **allow("admin", "supervisor", "rep", openapi=_BODY))
async def post_rep_events(rep_id: str, date: str, request: Request, principal: PrincipalDep,
                          idempotency_key: _IDEMPOTENCY = None) -> JSONResponse:
    """Report events of the rep's day (``date`` must be today): check-in, check-out, position,
    overrun, store closed, urgent visit. The rest of the day is re-planned at once; the
    answer is the rep's new route (``route``, a new version), every route version written
    and what changed (``diff``). Refused events (409: the day's state; 422: the event) change
    nothing."""
    require_rep_access(principal, rep_id)

    def handle(session, data) -> tuple[int, dict]:
        now = request.app.state.clock()
        day = plans.resolve_date(session, date, now)
        if day is None:
            raise ProblemError(422, f"date: expected YYYY-MM-DD, 'today' or 'tomorrow', got {date!r}")
        plan = plans.plan_for_rep(session, rep_id, day)
        if plan is None:
            raise ProblemError(404, f"no published plan holds {day}")
        if rep_id not in plan.inputs["reps"]:
            raise ProblemError(404, f"rep {rep_id!r} is not in plan {plan.id}")
        today = _today(plan, day.isoformat(), now)
        _, versions, _, body = _replan(request, session, plan, today, now, data, principal, rep_id=rep_id)
        row = plans.route_row(session, plan.id, rep_id, today.isoformat())
        body["route"] = route_body(session, plan, rep_id, today.isoformat(), row)
        return 200, body

    return await _post(request, principal, idempotency_key, handle)


@router.post("/v1/plans/{plan_id}/events", responses=_RESPONSES, **allow("admin", "supervisor", openapi=_BODY))
async def post_plan_events(plan_id: PlanId, request: Request, principal: PrincipalDep, idempotency_key: _IDEMPOTENCY = None,
                           date: dt.date | None = None) -> JSONResponse:
    """Report events of the team's day under way in a published plan: a rep unavailable (off
    sick) or available again, an urgent visit (to the owner, else the rep it fits best), a
    store closed, or any rep's event. The affected reps' days are re-planned at once; they see
    their new routes on their next fetch (their ETags change). ``date``, if given, must be
    today in the plan's time zone."""

    def handle(session, data) -> tuple[int, dict]:
        plan = session.get(Plan, plan_id)
        if plan is None:
            raise ProblemError(404, f"no plan {plan_id}")
        if plan.status != "published":
            raise ProblemError(409, f"plan {plan_id} is a draft: publish it first")
        now = request.app.state.clock()
        today = _today(plan, date.isoformat() if date else None, now)
        _, _, _, body = _replan(request, session, plan, today, now, data, principal, rep_id=None)
        return 200, body

    return await _post(request, principal, idempotency_key, handle)
