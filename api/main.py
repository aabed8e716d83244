"""The FastAPI application: ``create_app(settings)`` builds it (tests build one per database).

Run it with ``fieldroute serve`` (or ``uvicorn --factory api.main:create_app``).
"""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

import anyio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, RedirectResponse

from . import problems, replans
from .auth import ROLE_HELP
from .cache import LRU, TokenCache
from .clock import ServiceClock
from .db import make_engine, session_factory, upgrade
from .deps import has_valid_credentials
from .guard import RequestGuard
from .jobs import JobRunner
from .routes import app as rep_app
from .routes import (events, followup_page, health, login, plans, policy, rep_routes, reports, reps, sign_in, stores,
                     suggestions, territories, tokens, visits)
from .schemas import AUTHENTICATE_HEADER
from .settings import Settings

log = logging.getLogger("fieldroute")
#: The database pool of a server process: 5 connections kept, 10 more when busy (SQLAlchemy's
#: default). Requests with a session (deps.get_db) may hold all but 3 of them: the short reads
#: of deps.read_db and the job runner take theirs and give them back within one thread.
DB_POOL = (5, 10)
DB_SESSIONS = sum(DB_POOL) - 3

DESCRIPTION = """Route optimisation for field-sales visits: stores, reps and the visit policy in;
visit cycles and each rep's daily route out.

Authenticate with `Authorization: Bearer <token>` (tokens from `fieldroute token create`).
Roles: """ + "; ".join(f"**{role}**: {text}" for role, text in ROLE_HELP.items()) + """.
Errors are RFC 9457 problem details (`application/problem+json`)."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service on ``settings`` (default: from the environment). Migrations are
    applied and running jobs whose lease ran out are marked failed when it starts."""
    settings = settings or Settings()
    logging.getLogger("fieldroute").setLevel(settings.log_level.upper())
    engine = make_engine(settings.db_url, pool_size=DB_POOL[0], max_overflow=DB_POOL[1])
    sessions = session_factory(engine)
    runner = JobRunner(settings, sessions)
    # SQLite: the event loop's own connection for the hot reads it runs itself (deps.read_db), and
    # event posts' connections, whose re-plan reads the day and writes as one transaction under
    # the database's write lock (replans.day_locked)
    loop_engine = make_engine(settings.db_url, pool_size=1, max_overflow=0) if engine.dialect.name == "sqlite" else None
    event_engine = (make_engine(settings.db_url, own_begin=True, pool_size=DB_POOL[0], max_overflow=DB_POOL[1])
                    if engine.dialect.name == "sqlite" else engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if settings.migrate_on_start:
            upgrade(engine)
        if failed := runner.start():
            log.warning("%d job(s) whose worker stopped renewing its lease (a server stopped or killed); marked failed", failed)
        yield
        runner.shutdown()
        engine.dispose()
        event_engine.dispose()
        if loop_engine is not None:
            loop_engine.dispose()

    app = FastAPI(title="Fieldroute", version=_version(), description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None)
    app.state.settings, app.state.engine, app.state.sessions, app.state.jobs = settings, engine, sessions, runner
    app.state.road_network = _road_networks(settings)
    app.state.token_cache, app.state.route_cache = TokenCache(settings.token_cache_s), LRU(settings.route_cache_size)
    app.state.loop_sessions = session_factory(loop_engine) if loop_engine is not None else None
    app.state.event_sessions = session_factory(event_engine)  # same-day events: routes/events.py
    app.state.replan_bases = replans.Bases()
    app.state.move_previews = LRU(32)  # routed territories of recent move previews (api.proposals.preview_moves)
    app.state.clock = ServiceClock(settings.clock, settings.clock_since, zone=lambda: _plans_zone(sessions))
    app.state.db_slots = anyio.Semaphore(DB_SESSIONS)  # requests holding a session at once: see deps.get_db
    problems.install(app)
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    app.add_middleware(RequestGuard, max_body_bytes=int(settings.max_body_mb * 2**20), authenticate=has_valid_credentials)
    for module in (health, login, sign_in, rep_app, stores, reps, policy, plans, rep_routes, events, territories, tokens,
                   visits, reports, suggestions, followup_page):
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    _offline_docs(app)

    app.openapi = lambda: _openapi(app)
    if settings.cors_origins:  # outermost: a preflight is answered before anything else
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"],
                           allow_headers=CORS_REQUEST_HEADERS, expose_headers=documented_headers(app.openapi()))
    return app


#: The request headers the API reads, which a browser app on another origin may send (the
#: session cookie and its X-CSRF-Token are the service's own pages', never another origin's).
CORS_REQUEST_HEADERS = ["Authorization", "Content-Type", "If-None-Match", "Idempotency-Key"]


def documented_headers(schema: dict) -> list[str]:
    """Every response header the schema documents (a browser app's script may read them)."""
    return sorted({name for path in schema["paths"].values() for operation in path.values()
                   for response in operation["responses"].values() for name in response.get("headers", {})})


def _offline_docs(app: FastAPI) -> None:
    """/docs with Swagger UI served from the package (swagger-ui-bundle), not a CDN, so the
    API page works without internet like the maps."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/static/swagger-ui", StaticFiles(directory=swagger_ui_path), name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Fieldroute API",
                                   swagger_js_url="/static/swagger-ui/swagger-ui-bundle.js",
                                   swagger_css_url="/static/swagger-ui/swagger-ui.css",
                                   swagger_favicon_url="/static/swagger-ui/favicon-32x32.png")


def _plans_zone(sessions) -> str | None:
    from .plans import local_zone

    with sessions() as session:
        return local_zone(session)


def _road_networks(settings: Settings):
    """Road networks by name ('demo', a path; None for 'straight'), loaded once per process."""
    from routing.network import road_network

    loaded: dict[str, object] = {}
    lock = threading.Lock()

    def get(name: str):
        with lock:
            if name not in loaded:
                loaded[name] = road_network(name, cache=settings.cache_dir)
            return loaded[name]

    return get


def _openapi(app: FastAPI) -> dict:
    """The OpenAPI schema: each operation's description ends with the roles it admits; errors
    are documented as problem+json, with what any operation may answer (api.guard's refusals,
    a 500, a 401's WWW-Authenticate)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    problem = {problems.MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path in schema["paths"].values():
        for method, operation in path.items():
            responses = operation.setdefault("responses", {})  # what api.guard refuses before any handler
            responses.setdefault("400", {"description": "a NUL character in the path or query, or a bad Content-Length"})
            if "requestBody" in operation or method in ("post", "put", "patch"):
                responses.setdefault("413", {"description": "the body is larger than FIELDROUTE_MAX_BODY_MB"})
                responses.setdefault("422", {"description": "a text of the JSON body holds a NUL character"})
            responses.setdefault("500", {"description": "an internal error (logged); the request may be sent again"})
            if "security" in operation and "401" in responses:  # api.deps.current_principal, api.guard
                responses["401"]["headers"] = AUTHENTICATE_HEADER
            for code, response in responses.items():
                if code[0] in "45":  # every error is problem+json, FastAPI's own 422 included
                    response["content"] = problem
            if roles := operation.get("x-roles"):
                operation["description"] = (operation.get("description", "") + f"\n\n**Roles:** {', '.join(roles)}.").strip()
    app.openapi_schema = schema
    return schema


def _version() -> str:
    try:
        return version("fieldroute")
    except PackageNotFoundError:
        return "0+unknown"
