"""Helpers around real processes for the fault tests and the load benchmark: free
ports, polling until something holds, ``manage.py`` in a subprocess, the e-mails a
file-based backend wrote, and stopping a process with everything below it by its
process id (never by name).

Nothing here binds anything but 127.0.0.1. Timeouts are generous and every wait polls:
the suite shares a small, noisy machine.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
HOST = "127.0.0.1"
# Django's file-based e-mail backend ends every message with a line of 79 dashes.
MESSAGE_SEPARATOR = "-" * 79


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks
    it). Another process could take it before the caller binds it; the window is
    short and the callers fail loudly if it happens."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_until(
    condition: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    interval: float = 0.25,
) -> None:
    """Poll ``condition`` until it is true; TimeoutError naming ``what`` after
    ``timeout`` seconds. The only way these tests wait: never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"Gave up after {timeout:.0f} s waiting for {what}.")
        time.sleep(interval)


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file, for error messages ("" if absent)."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def run_manage(
    env: Mapping[str, str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``manage.py <args>`` in a subprocess with ``env``; output captured as text.
    Does not raise on a non-zero exit: callers assert on the result."""
    return subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# --- E-mail written by subprocesses ------------------------------------------------------


def email_url(directory: Path) -> str:
    """The ``EMAIL_URL`` (read by config/settings.py through django-environ) that makes
    a process write every e-mail as a file into ``directory`` (an absolute path)."""
    return f"filemail:///{directory.resolve()}"


def read_mail(directory: Path) -> list[EmailMessage]:
    """Every message the file-based backend wrote into ``directory``, in file order.

    The backend appends each message of a connection to one file, each followed by
    ``MESSAGE_SEPARATOR``; headers are decoded (``policy.default``)."""
    messages: list[EmailMessage] = []
    if not directory.exists():
        return messages
    for path in sorted(directory.iterdir()):
        for chunk in path.read_text(errors="replace").split(f"\n{MESSAGE_SEPARATOR}\n"):
            if not chunk.strip():
                continue
            message = email.message_from_string(chunk, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            messages.append(message)
    return messages


# --- Process control ---------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """Process ids below ``pid`` (children, grandchildren...), read from /proc.

    Linux only (``/proc/<pid>/task/<tid>/children``); a process that ends meanwhile is
    skipped."""
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        try:
            tasks = list(Path(f"/proc/{parent}/task").iterdir())
        except FileNotFoundError:
            continue
        for task in tasks:
            try:
                children = (task / "children").read_text().split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            for child in map(int, children):
                if child not in found:
                    found.append(child)
                    pending.append(child)
    return found


def is_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    # The state follows the parenthesised command name, which may contain spaces.
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def signal_pids(pids: Sequence[int], signum: signal.Signals) -> None:
    """Send ``signum`` to each of ``pids`` (our own processes), ignoring those gone."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def stop_process(
    process: subprocess.Popen[bytes] | None, *, timeout: float = 60
) -> None:
    """Stop ``process`` and everything below it: SIGTERM to the main process, a wait
    of up to ``timeout`` seconds, then SIGKILL to whatever is left. Safe to call on a
    process that already ended."""
    if process is None:
        return
    below = descendants(process.pid)
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            below = sorted({*below, *descendants(process.pid)})
            process.kill()
            process.wait(timeout=timeout)
    left = [pid for pid in below if is_alive(pid)]
    signal_pids(left, signal.SIGKILL)
    wait_until(
        lambda: not any(is_alive(pid) for pid in left),
        timeout=timeout,
        what=f"the processes {left} below {process.pid} to end",
    )
