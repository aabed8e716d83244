"""The service's settings: one object, read from ``FIELDROUTE_*`` environment variables."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .callbacks import Allow


def _default_data_dir() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "fieldroute"


class Settings(BaseSettings):
    """Everything the service reads from its environment (prefix ``FIELDROUTE_``).

    Example: ``FIELDROUTE_DATABASE_URL=postgresql+psycopg://fieldroute@db/fieldroute``.
    """

    model_config = SettingsConfigDict(env_prefix="FIELDROUTE_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir, description="where the SQLite database and caches live")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite file fieldroute.db in data_dir")
    network: str = Field("straight", description="travel model of plans: 'straight', 'demo' (bundled Monaco roads), an .osm.pbf path (the "
                         "embedded engine), 'osrm:PATH.osm.pbf' (OSRM, preprocessed once) or 'osrm+http://HOST:PORT' (a shared osrm-routed)")
    cache_dir: Path | None = Field(None, description="road graph and matrix cache; default: $FIELDROUTE_CACHE or ~/.cache/fieldroute")
    cors_origins: list[str] = Field(default_factory=list, description="browser origins allowed to call the API")
    callback_allow: list[str] = Field(default_factory=list, description="hosts and networks (CIDR) a plan job's "
                                      "callback_url may reach besides global addresses, e.g. [\"hooks.internal\", "
                                      "\"10.20.0.0/16\"] (JSON list); loopback, private and link-local addresses are "
                                      "refused otherwise")
    log_level: str = Field("info", description="debug, info, warning or error")
    max_jobs: int = Field(1, ge=1, description="plan and proposal jobs run at once on the database (by all the server "
                          "processes that share it); the rest wait in the queue")
    job_lease_s: float = Field(15.0, ge=2, le=600, description="a running job's worker renews the job's lease every half "
                               "second; a job whose lease ran out (its worker or its server was killed) is marked failed")
    territory_jobs: int = Field(2, ge=1, le=64, description="territories a proposal job routes, or a plan job by territories "
                                "plans, at once (processes at the job's priority), and CP-SAT workers of a proposal's search")
    run_jobs: bool = Field(True, description="run plan and proposal jobs in this service's own processes; false: the "
                           "service only queues them and `fieldroute worker` processes (elsewhere) run them")
    ray_address: str | None = Field(None, description="plan the territories of a plan job by territories as Ray tasks on "
                                    "this cluster (host:port, or 'local' to start one on the worker's machine; needs "
                                    "fieldroute[ray]); default: worker processes on the job's machine")
    job_nice: int = Field(10, ge=0, le=19, description="how much lower the OS priority of plan jobs is than the web server's")
    max_body_mb: float = Field(50.0, gt=0, description="the largest request body (an import) in MiB")
    max_plan_time_s: float = Field(3600.0, gt=0, description="the longest time limit a plan request may ask for")
    session_hours: float = Field(12.0, gt=0, description="how long a browser session cookie from /login lasts")
    rep_session_days: float = Field(30.0, gt=0, le=400, description="how long a rep's phone stays signed in after a "
                                    "sign-in link (unless its token is revoked)")
    sign_in_link_hours: float = Field(72.0, gt=0, le=24 * 30, description="how long an unused sign-in link stays valid")
    token_cache_s: float = Field(5.0, ge=0, description="how long a server process remembers a valid bearer token (0: not at all): "
                                 "a token revoked elsewhere than through this process's API works for at most this long")
    route_cache_size: int = Field(2048, ge=0, description="rendered routes each server process keeps (0: none); "
                                  "a new plan or route version is never answered from it")
    migrate_on_start: bool = Field(True, description="apply database migrations when the service starts")
    replan_time_s: float = Field(0.5, gt=0, le=60, description="search time of a re-plan after a rep's event")
    replan_team_time_s: float = Field(2.0, gt=0, le=60, description="search time of a re-plan of the whole team "
                                      "(a rep unavailable, an urgent visit's follow-up)")
    check_in_radius_m: float = Field(300.0, gt=0, description="a check-in farther than this from the store is kept but flagged")
    position_days: float = Field(30.0, gt=0, description="how long phone positions reported with events are kept")
    clock: dt.datetime | None = Field(None, description="start the service's clock at this instant (ISO 8601; without an "
                                      "offset: the plans' time zone) and let it run: for demos, tests and app developers. "
                                      "Never set by default")
    clock_since: float | None = Field(None, description="the Unix time at which the clock read FIELDROUTE_CLOCK (set by "
                                      "`fieldroute serve` so every worker agrees); default: when the process starts")
    clock_skew_s: float = Field(120.0, ge=0, le=3600, description="an event stamped up to this many seconds after the "
                                "service's now (a phone's clock running ahead) counts as now")

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.lower() not in ("debug", "info", "warning", "error"):
            raise ValueError(f"expected debug, info, warning or error, got {value!r}")
        return value.lower()

    @field_validator("callback_allow")
    @classmethod
    def _callback_allow(cls, value: list[str]) -> list[str]:
        Allow.parse(value)  # a ValueError names an entry that is neither a host name nor a CIDR
        return value

    @field_validator("network")
    @classmethod
    def _network(cls, value: str) -> str:
        from routing.network import check_network

        return check_network(value)

    @property
    def db_url(self) -> str:
        """The database URL in use: the setting, else a SQLite file in ``data_dir``."""
        return self.database_url or f"sqlite:///{self.data_dir / 'fieldroute.db'}"
