"""Shared dependencies: the settings, a database session, the caller and role checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from . import auth
from .problems import ProblemError
from .settings import Settings

SESSION_COOKIE = "fieldroute_session"
_bearer = HTTPBearer(auto_error=False, description="an API token from `fieldroute token create`")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_db(request: Request) -> Iterator[Session]:
    """A session for the request; a handler commits what it changes, anything else is rolled back."""
    with request.app.state.sessions() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_db)]


def current_principal(request: Request, session: SessionDep,
                      credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> auth.Principal:
    """The caller: a bearer token, or (for GET, e.g. a map opened in a browser) the /login cookie."""
    principal = None
    if credentials is not None:
        principal = auth.principal_for(session, credentials.credentials)
    elif request.method == "GET" and (cookie := request.cookies.get(SESSION_COOKIE)):
        principal = auth.principal_for_session(session, cookie)
    if principal is None:
        detail = "a valid bearer token is required" if credentials is None else "the token is unknown or revoked"
        raise ProblemError(401, detail, headers={"WWW-Authenticate": "Bearer"})
    return principal


PrincipalDep = Annotated[auth.Principal, Depends(current_principal)]


def allow(*roles: str, whole_team: bool = False, openapi: dict[str, Any] | None = None) -> dict[str, Any]:
    """Route options that admit only ``roles`` (403 for the others) and list them in OpenAPI
    (with ``openapi``, more of the operation's OpenAPI, e.g. a request body). ``whole_team``:
    the action touches every rep (imports, the policy, planning), so a supervisor limited to
    a team may not do it."""

    def check(principal: PrincipalDep) -> None:
        if principal.role not in roles:
            raise ProblemError(403, f"role {principal.role!r} may not do this; allowed: {', '.join(roles)}")
        if whole_team and principal.team is not None:
            raise ProblemError(403, "this acts on every rep; a supervisor limited to a team may not do it")

    extra = {"x-roles": list(roles)} | ({"x-whole-team": True} if whole_team else {})
    return {"dependencies": [Depends(check)], "openapi_extra": (openapi or {}) | extra}


def require_rep_access(principal: auth.Principal, rep_id: str) -> None:
    """403 unless the caller may read ``rep_id``'s routes (a rep only its own, a supervisor its team)."""
    if not principal.can_see_rep(rep_id):
        raise ProblemError(403, f"this token may not read rep {rep_id!r}'s routes")
