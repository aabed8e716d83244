"""Territories: each rep's routed workload in a plan, the balance between reps, and the area
each rep covers (GeoJSON)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from routing.io import route_from_dict
from routing.model import Unassigned
from routing.territory import balance, outlines, outlines_geojson, owners, workloads

from .. import plans, replans
from ..deps import PrincipalDep, SessionDep, allow
from ..models import Event as EventRow
from ..models import Plan
from ..problems import ProblemError, responses
from ..schemas import TerritoriesOut

router = APIRouter(tags=["territories"])


def _plan(session, plan_id: int | None) -> Plan:
    if plan_id is not None:
        plan = session.get(Plan, plan_id)
        if plan is None:
            raise ProblemError(404, f"no plan {plan_id}")
        return plan
    plan = session.scalar(select(Plan).where(Plan.status == "published").order_by(Plan.published_at.desc(), Plan.id.desc())
                          .limit(1))
    if plan is None:
        raise ProblemError(404, "no published plan yet: plan and publish a cycle first")
    return plan


@router.get("/v1/territories", response_model=TerritoriesOut, responses=responses(401, 403, 404, 422) | {
    200: {"content": {"application/geo+json": {"schema": {"type": "object"}}}}}, **allow("admin", "supervisor"))
def get_territories(request: Request, session: SessionDep, principal: PrincipalDep,
                    plan_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                    format: Literal["json", "geojson"] = "json"):
    """Each rep's workload over a plan's cycle (default: the last published plan), read off
    its routed days as they stand (same-day re-plans included): hours of visits, driving and
    waiting, visits, days used, the working hours the shifts offer, and the hours of the
    visits missing for lack of time (work beyond the shifts); the balance between reps
    (service + travel hours: busiest, idlest, their ratio, the coefficient of variation).
    ``format=geojson``: each rep's territory as a polygon with its workload as properties.
    A supervisor limited to a team sees its reps."""
    plan = _plan(session, plan_id)
    base = request.app.state.replan_bases.get(session, plan, request.app.state.road_network,
                                              request.app.state.settings.cache_dir)
    stores, reps, policy, cycle, _ = base
    zone = ZoneInfo(plan.time_zone)
    routes = [route_from_dict(r.data, zone) for r in plans.latest_routes(session, plan.id)]
    state = session.scalar(select(EventRow).where(EventRow.plan_id == plan.id, EventRow.kind == replans.STATE)
                           .order_by(EventRow.id.desc()).limit(1))
    missing = state.data["unassigned"] if state is not None else plan.result.get("unassigned", [])
    unassigned = [Unassigned(u["store_id"], u["reason"], u.get("detail", ""), u.get("date")) for u in missing]
    if principal.team is not None:
        reps = tuple(r for r in reps if r.id in principal.team)
    loads = workloads(routes, unassigned, stores, reps, policy, cycle)
    if format == "geojson":
        collection = outlines_geojson(outlines(stores, reps, owners(stores, routes)), loads)
        collection["properties"] = {"plan_id": plan.id, "balance": balance(loads).as_dict()}
        return JSONResponse(collection, media_type="application/geo+json")
    return TerritoriesOut(plan_id=plan.id, start=dt.date.fromisoformat(plan.start), weeks=plan.weeks,
                          reps=[w.as_dict() for w in loads], balance=balance(loads).as_dict())
