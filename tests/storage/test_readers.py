"""PostgreSQL's readers (`storage.reading`) outliving the event loop that opened them (a
test's, a command's `asyncio.run`): the old loop's connections are closed, not left open."""

from __future__ import annotations

import asyncio
import gc
import warnings

from sqlalchemy.engine import make_url

from conftest import POSTGRES_URL, require_postgres
from storage.reading import PostgresReaders


def test_readers_outliving_their_loop_leave_no_socket_open() -> None:
    require_postgres()
    readers = PostgresReaders(make_url(POSTGRES_URL), keep=2, size=4)

    async def one() -> list[object]:
        return await readers.fetch("SELECT 1", [])

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert len(asyncio.run(one())) == 1
        assert len(asyncio.run(one())) == 1  # the first loop's idle connection abandoned
        asyncio.run(readers.close())  # and the second's, from a third loop
        gc.collect()
    unclosed = [str(w.message) for w in seen if issubclass(w.category, ResourceWarning)]
    assert not unclosed, unclosed
