"""Real service processes for the fault tests and the load benchmark: a Redis server
on a port of its own, a Celery worker and Celery beat, (the helpers around them are in
tests/faults/processes.py).

Every process here is started by this module and stopped by its process id: ``stop()``
sends SIGTERM and waits, ``kill()`` (the worker) sends SIGKILL to the main process and
every process below it. Each class is a context manager whose exit stops its process
and removes its temporary directory, so a failing test leaves nothing running.

Nothing here binds anything but 127.0.0.1. Timeouts are generous and every wait polls:
the suite shares a small, noisy machine.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.faults.processes import (
    HOST,
    ROOT,
    descendants,
    free_port,
    is_alive,
    signal_pids,
    stop_process,
    tail,
    wait_until,
)


def _directory(given: Path | None, prefix: str) -> tuple[Path, bool]:
    """``given``, or a fresh temporary directory that the caller owns (True)."""
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        return given, False
    return Path(tempfile.mkdtemp(prefix=prefix)), True


class _Service(ABC):
    """Context-manager plumbing shared by the services: ``close()`` on exit."""

    @abstractmethod
    def close(self) -> None:
        """Stop the service and remove what it owns."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


# --- Redis -------------------------------------------------------------------------------


class RedisServer(_Service):
    """``redis-server`` on a free 127.0.0.1 port, without persistence, so a restart
    comes back empty (as a Redis that lost its memory would).

    ``start()`` after ``stop()`` listens on the same port again, so every process
    configured with ``url`` reconnects to it. Needs ``redis-server`` on the PATH.
    """

    def __init__(self, *, port: int | None = None, directory: Path | None = None):
        self.port = port or free_port()
        self.directory, self._owns_directory = _directory(directory, "hrms-redis-")
        self.log = self.directory / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The URL of database 0 (``REDIS_URL`` for the processes under test)."""
        return f"redis://{HOST}:{self.port}/0"

    def ping(self) -> bool:
        """Whether the server answers (one round trip, 1 s timeout, no retry: the
        client's default retries a refused connection for seconds)."""
        client = redis.Redis(
            host=HOST, port=self.port, socket_timeout=1, retry=Retry(NoBackoff(), 0)
        )
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def start(self, *, timeout: float = 30) -> Self:
        """Start the server and wait until it answers PING."""
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("This Redis server is already running; stop it first.")
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                "redis-server is not on the PATH; install Redis (make services)."
            )
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [
                binary,
                "--bind",
                HOST,
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                "--logfile",
                str(self.log),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        process = self.process

        def answering() -> bool:
            if process.poll() is not None:
                raise RuntimeError(
                    f"redis-server on port {self.port} exited with "
                    f"{process.returncode}:\n{tail(self.log)}"
                )
            return self.ping()

        wait_until(answering, timeout=timeout, what=f"Redis on port {self.port}")
        return self

    def stop(self, *, timeout: float = 30) -> None:
        """SIGTERM by process id and wait until it has exited and the port is free."""
        stop_process(self.process, timeout=timeout)
        self.process = None
        wait_until(lambda: not self.ping(), timeout=timeout, what="Redis to go away")

    def close(self) -> None:
        self.stop()
        if self._owns_directory:
            shutil.rmtree(self.directory, ignore_errors=True)


# --- Celery --------------------------------------------------------------------------------


@dataclass
class _Run:
    """One run of a Celery process: the process and where its output goes."""

    process: subprocess.Popen[bytes]
    log: Path
    output: Path


class _CeleryProcess(_Service):
    """A ``celery -A config <command>`` process started with a given environment.

    Each ``start()`` writes a log of its own (``<kind>-<n>.log``, plus ``.out`` for
    anything printed before logging is set up), so the readiness check reads only
    the current run."""

    kind = ""

    def __init__(self, env: Mapping[str, str], *, directory: Path | None = None):
        self.env = dict(env)
        self.directory, self._owns_directory = _directory(
            directory, f"hrms-{self.kind}-"
        )
        self.runs: list[_Run] = []

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The current run's process, or None before the first start."""
        return self.runs[-1].process if self.runs else None

    @property
    def log(self) -> Path:
        """The current run's log file."""
        if not self.runs:
            raise RuntimeError(f"The {self.kind} has not been started.")
        return self.runs[-1].log

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @abstractmethod
    def arguments(self, log: Path) -> list[str]:
        """The command line of one run, logging to ``log``."""

    @abstractmethod
    def ready(self, log_text: str) -> bool:
        """Whether the run's log says it is ready."""

    def start(self, *, timeout: float = 120) -> Self:
        """Start a new run and wait until its log says it is ready."""
        if self.running():
            raise RuntimeError(f"The {self.kind} is already running; stop it first.")
        number = len(self.runs)
        log = self.directory / f"{self.kind}-{number}.log"
        output = self.directory / f"{self.kind}-{number}.out"
        with output.open("wb") as sink:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter
                [sys.executable, "-m", "celery", "-A", "config", *self.arguments(log)],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        run = _Run(process=process, log=log, output=output)
        self.runs.append(run)

        def started() -> bool:
            if process.poll() is not None:
                raise RuntimeError(
                    f"The {self.kind} exited with {process.returncode}:\n"
                    f"{tail(run.output)}\n{tail(run.log)}"
                )
            return self.ready(tail(log, lines=400))

        wait_until(started, timeout=timeout, what=f"the {self.kind} to be ready")
        return self

    def stop(self, *, timeout: float = 60) -> None:
        """A warm shutdown: SIGTERM to the main process (it finishes the tasks it runs),
        then wait; whatever is left after ``timeout`` is killed."""
        stop_process(self.process, timeout=timeout)

    def output_text(self) -> str:
        """Everything every run logged or printed, for assertion messages."""
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')}"
            for run in self.runs
            for path in (run.output, run.log)
            if path.exists()
        )

    def close(self) -> None:
        self.stop()
        if self._owns_directory:
            shutil.rmtree(self.directory, ignore_errors=True)


class CeleryWorker(_CeleryProcess):
    """``celery -A config worker``: prefork pool of ``concurrency`` children.

    Without ``queues`` it consumes the queues the app is configured with (the default
    queue); with them, ``-Q`` those. Ready when its log says ``ready.`` (that is,
    connected to the broker and consuming). ``kill()`` is a crash: SIGKILL to the
    main process and its pool, no warm shutdown, no acknowledgements.
    """

    kind = "worker"

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        concurrency: int = 2,
        queues: Sequence[str] = (),
        directory: Path | None = None,
    ):
        super().__init__(env, directory=directory)
        self.concurrency = concurrency
        self.queues = list(queues)
        self.name = f"faults-{uuid.uuid4().hex[:8]}@{HOST}"

    def arguments(self, log: Path) -> list[str]:
        arguments = [
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            str(self.concurrency),
            "--hostname",
            self.name,
            "--loglevel",
            "INFO",
            "--logfile",
            str(log),
            # No cluster chatter: one worker per test, and mingle would add seconds
            # to every start waiting for others.
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        if self.queues:
            arguments += ["--queues", ",".join(self.queues)]
        return arguments

    def ready(self, log_text: str) -> bool:
        return f"{self.name} ready." in log_text

    def kill(self, *, timeout: float = 60) -> None:
        """SIGKILL the worker: the main process is frozen first (SIGSTOP, so it cannot
        replace a child meanwhile), then it and every process below it are killed by
        process id. Waits until all of them are gone."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGSTOP)
        below = descendants(process.pid)
        process.kill()
        signal_pids(below, signal.SIGKILL)
        process.wait(timeout=timeout)
        wait_until(
            lambda: not any(is_alive(pid) for pid in below),
            timeout=timeout,
            what=f"the killed worker's pool {below} to end",
        )


class CeleryBeat(_CeleryProcess):
    """``celery -A config beat`` with its schedule file in its own directory, so runs
    never share (or reuse) the last-run times of another."""

    kind = "beat"

    def arguments(self, log: Path) -> list[str]:
        return [
            "beat",
            "--schedule",
            str(self.directory / "schedule"),
            "--pidfile",
            "",
            "--loglevel",
            "INFO",
            "--logfile",
            str(log),
        ]

    def ready(self, log_text: str) -> bool:
        return "beat: Starting..." in log_text
