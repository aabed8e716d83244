"""The dependencies under load: more requests in flight than the thread pool has threads and
the database pool has connections."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import anyio
import anyio.to_thread
from fastapi.testclient import TestClient

from api.db import make_engine, session_factory
from api.main import create_app

from .conftest import make_token, settings_for


def _threads(n: int) -> None:
    anyio.to_thread.current_default_thread_limiter().total_tokens = n


def test_sync_endpoints_do_not_wait_for_connections_forever(db_url, tmp_path):
    """16 requests at once at a sync endpoint with a database session, with 2 threads and 1
    connection: all answered. A request holds its connection until its answer is out, and a
    sync handler's answer is validated in the thread pool: without a limit on the requests
    holding a session, the threads all waited for the connection while its holder waited for
    a thread, until the pool's timeout answered 500."""
    app = create_app(settings_for(db_url, tmp_path))
    app.state.sessions = session_factory(make_engine(db_url, pool_size=1, max_overflow=0, pool_timeout=5))
    app.state.db_slots = anyio.Semaphore(1)
    with TestClient(app) as client:
        admin = make_token(app, "admin")
        assert client.get("/v1/stores", headers=admin).status_code == 200  # the token is remembered now
        client.portal.call(_threads, 2)
        try:
            with ThreadPoolExecutor(16) as pool:
                statuses = list(pool.map(lambda _: client.get("/v1/stores", headers=admin).status_code, range(16)))
        finally:
            client.portal.call(_threads, 40)
    assert statuses == [200] * 16
