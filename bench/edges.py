"""The service's body limits under a flood: POST a large chunked body (no Content-Length) to
a real ``fieldroute serve --demo`` and read the server's resident memory before and after.

    python bench/edges.py [--mib 500] [--json FILE]

Each probe streams ``--mib`` MiB in 1 MiB chunks to an endpoint, without a token and with a
valid one, and stops when the server answers (401 past 64 KiB without credentials, 413 past
``FIELDROUTE_MAX_BODY_MB``). Reported: the answer, how much the client got to send (socket
buffers hold a few MiB the server never read) and the server's RSS before and after. Only
127.0.0.1; one server, a few seconds.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

MiB = 2**20


def rss(pid: int) -> int:
    """A process's resident memory in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def listener_pid(base: str) -> int:
    """The process listening on the base URL's port (the uvicorn serving it)."""
    port = urlsplit(base).port
    inodes = {line.split()[9] for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
              if line.split()[1].endswith(f":{port:04X}") and line.split()[3] == "0A"}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if any(Path(fd).readlink().name in {f"socket:[{i}]" for i in inodes} for fd in (proc / "fd").iterdir()):
                    return int(proc.name)
            except OSError:
                continue
    raise AssertionError(f"nobody listens on {port}")


def stream_body(base: str, path: str, total: int, token: str | None = None) -> tuple[int | None, dict, int]:
    """POST ``total`` bytes of JSON-ish body in 1 MiB chunks without ``Content-Length`` (chunked),
    reading the answer as soon as the server gives one: (status or None, problem, bytes sent)."""
    host, port = urlsplit(base).hostname, urlsplit(base).port
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n" + (f"Authorization: Bearer {token}\r\n" if token else "") + "\r\n").encode()
    chunk = b"[" + b" " * (MiB - 1)
    sent, answer = 0, b""
    with socket.create_connection((host, port), timeout=30) as conn:
        conn.sendall(head)
        try:
            while sent < total:
                conn.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
                sent += len(chunk)
                conn.setblocking(False)
                try:
                    answer += conn.recv(65536)
                except BlockingIOError:
                    pass
                conn.setblocking(True)
                if answer:
                    break
            else:
                conn.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        conn.settimeout(30)
        try:
            while b"\r\n\r\n" not in answer or len(answer.split(b"\r\n\r\n", 1)[1]) < _content_length(answer):
                more = conn.recv(65536)
                if not more:
                    break
                answer += more
        except ConnectionResetError:
            pass
    if not answer:
        return None, {}, sent
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body) if body.startswith(b"{") else {}, sent


def _content_length(answer: bytes) -> int:
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").lower()
    return next((int(line.split(":")[1]) for line in head.split("\r\n") if line.startswith("content-length:")), 0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=500, help="body size of each probe (MiB)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        server = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--demo", "--db", f"{folder}/fr.db",
                                   "--port", str(port), "--demo-time-limit", "2"], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
        base, tokens = f"http://127.0.0.1:{port}", {}
        try:
            for line in server.stdout:  # the demo prints its tokens, then serves
                if m := re.match(r"\s+(supervisor|R\d)\s+(fr_\S+)", line):
                    tokens[m[1]] = m[2]
                if "R4" in tokens:
                    break
            while True:
                try:
                    urllib.request.urlopen(f"{base}/healthz", timeout=2).read()
                    break
                except OSError:
                    time.sleep(0.2)
            results = []
            print(f"{'endpoint':<34} {'token':<6} {'status':>6} {'sent_MiB':>8} {'rss_before_MiB':>14} {'rss_after_MiB':>13}")
            for path, who in (("/v1/plans", None), ("/v1/plans", "supervisor"), ("/v1/stores/import", None),
                              ("/v1/stores/import", "supervisor"), ("/v1/reps/R1/routes/today/events", None),
                              ("/v1/reps/R1/routes/today/events", "R1")):
                before = rss(server.pid)
                status, problem, sent = stream_body(base, path, args.mib * MiB, tokens.get(who) if who else None)
                after = rss(server.pid)
                row = {"endpoint": path, "token": bool(who), "status": status, "detail": problem.get("detail"),
                       "sent_mib": round(sent / MiB, 1), "rss_before_mib": round(before / MiB, 1),
                       "rss_after_mib": round(after / MiB, 1)}
                results.append(row)
                print(f"{path:<34} {'yes' if who else 'no':<6} {status!s:>6} {row['sent_mib']:>8} "
                      f"{row['rss_before_mib']:>14} {row['rss_after_mib']:>13}")
        finally:
            server.terminate()
            server.wait(timeout=20)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"mib": args.mib, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
