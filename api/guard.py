"""Requests refused before any handler runs: a NUL in the path or query (PostgreSQL cannot
store it), and bodies larger than the service takes."""

from __future__ import annotations

import json

from .problems import MEDIA_TYPE


class RequestGuard:
    """Pure ASGI middleware (no per-request task, unlike ``BaseHTTPMiddleware``)."""

    def __init__(self, app, *, max_body_bytes: int):
        self.app, self.max_body_bytes = app, max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            target = (scope.get("raw_path") or scope["path"].encode()) + b"?" + scope.get("query_string", b"")
            if b"%00" in target or b"\x00" in target or "\x00" in scope["path"]:
                return await _problem(scope, send, 400, "the path or query holds a NUL character")
            length = dict(scope.get("headers", [])).get(b"content-length", b"0")
            if not length.isdigit() or int(length) > self.max_body_bytes:
                return await _problem(scope, send, 413, f"the body is larger than {self.max_body_bytes // 2**20} MiB "
                                      "(FIELDROUTE_MAX_BODY_MB)" if length.isdigit() else "a bad Content-Length")
        await self.app(scope, receive, send)


async def _problem(scope, send, status: int, detail: str) -> None:
    title = {400: "Bad Request", 413: "Content Too Large"}[status]
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail,
                       "instance": scope["path"].replace("\x00", "")}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
