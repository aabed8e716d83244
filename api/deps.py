"""Shared dependencies: the settings, a database session, the caller and role checks."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from . import auth
from .problems import ProblemError
from .settings import Settings

T = TypeVar("T")
SESSION_COOKIE = "fieldroute_session"
CSRF_HEADER = "X-CSRF-Token"
_bearer = HTTPBearer(auto_error=False, description="an API token from `fieldroute token create`")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_db(request: Request) -> AsyncIterator[Session]:
    """A session for the request; a handler commits what it changes, anything else is rolled back.

    At most ``main.DB_SESSIONS`` requests (the pool's connections but 3) hold a session at
    once; the others wait here, in the event loop. A request keeps its connection from its
    first query until its answer is out, and a sync handler's answer is validated in the
    thread pool: without the limit, with more requests in flight than connections, the
    pool's threads could all wait for a connection while the requests holding them waited
    for a thread, until the pool's 30 s timeout answered 500 (seen at 100 clients, and once
    at 50)."""
    async with request.app.state.db_slots:
        with request.app.state.sessions() as session:
            yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_db)]


async def current_principal(request: Request,
                            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> auth.Principal:
    """The caller: a bearer token (known valid tokens are remembered for ``token_cache_s``
    seconds, see ``api.cache``), or the /login cookie: for a GET (a map opened in a browser),
    or for another method with the page's ``X-CSRF-Token`` (the territory page's moves).
    Async, so that a remembered token costs no trip to the thread pool."""
    principal = None
    detail = "a valid bearer token is required"
    if credentials is not None:
        principal = await _token_principal(request, credentials.credentials)
        detail = "the token is unknown or revoked"
    elif cookie := request.cookies.get(SESSION_COOKIE):
        if request.method == "GET" or _page_write(request, cookie):
            principal = await read_db(request, auth.principal_for_session, cookie)
        else:
            detail = (f"a signed-in page writes only what it offers, with its {CSRF_HEADER} header; other callers send "
                      "a bearer token")
    if principal is None:
        raise ProblemError(401, detail, headers={"WWW-Authenticate": "Bearer"})
    return principal


PrincipalDep = Annotated[auth.Principal, Depends(current_principal)]

#: The writes a signed-in page makes with the session cookie (the territory page's, its
#: sign-in links included, the rep app's events: what a signed-in phone posts is what its rep
#: may post anyway); the route's roles still apply (a rep's phone makes no link, a team's
#: supervisor only its reps'). Every other write takes a bearer token, so a script that got
#: hold of a page cannot do more.
PAGE_WRITES = frozenset({("POST", "/v1/stores/move"), ("POST", "/v1/territories/proposals"),
                         ("POST", "/v1/territories/proposals/{proposal_id}/apply"),
                         ("POST", "/v1/reps/{rep_id}/sign-in-links"),
                         ("POST", "/v1/suggestions/{suggestion_id}/apply"), ("POST", "/v1/suggestions/{suggestion_id}/dismiss"),
                         ("POST", "/v1/suggestions/apply"),  # the follow-up page
                         ("POST", "/v1/reps/{rep_id}/routes/{date}/events")})  # the rep's app (api.routes.app)


def _page_write(request: Request, cookie: str) -> bool:
    """A write the page offers, carrying the token derived from this browser's cookie."""
    route = request.scope.get("route")
    return (request.method, getattr(route, "path", None)) in PAGE_WRITES and _csrf_matches(request, cookie)


def _csrf_matches(request: Request, cookie: str) -> bool:
    given = request.headers.get(CSRF_HEADER, "")
    return given.isascii() and secrets.compare_digest(given, auth.csrf_token(cookie))


async def has_valid_credentials(scope: dict) -> bool:
    """Whether a request, before its route is known, carries valid credentials: a known bearer
    token, or a session cookie with (but for a GET) its page's CSRF header. What the caller may
    do is still decided by ``current_principal`` and the route's roles (``api.guard`` asks
    this before reading more than 64 KiB of a body)."""
    request = Request(scope)
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and secret.strip():
        return await _token_principal(request, secret.strip()) is not None
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and (request.method == "GET" or _csrf_matches(request, cookie)):
        return await read_db(request, auth.principal_for_session, cookie) is not None
    return False


async def read_db(request: Request, fn: Callable[..., T], *args, in_loop: bool = True) -> T:
    """``fn(session, *args)``, a short database read, from async code. On SQLite in the event
    loop on its own connection (``in_loop``): the query is this process's own CPU work (WAL
    readers wait for no writer), and a trip to the thread pool costs more than it (0.25-0.55
    ms a request at 50 clients, against 0.1 ms for a cached route's query). On a database server
    (or not ``in_loop``) in the thread pool: the loop must not wait on the network; the
    session is opened and closed in that one trip, so it needs none of get_db's slots."""
    state = request.app.state
    if in_loop and state.loop_sessions is not None:
        with state.loop_sessions() as session:
            return fn(session, *args)

    def run() -> T:
        with state.sessions() as session:
            return fn(session, *args)

    return await run_in_threadpool(run)


async def _token_principal(request: Request, secret: str) -> auth.Principal | None:
    cache = request.app.state.token_cache
    token_hash = auth.digest(secret)
    principal = cache.get(token_hash)
    if principal is None:
        principal = await read_db(request, auth.principal_for, secret)
        if principal is not None:
            cache.put(token_hash, principal)
    return principal


def allow(*roles: str, whole_team: bool = False, openapi: dict[str, Any] | None = None) -> dict[str, Any]:
    """Route options that admit only ``roles`` (403 for the others) and list them in OpenAPI
    (with ``openapi``, more of the operation's OpenAPI, e.g. a request body). ``whole_team``:
    the action touches every rep (imports, the policy, planning), so a supervisor limited to
    a team may not do it."""

    async def check(principal: PrincipalDep) -> None:
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
