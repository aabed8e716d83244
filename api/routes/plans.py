"""/v1/plans and /v1/jobs: plan a cycle as a job, read, publish, map and export plans."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from routing.followup import Period

from .. import callbacks, plans, records, replans
from ..deps import PrincipalDep, SessionDep, SettingsDep, allow
from ..followup import Inputs
from ..jobs import new_job
from ..models import Job, Plan, utcnow
from ..problems import ProblemError, ProblemItem, responses
from ._inputs import IsoDate, csv_text, with_time_limit
from ..schemas import LOCATION_HEADER, JobOut, MissingOut, Page, PlanOut, PlanRequest

router = APIRouter(tags=["plans"])
PLANNERS = ("admin", "supervisor")
PlanId = Annotated[int, Path(ge=1, le=2**31 - 1, description="a plan's id")]


def plan_out(plan: Plan, team: frozenset[str] | None = None) -> PlanOut:
    """A plan as the API shows it; for a supervisor limited to a team, the capacity report
    holds the team's reps only."""
    inputs = {"policy_version": plan.inputs["policy"], "stores": len(plan.inputs["stores"]), "reps": len(plan.inputs["reps"])}
    result = plan.result
    if team is not None:
        result = result | {"capacity": [c for c in result.get("capacity", []) if c["rep_id"] in team]}
    fields = {c: getattr(plan, c) for c in PlanOut.model_fields if c not in ("inputs", "result")}
    return PlanOut.model_validate(fields | {"inputs": inputs, "result": result})


def job_out(session, job: Job, team: frozenset[str] | None = None) -> JobOut:
    plan = session.get(Plan, job.plan_id) if job.plan_id else None
    data = {c: getattr(job, c) for c in JobOut.model_fields if c != "plan"}
    return JobOut.model_validate(data | {"plan": plan_out(plan, team) if plan else None})


def _plan(session, plan_id: int) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise ProblemError(404, f"no plan {plan_id}")
    return plan


@router.post("/v1/plans", status_code=202, response_model=JobOut, responses=responses(401, 403, 409, 422) | {
    202: {"description": "the job, queued", "headers": LOCATION_HEADER,
          "links": {"the job": {"operationId": "get_job_v1_jobs__job_id__get", "parameters": {"job_id": "$response.body#/id"}},
                    "cancel the job": {"operationId": "cancel_job_v1_jobs__job_id__delete",
                                       "parameters": {"job_id": "$response.body#/id"}}}}},
             **allow(*PLANNERS, whole_team=True))
def create_plan(body: PlanRequest, request: Request, response: Response, session: SessionDep, settings: SettingsDep) -> JobOut:
    """Plan a visit cycle from the current stores, reps and policy: answers 202 with a job;
    follow it at ``GET /v1/jobs/{id}`` (status, phase, progress, and the plan when done)."""
    body = with_time_limit(body, settings.max_plan_time_s)
    callback_url = str(body.callback_url) if body.callback_url else None
    if callback_url and (refusal := callbacks.submit_refusal(callback_url, callbacks.Allow.parse(settings.callback_allow))):
        raise ProblemError(422, "the request is not valid", errors=[ProblemItem(detail=f"callback_url: {refusal}", pointer="/callback_url")])
    inputs = records.snapshot(session)
    if inputs["policy"] is None:
        raise ProblemError(409, "no policy yet: PUT /v1/policy first")
    if not inputs["reps"]:
        raise ProblemError(409, "no active reps: import reps first")
    params = body.model_dump(mode="json", exclude={"callback_url"}) | {"network": settings.network, "inputs": inputs}
    job = new_job(session, params, callback_url)
    session.commit()
    request.app.state.jobs.kick()
    session.refresh(job)
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return job_out(session, job)


@router.get("/v1/jobs/{job_id}", response_model=JobOut, responses=responses(401, 403, 404) | {200: {
    "description": "the job", "links": {"its plan": {"operationId": "get_plan_v1_plans__plan_id__get",
                                                     "parameters": {"plan_id": "$response.body#/plan_id"}}}}},
            **allow(*PLANNERS))
def get_job(job_id: str, request: Request, session: SessionDep, principal: PrincipalDep) -> JobOut:
    """A job's status (queued, running, succeeded, failed, cancelled), phase, progress (0-1), and its plan when done."""
    job = session.get(Job, job_id)
    if job is None:
        raise ProblemError(404, f"no job {job_id!r}")
    if job.status == "running" and request.app.state.jobs.expire():
        session.expire_all()
        job = session.get(Job, job_id)
    return job_out(session, job, principal.team)


@router.delete("/v1/jobs/{job_id}", response_model=JobOut, responses=responses(401, 403, 404, 409),
               **allow(*PLANNERS, whole_team=True))
def cancel_job(job_id: str, request: Request, session: SessionDep) -> JobOut:
    """Cancel a queued or running job (nothing of it is kept)."""
    job = session.get(Job, job_id)
    if job is None:
        raise ProblemError(404, f"no job {job_id!r}")
    if not request.app.state.jobs.cancel(job_id):
        raise ProblemError(409, f"job {job_id} has already ended ({job.status})")
    session.expire_all()
    return job_out(session, session.get(Job, job_id))


@router.get("/v1/plans", response_model=Page[PlanOut], responses=responses(401, 403), **allow(*PLANNERS))
def list_plans(session: SessionDep, principal: PrincipalDep, status: str | None = None, offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
               limit: Annotated[int, Query(ge=1, le=100)] = 20) -> Page[PlanOut]:
    """Plans, newest first (``status=draft`` or ``published`` to filter)."""
    query = select(Plan) if status is None else select(Plan).where(Plan.status == status)
    count = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Plan.id.desc()).offset(offset).limit(limit))
    return Page[PlanOut](items=[plan_out(p, principal.team) for p in rows], count=count, offset=offset, limit=limit)


@router.get("/v1/plans/{plan_id}", response_model=PlanOut, responses=responses(401, 403, 404), **allow(*PLANNERS))
def get_plan(plan_id: PlanId, session: SessionDep, principal: PrincipalDep) -> PlanOut:
    """A plan: summary, KPIs, capacity report, missing visits with reasons, the checker's verdict."""
    return plan_out(_plan(session, plan_id), principal.team)


@router.get("/v1/plans/{plan_id}/missing", response_model=list[MissingOut], responses=responses(401, 403, 404, 422),
            **allow(*PLANNERS))
def plan_missing(plan_id: PlanId, session: SessionDep, date: IsoDate | None = None) -> list[MissingOut]:
    """The plan's missing visits as it stands now: after the day's events (a visit carried to a
    later day is no longer missing; an urgent visit that fits nowhere is), each with its
    reason and the date it should have had; ``date`` keeps that date's."""
    plan = _plan(session, plan_id)
    missing = replans.missing_now(session, plan)
    return [MissingOut(store_id=u.store_id, reason=u.reason, detail=u.detail, date=u.date)
            for u in missing if date is None or u.date == date.isoformat()]


@router.post("/v1/plans/{plan_id}/publish", response_model=PlanOut, responses=responses(401, 403, 404),
             **allow(*PLANNERS, whole_team=True))
def publish_plan(plan_id: PlanId, session: SessionDep) -> PlanOut:
    """Make this plan the one reps see from its start date on; dates before it keep the routes
    they had, and a rep's day that has events keeps its route. Earlier plans stay readable."""
    plan = _plan(session, plan_id)
    plan.status, plan.published_at = "published", utcnow()
    session.commit()
    return plan_out(plan)


@router.get("/v1/plans/{plan_id}/map", response_class=HTMLResponse, responses=responses(401, 403, 404, 422), **allow(*PLANNERS))
def plan_map(plan_id: PlanId, date: IsoDate, request: Request, session: SessionDep, principal: PrincipalDep) -> HTMLResponse:
    """All reps' routes of one date on a map (HTML; opens in a browser after /login); a
    supervisor limited to a team sees its reps' routes."""
    plan = _plan(session, plan_id)
    if not plan.start <= date.isoformat() <= plan.end:
        raise ProblemError(422, f"{date} is outside the plan's cycle ({plan.start} to {plan.end})")
    return HTMLResponse(render_map(request, session, plan, date.isoformat(), principal.team))


def render_map(request: Request, session, plan: Plan, date: str, rep_ids: frozenset[str] | None = None) -> str:
    from maps.routes import route_map

    day, stores, reps = plans.day_plan(session, plan, date, rep_ids)
    return route_map(day, stores, reps, roads=request.app.state.road_network(plan.network)).get_root().render()


EXPORT_COLUMNS = ("plan_id", "date", "rep_id", "sequence", "store_id", "store_name", "class", "arrival", "start", "end",
                  "travel_s", "distance_m", "wait_s")


@router.get("/v1/plans/{plan_id}/export.csv", response_class=Response, responses=responses(401, 403, 404),
            **allow("admin", "supervisor", "integrator", openapi={"responses": {"200": {
                "content": {"text/csv": {"schema": {"type": "string"}}},
                "headers": {"Content-Disposition": {"description": 'attachment; filename="plan-{id}.csv"', "required": True,
                                                    "schema": {"type": "string"}}}}}}))
def export_plan(plan_id: PlanId, request: Request, session: SessionDep, principal: PrincipalDep, actuals: bool = False,
                date: IsoDate | None = None) -> Response:
    """One row per visit: date, rep, order, store, times (ISO 8601 with offset), travel, wait
    (a supervisor limited to a team: its reps' visits). ``actuals=true``: one row per planned
    or made visit of the plan's dates up to today (or of ``date``) with both the planned and
    the reported times, the status (made, made_other_day, extra, missed, due), a missed
    visit's reason, and the outcome and order value."""
    plan = _plan(session, plan_id)
    if actuals:
        return _actuals(request, session, principal, plan, date)
    rows = [r for r in plans.latest_routes(session, plan.id) if principal.team is None or r.rep_id in principal.team]
    stores = plans.store_data(session, plan, {s["store_id"] for r in rows for s in r.data["stops"] if s["type"] == "visit"})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        seq = 0
        for stop in row.data["stops"]:
            if stop["type"] != "visit":
                continue
            seq += 1
            store = stores.get(stop["store_id"], {})
            writer.writerow((plan.id, row.date, csv_text(row.rep_id), seq, csv_text(stop["store_id"]), csv_text(store.get("name", "")),
                             csv_text(store.get("class", "")), stop["arrival"], stop["start"], stop["end"], stop["travel_s"],
                             stop["distance_m"], stop["wait_s"]))
    return Response(out.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="plan-{plan.id}.csv"'})


ACTUAL_COLUMNS = ("date", "rep_id", "store_id", "store_name", "class", "status", "reason", "planned_start", "planned_end",
                  "checked_in", "checked_out", "outcome", "order_value", "visit_id")


def _actuals(request: Request, session, principal, plan: Plan, date: dt.date | None) -> Response:
    today = plans.local_today(session, request.app.state.clock())
    first, last = dt.date.fromisoformat(plan.start), dt.date.fromisoformat(plan.end)
    period = Period(date, date) if date is not None else Period(first, max(first, min(last, today)))
    data = Inputs(session, period, today, principal.team)
    names = {s.id: s for s in data.data.stores}
    zone = ZoneInfo(plan.time_zone)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ACTUAL_COLUMNS)
    for line in data.lines:
        if line.date not in period:
            continue
        store, p, m = names.get(line.store_id), line.planned, line.made
        iso = lambda t: t.astimezone(zone).isoformat() if t is not None else ""  # noqa: E731
        writer.writerow((line.date, csv_text(line.rep_id), csv_text(line.store_id), csv_text(store.name if store else ""),
                         csv_text(store.store_class if store else ""), line.status, line.reason or "",
                         iso(p.start if p else None), iso(p.start + dt.timedelta(seconds=p.service_s) if p and p.start else None),
                         iso(m.checked_in if m else None), iso(m.checked_out if m else None), (m.outcome or "") if m else "",
                         m.order_value if m and m.order_value is not None else "", csv_text(m.id) if m else ""))
    suffix = f"-{date}" if date else ""
    return Response(out.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="plan-{plan.id}-actuals{suffix}.csv"'})
