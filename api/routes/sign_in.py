"""One-time sign-in links for reps' phones: a supervisor makes one (with its QR code), the rep
opens it on the phone and taps "Sign in": the phone then holds a rep session of its own for
``FIELDROUTE_REP_SESSION_DAYS`` (30), until the link, or its token, is revoked.

The link's code travels after ``#``: browsers never send that part, so the code reaches no
server or proxy log. Opening the link signs nobody in (a chat app's preview opens links too):
the page posts the code when the rep taps the button."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from .. import auth
from ..deps import SESSION_COOKIE, PrincipalDep, SessionDep, SettingsDep, allow, require_rep_access
from ..models import RepRow, SignInLink
from ..problems import ProblemError, responses
from ..schemas import SignInLinkCreated, SignInLinkIn, SignInLinkOut

router = APIRouter(tags=["sign-in links"])
MAKERS = ("admin", "supervisor")
#: Where a rep lands once signed in: its app.
LANDING = "/app"


def link_out(link: SignInLink) -> SignInLinkOut:
    return SignInLinkOut(id=link.id, rep_id=link.rep_id, status=link.status, created_at=link.created_at,
                         expires_at=link.expires_at, used_at=link.used_at, revoked_at=link.revoked_at, token_id=link.token_id)


def sign_in_url(base: str, code: str) -> str:
    return f"{base.rstrip('/')}/app/sign-in#code={code}"


def qr_svg(url: str) -> str:
    import segno

    return segno.make(url, error="m").svg_inline(scale=4, title="sign-in link")


@router.post("/v1/reps/{rep_id}/sign-in-links", status_code=201, response_model=SignInLinkCreated,
             responses=responses(401, 403, 404, 422), **allow(*MAKERS))
def create_link(rep_id: str, request: Request, session: SessionDep, settings: SettingsDep, principal: PrincipalDep,
                body: SignInLinkIn | None = None) -> SignInLinkCreated:
    """A one-time link that signs the rep's phone in to the rep's app (single use; valid
    ``hours``, default 72), with its QR code."""
    require_rep_access(principal, rep_id)
    rep = session.get(RepRow, rep_id)
    if rep is None or not rep.active:
        raise ProblemError(404, f"no active rep {rep_id!r}")
    hours = body.hours if body and body.hours is not None else settings.sign_in_link_hours
    link, code = auth.create_sign_in_link(session, rep_id, hours, created_by=principal.token_id)
    session.commit()
    url = sign_in_url(str(request.base_url), code)
    return SignInLinkCreated(**link_out(link).model_dump(), url=url, qr_svg=qr_svg(url))


@router.get("/v1/reps/{rep_id}/sign-in-links", response_model=list[SignInLinkOut], responses=responses(401, 403),
            **allow(*MAKERS))
def list_links(rep_id: str, session: SessionDep, principal: PrincipalDep) -> list[SignInLinkOut]:
    """The rep's sign-in links, newest first (without their codes)."""
    require_rep_access(principal, rep_id)
    rows = session.scalars(select(SignInLink).where(SignInLink.rep_id == rep_id).order_by(SignInLink.id.desc()))
    return [link_out(r) for r in rows]


@router.delete("/v1/sign-in-links/{link_id}", response_model=SignInLinkOut, responses=responses(401, 403, 404),
               **allow(*MAKERS))
def revoke_link(link_id: Annotated[int, Path(ge=1, le=2**31 - 1, description="a sign-in link's id")], session: SessionDep,
                principal: PrincipalDep) -> SignInLinkOut:
    """Revoke a sign-in link: unused, it no longer works; used, the phone it signed in is
    signed out (its rep token is revoked)."""
    link = session.get(SignInLink, link_id)
    if link is None:
        raise ProblemError(404, f"no sign-in link {link_id}")
    require_rep_access(principal, link.rep_id)
    auth.revoke_sign_in_link(session, link)
    session.commit()
    return link_out(link)


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Fieldroute: sign in</title><link rel="icon" href="/app/icon.svg">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:18px system-ui,sans-serif;max-width:26em;margin:3em auto;padding:0 1em;color:#111}}
button{{font:inherit;min-height:48px;width:100%;margin-top:1em;border:0;border-radius:8px;background:#0b57d0;color:#fff}}
.error{{color:#a00}}</style></head><body><h1>Fieldroute</h1>{body}</body></html>"""
_FORM = """<p>Sign in to your day's route on this phone.</p>
<form method="post" action="/app/sign-in"><input type="hidden" name="code" id="code">
<button type="submit">Sign in</button></form>
<script>(() => {{ const code = new URLSearchParams(location.hash.slice(1)).get("code") || "";
document.getElementById("code").value = code; history.replaceState(null, "", location.pathname); }})();</script>"""
_WHY = {"unknown": "This sign-in link is not known.", "used": "This sign-in link was used already.",
        "expired": "This sign-in link has expired.", "revoked": "This sign-in link was revoked."}


@router.get("/app/sign-in", response_class=HTMLResponse, include_in_schema=False)
def sign_in_page() -> HTMLResponse:
    return HTMLResponse(_PAGE.format(body=_FORM.format()))


@router.post("/app/sign-in", include_in_schema=False)
def sign_in(request: Request, session: SessionDep, settings: SettingsDep, code: Annotated[str, Form(max_length=200)] = ""):
    signed = auth.sign_in_with_link(session, code.strip(), settings.rep_session_days) if code.strip() else "unknown"
    if isinstance(signed, str):
        session.rollback()
        text = f'<p class="error">{escape(_WHY[signed])} Ask your supervisor for a new one.</p>'
        return HTMLResponse(_PAGE.format(body=text), status_code=410 if signed != "unknown" else 404)
    session.commit()
    response = RedirectResponse(LANDING, status_code=303)
    response.set_cookie(SESSION_COOKIE, signed.cookie, max_age=int(settings.rep_session_days * 86400),
                        expires=signed.expires_at, httponly=True, samesite="lax", secure=request.url.scheme == "https",
                        path="/")
    return response
