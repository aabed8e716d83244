"""/v1/stores: import (CSV, GeoJSON or JSON; upsert, sync, dry run), list, get, patch, delete, and
moving stores to another rep (with a routed preview)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import func, select

from .. import records
from ..deps import PrincipalDep, SessionDep, allow
from ..models import OwnerEdit, RepRow, RouteRow, StoreRow
from ..problems import ProblemError, responses
from ..schemas import Deleted, ImportResult, MoveIn, MoveOut, Page, StoreOut, StoreRecord
from ._inputs import ActiveFilter, patch_body, read_object, read_upload, run_import, upload_body
from .territories import _plan, last_published, require_team_move, shown_owners

router = APIRouter(prefix="/v1/stores", tags=["stores"])
READ = ("admin", "supervisor", "integrator")
#: Readers of stores and reps: a rep reads its own record and the stores it may visit (``rep_store_ids``).
READ_OWN = (*READ, "rep")
WRITE = ("admin", "supervisor", "integrator")
EDIT = ("admin", "supervisor")
_SCHEMA = StoreRecord.model_json_schema(by_alias=True)


def out(row: StoreRow) -> StoreOut:
    return StoreOut.model_validate(row.data | {"version": row.version, "active": row.active, "updated_at": row.updated_at})


@router.post("/import", response_model=ImportResult, responses=responses(401, 403, 415, 422),
             **allow(*WRITE, whole_team=True, openapi=upload_body(_SCHEMA, geojson=True)))
async def import_stores(request: Request, session: SessionDep, sync: bool = False, dry_run: bool = False) -> ImportResult:
    """Add or update stores by id, all or nothing. ``sync=true``: stores missing from the upload
    are deactivated (a CRM export is the full list). ``dry_run=true``: say what would change."""
    data, fmt = await read_upload(request, "stores", geojson=True)
    return ImportResult(**vars(await run_in_threadpool(run_import, session, records.STORES, data, fmt, sync, dry_run)))


def rep_store_ids(session, rep_id: str) -> set[str]:
    """The stores a rep may read: its territory (the stores it owns) and the stores on its
    routes of the last published plan."""
    ids = set(session.scalars(select(StoreRow.id).where(StoreRow.rep_id == rep_id)))
    plan = last_published(session)
    if plan is not None:
        for data in session.scalars(select(RouteRow.data).where(RouteRow.plan_id == plan.id, RouteRow.rep_id == rep_id)):
            ids |= {stop["store_id"] for stop in data["stops"] if stop.get("store_id")}
    return ids


@router.get("", response_model=Page[StoreOut], responses=responses(401, 403), **allow(*READ_OWN))
def list_stores(session: SessionDep, principal: PrincipalDep,
                rep_id: str | None = None, store_class: Annotated[str | None, Query(alias="class")] = None,
                active: ActiveFilter = True, offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Page[StoreOut]:
    """Stores, by id, paged; filter by owner rep, class, and active (default) or not (``active=``
    empty for both). A supervisor limited to a team sees its reps' stores; a rep, its territory
    and the stores on its routes."""
    query = select(StoreRow)
    if rep_id is not None:
        query = query.where(StoreRow.rep_id == rep_id)
    if store_class is not None:
        query = query.where(StoreRow.store_class == store_class)
    if active is not None:
        query = query.where(StoreRow.active == active)
    if principal.team is not None:
        query = query.where(StoreRow.rep_id.in_(principal.team))
    if principal.role == "rep":
        query = query.where(StoreRow.id.in_(rep_store_ids(session, principal.rep_id)))
    count = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(StoreRow.id).offset(offset).limit(limit))
    return Page[StoreOut](items=[out(r) for r in rows], count=count, offset=offset, limit=limit)


def _patch(request: Request, session, principal, row_id: str, changes: dict):
    row = _get(session, principal, row_id)
    if "rep_id" in changes and changes["rep_id"] != row.rep_id:  # a move by hand, as POST /v1/stores/move
        if principal.team is not None:
            require_team_move(principal, shown_owners(request, session, last_published(session)), [row_id], changes["rep_id"])
        row = _give(session, principal, row_id, changes)
    else:
        row = records.patch_record(session, records.STORES, row_id, changes)
    session.commit()
    return row


def _give(session, principal, store_id: str, changes: dict) -> StoreRow:
    """Patch a store whose owner changes by hand: later territory proposals keep it with its new
    rep (unless asked with ``keep_edits: false``)."""
    row = records.patch_record(session, records.STORES, store_id, changes)
    if changes["rep_id"] is not None:
        session.add(OwnerEdit(store_id=store_id, rep_id=changes["rep_id"], by=f"{principal.role}:{principal.name}"))
    return row


def _get(session, principal, store_id: str) -> StoreRow:
    row = session.get(StoreRow, store_id)
    if (row is None or (principal.team is not None and row.rep_id not in principal.team)
            or (principal.role == "rep" and store_id not in rep_store_ids(session, principal.rep_id))):
        raise ProblemError(404, f"no store {store_id!r}")
    return row


@router.post("/move", response_model=MoveOut, responses=responses(401, 403, 404, 409, 422), **allow("admin", "supervisor"))
def move_stores(body: MoveIn, request: Request, session: SessionDep, principal: PrincipalDep, dry_run: bool = False) -> MoveOut:
    """Give stores to a rep (their owner; a new version of each store), or with
    ``dry_run=true`` only say what it would do. Either way the answer has the routed workload
    of every rep the move touches, before (the last published plan's routed days) and after
    (those reps' territories routed again with the move: a few seconds). Later proposals keep
    a store moved by hand with its rep (unless asked with ``keep_edits: false``)."""
    from .. import proposals, replans

    store_ids = list(dict.fromkeys(body.store_ids))
    rows = [session.get(StoreRow, s) for s in store_ids]
    missing = [s for s, r in zip(store_ids, rows) if r is None or not r.active]
    if missing:
        raise ProblemError(404, f"no store {missing[0]!r}" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    if session.get(RepRow, body.rep_id) is None:
        raise ProblemError(422, f"rep_id: no rep {body.rep_id!r}")
    plan = _plan(session, None)
    if body.rep_id not in plan.inputs["reps"] or any(s not in plan.inputs["stores"] for s in store_ids):
        raise ProblemError(409, f"the last published plan (plan {plan.id}) does not hold rep {body.rep_id} or all the "
                                "stores: plan the cycle again first")
    owner = shown_owners(request, session, plan)
    require_team_move(principal, owner, store_ids, body.rep_id)
    base = request.app.state.replan_bases.get(session, plan, request.app.state.road_network,
                                              request.app.state.settings.cache_dir)
    state = replans.plan_state(session, plan)
    moves = {s: body.rep_id for s in store_ids}
    preview = proposals.preview_moves(plan, base, state, owner, moves, time_limit_s=2.0,
                                      routed=request.app.state.move_previews)
    done = [{"store_id": s, "from": owner.get(s), "to": body.rep_id} for s in store_ids if owner.get(s) != body.rep_id]
    if not dry_run:
        for row in rows:
            if row.rep_id != body.rep_id:
                _give(session, principal, row.id, {"rep_id": body.rep_id})
        session.commit()
    return MoveOut(applied=not dry_run, moves=done, **preview)


@router.get("/{store_id}", response_model=StoreOut, responses=responses(401, 403, 404), **allow(*READ_OWN))
def get_store(store_id: str, session: SessionDep, principal: PrincipalDep) -> StoreOut:
    """One store, its current version."""
    return out(_get(session, principal, store_id))


@router.patch("/{store_id}", response_model=StoreOut, responses=responses(401, 403, 404, 422),
              **allow(*EDIT, openapi=patch_body(_SCHEMA)))
async def patch_store(store_id: str, request: Request, session: SessionDep, principal: PrincipalDep) -> StoreOut:
    """Change some of a store's fields (a new version; a deactivated store is reactivated)."""
    changes = await read_object(request, f"store {store_id}")
    return out(await run_in_threadpool(_patch, request, session, principal, store_id, changes))


@router.delete("/{store_id}", response_model=Deleted, responses=responses(401, 403, 404), **allow(*EDIT))
def delete_store(store_id: str, session: SessionDep, principal: PrincipalDep) -> Deleted:
    """Erase a store, or deactivate it if a plan was made from it (the plan keeps its inputs)."""
    _get(session, principal, store_id)
    result = records.delete_record(session, records.STORES, store_id)
    session.commit()
    return Deleted(id=store_id, result=result)
