"""pytest's rewritten test modules written once, before pytest-xdist's test processes start.

pytest rewrites every test module's asserts as it imports it and keeps the result in
`__pycache__` (unless PYTHONDONTWRITEBYTECODE is set: then each of the processes parses
and rewrites all of them again, about 2.8 CPU s each of the 5.5 a collection costs). On
a fresh clone, the test processes starting at once would each rewrite them all before
any has written one. Here the controlling process, which collects nothing itself, writes them first, with
pytest's own functions (the same code and file a process would write), in two processes
(about 1.5 s). A process then finds them as it finds any cached module, and a module
changed since is rewritten as before: the cache is keyed by the source's hash.

pytest's functions used here are private: if they move, nothing is written ahead and the
suite runs as it did before.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest


def _rewrite(paths: list[Path]) -> int:
    from _pytest.assertion.rewrite import (
        PYC_TAIL,
        _read_pyc,
        _rewrite_test,
        _write_pyc_fp,
        get_cache_dir,
        try_makedirs,
    )

    written = 0
    for path in paths:
        cache = get_cache_dir(path)
        pyc = cache / (path.name[:-3] + PYC_TAIL)
        if _read_pyc(path, pyc) is not None or not try_makedirs(cache):
            continue
        try:
            source_hash, code = _rewrite_test(path, None)  # type: ignore[arg-type]  # no pass hook
        except (SyntaxError, ValueError):
            continue  # the test process reports it, as it would have
        partial = pyc.with_name(f"{pyc.name}.ahead")
        with partial.open("wb") as out:
            _write_pyc_fp(out, source_hash, code)
        partial.replace(pyc)  # whole or absent, as pytest's own
        written += 1
    return written


def rewrite_ahead(config: pytest.Config) -> None:
    """In xdist's controlling process: the test modules and conftest files under the test
    paths, rewritten and cached for the test processes."""
    if not config.getoption("numprocesses", None):
        return
    if hasattr(config, "workerinput") or config.getini("enable_assertion_pass_hook"):
        return
    root = Path(config.rootpath)
    paths = sorted(
        path
        for testpath in config.getini("testpaths")
        for pattern in ("test_*.py", "conftest.py")
        for path in (root / testpath).rglob(pattern)
    )
    try:
        with ProcessPoolExecutor(2) as pool:
            list(pool.map(_rewrite, [paths[0::2], paths[1::2]]))
    except (ImportError, OSError):
        return  # pytest's private functions moved, or the directory is read-only
