"""A thread that runs the statements of the caller's transaction, in order, while the
caller goes on computing.

Work that reads, computes in Python and writes, part after part, leaves the database
idle while Python computes and Python idle while the database works. Handing the
statements to a thread of their own lets both go on at once: the thread runs them on
the caller's connection (a psycopg connection is thread-safe and runs one statement
at a time), inside the caller's transaction and in the order they were submitted,
while the caller computes the next part. ``appraisals.score_store`` stores a whole
cycle's scores this way.

Django lets a connection be used from another thread only while its thread sharing
is raised; ``DatabaseThread`` raises it on entry and lowers it on exit, once the last
statement has finished, so that nothing runs on the connection after the block. An
error stops the thread: the work submitted after it is not run (the transaction is
aborted anyway) and reports the same error. The caller sees it from ``result()`` of
any later work, and on leaving the block if it waited for none, so an error in work
nobody waited for is never lost.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import TypeVar

from django.db.backends.base.base import BaseDatabaseWrapper

T = TypeVar("T")


class DatabaseThread:
    """``with DatabaseThread(connection) as thread: thread.submit(work)``: each
    ``work()`` runs on one thread, after everything submitted before it. The works
    run their statements on ``connection``, the caller's (``connections[alias]``),
    passed to them."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        if not isinstance(connection, BaseDatabaseWrapper):
            # ``django.db.connection`` is a proxy that each thread resolves to a
            # connection of its own: the works would run outside the transaction.
            raise TypeError(
                "DatabaseThread needs the connection itself, connections[alias]."
            )
        self._connection = connection
        self._executor: ThreadPoolExecutor | None = None
        self._error: BaseException | None = None

    def __enter__(self) -> DatabaseThread:
        self._connection.inc_thread_sharing()
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="database"
        )
        return self

    def submit(self, work: Callable[[], T]) -> Future[T]:
        """Run ``work()`` on the thread once the work submitted before is done; its
        result (or error) comes from the returned future."""
        if self._executor is None:
            raise RuntimeError("DatabaseThread.submit outside its with block.")
        return self._executor.submit(self._run, work)

    def _run(self, work: Callable[[], T]) -> T:
        if self._error is not None:
            raise self._error
        try:
            return work()
        except BaseException as error:
            self._error = error
            raise

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._executor is not None:
            # Waits for the statement under way; drops the ones not started when
            # the caller failed.
            self._executor.shutdown(wait=True, cancel_futures=error is not None)
            self._executor = None
        self._connection.dec_thread_sharing()
        if error is None and self._error is not None:
            raise self._error
