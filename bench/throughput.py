"""Requests per second under load: the floor, the HR home page and a plan page at
10,000 employees, served by gunicorn and driven by ``wrk``, in one run.

1. Creates the database ``hrms_bench_throughput`` (bench/harness.py: migrated as the
   owner, then used as the application role), seeds one organisation of 10,000
   employees with ``seed_scale`` (the whole world and its three logins) and runs
   ANALYZE as the owner.
2. Starts gunicorn with 2 sync workers on a free port of 127.0.0.1 in production
   mode: DEBUG off, a SECRET_KEY made for this run, ``CONN_MAX_AGE=60`` as
   docker-compose sets it, settings ``bench.settings`` (the product with the floor
   page mounted; static files unhashed, so no ``collectstatic``), connected to the
   benchmark's database as the application role, so row-level security applies.
3. Signs the HR admin and the employee in (a session row made in this process under
   the same SECRET_KEY) and checks that each target answers 200 to a plain request
   carrying their cookie and ``X-Forwarded-Proto: https`` (without that header the
   site redirects to HTTPS, as behind a TLS proxy).
4. Runs ``wrk -t2 -c8 -d15s --latency`` on each target in turn, the whole sequence
   twice, so that drift in machine load hits every target alike; wrk runs on the same
   machine and takes its share of the CPU, the same for every target.

It prints, per target and round, requests per second and the latency's median and
99th percentile, then per target the mean requests per second and the floor's
requests per second divided by the page's (the goal of issue 12: at most 25). It
exits 1 when a target does not answer 200, or wrk saw errors or non-2xx answers;
never for a figure. gunicorn (only the process it started) and the database are
removed whatever happens.

Needs ``wrk`` (Debian package ``wrk``; ``make system-deps`` installs it) and the
environment of ``make test``. Run it with ``make bench-throughput``.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import (  # noqa: E402
    analyze,
    database_description,
    run_in_bench_database,
    seed_organization,
)
from bench.page_runner import (  # noqa: E402
    EMPLOYEE,
    HR,
    SEED,
    find_url,
    load_world,
    signed_in_client,
)

DATABASE = "hrms_bench_throughput"
SLUG = "throughput"
FLOOR = "floor"
# After the floor (which reads no session): (label, the role whose session the
# requests carry, the page's label in bench/pages.py's table).
PAGES = (
    ("HR home", HR, "home"),
    ("plan page", EMPLOYEE, "plan (engagement)"),
)
GOAL_FLOOR_RATIO = 25.0
START_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0


@dataclass(frozen=True)
class Target:
    label: str
    path: str
    cookie: str  # "" for none


@dataclass(frozen=True)
class WrkRun:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    problems: str  # wrk's socket errors and non-2xx/3xx count, "" when none


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--employees", type=int, default=10000)
    parser.add_argument("--duration", type=int, default=15, help="seconds per run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk is not installed: run `make system-deps` (Debian package wrk).")
        return 2
    # Sessions are signed with SECRET_KEY: the ones made here must be valid in
    # gunicorn, so both use this run's key (long enough for DEBUG off).
    os.environ["SECRET_KEY"] = secrets.token_urlsafe(64)
    return run_in_bench_database(
        lambda owner: run(owner, options, wrk),
        database=DATABASE,
        settings_module="bench.settings",
    )


def run(owner: str, options: argparse.Namespace, wrk: str) -> int:
    from django.conf import settings
    from django.urls import reverse

    from bench.pages import page_table

    print(f"Throughput benchmark on {database_description()}")
    started = time.perf_counter()
    seed_organization(SLUG, options.employees, SEED)
    seconds = time.perf_counter() - started
    print(f"  seed_scale --employees {options.employees}: {seconds:.1f} s")
    analyze(owner)

    world = load_world(SLUG)
    table = {(page.role, page.label): page for page in page_table()}
    targets = [Target(FLOOR, reverse("bench_floor"), "")]
    for label, role, page_label in PAGES:
        path = find_url(table[role, page_label], world)
        if path is None or world.people[role] is None:
            print(f"  ERROR: {label}: no {role} login or object in the seeded data.")
            return 1
        client = signed_in_client(f"{role}@{SLUG}.test")
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        targets.append(Target(label, path, f"{settings.SESSION_COOKIE_NAME}={session}"))

    with tempfile.TemporaryDirectory(prefix="hrms-throughput-") as work:
        env = server_env()
        port = free_port()
        with (Path(work) / "gunicorn.log").open("wb") as log:
            server = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "config.wsgi:application",
                    f"--bind=127.0.0.1:{port}",
                    "--workers=2",
                    "--worker-class=sync",
                    "--timeout=120",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            return measure_server(server, port, targets, options, wrk, Path(work))
        finally:
            stop(server)


def server_env() -> dict[str, str]:
    """gunicorn's environment: this one with production mode and the benchmark's
    database as the application role."""
    from django.conf import settings
    from django.db import connection

    current = connection.settings_dict
    password = current.get("PASSWORD") or ""
    user = quote(settings.DATABASE_APP_ROLE, safe="")
    credentials = f"{user}:{quote(password, safe='')}" if password else user
    host, port = current.get("HOST") or "127.0.0.1", current.get("PORT") or 5432
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": f"postgres://{credentials}@{host}:{port}/{current['NAME']}",
        "DEBUG": "false",
        "CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
    }


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(port: int, target: Target) -> tuple[int, int]:
    """Status and body size of one GET of ``target``, as wrk will send it."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", target.path, headers=headers(target))
        response = connection.getresponse()
        return response.status, len(response.read())
    finally:
        connection.close()


def headers(target: Target) -> dict[str, str]:
    sent = {"X-Forwarded-Proto": "https"}
    if target.cookie:
        sent["Cookie"] = target.cookie
    return sent


def measure_server(
    server: subprocess.Popen[bytes],
    port: int,
    targets: list[Target],
    options: argparse.Namespace,
    wrk: str,
    work: Path,
) -> int:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            get(port, targets[0])
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                print("  gunicorn did not start:")
                print((work / "gunicorn.log").read_text(errors="replace")[-3000:])
                return 1
            time.sleep(0.5)
    print(f"  gunicorn: 2 sync workers on 127.0.0.1:{port}, DEBUG off\n")
    for target in targets:
        status, size = get(port, target)
        print(f"  {target.label:<10} GET {target.path}: HTTP {status}, {size} bytes")
        if status != 200:
            print((work / "gunicorn.log").read_text(errors="replace")[-3000:])
            return 1

    runs: dict[str, list[WrkRun]] = {t.label: [] for t in targets}
    print(
        f"\n  wrk -t{options.threads} -c{options.connections} -d{options.duration}s, "
        f"{options.rounds} rounds:\n"
        f"  {'round':>5}  {'target':<10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
    )
    for round_number in range(1, options.rounds + 1):
        for target in targets:
            result = run_wrk(wrk, port, target, options)
            runs[target.label].append(result)
            print(
                f"  {round_number:>5}  {target.label:<10} "
                f"{result.requests_per_second:>8.1f} {result.p50_ms:>8.1f} "
                f"{result.p99_ms:>8.1f}  {result.problems}"
            )
    floor = mean([r.requests_per_second for r in runs[targets[0].label]])
    print(f"\n  {'target':<10} {'mean req/s':>10} {'floor / page':>12}")
    for target in targets:
        rate = mean([r.requests_per_second for r in runs[target.label]])
        ratio = floor / rate
        flag = f"over {GOAL_FLOOR_RATIO:.0f}" if ratio > GOAL_FLOOR_RATIO else ""
        print(f"  {target.label:<10} {rate:>10.1f} {ratio:>12.1f}  {flag}")
    failed = [r for rs in runs.values() for r in rs if r.problems]
    return 1 if failed else 0


def run_wrk(wrk: str, port: int, target: Target, options: argparse.Namespace) -> WrkRun:
    command = [
        wrk,
        f"-t{options.threads}",
        f"-c{options.connections}",
        f"-d{options.duration}s",
        "--timeout=60s",
        "--latency",
    ]
    for name, value in headers(target).items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://127.0.0.1:{port}{target.path}")
    output = subprocess.run(  # noqa: S603 - fixed arguments
        command, capture_output=True, text=True, check=True
    ).stdout
    return parse_wrk(output)


def parse_wrk(output: str) -> WrkRun:
    """Requests/sec, the 50 % and 99 % latencies and any errors from wrk's report."""

    def latency(percent: str) -> float:
        found = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if found is None:
            raise ValueError(f"wrk printed no {percent}% latency:\n{output}")
        value, unit = float(found[1]), found[2]
        return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    if rate is None:
        raise ValueError(f"wrk printed no Requests/sec:\n{output}")
    problems = [
        line.strip()
        for line in output.splitlines()
        if line.strip().startswith(("Socket errors", "Non-2xx or 3xx"))
    ]
    return WrkRun(float(rate[1]), latency("50"), latency("99"), "; ".join(problems))


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def stop(server: subprocess.Popen[Any]) -> None:
    """Stop the gunicorn this script started (SIGTERM: it stops its workers), by its
    pid only; SIGKILL if it has not ended after STOP_TIMEOUT seconds."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


if __name__ == "__main__":
    sys.exit(main())
