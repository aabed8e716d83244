"""/v1/visits: the visits reps made, imported from another system (the app's come with its
check-outs). The follow-up reports read them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from .. import visits
from ..deps import PrincipalDep, SessionDep, allow
from ..problems import responses
from ..schemas import VisitImportOut, VisitIn
from ._inputs import read_upload, upload_body

router = APIRouter(prefix="/v1/visits", tags=["visits"])
_EXAMPLE = ("id,rep_id,store_id,checked_in,checked_out,outcome,order_value,currency,note,steps\n"
            "CRM-1001,R1,S1,2026-12-07T09:05,2026-12-07T09:27,order,182.50,EUR,new display,check_shelf;take_order\n")


@router.post("/import", response_model=VisitImportOut, responses=responses(401, 403, 415, 422),
             **allow("admin", "supervisor", "integrator",
                     openapi=upload_body(VisitIn.model_json_schema(), geojson=False, example=_EXAMPLE)))
async def import_visits(request: Request, session: SessionDep, principal: PrincipalDep, dry_run: bool = False) -> VisitImportOut:
    """Add visits reps made elsewhere, by their id (CSV or a JSON list; a visit with an id
    already here is replaced), all or nothing: a bad row is refused with its row and field, and
    nothing changes. Past dates are welcome. Imported visits count in the follow-up reports
    exactly as the app's. A supervisor limited to a team imports its reps' visits only.
    ``dry_run=true``: say what would change."""
    data, fmt = await read_upload(request, "visits", geojson=False)

    def run() -> visits.VisitImport:
        done = visits.import_visits(session, data, fmt, team=principal.team, dry_run=dry_run)
        session.commit()
        return done

    return VisitImportOut(**vars(await run_in_threadpool(run)))
