"""/v1/policy: the visit policy (classes, frequencies, time zone), versioned."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from .. import records
from ..deps import SessionDep, allow
from ..problems import ProblemError, responses
from ..schemas import PolicyOut
from ._inputs import read_object

router = APIRouter(prefix="/v1/policy", tags=["policy"])
_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["time_zone", "classes"],
    "properties": {"time_zone": {"type": "string", "example": "Europe/Monaco"}, "speed_kmh": {"type": "number"},
                   "circuity": {"type": "number"}, "classes": {"type": "object", "additionalProperties": {"type": "object"}}},
    "example": {"time_zone": "Europe/Monaco", "classes": {"A": {"visits_per_week": 2, "service_min": 25, "priority": 4}}},
}}}}}


def out(row) -> PolicyOut:
    return PolicyOut(version=row.version, created_at=row.created_at, policy=row.data)


@router.get("", response_model=PolicyOut, responses=responses(401, 403, 404), **allow("admin", "supervisor", "integrator"))
def get_policy(session: SessionDep) -> PolicyOut:
    """The current policy and its version."""
    row = records.current_policy_row(session)
    if row is None:
        raise ProblemError(404, "no policy yet: PUT /v1/policy first")
    return out(row)


@router.put("", response_model=PolicyOut, responses=responses(401, 403, 422),
            **allow("admin", "supervisor", "integrator", whole_team=True, openapi=_BODY))
async def put_policy(request: Request, session: SessionDep) -> PolicyOut:
    """Replace the policy (validated as the policy file is); earlier versions stay with the plans made from them."""
    data = await read_object(request, "policy")

    def put():
        row = records.put_policy(session, data)
        session.commit()
        return row

    return out(await run_in_threadpool(put))
