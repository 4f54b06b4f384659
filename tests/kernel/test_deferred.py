"""A deferred module is imported by its first attribute read, once, and is then the module
itself for every read; the layering test reads its name as an import."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from kernel.deferred import deferred


def _run(code: str) -> str:
    """In a fresh interpreter: whether a module is imported depends on the process."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_module_is_imported_by_the_first_attribute_read_not_before() -> None:
    printed = _run(
        """
        import sys
        from kernel.deferred import deferred
        wave = deferred("wave")
        print("wave" in sys.modules, end=" ")
        error = wave.Error
        print("wave" in sys.modules, error is sys.modules["wave"].Error)
        """
    )
    assert printed == "False True True"


def test_every_read_is_the_module_s_own_attribute() -> None:
    stand_in = deferred("json")
    assert stand_in.dumps is __import__("json").dumps
    assert "imported" in repr(stand_in)


def test_a_module_that_does_not_exist_fails_at_its_first_read() -> None:
    stand_in = deferred("kernel.no_such_module")
    assert "not imported yet" in repr(stand_in)
    with pytest.raises(ModuleNotFoundError, match=r"kernel\.no_such_module"):
        stand_in.anything  # noqa: B018
