"""Yes/no and enumerations with their Chinese, English and case-variant synonyms."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from ingest.values.kinds import Kind, Parser, as_is, missing_value, refuse


def _fold(value: str) -> str:
    """The form synonyms are compared in: NFKC (full-width folded), case-folded, no spaces."""
    return unicodedata.normalize("NFKC", value).casefold().replace(" ", "")


_CHOICE_CACHE: Final = 1_000


def _make_choice(
    lookup: Mapping[str, object], accepted_en: str, accepted_zh: str
) -> Callable[[bool], Parser]:
    def make(required: bool) -> Parser:
        missing = missing_value(required)
        exact = dict(lookup)

        def parse(raw: object) -> object:
            if type(raw) is str:
                found = exact.get(raw, exact)
                if found is not exact:
                    return found
                value = raw.strip()
                if not value:
                    return missing()
                found = exact.get(_fold(value), exact)
                if found is not exact:
                    if len(exact) < _CHOICE_CACHE:
                        exact[raw] = found  # the next identical cell is one dict look-up
                    return found
            elif raw is None:
                return missing()
            elif type(raw) is bool or type(raw) is int or (type(raw) is float and raw.is_integer()):
                found = exact.get(str(int(raw)), exact)
                if found is not exact:
                    return found
            refuse(
                f"'{raw}' is not one of the accepted values: {accepted_en}",
                f"“{raw}”不是可接受的值：{accepted_zh}",
            )

        return parse

    return make


_TRUE_WORDS: Final = ("是", "Y", "yes", "true", "1", "T", "对")
_FALSE_WORDS: Final = ("否", "N", "no", "false", "0", "F", "不是")


def boolean() -> Kind:
    """是/否, Y/N, yes/no, true/false, 1/0 (any case)."""
    lookup: dict[str, object] = {_fold(word): True for word in _TRUE_WORDS}
    lookup.update({_fold(word): False for word in _FALSE_WORDS})
    accepted = "是/否, Y/N, true/false, 1/0"
    return Kind(
        "boolean", f"yes or no ({accepted})", f"是或否（{accepted}）",
        _make_choice(lookup, accepted, accepted.replace(", ", "、")),
        lambda value: "是" if value else "否", json=as_is,
        accepted=("是", "否"),
    )  # fmt: skip


def enumeration(values: Mapping[str, Sequence[str]]) -> Kind:
    """One of a fixed set: canonical value → its synonyms (Chinese first, then English).

    The canonical value itself is accepted too; matching ignores case, width and spaces.
    Exports write the first synonym (the Chinese label) for people and the canonical value
    for machines.
    """
    lookup: dict[str, object] = {}
    for canonical, synonyms in values.items():
        for word in (canonical, *synonyms):
            folded = _fold(word)
            previous = lookup.setdefault(folded, canonical)
            if previous != canonical:
                raise ValueError(f"synonym {word!r} names both {previous!r} and {canonical!r}")
    labels = {
        canonical: (synonyms[0] if synonyms else canonical)
        for canonical, synonyms in values.items()
    }
    accepted = tuple(
        f"{canonical} ({' / '.join(synonyms)})" if synonyms else canonical
        for canonical, synonyms in values.items()
    )
    listed_en = "; ".join(accepted)
    listed_zh = "；".join(accepted)
    return Kind(
        "enumeration", "one of the accepted values", "取值见可接受值",
        _make_choice(lookup, listed_en, listed_zh),
        lambda value: labels[value],  # type: ignore[index]
        json=as_is, accepted=accepted, extra={"values": dict(values)},
    )  # fmt: skip
