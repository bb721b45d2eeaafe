"""Several people at once: calls released together in threads, each on its own database connection, and
the PostgreSQL gate the same-moment tests share (SQLite runs one writing transaction at a time)."""

import threading

import pytest
from django.db import connection

from projects.reference.data import reference_data_load


@pytest.fixture
def on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("same-moment writers need PostgreSQL's row locks: run with DATABASE_URL=postgres://… (CI does)")
    reference_data_load()  # a transactional test starts from an empty database
    yield
    reference_data_load()  # leave the reference data for the tests that follow


def at_once(calls, *, timeout=120):
    """Run the calls in threads released together; returns what each returned, or the exception it raised
    (SystemExit too: a test reports whatever escaped), in order."""
    barrier = threading.Barrier(len(calls))
    answers = [TimeoutError("did not finish")] * len(calls)

    def run(index, call):
        try:
            barrier.wait(timeout=30)
            answers[index] = call()
        except BaseException as error:  # noqa: BLE001 - reported by the caller's assertion
            answers[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a call is still waiting: a lock was never released"
    return answers
