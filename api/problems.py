"""Errors as RFC 9457 problem details (``application/problem+json``), one shape everywhere.

Input problems carry where they are: ``pointer`` (a JSON pointer into the body, e.g.
``/3/lat``), or ``line`` and ``column`` for a CSV upload, with the CLI's message.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from routing.errors import InputError, InputProblem

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("fieldroute")


class ProblemItem(BaseModel):
    """One thing wrong with the request."""

    detail: str
    pointer: str | None = None
    line: int | None = None
    column: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[ProblemItem] | None = None


class ProblemError(Exception):
    """Raise to answer with a problem: ``ProblemError(404, "no store 'S9'")``."""

    def __init__(self, status: int, detail: str, *, errors: list[ProblemItem] | None = None, headers: dict | None = None):
        super().__init__(detail)
        self.status, self.detail, self.errors, self.headers = status, detail, errors, headers


def problem_response(request: Request, status: int, detail: str | None, errors=None, headers=None) -> JSONResponse:
    body = Problem(title=HTTPStatus(status).phrase, status=status, detail=detail, instance=request.url.path, errors=errors)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, media_type=MEDIA_TYPE, headers=headers)


_ROW = re.compile(r"line (\d+)|\[(\d+)\]|feature (\d+)")


def input_items(problems: list[InputProblem]) -> list[ProblemItem]:
    """Where each input problem is, in the request's terms, with the CLI's message."""
    items = []
    for p in problems:
        match = _ROW.fullmatch(p.row or "")
        line = column = pointer = None
        if match and match[1]:
            line, column = int(match[1]), p.field
        elif match and match[2]:
            pointer = f"/{match[2]}" + (f"/{p.field}" if p.field else "")
        elif match:  # a GeoJSON feature: the fields are its properties (lat, lon its geometry)
            where = "/geometry" if p.field in ("geometry", "lat", "lon") else f"/properties/{p.field}" if p.field else ""
            pointer = f"/features/{int(match[3]) - 1}{where}"
        elif p.row:  # e.g. classes.A in a policy
            pointer = "/" + "/".join(p.row.split(".")) + (f"/{p.field}" if p.field else "")
        elif p.field:
            pointer = f"/{p.field}"
        items.append(ProblemItem(detail=str(p), pointer=pointer, line=line, column=column))
    return items


class CrashGuard:
    """Answers an exception no handler took with a 500 problem, and ends the request there.
    Starlette's ``ServerErrorMiddleware`` answers too but then raises the exception again, and
    uvicorn closes the connection of an application that raised: a keep-alive client's next
    request on it was reset. Pure ASGI; the innermost of the app's middleware (``install``)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def sending(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            if started:  # part of an answer is out: only closing the connection can tell the client
                raise
            request = Request(scope)
            log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
            await problem_response(request, 500, _CRASHED)(scope, receive, send)


_CRASHED = "internal error; it has been logged"


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` as problem+json (an unexpected one as a 500 that keeps the
    connection: ``CrashGuard``)."""
    app.add_middleware(CrashGuard)

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError):
        return problem_response(request, exc.status, exc.detail, exc.errors, exc.headers)

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError):
        n = len(exc.problems)
        return problem_response(request, 422, f"input rejected ({n} problem{'s' * (n != 1)}); nothing was changed",
                                input_items(exc.problems))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        items = []
        for e in exc.errors():
            loc = [str(x) for x in e.get("loc", ())]
            pointer = "/" + "/".join(loc[1:]) if loc[:1] == ["body"] else None
            items.append(ProblemItem(detail=f"{'.'.join(loc)}: {e.get('msg')}", pointer=pointer))
        return problem_response(request, 422, "the request is not valid", items)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:  # Starlette's Allow names one route's methods; a path has one route a method
            if allowed := _allowed_methods(request):
                headers = (headers or {}) | {"Allow": ", ".join(allowed)}
        return problem_response(request, exc.status_code, exc.detail if isinstance(exc.detail, str) else None,
                                headers=headers)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):  # one raised outside CrashGuard (in a middleware)
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem_response(request, 500, _CRASHED)


def _allowed_methods(request: Request) -> list[str]:
    """The methods the OpenAPI schema documents at the request's path, a concrete path
    before a templated one (a 405 lists them: RFC 9110; Starlette's lists only those of the
    first route there, and a path has a route a method)."""
    asked = request.url.path.rstrip("/").split("/")
    matches: dict[int, set[str]] = {}  # by the number of templated parts: the fewest match first (OpenAPI)
    for template, operations in request.app.openapi()["paths"].items():
        parts = template.rstrip("/").split("/")
        held = [p[:1] == "{" and p[-1:] == "}" for p in parts]
        if len(parts) == len(asked) and all(p == a or (h and a) for p, h, a in zip(parts, held, asked)):
            matches.setdefault(sum(held), set()).update(m.upper() for m in operations)
    return sorted(matches[min(matches)]) if matches else []


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the problem codes an endpoint answers."""
    return {code: {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": HTTPStatus(code).phrase} for code in codes}
