"""/app: the rep's phone app, a web app the service serves itself (``maps/static/app``: plain
JavaScript, no build step, nothing from a CDN). A phone signs in with a one-time link
(``sign_in``); the app then reads the rep's routes and posts its events with the session
cookie and the page's ``X-CSRF-Token`` (``deps.PAGE_WRITES``)."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from .. import auth
from ..deps import SESSION_COOKIE, read_db
from ..problems import ProblemError

router = APIRouter(tags=["app"])
STATIC = Path(__file__).parents[2] / "maps" / "static" / "app"
#: The translations of ``words.js`` (``words.zh.js``: Chinese).
LANGUAGES = frozenset(p.name.split(".")[1] for p in STATIC.glob("words.*.js"))
FILES = {"app.js": "text/javascript", "sw.js": "text/javascript", "words.js": "text/javascript", "app.css": "text/css", "icon.svg": "image/svg+xml",
         "manifest.webmanifest": "application/manifest+json"}

_SHELL = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>Fieldroute</title>
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="theme-color" content="#0b57d0"><link rel="manifest" href="/app/manifest.webmanifest">
<link rel="icon" href="/app/icon.svg"><link rel="stylesheet" href="/app/app.css"></head>
<body><script type="application/json" id="fr-config">{config}</script>
<header><h1 id="fr-title">Fieldroute</h1><form method="post" action="/logout"><button id="fr-signout" type="submit">Sign out</button></form></header>
<main id="fr-main"><div id="fr-banner" role="alert" hidden></div><p id="fr-status" role="status" aria-live="polite"></p>
<nav id="fr-days"></nav><section id="fr-totals"></section><div id="fr-queue"></div><div id="fr-map"></div><ol id="fr-stops"></ol>
<section id="fr-left"></section><section id="fr-actions"></section></main>
<script src="/app/words.js"></script><script src="/app/app.js"></script></body></html>"""

_SIGNED_OUT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Fieldroute</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/app/app.css"></head>
<body><main><h1>Fieldroute</h1><p>To see your route on this phone, open the sign-in link your supervisor sent you
(or scan its QR code).</p></main></body></html>"""


@router.get("/app", response_class=HTMLResponse, include_in_schema=False)
async def app_page(request: Request) -> HTMLResponse:
    cookie = request.cookies.get(SESSION_COOKIE)
    principal = await read_db(request, auth.principal_for_session, cookie) if cookie else None
    if principal is None or principal.role != "rep":
        return HTMLResponse(_SIGNED_OUT, headers={"Cache-Control": "no-store"})
    config = {"rep_id": principal.rep_id, "csrf": auth.csrf_token(cookie)}
    text = json.dumps(config).replace("<", "\\u003c")
    return HTMLResponse(_SHELL.format(config=text, lang=language(request)),
                        headers={"Cache-Control": "no-store", "Vary": "Accept-Language, Cookie"})


def language(request: Request) -> str:
    """The first of the phone's languages (Accept-Language, in its order) the app has words
    for (a ``words.LANG.js`` beside ``words.js``); English otherwise."""
    for part in request.headers.get("accept-language", "").split(","):
        lang = part.split(";")[0].strip().lower()[:2]
        if lang == "en" or (lang in LANGUAGES):
            return lang
    return "en"


@router.get("/app/{name}", include_in_schema=False)
def app_file(name: str, request: Request) -> Response:
    if name not in FILES:
        raise ProblemError(404, f"no file {name!r}")
    headers = {"Cache-Control": "no-cache"}
    if name == "sw.js":
        headers["Service-Worker-Allowed"] = "/app"
    media_type = FILES[name]
    if name == "words.js":  # one address, the words of the phone's language (the service worker keeps it)
        headers["Vary"] = "Accept-Language"
        name = "words.js" if (lang := language(request)) == "en" else f"words.{lang}.js"
    stat = (STATIC / name).stat()
    headers["ETag"] = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    if headers["ETag"] in {t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)  # the phone has it: a few bytes, not the file
    return FileResponse(STATIC / name, media_type=media_type, headers=headers)
