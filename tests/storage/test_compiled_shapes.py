"""Statements built per call share one compilation per shape (`CompiledCache.bind`, keyed by
SQLAlchemy's cache key): every construct whose values the key extracts must bind the
caller's values, never the first caller's, and a database must return each caller its own
rows, however the calls interleave (tasks of one loop, threads binding at once, the kept
shapes dropped and made again)."""

from __future__ import annotations

import asyncio
import datetime
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    case,
    column,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    text,
    tuple_,
    union_all,
    update,
    values,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from conftest import require_postgres
from storage import reading
from storage.database import Database
from storage.reading import Compiled, CompiledCache

metadata = MetaData()
item = Table(
    "item",
    metadata,
    Column("code", String, primary_key=True),
    Column("month", Date),
    Column("amount", Integer),
)
other = Table("other", metadata, Column("code", String), Column("amount", Integer))

DIALECTS = [sqlite.dialect(), postgresql.asyncpg.dialect()]


def _shapes(number: int, word: str, codes: list[str], day: datetime.date) -> dict[str, Any]:
    """One statement of each construct whose values SQLAlchemy's cache key extracts (or,
    for literal renderings, keeps in the key), built with these values."""
    cte = select(item.c.code).where(item.c.amount > number).cte("big")
    return {
        "text with bound values": select(item.c.code).where(
            text("amount > :low").bindparams(low=number)
        ),
        "text statement": text("SELECT :a, :b").bindparams(a=number, b=word),
        "callable value": select(item.c.code).where(
            item.c.amount == bindparam("now", callable_=lambda: number)
        ),
        "params()": select(item.c.code)
        .where(item.c.amount == bindparam("low"), item.c.code == bindparam("name"))
        .params(low=number, name=word),
        "literal-executed IN": select(item.c.code).where(
            item.c.code.in_(bindparam("le", codes, expanding=True, literal_execute=True))
        ),
        "literal-executed value": select(item.c.code).where(
            item.c.amount == bindparam("lv", number, literal_execute=True)
        ),
        "VALUES rendered literally": select(
            values(column("n", Integer), column("s", String), name="v", literal_binds=True).data(
                [(number, code) for code in codes] or [(number, word)]
            )
        ),
        "offset without limit": select(item.c.code).offset(number),
        "limit and offset": select(item.c.code).limit(number).offset(number * 2),
        "window rows": select(
            func.sum(item.c.amount).over(order_by=item.c.code, rows=(-number, 0))
        ),
        "typed NULL or value": select(item.c.code).where(
            item.c.code == bindparam("maybe", word if number % 2 else None, type_=String)
        ),
        "case": select(case((item.c.amount > number, word), else_=word + "!")),
        "escaped LIKE": select(item.c.code).where(item.c.code.contains(word, autoescape=True)),
        "empty or full IN": select(item.c.code).where(item.c.code.in_(codes)),
        "NOT IN": select(item.c.code).where(item.c.code.not_in(codes)),
        "composite IN": select(item.c.code).where(
            tuple_(item.c.code, item.c.month).in_([(code, day) for code in codes])
        ),
        "IN a subquery": select(item.c.code).where(
            item.c.code.in_(select(other.c.code).where(other.c.amount == number))
        ),
        "EXISTS": select(item.c.code).where(
            exists().where(other.c.code == item.c.code, other.c.amount > number)
        ),
        "union": union_all(
            select(item.c.code).where(item.c.amount == number),
            select(other.c.code).where(other.c.code == word),
        ),
        "CTE": select(cte.c.code).where(cte.c.code != word),
        "scalar subquery with limit": select(item.c.code).where(
            item.c.amount
            == select(other.c.amount).where(other.c.code == word).limit(number).scalar_subquery()
        ),
        "literal columns": select(literal(number), literal(word), literal(day)),
        "insert": insert(item).values(code=word, month=day, amount=number),
        "insert of rows": insert(item).values(
            [{"code": code, "amount": number} for code in codes] or [{"code": word, "amount": 0}]
        ),
        "update": update(item).where(item.c.code == word).values(amount=item.c.amount + number),
        "delete": delete(item).where(item.c.code.in_(codes), item.c.month < day),
    }


CALLS = [
    (3, "a%_b", ["p1"], datetime.date(2026, 1, 2)),
    (4, "x", ["p2", "p3", "p4"], datetime.date(2025, 5, 6)),
    (7, "", [], datetime.date(2024, 2, 3)),
    (1, "z'\\", ["q", "q"], datetime.date(2023, 12, 31)),
]


@pytest.mark.parametrize("dialect", DIALECTS, ids=["sqlite", "asyncpg"])
def test_every_construct_of_a_shape_binds_its_own_values(dialect: Dialect) -> None:
    cache = CompiledCache(dialect)
    shared: dict[str, set[int]] = {}
    for call in CALLS:
        for name, statement in _shapes(*call).items():
            shaped, sql, arguments = cache.bind(statement, None, keep=False)
            assert (sql, arguments) == Compiled(statement, dialect).bind(None), (name, call)
            shared.setdefault(name, set()).add(id(shaped))
    # Most constructs share one compilation; literal renderings (the VALUES, the window's
    # frame) are in the key, so each of their values is a shape of its own.
    assert sum(len(ids) == 1 for ids in shared.values()) >= len(shared) - 3, shared


@pytest.mark.parametrize("dialect", DIALECTS, ids=["sqlite", "asyncpg"])
def test_threads_binding_while_the_kept_shapes_go_bind_their_own_values(
    dialect: Dialect, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Threads (an import's, a command's own loop) bind through one cache at once while
    shapes built per input make it drop the kept ones again and again: each gets its own
    values, and the cache holds no more than its bound (plus one a thread: two threads may
    both find room for the last one)."""
    monkeypatch.setattr(reading, "_SHAPES_KEPT", 8)
    cache = CompiledCache(dialect)
    wrong: list[Any] = []
    sizes: list[int] = []

    def work(seed: int) -> None:
        for round_ in range(40):
            number = seed * 1000 + round_
            statements = [
                *_shapes(
                    number, f"w{number}", [f"c{number}"] * (round_ % 3), datetime.date(2026, 1, 1)
                ).values(),
                select(item.c.code.label(f"shape_{number % 13}")).where(item.c.amount == number),
            ]
            for statement in statements:
                _, sql, arguments = cache.bind(statement, None, keep=False)
                if (sql, arguments) != Compiled(statement, dialect).bind(None):
                    wrong.append((seed, round_, sql, arguments))
                sizes.append(len(cache._shapes))

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not wrong, wrong[:3]
    assert max(sizes) <= 8 + len(threads)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_database_answers_each_call_of_a_shape_with_its_own_rows(
    backend: str, tmp_path: Path
) -> None:
    """Reads of one shape with other values, run side by side on one loop (their statements
    bound before any is answered) and then one after another, on SQLite and PostgreSQL
    (asyncpg): each read's rows are those its values select. The rows are the statement's
    own (a union of literal rows), so nothing is written."""
    data = [(f"p{n}", n, f"r{n % 3}") for n in range(1, 13)]
    table = union_all(
        *(
            select(
                literal(code).label("code"), literal(n).label("amount"), literal(r).label("region")
            )
            for code, n, r in data
        )
    ).subquery("rows")

    def read(low: int, regions: list[str], limit: int) -> Any:
        return (
            select(table.c.code, table.c.amount)
            .where(table.c.amount > low, table.c.region.in_(regions))
            .order_by(table.c.amount)
            .limit(limit)
        )

    def expected(low: int, regions: list[str], limit: int) -> list[tuple[str, int]]:
        rows = [(code, n) for code, n, region in data if n > low and region in regions]
        return rows[:limit]

    calls = [
        (low, regions, limit)
        for low in (0, 4, 11)
        for regions in (["r0"], ["r1", "r2"], [], ["r0", "r1", "r2"])
        for limit in (1, 5)
    ]

    async def scenario(url: str) -> None:
        database = Database(url)
        try:
            together = await asyncio.gather(*(database.fetch(read(*call)) for call in calls))
            one_by_one = [await database.fetch(read(*call)) for call in reversed(calls)]
        finally:
            await database.dispose()
        for call, rows in zip([*calls, *reversed(calls)], [*together, *one_by_one], strict=True):
            assert [(row.code, row.amount) for row in rows] == expected(*call), (url, call)
        assert database._compiled is not None
        assert len(database._compiled._shapes) == 1  # one compilation served them all

    url = require_postgres() if backend == "postgres" else f"sqlite:///{tmp_path / 'shapes.db'}"
    asyncio.run(scenario(url))
