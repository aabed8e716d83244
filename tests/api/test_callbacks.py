"""A plan job's callback_url: only global addresses (or what FIELDROUTE_CALLBACK_ALLOW lists),
checked when the callback is sent; no redirects; cut off after 5 s; credentials never logged.

The targets are real HTTP servers on 127.0.0.1, reached through ``callback_allow``; nothing
here sends a byte anywhere else."""

from __future__ import annotations

import base64
import contextlib
import http.server
import ipaddress
import json
import logging
import socket
import threading
import time

import pytest
from fastapi.testclient import TestClient

from api import callbacks
from api.callbacks import Allow
from api.main import create_app
from tests.api.conftest import MONDAY, load_team, make_token, settings_for, wait_job

QUICK_JOB = {"start": MONDAY, "weeks": 1, "time_limit_s": 3, "solution_limit": 5}
LOCAL = Allow.parse(["127.0.0.1"])
#: Loopback in every spelling, and private, link-local and other non-global literals.
REFUSED_LITERALS = ["127.0.0.1", "127.1", "2130706433", "0x7f000001", "0177.0.0.1", "127.0.0.1.", "127.255.255.254",
                    "[::1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "0.0.0.0", "0", "10.0.0.5", "172.16.0.1",
                    "192.168.1.1", "169.254.169.254", "100.64.0.1", "224.0.0.1", "240.0.0.1", "[fe80::1]", "[fd00::1]",
                    "[2002:7f00:1::]"]


class Target:
    """An HTTP server on 127.0.0.1 that records the requests it gets and answers each with
    ``answer(handler)`` (default: 204)."""

    def __init__(self, answer=None):
        self.requests: list[dict] = []
        self.answer = answer or (lambda handler: (handler.send_response(204), handler.end_headers()))
        target = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self._record()

            def do_GET(self):
                self._record()

            def _record(self):
                size = int(self.headers.get("Content-Length") or 0)
                target.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                        "body": json.loads(self.rfile.read(size)) if size else None})
                target.answer(self)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str = "/done", user: str = "") -> str:
        return f"http://{user}127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def target():
    made: list[Target] = []

    def make(answer=None) -> Target:
        made.append(Target(answer))
        return made[-1]

    yield make
    for t in made:
        t.close()


@pytest.fixture
def allowed(db_url, tmp_path):
    """A client of a service that lets callbacks reach 127.0.0.1 (only), and an admin's headers."""
    app = create_app(settings_for(db_url, tmp_path, callback_allow=["127.0.0.1"]))
    with TestClient(app) as client:
        yield client, make_token(app, "admin")


def until(condition, timeout: float = 60.0):
    """Wait for ``condition()`` to be true (a bound, not a measurement); its last value."""
    deadline = time.monotonic() + timeout
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


# --- through the API ------------------------------------------------------------------------


def test_an_allowed_target_is_called_back_once_when_the_job_succeeds(allowed, target):
    client, admin = allowed
    hook = target()
    load_team(client, admin)
    r = client.post("/v1/plans", json=QUICK_JOB | {"callback_url": hook.url("/done?run=1")}, headers=admin)
    assert r.status_code == 202, r.text
    job = wait_job(client, admin, r.json()["id"])
    assert job["status"] == "succeeded"
    assert until(lambda: hook.requests)
    [request] = hook.requests
    assert request["method"] == "POST" and request["path"] == "/done?run=1"
    assert request["headers"]["Host"] == f"127.0.0.1:{hook.port}"
    assert request["body"] == {"job_id": job["id"], "status": "succeeded", "plan_id": job["plan_id"], "error": None}


def test_a_cancelled_job_calls_back_cancelled_once(allowed, target):
    client, admin = allowed
    hook = target()
    load_team(client, admin)
    r = client.post("/v1/plans", json={"start": MONDAY, "weeks": 4, "time_limit_s": 120, "callback_url": hook.url()},
                    headers=admin)
    job_id = r.json()["id"]
    assert until(lambda: client.get(f"/v1/jobs/{job_id}", headers=admin).json()["phase"] not in
                 ("queued", "starting", "loading inputs"))  # its worker is planning
    r = client.delete(f"/v1/jobs/{job_id}", headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert until(lambda: hook.requests)
    assert client.delete(f"/v1/jobs/{job_id}", headers=admin).status_code == 409
    assert wait_job(client, admin, job_id)["status"] == "cancelled"
    assert [q["body"] for q in hook.requests] == [{"job_id": job_id, "status": "cancelled", "plan_id": None, "error": None}]


@pytest.mark.parametrize("host", REFUSED_LITERALS)
def test_a_loopback_or_private_literal_is_refused_when_the_job_is_submitted(client, admin, host):
    r = client.post("/v1/plans", json={"start": MONDAY, "callback_url": f"http://{host}:8080/done"}, headers=admin)
    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    assert error["pointer"] == "/callback_url" and error["detail"].startswith("callback_url: ")


@pytest.mark.parametrize("url", ["ftp://example.com/done", "file:///etc/passwd", "gopher://example.com:70/_x",
                                 "http://" + "a" * 2000 + ".com/"])
def test_only_http_and_https_urls_are_taken(client, admin, url):
    r = client.post("/v1/plans", json={"start": MONDAY, "callback_url": url}, headers=admin)
    assert r.status_code == 422, r.text
    assert [e["pointer"] for e in r.json()["errors"]] == ["/callback_url"]


def test_a_host_name_that_resolves_to_loopback_is_refused_when_the_callback_is_sent(client, admin, target, capfd):
    """localhost passes the submit check (a host name: DNS decides later); the job's worker
    process refuses it when the job ends, and logs why without the URL's credentials."""
    hook = target()
    load_team(client, admin)
    url = f"http://hook:s3cret@localhost:{hook.port}/done?token=t0ken"
    r = client.post("/v1/plans", json=QUICK_JOB | {"callback_url": url}, headers=admin)
    assert r.status_code == 202, r.text
    assert wait_job(client, admin, r.json()["id"])["status"] == "succeeded"
    logged: list[str] = []
    assert until(lambda: logged.append(capfd.readouterr().err) or "callback" in "".join(logged))
    log = "".join(logged)
    assert "refused: localhost resolves to 127.0.0.1 is loopback" in log
    assert f"http://***@localhost:{hook.port}/done?***" in log
    assert "s3cret" not in log and "t0ken" not in log
    assert hook.requests == []


# --- the rule and the sending, directly ---------------------------------------------------------


def test_every_spelling_of_an_address_is_read_as_that_address():
    for spelling in ("127.0.0.1", "127.1", "2130706433", "0x7f000001", "0x7f.1", "0177.0.0.1", "127.0.0.1."):
        assert callbacks.literal_address(spelling) == ipaddress.ip_address("127.0.0.1"), spelling
    assert callbacks.literal_address("[::1]") == ipaddress.ip_address("::1")
    assert callbacks.literal_address("0") == ipaddress.ip_address("0.0.0.0")
    for name in ("localhost", "example.com", "0x7f000001.example.com", "deadbeef", "1.2.3.4.5"):
        assert callbacks.literal_address(name) is None, name


def test_only_global_addresses_pass_unless_allowed():
    for host in REFUSED_LITERALS:
        assert callbacks.submit_refusal(f"https://{host}/x", Allow()) is not None, host
    for url in ("https://93.184.216.34/x", "http://[2606:2800:220:1::]/x", "https://hooks.example.com/x",
                "http://localhost:9/x"):  # host names are checked when the callback is sent
        assert callbacks.submit_refusal(url, Allow()) is None, url
    reason = callbacks.submit_refusal("http://169.254.169.254/latest/meta-data", Allow())
    assert reason.startswith("169.254.169.254 is link-local")
    ours = Allow.parse(["10.20.0.0/16", "127.0.0.1", "hooks.internal"])
    assert callbacks.submit_refusal("http://10.20.3.4/x", ours) is None
    assert callbacks.submit_refusal("http://2130706433:8080/x", ours) is None
    assert callbacks.submit_refusal("http://10.21.0.1/x", ours) is not None
    assert callbacks.submit_refusal("http://127.0.0.2/x", ours) is not None
    assert callbacks.address_refusal(ipaddress.ip_address("10.20.0.9"), ours) is None
    assert callbacks.address_refusal(ipaddress.ip_address("::ffff:10.20.0.9"), ours) == "::ffff:a14:9 is reserved"
    with pytest.raises(ValueError, match="'no such host!'"):
        Allow.parse(["no such host!"])


def test_an_allowed_host_name_is_called_at_the_address_checked_with_its_host_header(target):
    hook = target()
    body = {"job_id": "j1", "status": "succeeded", "plan_id": 1, "error": None}
    assert callbacks.send(f"http://localhost:{hook.port}/done", body, Allow()).startswith("refused: localhost resolves to")
    assert hook.requests == []
    assert callbacks.send(f"http://LocalHost:{hook.port}/done", body, Allow.parse(["localhost."])) == "delivered (204)"
    [request] = hook.requests
    assert request["headers"]["Host"] == f"localhost:{hook.port}" and request["body"] == body


def test_the_host_is_resolved_once_so_a_second_answer_cannot_differ(target, monkeypatch):
    """DNS rebinding: the first answer is checked (127.0.0.1, allowed); a resolver asked again
    would answer 127.0.0.2 (not allowed, and nothing listens there)."""
    hook = target()
    answers = iter(["127.0.0.1"] + ["127.0.0.2"] * 10)
    asked: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (next(answers), port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    outcome = callbacks.send(f"http://hooks.test:{hook.port}/done", {"job_id": "j1"}, LOCAL)
    assert outcome == "delivered (204)" and asked == ["hooks.test"]
    assert hook.requests[0]["headers"]["Host"] == f"hooks.test:{hook.port}"


def test_a_redirect_is_not_followed(target, caplog):
    elsewhere = target()
    hook = target(lambda h: (h.send_response(302), h.send_header("Location", elsewhere.url("/stolen")), h.end_headers()))
    with caplog.at_level(logging.INFO, logger="fieldroute"):
        outcome = callbacks.send(hook.url(), {"job_id": "j1"}, LOCAL)
    assert outcome == "failed: answered a redirect (302), which callbacks do not follow"
    assert len(hook.requests) == 1 and elsewhere.requests == []
    assert f"job j1: callback to {hook.url()} failed: answered a redirect (302)" in caplog.text


def test_a_slow_target_is_abandoned(target):
    """A target that would answer after 30 s: the send gives up before it answers, within the
    5 s budget (a generous bound of 8 s, for a busy machine)."""
    answered, release = threading.Event(), threading.Event()

    def slow(handler):
        release.wait(30)
        answered.set()
        handler.send_response(204)
        handler.end_headers()

    hook = target(slow)
    started = time.monotonic()
    outcome = callbacks.send(hook.url(), {"job_id": "j1"}, LOCAL)
    took = time.monotonic() - started
    assert outcome == "abandoned: no answer within 5 s"
    assert not answered.is_set() and took < 8
    release.set()


def test_a_target_that_answers_a_byte_at_a_time_is_abandoned_all_the_same():
    """Each byte comes before any one read times out; the whole answer would take 30 s."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def drip():
        connection, _ = listener.accept()
        with connection, contextlib.suppress(OSError):
            for byte in b"HTTP/1.1 204 No Content\r\nX-Padding: " + b"." * 60:
                if stop.wait(0.5):
                    return
                connection.sendall(bytes([byte]))

    threading.Thread(target=drip, daemon=True).start()
    try:
        started = time.monotonic()
        outcome = callbacks.send(f"http://127.0.0.1:{listener.getsockname()[1]}/", {"job_id": "j1"}, LOCAL)
        assert outcome == "abandoned: no answer within 5 s" and time.monotonic() - started < 8
    finally:
        stop.set()
        listener.close()


def test_credentials_are_sent_as_basic_auth_and_never_logged(target, caplog):
    hook = target()
    secret_url = f"http://hook:p%40ss%20word@127.0.0.1:{hook.port}/done?token=t0ken"
    with caplog.at_level(logging.INFO, logger="fieldroute"):
        assert callbacks.send(secret_url, {"job_id": "j1"}, LOCAL) == "delivered (204)"
        assert callbacks.send(secret_url, {"job_id": "j2"}, Allow()).startswith("refused: 127.0.0.1 is loopback")
        assert callbacks.send(secret_url.replace(str(hook.port), "1"), {"job_id": "j3"}, LOCAL).startswith("failed: ")
    [request] = hook.requests
    assert request["headers"]["Authorization"] == "Basic " + base64.b64encode(b"hook:p@ss word").decode()
    assert request["path"] == "/done?token=t0ken"
    assert len(caplog.records) == 3
    for secret in ("p%40ss", "p@ss", "word", "t0ken", "hook:"):
        assert secret not in caplog.text, secret
    assert f"callback to http://***@127.0.0.1:{hook.port}/done?*** delivered (204)" in caplog.text


def test_callbacks_sent_later_run_on_a_few_threads(target):
    """Many job ends at once: at most callbacks.WORKERS sends run at a time; every one arrives."""
    running, most, lock = [0], [0], threading.Lock()

    def counted(handler):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.2)
        with lock:
            running[0] -= 1
        handler.send_response(204)
        handler.end_headers()

    hook = target(counted)
    futures = [callbacks.send_later(hook.url(f"/{n}"), {"job_id": f"j{n}"}, LOCAL) for n in range(12)]
    assert [f.result(timeout=60) for f in futures] == ["delivered (204)"] * 12
    assert most[0] <= callbacks.WORKERS and sorted(q["path"] for q in hook.requests) == sorted(f"/{n}" for n in range(12))
