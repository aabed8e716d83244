"""/healthz: the service is up and its database answers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from ..deps import SessionDep
from ..problems import MEDIA_TYPE
from ..schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut,
            responses={503: {"description": "the database does not answer", "content": {MEDIA_TYPE: {}}}})
def healthz(session: SessionDep, request: Request) -> HealthOut | JSONResponse:
    """``{"status": "ok"}`` when the database answers (no token needed); ``time`` is the
    service's clock (``fieldroute serve --clock``), ``clock`` says whether it is set."""
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any database failure is "unhealthy"
        return JSONResponse({"type": "about:blank", "title": "Service Unavailable", "status": 503,
                             "detail": f"database: {type(exc).__name__}"}, status_code=503, media_type=MEDIA_TYPE)
    clock = request.app.state.clock
    return HealthOut(status="ok", database="ok", time=clock(), clock="set" if clock.is_set else "system")
