"""Load benchmark of the rep route endpoint: ``GET /v1/reps/{rep}/routes/{date}`` on a real
server, idle and while a cycle plan job runs.

    python bench/api_load.py [--concurrency 50] [--requests 20000] [--repeat 3] [--workers 1]
                             [--db FILE] [--python-client] [--json FILE]

What it does: seeds the demo team into a temporary SQLite database (``api.serve.seed_demo``:
the stores, reps and policy, a published 4-week cycle from this week's Monday, a token per
rep; ``--db`` reuses a database seeded earlier, tokens are renewed), starts ``fieldroute serve``
on 127.0.0.1 on a free port as a subprocess, and warms it up. Then, ``--repeat`` times: N
closed-loop clients (no think time, keep-alive) fetch the 4 demo reps' routes, each with its
own rep's token, on the dates of the published plan in turn, until ``--requests`` answers
(at most ``--max-seconds``); once idle, once while a cycle plan job runs (``POST /v1/plans``
with a time limit that covers the measurement, cancelled afterwards; the job runs in a worker
process at nice 10, as in production). The numbers reported are the medians over the
repeats (each repeat's numbers are in the JSON as well).

Load generator: Debian's ``wrk`` (C, one event-loop thread by default), with a Lua script
that rotates the paths and tokens, counts the status codes and stops after the requests
asked for; without it the benchmark refuses to run. On this 2-core machine the client
shares the CPUs with the server, and wrk needs a small fraction of a core for the few
thousand requests a second the server answers, where a Python client needs about as much
CPU as the server itself: its numbers measure the client too. ``--python-client`` runs one
anyway (an asyncio httpx client in a separate process, the same workload), and the table
and the JSON (``client``) say so (measured on the same server: 314 req/s, p99 847 ms,
against wrk's 1,533 req/s, p99 57 ms).

Latencies are wrk's (from writing the request to reading the whole answer); ``errors``
counts connection errors, timeouts (``--timeout``) and answers other than 200 (the script
exits 1 if there were any); a run also fails loudly if the server answers anything but 200
to the first request of each rep. Each run also records the load average around it and
the server's CPU time per answer, which other work on a shared machine moves far less
than the latencies. Only 127.0.0.1; the counts and times are bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import sqlite3
import statistics
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from api.models import Plan

HOST = "127.0.0.1"
#: What measured the numbers, as the table and the JSON (``client``) say it.
CLIENTS = {"wrk": "wrk", "python": "python (numbers measure the client too)"}
KEYS = ("p50_ms", "p95_ms", "p99_ms", "rps", "errors")

#: wrk's script: rotates pre-built requests (token + path) read from a file, a different
#: start per thread; counts answers by status; a thread stops after its share of requests
#: and leaves a marker file, so the parent can end wrk early (wrk's main thread otherwise
#: sleeps for the whole -d); done() prints the numbers as one JSON line.
WRK_LUA = r"""
local requests, n, i, limit = {}, 0, 0, 0
local threads = {}
statuses = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  local file, total, nthreads = args[1], tonumber(args[2]), tonumber(args[3])
  marker = args[4] .. "/done." .. tid
  for line in io.lines(file) do
    local token, path = line:match("^(%S+) (%S+)$")
    requests[#requests + 1] = wrk.format("GET", path, {["Authorization"] = "Bearer " .. token})
  end
  limit = math.floor(total / nthreads) + ((tid < total % nthreads) and 1 or 0)
  i = tid * 13
end

function request()
  i = i + 1
  return requests[(i % #requests) + 1]
end

function response(status, headers, body)
  n = n + 1
  statuses[status] = (statuses[status] or 0) + 1
  if n == limit then
    local f = io.open(marker, "w")
    f:write(n)
    f:close()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local codes, not_ok = {}, 0
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      codes[#codes + 1] = string.format('"%d": %d', status, count)
      if status ~= 200 then not_ok = not_ok + count end
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK-JSON {"duration_us": %d, "requests": %d, "p50_us": %d, "p90_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "mean_us": %.1f, "connect": %d, "read": %d, "write": %d, "timeout": %d, "not_200": %d, ' ..
    '"statuses": {%s}}\n',
    summary.duration, summary.requests, latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.timeout, not_ok,
    table.concat(codes, ", ")))
end
"""


# --- the server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def seed(db: Path, time_limit_s: float) -> tuple[dict[str, str], list[tuple[str, str]], Plan]:
    """The demo team in ``db`` (seeded if empty); returns the tokens, the (rep, date) pairs
    of the published plan's routes, and the plan."""
    from sqlalchemy import select

    from api.db import make_engine, session_factory
    from api.models import Plan, RouteRow
    from api.serve import seed_demo
    from api.settings import Settings

    settings = Settings(database_url=f"sqlite:///{db}", network="demo", data_dir=db.parent)
    tokens = seed_demo(settings, time_limit_s=time_limit_s)
    engine = make_engine(settings.db_url)
    with session_factory(engine)() as session:
        plan = session.scalar(select(Plan).where(Plan.status == "published").order_by(Plan.published_at.desc()).limit(1))
        pairs = sorted(set(session.execute(select(RouteRow.rep_id, RouteRow.date).where(RouteRow.plan_id == plan.id)).all()))
    engine.dispose()
    return tokens, [(rep, date) for rep, date in pairs if rep in tokens], plan


class Server:
    """``fieldroute serve`` on 127.0.0.1 in a subprocess, its output in a log file."""

    def __init__(self, db: Path, workers: int, access_log: bool, log: Path, network: str = "demo"):
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.env = env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
                            "FIELDROUTE_LOG_LEVEL": "info" if access_log else "warning", "FIELDROUTE_NETWORK": network}
        self.log = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--db", str(db), "--host", HOST, "--port", str(self.port),
             "--workers", str(workers)], env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                self.log.close()
                tail = "\n".join(log.read_text().splitlines()[-15:])
                raise RuntimeError(f"the server stopped (exit code {self.process.returncode}):\n{tail}")
            try:
                if call("GET", f"{self.base}/healthz", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the server did not answer within 60 s")
            time.sleep(0.2)

    def cpu_seconds(self, db: Path) -> float:
        """CPU time so far of the server's processes (uvicorn and its workers: its session),
        without plan jobs (Linux)."""
        with contextlib.closing(sqlite3.connect(db)) as connection:
            jobs = {pid for (pid,) in connection.execute("SELECT pid FROM jobs WHERE pid IS NOT NULL")}
        total = 0.0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) in jobs:
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == self.process.pid:  # the session id
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # its own session: uvicorn's workers and plan jobs too
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def call(method: str, url: str, token: str | None = None, body: dict | None = None, timeout: float = 30) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


# --- the load generators -------------------------------------------------------------------


def measured(run, server: Server, db: Path):
    """``run`` with, in its numbers, the machine's load average (1 min) before and after it
    (the machine may be shared) and the server's CPU time per answer (its processes, not a
    plan job's): less sensitive to other work on the machine than the latencies."""

    def wrapper(*args) -> dict:
        before, cpu = os.getloadavg()[0], server.cpu_seconds(db)
        result = run(*args)
        cpu = server.cpu_seconds(db) - cpu
        return result | {"loadavg_before": round(before, 2), "loadavg_after": round(os.getloadavg()[0], 2),
                         "server_cpu_ms_per_request": round(cpu * 1000 / max(result["requests"], 1), 3)}

    return wrapper


def run_wrk(base: str, lines: Path, concurrency: int, requests: int, max_seconds: float, threads: int, timeout: float) -> dict:
    """One wrk run; stops after ``requests`` answers or ``max_seconds``."""
    threads = max(1, min(threads, concurrency))
    with tempfile.TemporaryDirectory(prefix="fieldroute-wrk-") as tmp:
        script = Path(tmp) / "rotate.lua"
        script.write_text(WRK_LUA)
        markers = Path(tmp) / "markers"
        markers.mkdir()
        command = ["wrk", "-t", str(threads), "-c", str(concurrency), "-d", f"{max_seconds:g}s", "--timeout", f"{timeout:g}s",
                   "-s", str(script), base, "--", str(lines), str(requests), str(threads), str(markers)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while process.poll() is None:
            if len(list(markers.iterdir())) >= threads:
                process.send_signal(signal.SIGINT)  # every thread is done: end wrk's sleep (it prints its summary)
            time.sleep(0.05)
        out, err = process.communicate()
    line = next((ln for ln in out.splitlines() if ln.startswith("WRK-JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed (exit code {process.returncode}): {err.strip() or out.strip()}")
    raw = json.loads(line.removeprefix("WRK-JSON "))
    errors = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"] + raw["not_200"]
    return {"requests": raw["requests"], "p50_ms": raw["p50_us"] / 1000, "p95_ms": raw["p95_us"] / 1000,
            "p99_ms": raw["p99_us"] / 1000, "max_ms": raw["max_us"] / 1000, "mean_ms": raw["mean_us"] / 1000,
            "rps": raw["requests"] / (raw["duration_us"] / 1e6), "errors": errors, "statuses": raw["statuses"],
            "socket_errors": {k: raw[k] for k in ("connect", "read", "write", "timeout")}}


def run_python(base: str, lines: Path, concurrency: int, requests: int, max_seconds: float, threads: int, timeout: float) -> dict:
    """One run of the asyncio client, in a process of its own."""
    config = {"base": base, "lines": str(lines), "concurrency": concurrency, "requests": requests,
              "max_seconds": max_seconds, "timeout": timeout}
    out = subprocess.run([sys.executable, __file__, "--_client"], input=json.dumps(config), capture_output=True, text=True,
                         timeout=max_seconds + 120)
    if out.returncode != 0:
        raise RuntimeError(f"the Python client failed: {out.stderr.strip()}")
    return json.loads(out.stdout)


def _client_main() -> int:
    """The asyncio client process: reads its config on stdin, prints its numbers as JSON."""
    import httpx

    config = json.loads(sys.stdin.read())
    pairs = [line.split(" ", 1) for line in Path(config["lines"]).read_text().splitlines()]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    socket_errors = 0
    issued = 0
    deadline = time.monotonic() + config["max_seconds"]

    async def worker(client: httpx.AsyncClient, k: int) -> None:
        nonlocal issued, socket_errors
        i = k * 13
        while issued < config["requests"] and time.monotonic() < deadline:
            issued += 1
            i += 1
            token, path = pairs[i % len(pairs)]
            start = time.perf_counter()
            try:
                response = await client.get(path, headers={"Authorization": f"Bearer {token}"})
                await response.aread()
            except httpx.HTTPError:
                socket_errors += 1
                continue
            latencies.append(time.perf_counter() - start)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    async def main() -> float:
        limits = httpx.Limits(max_connections=config["concurrency"], max_keepalive_connections=config["concurrency"])
        async with httpx.AsyncClient(base_url=config["base"], limits=limits, timeout=config["timeout"]) as client:
            start = time.perf_counter()
            await asyncio.gather(*(worker(client, k) for k in range(config["concurrency"])))
            return time.perf_counter() - start

    duration = asyncio.run(main())
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, max(0, round(p / 100 * len(latencies)) - 1))] * 1000 if latencies else float("nan")

    not_ok = sum(c for s, c in statuses.items() if s != 200)
    json.dump({"requests": len(latencies), "p50_ms": pct(50), "p95_ms": pct(95), "p99_ms": pct(99),
               "max_ms": latencies[-1] * 1000 if latencies else float("nan"),
               "mean_ms": statistics.fmean(latencies) * 1000 if latencies else float("nan"),
               "rps": len(latencies) / duration, "errors": socket_errors + not_ok,
               "statuses": {str(s): c for s, c in sorted(statuses.items())}, "socket_errors": {"any": socket_errors}}, sys.stdout)
    return 0


# --- a plan job while measuring --------------------------------------------------------------


@contextlib.contextmanager
def plan_running(base: str, supervisor: str, start: str, time_limit_s: float, db: Path):
    """A cycle plan job running (its solver started) for the block; cancelled after. Yields a
    dict that gets ``covered``: whether the job still ran when the block ended, and
    ``cpu_share``: the CPU time its process used over the block's wall time (1 = a core)."""
    status, job = call("POST", f"{base}/v1/plans", supervisor, {"start": start, "weeks": 4, "time_limit_s": time_limit_s})
    if status != 202:
        raise RuntimeError(f"POST /v1/plans answered {status}: {job}")
    deadline = time.monotonic() + 120
    while job["status"] == "queued" or job["phase"] in ("queued", "starting", "loading inputs", "loading roads"):
        if job["status"] not in ("queued", "running") or time.monotonic() > deadline:
            raise RuntimeError(f"the plan job did not start solving: {job}")
        time.sleep(0.2)
        job = call("GET", f"{base}/v1/jobs/{job['id']}", supervisor)[1]
    with contextlib.closing(sqlite3.connect(db)) as connection:
        (pid,) = connection.execute("SELECT pid FROM jobs WHERE id = ?", (job["id"],)).fetchone()
    info = {"job": job["id"], "phase_at_start": job["phase"]}
    cpu, wall = _cpu_seconds(pid), time.monotonic()
    try:
        yield info
    finally:
        info["cpu_share"] = round((_cpu_seconds(pid) - cpu) / (time.monotonic() - wall), 2)
        job = call("GET", f"{base}/v1/jobs/{job['id']}", supervisor)[1]
        info["covered"] = job["status"] == "running"
        info["phase_at_end"] = job["phase"]
        if job["status"] in ("queued", "running"):
            call("DELETE", f"{base}/v1/jobs/{job['id']}", supervisor)
        time.sleep(1)  # let the worker process go before the next measurement


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux); NaN if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- main ------------------------------------------------------------------------------------


def median_of(runs: list[dict]) -> dict:
    """The medians of the runs' percentiles and rates; the errors of all runs."""
    out = {k: round(statistics.median(r[k] for r in runs), 2) for k in ("p50_ms", "p95_ms", "p99_ms")}
    return out | {"rps": round(statistics.median(r["rps"] for r in runs)), "errors": sum(r["errors"] for r in runs),
                  "server_cpu_ms_per_request": round(statistics.median(r["server_cpu_ms_per_request"] for r in runs), 3)}


def server_stack(env: dict) -> dict:
    """The HTTP parser and event loop uvicorn picks ("auto") in the server's environment."""
    code = "import importlib.util as u; print(bool(u.find_spec('httptools')), bool(u.find_spec('uvloop')))"
    found = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stdout.split()
    return {"http": "httptools" if found[0] == "True" else "h11", "loop": "uvloop" if found[1] == "True" else "asyncio"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=50, help="clients at once, each one keep-alive connection (default 50)")
    parser.add_argument("--requests", type=int, default=20000, help="answers per measurement (default 20000)")
    parser.add_argument("--repeat", type=int, default=3, help="idle + during-plan measurements, medians reported (default 3)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (default 1)")
    parser.add_argument("--db", type=Path, help="SQLite file to use (seeded with the demo if empty; default: a temporary one)")
    parser.add_argument("--python-client", action="store_true", help="load from a Python (httpx) client instead of wrk: "
                        "it shares the CPUs with the server, so its numbers measure the client too")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (default 1: it leaves the other core to the server)")
    parser.add_argument("--max-seconds", type=float, default=60, help="time bound of one measurement (default 60)")
    parser.add_argument("--warmup", type=int, default=2000, help="answers before the first measurement (default 2000)")
    parser.add_argument("--timeout", type=float, default=10, help="a request slower than this counts as an error (default 10 s)")
    parser.add_argument("--seed-time-limit", type=float, default=10, help="seconds for the demo cycle plan when seeding (default 10)")
    parser.add_argument("--access-log", action="store_true", help="keep uvicorn's access log on (log level info)")
    parser.add_argument("--no-plan", action="store_true", help="idle measurements only")
    parser.add_argument("--today", action="store_true", help="every request asks for 'today' (the date in the plan's time zone), "
                        "as a rep's phone does, instead of the plan's dates in turn")
    parser.add_argument("--server-log", type=Path, help="keep the server's output in this file (default: thrown away)")
    parser.add_argument("--json", type=Path, help="write the results as JSON")
    args = parser.parse_args(argv)

    generator = "python" if args.python_client else "wrk"
    if generator == "wrk" and shutil.which("wrk") is None:
        parser.error("wrk is not installed (apt-get install wrk). A Python client's numbers measure the client too "
                     "(it needs about as much CPU as the server); --python-client runs one anyway.")
    load = run_wrk if generator == "wrk" else run_python

    with tempfile.TemporaryDirectory(prefix="fieldroute-load-") as tmp:
        tmp_path = Path(tmp)
        db = (args.db or tmp_path / "fieldroute.db").resolve()
        print(f"Seeding the demo team into {db} ...", file=sys.stderr, flush=True)
        tokens, pairs, plan = seed(db, args.seed_time_limit)
        lines = tmp_path / "requests.txt"
        if args.today:
            pairs = [(rep, "today") for rep in sorted({rep for rep, _ in pairs})]
        lines.write_text("".join(f"{tokens[rep]} /v1/reps/{rep}/routes/{date}\n" for rep, date in pairs))
        server = Server(db, args.workers, args.access_log, args.server_log or tmp_path / "server.log")
        stack = server_stack(server.env)
        run = measured(load, server, db)
        try:
            for rep in sorted({rep for rep, _ in pairs}):
                date = next(d for r, d in pairs if r == rep)
                status, body = call("GET", f"{server.base}/v1/reps/{rep}/routes/{date}", tokens[rep])
                if status != 200:
                    raise RuntimeError(f"{rep}'s route on {date}: {status} {body}")
            print(f"Server on {server.base} ({args.workers} worker(s), {stack['http']}, {stack['loop']}), plan {plan.id}: "
                  f"{len(pairs)} routes of {len(tokens) - 1} reps; client {CLIENTS[generator]}", file=sys.stderr, flush=True)
            if args.warmup:
                run(server.base, lines, args.concurrency, args.warmup, args.max_seconds, args.wrk_threads, args.timeout)
            idle, during, plans = [], [], []
            for k in range(args.repeat):
                idle.append(run(server.base, lines, args.concurrency, args.requests, args.max_seconds, args.wrk_threads, args.timeout))
                print(f"  run {k + 1} idle: " + _line(idle[-1]), file=sys.stderr, flush=True)
                if args.no_plan:
                    continue
                with plan_running(server.base, tokens["supervisor"], plan.start, args.max_seconds + 60, db) as job:
                    during.append(run(server.base, lines, args.concurrency, args.requests, args.max_seconds, args.wrk_threads, args.timeout))
                plans.append(job)
                print(f"  run {k + 1} plan: " + _line(during[-1]) + f", plan job {job['cpu_share']:.0%} of a core"
                      + ("" if job["covered"] else "  (the plan ended before the measurement)"),
                      file=sys.stderr, flush=True)
        finally:
            server.stop()

    result = {"concurrency": args.concurrency, "requests": args.requests} | median_of(idle)
    if during:
        d = median_of(during)
        result |= {"p50_ms_during_plan": d["p50_ms"], "p95_ms_during_plan": d["p95_ms"], "p99_ms_during_plan": d["p99_ms"],
                   "rps_during_plan": d["rps"], "errors_during_plan": d["errors"],
                   "server_cpu_ms_per_request_during_plan": d["server_cpu_ms_per_request"],
                   "plan_covered_measurements": all(j["covered"] for j in plans),
                   "plan_cpu_share": statistics.median(j["cpu_share"] for j in plans)}
    if args.concurrency == 50 and during:
        result["bar_met"] = (result["p99_ms"] < 50 and result["p99_ms_during_plan"] < 150
                             and result["errors"] == 0 and result["errors_during_plan"] == 0)
    result |= {"repeat": args.repeat, "workers": args.workers, "server": stack, "generator": generator, "client": CLIENTS[generator],
               "wrk_threads": args.wrk_threads if generator == "wrk" else None, "access_log": args.access_log,
               "cpus": os.cpu_count(), "paths": "today" if args.today else "the plan's dates", "routes": len(pairs),
               "runs_idle": idle, "runs_during_plan": during, "plan_jobs": plans}
    _table(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["errors"] == 0 and result.get("errors_during_plan", 0) == 0 else 1


def _line(r: dict) -> str:
    return (f"{r['requests']} req, p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
            f"{r['rps']:.0f} req/s, {r['errors']} errors, server {r['server_cpu_ms_per_request']:.2f} ms CPU/req "
            f"(load {r['loadavg_before']:.1f} -> {r['loadavg_after']:.1f})")


def _table(r: dict) -> None:
    loud = r["generator"] != "wrk"
    if loud:
        print(f"\n*** client: {r['client']}: a Python client shares the CPUs with the server; not the server's numbers ***")
    print(f"\nGET /v1/reps/{{rep}}/routes/{{date}}: {r['concurrency']} clients, {r['requests']} requests a run, "
          f"{r['workers']} worker(s), client {r['client']}; medians of {r['repeat']} runs")
    print(f"{'':<12} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>8} {'errors':>7} {'CPU ms/req':>11}")
    print(f"{'idle':<12} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['rps']:>8.0f} {r['errors']:>7} "
          f"{r['server_cpu_ms_per_request']:>11.3f}")
    if "p99_ms_during_plan" in r:
        print(f"{'during plan':<12} {r['p50_ms_during_plan']:>8.1f} {r['p95_ms_during_plan']:>8.1f} {r['p99_ms_during_plan']:>8.1f} "
              f"{r['rps_during_plan']:>8.0f} {r['errors_during_plan']:>7} {r['server_cpu_ms_per_request_during_plan']:>11.3f}")
    if "bar_met" in r:
        print(f"bar (p99 < 50 ms idle, < 150 ms during a plan, no errors): {'met' if r['bar_met'] else 'NOT met'}"
              + (" (measured with the Python client: not comparable)" if loud else ""))
    if loud:
        print(f"*** client: {r['client']} ***")


if __name__ == "__main__":
    if sys.argv[1:] == ["--_client"]:
        raise SystemExit(_client_main())
    raise SystemExit(main())
