"""The service's edges over real HTTP: a body is counted while it streams (413 at the limit,
401 past 64 KiB without valid credentials), so that no caller can make the server hold more."""

from __future__ import annotations

import pytest

from bench.edges import MiB, listener_pid, rss, stream_body

from .conftest import serve_demo


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The demo service on a real uvicorn (``fieldroute serve --demo``, one process)."""
    with serve_demo(tmp_path_factory.mktemp("edges") / "fieldroute.db", "straight") as served:
        yield served


def test_a_chunked_body_without_a_token_gets_401_before_the_server_holds_it(server):
    base, tokens, _ = server
    pid = listener_pid(base)
    before = rss(pid)
    for path in ("/v1/plans", "/v1/stores/import", "/v1/reps/R1/routes/today/events"):
        status, problem, sent = stream_body(base, path, 200 * MiB)
        assert status == 401 and "64 KiB" in problem["detail"], (path, status, problem)
        assert sent < 100 * MiB, sent  # refused as it streamed: the server stopped reading
    assert rss(pid) - before < 32 * MiB


def test_a_chunked_body_past_the_limit_gets_413_as_it_streams(server):
    """With a valid token the body is read up to FIELDROUTE_MAX_BODY_MB (50 MiB), no further."""
    base, tokens, _ = server
    pid = listener_pid(base)
    before = rss(pid)
    for path, token in (("/v1/stores/import", tokens["supervisor"]), ("/v1/plans", tokens["supervisor"]),
                        ("/v1/reps/R1/routes/today/events", tokens["R1"])):
        status, problem, sent = stream_body(base, path, 200 * MiB, token)
        assert status == 413 and "50 MiB" in problem["detail"], (path, status, problem)
        assert sent < 150 * MiB, sent
    assert rss(pid) - before < 160 * MiB  # at most the limit held at once (freed memory may stay with the process)
    status, _, _ = stream_body(base, "/v1/plans", 10, tokens["supervisor"])  # the server is well and reads small bodies
    assert status == 422
