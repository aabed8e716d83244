"""Territories: each rep's routed workload in a plan, the balance between reps, and the area
each rep covers (GeoJSON)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import select

from routing.territory import balance, outlines, outlines_geojson, owners, workloads

from .. import auth, proposals, replans
from ..deps import SESSION_COOKIE, PrincipalDep, SessionDep, SettingsDep, allow
from ..jobs import new_job
from ..models import Job, Plan, PolicyVersion, ProposalRow, StoreRow
from ..problems import ProblemError, responses
from ..schemas import LOCATION_HEADER, TERRITORIES_GEOJSON, ProposalOut, ProposalRequest, TerritoriesOut
from ._inputs import with_time_limit

router = APIRouter(tags=["territories"])


def _plan(session, plan_id: int | None) -> Plan:
    if plan_id is not None:
        plan = session.get(Plan, plan_id)
        if plan is None:
            raise ProblemError(404, f"no plan {plan_id}")
        return plan
    plan = last_published(session)
    if plan is None:
        raise ProblemError(404, "no published plan yet: plan and publish a cycle first")
    return plan


def last_published(session) -> Plan | None:
    return session.scalar(select(Plan).where(Plan.status == "published").order_by(Plan.published_at.desc(), Plan.id.desc())
                          .limit(1))


def shown_owners(request: Request, session, plan: Plan | None) -> dict[str, str | None]:
    """Each store's rep as the territory page shows it: a plan's store, its owner now, else the
    rep the plan (``plan``: the last published) sends to it most; other stores, their owner now."""
    owner = dict(session.execute(select(StoreRow.id, StoreRow.rep_id)).all())
    if plan is not None:
        stores = request.app.state.replan_bases.get(session, plan, request.app.state.road_network,
                                                    request.app.state.settings.cache_dir).stores
        routes, _ = replans.plan_state(session, plan)
        owner |= proposals.owners_now(proposals.stored_owners(session, stores), stores, routes)
    return owner


def require_team_move(principal, owner: dict[str, str | None], store_ids, rep_id: str | None) -> None:
    """403 unless the caller may give ``store_ids`` to ``rep_id``: a supervisor limited to a
    team moves stores between its reps only, judged on ``owner`` (``shown_owners``). The one
    rule of ``POST /v1/stores/move`` and of a ``PATCH /v1/stores/{id}`` that changes ``rep_id``."""
    team = principal.team
    if team is not None and (rep_id not in team or any(owner.get(s) not in team for s in store_ids)):
        raise ProblemError(403, "a supervisor limited to a team moves stores between its reps only")


@dataclass(frozen=True)
class _View:
    """What a caller sees of a plan's territories: the plan's stores (a limited supervisor's:
    its reps' stores) and reps, each store's rep today, the routed workloads, and how many
    stores changed rep since the plan was made."""

    stores: tuple
    reps: tuple
    owner: dict
    loads: list
    changed: int


def _view(request: Request, session, principal, plan: Plan) -> _View:
    base = request.app.state.replan_bases.get(session, plan, request.app.state.road_network,
                                              request.app.state.settings.cache_dir)
    stores, reps, policy, cycle = base.stores, base.reps, base.policy, base.cycle
    routes, unassigned = replans.plan_state(session, plan)
    owner = shown_owners(request, session, plan)
    then = owners(stores, routes)
    everyone = reps
    if principal.team is not None:
        reps = tuple(r for r in reps if r.id in principal.team)
    loads = workloads(routes, unassigned, stores, reps, policy, cycle, team=everyone)
    mine = {r.id for r in reps}
    stores = tuple(s for s in stores if principal.team is None or owner.get(s.id) in mine)
    return _View(stores, tuple(reps), owner, loads, sum(1 for s in stores if owner.get(s.id) != then.get(s.id)))


@router.get("/v1/territories", response_model=TerritoriesOut, responses=responses(401, 403, 404, 422) | {
    200: {"content": {"application/geo+json": {"schema": TERRITORIES_GEOJSON}}}}, **allow("admin", "supervisor"))
def get_territories(request: Request, session: SessionDep, principal: PrincipalDep,
                    plan_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                    format: Literal["json", "geojson"] = "json"):
    """Each rep's workload over a plan's cycle (default: the last published plan), read off
    its routed days as they stand (same-day re-plans included): hours of visits, driving and
    waiting, visits, days used, the working hours the shifts offer, and the hours of the
    visits missing for lack of time (work beyond the shifts); the balance between reps
    (service + travel hours: busiest, idlest, their ratio, the coefficient of variation).
    ``format=geojson``: each rep's territory (its stores today: moves since the plan
    included) as a polygon with its workload as properties. A supervisor limited to a team
    sees its reps."""
    plan = _plan(session, plan_id)
    view = _view(request, session, principal, plan)
    loads = view.loads
    if format == "geojson":
        collection = outlines_geojson(outlines(view.stores, view.reps, view.owner), loads)
        collection["properties"] = {"plan_id": plan.id, "balance": balance(loads).as_dict()}
        return JSONResponse(collection, media_type="application/geo+json")
    return TerritoriesOut(plan_id=plan.id, start=dt.date.fromisoformat(plan.start), weeks=plan.weeks,
                          reps=[w.as_dict() for w in loads], balance=balance(loads).as_dict())


@router.get("/v1/territories/map", response_class=HTMLResponse, responses=responses(401, 403, 404, 422),
            **allow("admin", "supervisor"))
def territory_page(request: Request, session: SessionDep, principal: PrincipalDep,
                   plan_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
                   proposal_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> HTMLResponse:
    """The supervisor's page (HTML; opens in a browser after /login): the stores coloured by
    their rep, each territory's outline, the reps' homes, and a workload bar per rep (a plan's
    routed days; default the last published plan). Select stores, pick a rep, preview the
    routed workloads and apply the move; start a balanced proposal. ``proposal_id``: that
    proposal, its moved stores ringed in their new rep's colour, applicable from the page."""
    from maps.territories import territory_map

    proposal = None
    if proposal_id is not None:
        row = session.get(ProposalRow, proposal_id)
        if row is None:
            raise ProblemError(404, f"no proposal {proposal_id}")
        plan, proposal = session.get(Plan, row.plan_id), proposal_out(session, row, principal.team)
    else:
        plan = _plan(session, plan_id)
    view = _view(request, session, principal, plan)
    active = set(session.scalars(select(StoreRow.id).where(StoreRow.id.in_([s.id for s in view.stores]), StoreRow.active)))
    stores = [s for s in view.stores if s.id in active]  # a store deleted or deactivated since the plan cannot move
    result = (proposal.result if proposal else None) or {}
    moves = {m["store_id"]: m["to"] for m in result.get("moves", [])}
    added = ()
    if result.get("what_if") and (asked := (row.params or {}).get("what_if")):  # the what-if's new reps: homes, names
        added = proposals.what_if(asked, session.get(PolicyVersion, plan.inputs["policy"]).data).add_reps
    published = session.scalar(select(Plan.id).where(Plan.status == "published")
                               .order_by(Plan.published_at.desc(), Plan.id.desc()).limit(1))
    cookie = request.cookies.get(SESSION_COOKIE) if "authorization" not in request.headers else None
    config = {
        "plan_id": plan.id, "csrf": auth.csrf_token(cookie) if cookie else None, "can_propose": principal.team is None,
        "can_move": plan.id == published and proposal is None,
        "page_url": "/v1/territories/map", "territories_url": "/v1/territories", "move_url": "/v1/stores/move",
        "proposals_url": "/v1/territories/proposals",
        "subtitle": f"Plan {plan.id} from {plan.start}, {plan.weeks} weeks: {len(stores)} stores, {len(view.reps)} reps. "
                    "Hours over the cycle, from its routed days.",
        "banner": (f"{view.changed} store{'s have' if view.changed != 1 else ' has'} changed rep since plan {plan.id} was made: "
                   "the table shows its routed days; a preview routes the touched territories again. Plan the cycle "
                   "again to route them all.") if view.changed and not proposal else None,
        "proposal": None if proposal is None else {
            "id": proposal.id, "status": proposal.status, "what_if": bool(result.get("what_if")),
            "headcount": result.get("headcount"), "headcount_routed": result.get("headcount_routed"),
            "moves": result.get("moves", []),
            "before": result.get("before") or [w.as_dict() for w in view.loads], "after": result.get("after")},
    }
    roads = request.app.state.road_network(plan.network)
    collection = outlines_geojson(outlines(stores, view.reps, view.owner), view.loads)
    page = territory_map(stores, view.reps, view.owner, view.loads, collection, moves=moves, config=config, roads=roads,
                         extra_reps=added)
    # no-store: the page carries its CSRF token; never in a frame: its buttons must not be clicked through another page
    return HTMLResponse(page.get_root().render(), headers={
        "Cache-Control": "no-store", "Content-Security-Policy": "frame-ancestors 'none'", "X-Frame-Options": "DENY"})


ProposalId = Annotated[int, Path(ge=1, le=2**31 - 1, description="a proposal's id")]


def proposal_out(session, row: ProposalRow, team: frozenset[str] | None = None) -> ProposalOut:
    """A proposal as answered; to a supervisor limited to ``team``, only what concerns its reps."""
    job = session.get(Job, row.job_id) if row.job_id else None
    status = row.status
    if status == "running" and job is not None and job.status in ("failed", "cancelled"):
        status = job.status
    job_data = None if job is None else {"id": job.id, "status": job.status, "phase": job.phase, "progress": job.progress,
                                         "error": job.error}
    return ProposalOut(id=row.id, plan_id=row.plan_id, status=status, job=job_data, created_at=row.created_at,
                       applied_at=row.applied_at, result=_for_team(row.result, team))


def _for_team(result: dict | None, team: frozenset[str] | None) -> dict | None:
    if team is None or not result:
        return result
    then = result.get("owners_then", {})
    return result | {
        "moves": [m for m in result.get("moves", []) if m["from"] in team or m["to"] in team],
        "before": [w for w in result.get("before", []) if w["rep_id"] in team],
        "after": [w for w in result.get("after", []) if w["rep_id"] in team],
        "owners": {s: r for s, r in result.get("owners", {}).items() if r in team or then.get(s) in team},
        "owners_then": {s: r for s, r in then.items() if r in team},
        **({"headcount_routed": result["headcount_routed"] | {
            "loads": [w for w in result["headcount_routed"].get("loads", []) if w["rep_id"] in team]}}
           if result.get("headcount_routed") else {}),
    }


@router.post("/v1/territories/proposals", status_code=202, response_model=ProposalOut,
             responses=responses(401, 403, 404, 422) | {202: {
                 "description": "the proposal, its job queued", "headers": LOCATION_HEADER, "links": {
                     "the proposal": {"operationId": "get_proposal_v1_territories_proposals__proposal_id__get",
                                      "parameters": {"proposal_id": "$response.body#/id"}},
                     "apply it": {"operationId": "apply_proposal_v1_territories_proposals__proposal_id__apply_post",
                                  "parameters": {"proposal_id": "$response.body#/id"}}}}},
             **allow("admin", "supervisor", whole_team=True))
def create_proposal(body: ProposalRequest, request: Request, response: Response, session: SessionDep,
                    settings: SettingsDep) -> ProposalOut:
    """A balanced territory proposal (a job, 202): a new rep for each store that evens out
    the reps' routed work, keeps territories near the reps' homes and moves at most
    ``max_moves`` (or ``max_moves_pct`` % of the) stores; ``locked_stores`` and
    ``locked_pairs`` stay. The proposal's workloads are routed: its territories' cycles are
    planned. Follow it at ``GET /v1/territories/proposals/{id}``; apply it with ``.../apply``."""
    body = with_time_limit(body, settings.max_plan_time_s)
    search_s = (body.what_if.headcount_time_s or 0) if body.what_if else 0
    if body.time_limit_s + search_s > settings.max_plan_time_s:
        raise ProblemError(422, f"what_if.headcount_time_s: time_limit_s + headcount_time_s at most {settings.max_plan_time_s:g} s "
                                f"on this service, got {body.time_limit_s + search_s:g}")
    plan = _plan(session, body.plan_id)
    if body.what_if is not None:  # refused now, with the field, rather than in the job
        from routing.errors import InputError, InputProblem

        change = proposals.what_if(body.what_if.model_dump(), session.get(PolicyVersion, plan.inputs["policy"]).data)
        unknown = sorted(change.remove_reps - set(plan.inputs["reps"]))
        taken = sorted({r.id for r in change.add_reps} & (set(plan.inputs["reps"]) - change.remove_reps))
        left = (set(plan.inputs["reps"]) - change.remove_reps) | {r.id for r in change.add_reps}
        if unknown or taken or not left:
            raise InputError([InputProblem("what_if", None, "remove_reps", f"no rep {r!r} in plan {plan.id}") for r in unknown]
                             + [InputProblem("what_if", None, "add_reps", f"rep {r!r} is in the team already") for r in taken]
                             + ([InputProblem("what_if", None, "remove_reps", "at least one rep must stay (or add reps): "
                                              "for the team size from scratch, ask headcount_time_s with today's team")]
                                if not left else []))
    params = body.model_dump(mode="json") | {"plan_id": plan.id}
    job = new_job(session, params, None, kind="proposal")
    row = ProposalRow(plan_id=plan.id, job_id=job.id, status="running", params=params)
    session.add(row)
    session.commit()
    request.app.state.jobs.kick()
    response.headers["Location"] = f"/v1/territories/proposals/{row.id}"
    return proposal_out(session, row)


@router.get("/v1/territories/proposals/{proposal_id}", response_model=ProposalOut, responses=responses(401, 403, 404),
            **allow("admin", "supervisor"))
def get_proposal(proposal_id: ProposalId, request: Request, session: SessionDep, principal: PrincipalDep) -> ProposalOut:
    """A proposal: while its job runs, the job's phase and progress; then the moves (store,
    from, to), each rep's routed workload before and after, and the balance before and after.
    A supervisor limited to a team sees its reps' moves and workloads."""
    row = session.get(ProposalRow, proposal_id)
    if row is None:
        raise ProblemError(404, f"no proposal {proposal_id}")
    if row.status == "running" and request.app.state.jobs.expire():  # its job's lease ran out: failed
        session.expire_all()
    return proposal_out(session, row, principal.team)


@router.post("/v1/territories/proposals/{proposal_id}/apply", response_model=ProposalOut,
             responses=responses(401, 403, 404, 409), **allow("admin", "supervisor", whole_team=True))
def apply_proposal(proposal_id: ProposalId, session: SessionDep) -> ProposalOut:
    """Make the proposal's reps the stores' owners (a new version of each store that changes:
    the moved stores and those that had no owner); 409 unless the proposal is ready and no
    store changed owner since. Plan the cycle again to route the new territories."""
    row = session.get(ProposalRow, proposal_id)
    if row is None:
        raise ProblemError(404, f"no proposal {proposal_id}")
    if row.status != "proposed":
        raise ProblemError(409, f"proposal {proposal_id} is {proposal_out(session, row).status}, not ready to apply")
    if row.result.get("what_if"):
        raise ProblemError(409, f"proposal {proposal_id} is a what-if: change the reps or the policy, then propose")
    try:
        proposals.apply(session, row)
    except proposals.Stale as exc:
        session.rollback()
        raise ProblemError(409, str(exc)) from None
    session.commit()
    return proposal_out(session, row)
