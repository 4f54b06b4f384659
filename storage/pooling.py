"""The pool of the one-off engines on PostgreSQL (`Database.one_off_engine`): each use
gets a connection of its own, as without a pool, but the one last given back is kept for
the next use, one connection a process, whichever database it is to.

An import's staging and reference checks, and each national call's look-ups and its two
to four imports, each opened a connection: a new PostgreSQL backend, started and its
catalog caches filled again for a few statements. The round trip's 246 housing calls
(tests/ingest/test_round_trip_hub.py, alternated on 2 busy cores) took 18.2, 25.3,
20.0 s so, 9.8, 13.2, 14.3 s with the kept connection; its process 7.0-7.6 CPU s
against 5.9-6.3, and the server's backends about half their CPU.

Nothing of one use reaches the next: what a use left open is rolled back (SQLAlchemy's
reset on return), then `DISCARD ALL` drops its temporary tables (the staging table, the
keys another agency lacks) and resets whatever else a session holds — settings, advisory
locks, prepared statements, cursors, LISTEN — in the same one round trip, and psycopg's
own session attributes are reset; a connection that fails either is closed instead.
psycopg prepares no statement on these connections: `ingest_stage` is another table,
with other columns, in the next import.

A connection is kept for the uses that follow it closely (`KEPT_SECONDS`: a national
call's look-ups and imports, calls run back to back, an import's staging): one idle
longer is closed and a fresh one made, so that a network that dropped an idle
connection without a word (a NAT's or firewall's idle timeout, an address moved to a
standby) is never met on the next use. A kept connection the server has said anything
on since is closed rather than handed out too: a server stopping, a backend ended, a
database dropped WITH (FORCE) each send a message as they close it. That is asked of the
socket (a poll), not with a ping: 686 pings were 0.3 s of the round trip's 11 s of
national calls. The kept connection is closed when another database's is kept in its
place, when its engine is disposed (one given back to a disposed pool is closed), and
at exit. A forked process (a `hub serve` worker) forgets its parent's without touching
it (psycopg does not close a connection another process opened).

`hub check` counts the kept connection with the imports' (docs/operations.md).
"""

from __future__ import annotations

import atexit
import os
import select
import threading
import time
from typing import Any, Final

from sqlalchemy.pool import ConnectionPoolEntry, Pool

_lock = threading.Lock()
_kept: tuple[OneKeptPool, ConnectionPoolEntry, float] | None = None
"""The kept connection: its pool, its record, and when it was given back (monotonic)."""
KEPT_SECONDS: Final = 5.0
"""How long a given-back connection waits for the next use before it is closed instead."""
_inherited: list[ConnectionPoolEntry] = []
"""A parent process's kept connection, held here unused until this process exits."""


class OneKeptPool(Pool):
    """A connection per use, the process's last one given back kept for the next."""

    def status(self) -> str:
        kept = _kept is not None and _kept[0] is self
        return f"OneKeptPool(kept={int(kept)})"

    def _do_get(self) -> ConnectionPoolEntry:
        record = _take(self)
        if record is not None and _ended(record.dbapi_connection):
            record.close()
            record = None
        return record or self._create_connection()

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        connection = record.dbapi_connection
        if self._disposed or connection is None or not _cleared(connection):
            record.close()
            return
        _keep(self, record)

    def recreate(self) -> OneKeptPool:
        return self.__class__(
            self._creator,
            recycle=self._recycle,
            echo=self.echo,
            logging_name=self._orig_logging_name,
            reset_on_return=self._reset_on_return,
            pre_ping=self._pre_ping,
            _dispatch=self.dispatch,
            dialect=self._dialect,
        )

    _disposed = False

    def dispose(self) -> None:
        """Its kept connection closed, and any given back later (the engine uses the pool
        `recreate` made)."""
        self._disposed = True
        release(self)


ONE_KEPT: Final[dict[str, Any]] = {
    "poolclass": OneKeptPool,
    "connect_args": {"prepare_threshold": None},
}
"""`create_engine`'s options for a one-off engine on PostgreSQL."""


def _ended(connection: Any) -> bool:
    """Whether an idle psycopg connection is closed or the server sent something on it
    (as it does ending the backend): nothing arrives on a sound one between uses."""
    try:
        if connection is None or connection.closed:
            return True
        poller = select.poll()
        poller.register(connection.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def _cleared(connection: Any) -> bool:
    """Whether a psycopg connection, its transaction rolled back, has shed its session's
    state (one round trip) and can be kept."""
    try:
        connection.rollback()  # none open, as a rule: SQLAlchemy rolled it back
        connection.autocommit = True
        try:
            connection.execute("DISCARD ALL")
        finally:
            connection.autocommit = False
        connection.read_only = connection.deferrable = connection.isolation_level = None
    except Exception:  # any failure: the connection is closed, not kept
        return False
    return True


def _take(pool: OneKeptPool) -> ConnectionPoolEntry | None:
    """The kept connection, if it is `pool`'s and was given back within `KEPT_SECONDS`."""
    global _kept
    with _lock:
        if _kept is None or _kept[0] is not pool:
            return None
        _, record, since = _kept
        _kept = None
    if time.monotonic() - since > KEPT_SECONDS:
        record.close()
        return None
    return record


def _keep(pool: OneKeptPool, record: ConnectionPoolEntry) -> None:
    """`record` kept; the one kept before it closed."""
    global _kept
    with _lock:
        replaced, _kept = _kept, (pool, record, time.monotonic())
    if replaced is not None:
        replaced[1].close()


def release(pool: OneKeptPool | None = None) -> None:
    """Close the kept connection (only if it is `pool`'s, when given)."""
    global _kept
    with _lock:
        if _kept is None or (pool is not None and _kept[0] is not pool):
            return
        record, _kept = _kept[1], None
    record.close()


def _forget_in_child() -> None:
    global _kept, _lock
    _lock = threading.Lock()  # another thread may have held it at the fork
    if _kept is not None:
        _inherited.append(_kept[1])
        _kept = None


os.register_at_fork(after_in_child=_forget_in_child)
atexit.register(release)
