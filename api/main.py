"""The FastAPI application: for now a health route (the service issue adds the rest)."""

from __future__ import annotations

import datetime as dt
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI


def create_app() -> FastAPI:
    """Build the application (a factory, so tests can make their own)."""
    app = FastAPI(title="Fieldroute", version=_version())

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "time": dt.datetime.now(dt.timezone.utc).isoformat()}

    return app


def _version() -> str:
    try:
        return version("fieldroute")
    except PackageNotFoundError:
        return "0+unknown"


app = create_app()
