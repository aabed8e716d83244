"""Requests refused before any handler runs: a NUL in the path, the query or a JSON body's
text (PostgreSQL cannot store it), bodies larger than the service takes, and large bodies from callers without valid
credentials.

The body is counted while it streams, whatever ``Content-Length`` says or whether it is sent
at all (chunked): past ``max_body_bytes`` the answer is 413, and past ``ANONYMOUS_BYTES``
the caller must hold valid credentials (else 401), so that nobody can make the server hold
more than 64 KiB of a request without a token. The body is read here, then handed on."""

from __future__ import annotations

import json
from http import HTTPStatus
from collections import deque
from collections.abc import Awaitable, Callable

from .problems import MEDIA_TYPE

#: How much of a body the service reads from a caller it has not authenticated.
ANONYMOUS_BYTES = 64 * 1024
#: Whether a request's credentials are valid (``api.deps.has_valid_credentials``).
Authenticate = Callable[[dict], Awaitable[bool]]


class RequestGuard:
    """Pure ASGI middleware (no per-request task, unlike ``BaseHTTPMiddleware``)."""

    def __init__(self, app, *, max_body_bytes: int, authenticate: Authenticate):
        self.app, self.max_body_bytes, self.authenticate = app, max_body_bytes, authenticate

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        target = (scope.get("raw_path") or scope["path"].encode()) + b"?" + scope.get("query_string", b"")
        if b"%00" in target or b"\x00" in target or "\x00" in scope["path"]:
            return await _problem(scope, send, 400, "the path or query holds a NUL character")
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length")
        if length is not None and not length.isdigit():
            return await _problem(scope, send, 400, "a bad Content-Length")
        if length is None and b"transfer-encoding" not in headers or length == b"0":
            return await self.app(scope, receive, send)  # no body
        declared = int(length) if length is not None else 0
        if declared > self.max_body_bytes:
            return await _problem(scope, send, 413, self._too_large())
        trusted = False
        if declared > ANONYMOUS_BYTES:  # known before a byte is read
            if not await self.authenticate(scope):
                return await _unauthorized(scope, send)
            trusted = True
        body: deque[dict] = deque()
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return None
            body.append(message)
            size += len(message.get("body", b""))
            if size > self.max_body_bytes:
                return await _problem(scope, send, 413, self._too_large())
            if not trusted and size > ANONYMOUS_BYTES:
                if not await self.authenticate(scope):
                    return await _unauthorized(scope, send)
                trusted = True
            if not message.get("more_body", False):
                break

        nul = _nul_pointer(b"".join(m.get("body", b"") for m in body))
        if nul is not None and (trusted or await self.authenticate(scope)):  # else the route's 401
            return await _problem(scope, send, 422, "text may not hold a NUL character (\\u0000)",
                                  errors=[{"detail": "holds a NUL character (\\u0000)", "pointer": nul}])

        async def replay():
            return body.popleft() if body else await receive()

        await self.app(scope, replay, send)

    def _too_large(self) -> str:
        return f"the body is larger than {self.max_body_bytes / 2**20:g} MiB (FIELDROUTE_MAX_BODY_MB)"


async def _unauthorized(scope, send) -> None:
    await _problem(scope, send, 401, f"a body larger than {ANONYMOUS_BYTES // 1024} KiB needs valid credentials (a "
                                     "bearer token, or a signed-in page's cookie and X-CSRF-Token)",
                   [(b"www-authenticate", b"Bearer")])


def _nul_pointer(raw: bytes) -> str | None:
    """The JSON pointer of the first text in a JSON body that holds a NUL, or None."""
    if b"\\u0000" not in raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None  # not JSON: the handler says what is wrong with it

    def find(value, path: str) -> str | None:
        if isinstance(value, str):
            return path if "\x00" in value else None
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, item in items:
            key = str(key)
            if "\x00" in key:
                return path or "/"
            found = find(item, f"{path}/{key.replace('~', '~0').replace('/', '~1')}")
            if found is not None:
                return found
        return None

    return find(data, "")


_TITLES = {413: "Content Too Large"}  # RFC 9110's name (Python 3.11 has the older one)


async def _problem(scope, send, status: int, detail: str, headers: list | None = None, errors: list | None = None) -> None:
    """A problem+json answer that closes the connection: the rest of a refused body is not read."""
    problem = {"type": "about:blank", "title": _TITLES.get(status) or HTTPStatus(status).phrase, "status": status, "detail": detail,
               "instance": scope["path"].replace("\x00", "")}
    body = json.dumps(problem | ({"errors": errors} if errors else {})).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})
