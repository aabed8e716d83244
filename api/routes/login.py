"""/login: a browser trades a token for an HttpOnly session cookie once, so map links open."""

from __future__ import annotations

from html import escape
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from .. import auth
from ..deps import SESSION_COOKIE, SessionDep, SettingsDep

router = APIRouter(tags=["login"])

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Fieldroute: sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px sans-serif;max-width:28em;margin:4em auto;padding:0 1em}}input{{width:100%;padding:.5em;margin:.5em 0}}
.error{{color:#b00}}</style></head><body><h1>Fieldroute</h1>
<p>Paste your API token once; this browser then opens maps for {hours:g} hours.</p>{error}
<form method="post" action="/login"><input type="hidden" name="next" value="{next}">
<label>Token <input type="password" name="token" autocomplete="off" required></label>
<button type="submit">Sign in</button></form></body></html>"""


def _local(path: str) -> str:
    """Only a path on this site is a place to go after signing in (no open redirects)."""
    parts = urlsplit(path)
    return path if path.startswith("/") and not path.startswith("//") and not parts.scheme and not parts.netloc else "/docs"


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(settings: SettingsDep, next: str = "/docs") -> HTMLResponse:
    return HTMLResponse(_PAGE.format(hours=settings.session_hours, next=escape(_local(next)), error=""))


@router.post("/login", include_in_schema=False)
def login(request: Request, session: SessionDep, settings: SettingsDep,
          token: Annotated[str, Form()], next: Annotated[str, Form()] = "/docs"):
    opened = auth.open_session(session, token.strip(), settings.session_hours)
    if opened is None:
        page = _PAGE.format(hours=settings.session_hours, next=escape(_local(next)),
                            error='<p class="error">That token is unknown or revoked.</p>')
        return HTMLResponse(page, status_code=401)
    session.commit()
    secret, expires = opened
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, secret, max_age=int(settings.session_hours * 3600), expires=expires,
                        httponly=True, samesite="lax", secure=request.url.scheme == "https", path="/")
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request, session: SessionDep):
    landing = "/login"
    if cookie := request.cookies.get(SESSION_COOKIE):
        principal = auth.principal_for_session(session, cookie)
        landing = "/app" if principal is not None and principal.role == "rep" else landing  # a rep's phone: its app
        auth.close_session(session, cookie)
        session.commit()
    response = RedirectResponse(landing, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
