"""Command-line arguments whose help text is written when a help page shows it.

`hub --help` builds every command's parser, and so does every `hub` process before it runs
its command. A help text that names every agency or kind of row limit would import the
agencies' packages (SQLAlchemy, strawberry, graphql-core, the models: ~0.8 CPU s) in each
of them; these arguments take the text's maker instead."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


class _DescribedWhenShown(argparse.Action):
    """The help text of an argparse action is `describe()`, written when a help page shows
    it (argparse's own `help=` is ignored: it sets None)."""

    def __init__(self, *args: Any, describe: Callable[[], str], **kwargs: Any) -> None:
        self._describe = describe
        super().__init__(*args, **kwargs)

    @property
    def help(self) -> str:
        return self._describe()

    @help.setter
    def help(self, given: str | None) -> None:
        """What argparse sets (None): the text is `describe`'s."""


class HelpWhenShown(_DescribedWhenShown, argparse._StoreAction):
    """`add_argument(..., action=HelpWhenShown, describe=lambda: "...")`."""


class AppendHelpWhenShown(_DescribedWhenShown, argparse._AppendAction):
    """`HelpWhenShown` for a repeatable argument (action="append")."""
