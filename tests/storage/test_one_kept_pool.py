"""The one-off engines on PostgreSQL (`storage.pooling`): a process keeps the connection
last given back for the next use, without what the use left in it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Connection, Engine, make_url

from conftest import POSTGRES_URL, require_postgres
from storage import pooling
from storage.database import Database


@pytest.fixture
def url() -> Iterator[str]:
    require_postgres()
    yield POSTGRES_URL
    pooling.release()


def _pid(connection: Connection) -> int:
    return int(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def _admin(url: str) -> psycopg.Connection:
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def _gone(url: str, pid: int) -> bool:
    """Whether the backend has ended (it leaves pg_stat_activity once it has exited)."""
    with _admin(url) as admin:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            row = admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
            if row is None:
                return True
            time.sleep(0.02)
    return False


def test_the_next_use_gets_the_kept_connection_without_the_last_ones_tables(url: str) -> None:
    database = Database(url)
    engine = database.one_off_engine()
    try:
        with engine.connect() as connection:
            first = _pid(connection)
            connection.exec_driver_sql("CREATE TEMPORARY TABLE ingest_stage (k text)")
            connection.exec_driver_sql("INSERT INTO ingest_stage VALUES ('110101199003077777')")
            connection.commit()
            connection.exec_driver_sql("CREATE TEMPORARY TABLE left_open (k text)")
        with engine.connect() as connection:
            assert _pid(connection) == first  # the same backend, not a new one
            found = connection.exec_driver_sql(
                "SELECT to_regclass('pg_temp.ingest_stage'), to_regclass('pg_temp.left_open')"
            ).one()
            assert tuple(found) == (None, None)
            driver = connection.connection.driver_connection
            assert isinstance(driver, psycopg.Connection)
            assert driver.prepare_threshold is None  # next time ingest_stage is another table
    finally:
        asyncio.run(database.dispose())
    assert _gone(url, first)  # disposed: the kept connection closed


def test_a_process_keeps_one_connection_whichever_database_it_is_to(url: str) -> None:
    housing, bank = Database(url), Database(url)
    try:
        with housing.one_off_engine().connect() as one, housing.one_off_engine().connect() as two:
            kept, closed = _pid(one), _pid(two)  # `two` goes back first, then `one`
        assert _gone(url, closed)
        with bank.one_off_engine().connect() as connection:
            other = _pid(connection)  # not housing's kept connection
        assert other != kept
        assert _gone(url, kept)  # bank's took its place
        with housing.one_off_engine().connect() as connection:
            assert _pid(connection) not in (kept, other)
    finally:
        asyncio.run(housing.dispose())
        asyncio.run(bank.dispose())


def test_a_kept_connection_the_server_ended_is_replaced(url: str) -> None:
    database = Database(url)
    engine = database.one_off_engine()
    try:
        with engine.connect() as connection:
            ended = _pid(connection)
        with _admin(url) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [ended])
        assert _gone(url, ended)
        with engine.connect() as connection:  # the server said so as it ended it: a new one
            assert _pid(connection) != ended
    finally:
        asyncio.run(database.dispose())


def test_a_forked_process_leaves_its_parents_kept_connection_alone(url: str) -> None:
    database = Database(url)
    engine = database.one_off_engine()
    try:
        with engine.connect() as connection:
            kept = _pid(connection)
        child = os.fork()
        if child == 0:  # pragma: no cover - the child's verdict is its exit status
            with engine.connect() as connection:
                os._exit(0 if _pid(connection) != kept else 1)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        with engine.connect() as connection:
            assert _pid(connection) == kept  # still open, still the parent's
    finally:
        asyncio.run(database.dispose())


@pytest.mark.parametrize(
    ("left", "asked", "clean"),
    [
        ("SET search_path TO pg_catalog", "SHOW search_path", '"$user", public'),
        ("SET statement_timeout TO 1", "SHOW statement_timeout", "0"),
        ("SELECT pg_advisory_lock(4242)", "SELECT count(*)::text FROM pg_locks"
         " WHERE locktype = 'advisory' AND pid = pg_backend_pid()", "0"),
        ("PREPARE left_behind AS SELECT 1", "SELECT count(*)::text FROM pg_prepared_statements",
         "0"),
    ],
    ids=["search_path", "statement_timeout", "advisory_lock", "prepared"],
)  # fmt: skip
def test_a_use_leaves_no_session_state_to_the_next(
    url: str, left: str, asked: str, clean: str
) -> None:
    """Nothing of one use reaches the next: not only its temporary tables (DISCARD TEMP
    kept these)."""
    database = Database(url)
    engine = database.one_off_engine()
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(left)
            connection.commit()
        with engine.connect() as connection:
            assert connection.exec_driver_sql(asked).scalar_one() == clean
    finally:
        asyncio.run(database.dispose())


class _Relay:
    """A TCP relay to the server whose connections can be lost as a NAT entry or a
    failed-over address loses them: the server's side ends, the client hears nothing
    until it next sends, and is then reset. New connections go through as before."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.opened: list[socket.socket] = []
        self.cut_off: set[socket.socket] = set()
        self.reset = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            self.opened += [client, upstream]
            self.pairs.append((client, upstream))
            threading.Thread(target=self._up, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._down, args=(client, upstream), daemon=True).start()

    def _up(self, client: socket.socket, upstream: socket.socket) -> None:
        while True:
            try:
                data = client.recv(65536)
            except OSError:
                return
            if client in self.cut_off and not self.reset:
                continue  # blackholed: nothing goes through, nothing comes back
            if client in self.cut_off:  # the lost connection's next packet: a reset
                with contextlib.suppress(OSError):  # unless `close` closed it meanwhile
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()
                return
            if not data:
                upstream.close()
                return
            try:
                upstream.sendall(data)
            except OSError:  # closed by `close` meanwhile
                return

    def _down(self, client: socket.socket, upstream: socket.socket) -> None:
        while True:
            try:
                data = upstream.recv(65536)
            except OSError:
                return
            if client in self.cut_off:
                return  # nothing reaches the client
            if not data:
                client.close()
                return
            try:
                client.sendall(data)
            except OSError:  # closed by `close` meanwhile
                return

    def lose(self) -> None:
        for client, upstream in self.pairs:
            self.cut_off.add(client)
            upstream.shutdown(socket.SHUT_RDWR)
        self.pairs = []

    def close(self) -> None:
        self.listener.close()
        for opened in self.opened:
            with contextlib.suppress(OSError):
                opened.shutdown(socket.SHUT_RDWR)
            opened.close()


@pytest.fixture
def relayed(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[_Relay, Engine]]:
    """A one-off engine reaching the server through a relay, its connections kept for no
    idle time (`KEPT_SECONDS` 0: a connection given back is past it at the next use)."""
    monkeypatch.setattr(pooling, "KEPT_SECONDS", 0.0)
    parsed = make_url(url)
    relay = _Relay(parsed.host or "127.0.0.1", parsed.port or 5432)
    database = Database(parsed.set(host="127.0.0.1", port=relay.port).render_as_string(False))
    try:
        yield relay, database.one_off_engine()
    finally:
        relay.close()  # ends a hung use (its socket shut)
        asyncio.run(database.dispose())


def test_a_kept_connection_lost_without_a_word_is_not_handed_out(
    relayed: tuple[_Relay, Engine],
) -> None:
    """A firewall or NAT that dropped the idle connection, a host that failed over: the
    server sent nothing the poll could see. A connection idle past `KEPT_SECONDS` is not
    handed out: the next use gets a fresh one and works."""
    relay, engine = relayed
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT 1").scalar_one() == 1
    relay.lose()
    with engine.connect() as connection:  # an import's staging, a national call
        assert connection.exec_driver_sql("SELECT 1").scalar_one() == 1


def test_a_kept_connection_blackholed_does_not_hang_the_next_use(
    relayed: tuple[_Relay, Engine],
) -> None:
    """As above, but the lost connection's packets go nowhere (a host powered off, an
    address moved to a standby): handed out, it would hold the next use on TCP's
    retransmissions (minutes); idle past `KEPT_SECONDS`, a fresh one answers at once."""
    relay, engine = relayed
    relay.reset = False
    answered: list[int] = []

    def use() -> None:
        with engine.connect() as connection:
            answered.append(connection.exec_driver_sql("SELECT 1").scalar_one())

    use()
    relay.lose()
    thread = threading.Thread(target=use, daemon=True)
    thread.start()
    thread.join(10)  # a hang detector, not a timing: a fresh connection takes ms
    assert answered == [1, 1]


def test_a_connection_given_back_to_a_disposed_engine_is_closed(url: str) -> None:
    """Not kept for a pool nobody takes from any more (it would hold its database open)."""
    database = Database(url)
    engine = database.one_off_engine()
    connection = engine.connect()
    pid = _pid(connection)
    asyncio.run(database.dispose())
    connection.close()
    assert pooling._kept is None
    assert _gone(url, pid), "the backend was kept"
