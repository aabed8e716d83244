"""/v1/reps: import (CSV or JSON; upsert, sync, dry run), list, get, patch, delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import func, select

from .. import records
from ..deps import PrincipalDep, SessionDep, allow
from ..models import RepRow
from ..problems import ProblemError, responses
from ..schemas import Deleted, ImportResult, Page, RepOut, RepRecord
from ._inputs import ActiveFilter, patch_body, read_object, read_upload, run_import, upload_body
from .stores import EDIT, READ_OWN, WRITE

router = APIRouter(prefix="/v1/reps", tags=["reps"])
_SCHEMA = RepRecord.model_json_schema()


def out(row: RepRow) -> RepOut:
    return RepOut.model_validate(row.data | {"version": row.version, "active": row.active, "updated_at": row.updated_at})


@router.post("/import", response_model=ImportResult, responses=responses(401, 403, 415, 422),
             **allow(*WRITE, whole_team=True, openapi=upload_body(_SCHEMA, geojson=False)))
async def import_reps(request: Request, session: SessionDep, sync: bool = False, dry_run: bool = False) -> ImportResult:
    """Add or update reps by id, all or nothing; ``sync`` deactivates reps missing from the
    upload; ``dry_run`` says what would change."""
    data, fmt = await read_upload(request, "reps", geojson=False)
    return ImportResult(**vars(await run_in_threadpool(run_import, session, records.REPS, data, fmt, sync, dry_run)))


@router.get("", response_model=Page[RepOut], responses=responses(401, 403), **allow(*READ_OWN))
def list_reps(session: SessionDep, principal: PrincipalDep, active: ActiveFilter = True,
              offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Page[RepOut]:
    """Reps, by id, paged; active ones by default (``active=false``: deactivated ones, ``active=``
    empty: both). A supervisor limited to a team sees its reps; a rep, itself."""
    query = select(RepRow)
    if active is not None:
        query = query.where(RepRow.active == active)
    if principal.team is not None:
        query = query.where(RepRow.id.in_(principal.team))
    if principal.role == "rep":
        query = query.where(RepRow.id == principal.rep_id)
    count = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(RepRow.id).offset(offset).limit(limit))
    return Page[RepOut](items=[out(r) for r in rows], count=count, offset=offset, limit=limit)


def _patch(session, principal, row_id: str, changes: dict):
    _get(session, principal, row_id)
    row = records.patch_record(session, records.REPS, row_id, changes)
    session.commit()
    return row


def _get(session, principal, rep_id: str) -> RepRow:
    row = session.get(RepRow, rep_id)
    if (row is None or (principal.team is not None and rep_id not in principal.team)
            or (principal.role == "rep" and rep_id != principal.rep_id)):
        raise ProblemError(404, f"no rep {rep_id!r}")
    return row


@router.get("/{rep_id}", response_model=RepOut, responses=responses(401, 403, 404), **allow(*READ_OWN))
def get_rep(rep_id: str, session: SessionDep, principal: PrincipalDep) -> RepOut:
    """One rep, its current version."""
    return out(_get(session, principal, rep_id))


@router.patch("/{rep_id}", response_model=RepOut, responses=responses(401, 403, 404, 422),
              **allow(*EDIT, openapi=patch_body(_SCHEMA)))
async def patch_rep(rep_id: str, request: Request, session: SessionDep, principal: PrincipalDep) -> RepOut:
    """Change some of a rep's fields (a new version; a deactivated rep is reactivated)."""
    changes = await read_object(request, f"rep {rep_id}")
    return out(await run_in_threadpool(_patch, session, principal, rep_id, changes))


@router.delete("/{rep_id}", response_model=Deleted, responses=responses(401, 403, 404, 409), **allow(*EDIT))
def delete_rep(rep_id: str, session: SessionDep, principal: PrincipalDep) -> Deleted:
    """Erase a rep, or deactivate it if a plan was made from it; 409 while it owns stores."""
    _get(session, principal, rep_id)
    try:
        result = records.delete_record(session, records.REPS, rep_id)
    except records.InUse as exc:
        raise ProblemError(409, str(exc)) from None
    session.commit()
    return Deleted(id=rep_id, result=result)
