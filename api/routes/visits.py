"""/v1/visits and /v1/targets: the visits reps made, imported from another system (the app's
come with its check-outs), and monthly targets. The follow-up reports read them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from .. import visits
from ..deps import PrincipalDep, SessionDep, allow
from ..problems import responses
from ..schemas import TargetIn, VisitImportOut, VisitIn
from ._inputs import read_upload, upload_body

router = APIRouter(tags=["follow-up"])
_EXAMPLE = ("id,rep_id,store_id,checked_in,checked_out,outcome,order_value,currency,note,steps\n"
            "CRM-1001,R1,S1,2026-12-07T09:05,2026-12-07T09:27,order,182.50,EUR,new display,check_shelf;take_order\n")


@router.post("/v1/visits/import", response_model=VisitImportOut, responses=responses(401, 403, 415, 422),
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


_TARGETS = "month,rep_id,area,order_value,visits\n2026-12,R1,,12000,88\n2026-12,,Centre,30000,\n"


@router.post("/v1/targets/import", response_model=VisitImportOut, responses=responses(401, 403, 415, 422),
             **allow("admin", "supervisor", "integrator", whole_team=True,
                     openapi=upload_body(TargetIn.model_json_schema(), geojson=False, example=_TARGETS)))
async def import_targets(request: Request, session: SessionDep, dry_run: bool = False) -> VisitImportOut:
    """Add or replace monthly targets (目标拆解) by month and rep or area (CSV or a JSON list),
    all or nothing: the reports show each rep's and area's target for the period (the months'
    share of it), the actual and the gap."""
    data, fmt = await read_upload(request, "targets", geojson=False)

    def run() -> visits.VisitImport:
        done = visits.import_targets(session, data, fmt, dry_run=dry_run)
        session.commit()
        return done

    return VisitImportOut(**vars(await run_in_threadpool(run)))


@router.get("/v1/targets", response_model=list[TargetIn], responses=responses(401, 403), **allow("admin", "supervisor", "integrator"))
def list_targets(session: SessionDep) -> list[TargetIn]:
    """Every monthly target, by month."""
    return [TargetIn(month=t.month, rep_id=t.rep_id, area=t.area, order_value=t.order_value, visits=t.visits)
            for t in visits.targets(session)]
