"""Parse + validate throughput of the ingest library alone (no database), beside the import
benchmark.

    python -m bench.ingest_parse make DIR [--rows 1000000] [--xlsx-rows 100000]
    python -m bench.ingest_parse run FILE [--mode bare|read|validate]

`make` writes the example bank payroll (14 columns: ID and card numbers, months, dates,
yuan amounts, statuses) as UTF-8 and GB18030 CSV and as XLSX. `run` reads one file in a
fresh process and prints rows per wall second and per CPU second (the machine is shared,
so CPU seconds are the steadier figure) and the peak RSS. `bare` is `csv.reader` alone,
the floor any CSV import pays. One-off figures, not assertions.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import random
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from connectors.bank.tables import PAYROLL_SPEC as BANK_PAYROLL
from ingest.readers import open_table
from ingest.report import Report
from ingest.validate import TypedRow, Validator
from ingest.writers import write_csv, write_xlsx
from kernel.identifiers import make_id_number
from kernel.regions import ORIGIN_COUNTIES


def payroll_rows(count: int, seed: int = 1) -> Iterator[TypedRow]:
    """One month of payroll for `count` distinct workers."""
    chance = random.Random(seed)
    statuses = ["paid"] * 18 + ["failed", "returned"]
    for i in range(count):
        region = ORIGIN_COUNTIES[i % len(ORIGIN_COUNTIES)].code
        born = datetime.date(1960 + i % 40, 1 + i % 12, 1 + i % 28)
        due = chance.randrange(300_000, 1_200_000)
        yield (
            f"62220000111122223{i % 100:02d}", f"P-{i // 1000:05d}",
            "张三丰" if i % 2 else "李四", make_id_number(region, born, i % 1000),
            f"6217{i:012d}", datetime.date(2026, 9, 1), datetime.date(2026, 10, 10),
            due, due - chance.randrange(0, 100) * 100, chance.choice(statuses), 22, False,
            None, f"TX{i:010d}",
        )  # fmt: skip


def make(directory: Path, rows: int, xlsx_rows: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for encoding in ("utf-8-sig", "gb18030"):
        with open(directory / f"payroll-{encoding}.csv", "wb") as out:
            write_csv(out, BANK_PAYROLL, payroll_rows(rows), encoding)
    write_xlsx(directory / "payroll.xlsx", BANK_PAYROLL, payroll_rows(xlsx_rows))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(path: Path, mode: str) -> str:
    started, cpu = time.perf_counter(), _cpu()
    count = 0
    if mode == "bare":
        encoding = "gb18030" if "gb18030" in path.name else "utf-8-sig"
        with open(path, encoding=encoding, newline="") as text:
            count = sum(1 for _ in csv.reader(text)) - 1
    elif mode == "read":
        with open_table(path) as raw:
            count = sum(1 for _ in raw.rows)
    else:
        report = Report("bank.disbursements")
        validator = Validator(BANK_PAYROLL, report)
        with open_table(path, is_header=validator.is_header) as raw:
            count = sum(1 for _ in validator.read(raw))
        report.close()
    wall, cpu = time.perf_counter() - started, _cpu() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return (
        f"{path.name:24} {mode:8} {count:>9,} rows  {count / wall:>9,.0f} rows/s"
        f"  {count / cpu:>9,.0f} rows/cpu-s  peak RSS {peak:,.0f} MiB"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_parse")
    commands = parser.add_subparsers(dest="command", required=True)
    making = commands.add_parser("make")
    making.add_argument("directory", type=Path)
    making.add_argument("--rows", type=int, default=1_000_000)
    making.add_argument("--xlsx-rows", type=int, default=100_000)
    running = commands.add_parser("run")
    running.add_argument("file", type=Path)
    running.add_argument("--mode", choices=("bare", "read", "validate"), default="validate")
    args = parser.parse_args(argv)
    if args.command == "make":
        make(args.directory, args.rows, args.xlsx_rows)
    else:
        sys.stdout.write(run(args.file, args.mode) + "\n")


if __name__ == "__main__":
    main()
