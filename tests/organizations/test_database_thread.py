"""organizations.database_thread: works run in order on one other thread, on the caller's
connection and transaction; an error stops the rest and always reaches the caller;
the connection is the caller's alone again afterwards."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any, cast

import pytest
from django.db import DEFAULT_DB_ALIAS, DataError, connection, connections

from organizations.database_thread import DatabaseThread

pytestmark = pytest.mark.django_db


def test_works_run_in_order_on_another_thread_in_the_callers_transaction() -> None:
    database = connections[DEFAULT_DB_ALIAS]
    with database.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE seen (position int, thread text)")

    def insert(position: int) -> str:
        name = threading.current_thread().name
        with database.cursor() as cursor:
            cursor.execute("INSERT INTO seen VALUES (%s, %s)", [position, name])
        return name

    with DatabaseThread(database) as thread:
        futures = [thread.submit(lambda p=p: insert(p)) for p in range(20)]
        names = {future.result() for future in futures}

    # A temporary table is visible on its own session only, and rows inserted in
    # this transaction to its own statements only: the works used both.
    with database.cursor() as cursor:
        cursor.execute("SELECT position FROM seen ORDER BY ctid")
        assert [row[0] for row in cursor.fetchall()] == list(range(20))
    assert len(names) == 1
    assert threading.current_thread().name not in names
    assert not database.allow_thread_sharing


def test_the_connection_proxy_is_refused() -> None:
    # Each thread resolves django.db.connection to a connection of its own.
    with pytest.raises(TypeError, match="connections"):
        DatabaseThread(cast(Any, connection))


def test_an_error_nobody_waited_for_is_raised_on_leaving() -> None:
    database = connections[DEFAULT_DB_ALIAS]
    ran = []

    def divide() -> None:
        with database.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")

    def submit_without_waiting() -> Future[None]:
        with DatabaseThread(database) as thread:
            thread.submit(divide)
            return thread.submit(lambda: ran.append("later"))

    with pytest.raises(DataError):
        submit_without_waiting()

    assert ran == []
    assert not database.allow_thread_sharing


def test_an_error_of_the_caller_leaves_the_rest_unrun() -> None:
    database = connections[DEFAULT_DB_ALIAS]
    started = threading.Event()
    release = threading.Event()
    ran = []

    def first() -> None:
        started.set()
        release.wait(timeout=10)
        ran.append("first")

    def fail_while_first_runs() -> None:
        with DatabaseThread(database) as thread:
            thread.submit(first)
            thread.submit(lambda: ran.append("second"))
            started.wait(timeout=10)
            # Released once leaving the block has dropped the work not started.
            threading.Timer(0.2, release.set).start()
            raise LookupError("the caller failed")

    with pytest.raises(LookupError):
        fail_while_first_runs()

    # The work under way finished; the one not started was dropped.
    assert ran == ["first"]
    assert not database.allow_thread_sharing
