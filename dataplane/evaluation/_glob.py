"""Wildcard patterns compiled once into fast matchers (docs/evaluation.md R14, R16, R35).

A set of patterns becomes one callable: exact strings go to a frozenset, ``prefix*`` patterns
to a ``str.startswith`` tuple, and only the rest to a single precompiled regex. In ARN mode a
wildcard cannot cross the first five colons (the partition/service/region/account fields).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

__all__ = ["Matcher", "Segment", "compile_glob_set", "glob_regex", "segments_regex"]

Matcher = Callable[[str], bool]
#: a piece of a rendered pattern: (text, literal); literal text never holds wildcards
Segment = tuple[str, bool]
_ARN_FIELDS = 5
_MEMO_LIMIT = 4096


def _never(_value: str) -> bool:
    return False


def _always(_value: str) -> bool:
    return True


def segments_regex(segments: Iterable[Segment], arn: bool) -> str:
    """Regex source for a pattern given as segments; wildcards only in non-literal segments."""
    out: list[str] = []
    colons = 0
    for text, literal in segments:
        for char in text:
            if char == ":":
                colons += 1
                out.append(":")
            elif not literal and char == "*":
                out.append("[^:]*" if arn and colons < _ARN_FIELDS else ".*")
            elif not literal and char == "?":
                out.append("[^:]" if arn and colons < _ARN_FIELDS else ".")
            else:
                out.append(re.escape(char))
    return "".join(out)


def glob_regex(pattern: str, arn: bool) -> str:
    """Regex source for one glob pattern."""
    return segments_regex(((pattern, False),), arn)


def _prefix_of(pattern: str, arn: bool) -> str | None:
    """The literal prefix when the pattern is ``literal*`` and the ``*`` cannot cross a field."""
    if pattern.count("*") != 1 or "?" in pattern or not pattern.endswith("*"):
        return None
    prefix = pattern[:-1]
    if arn and prefix.count(":") < _ARN_FIELDS:
        return None
    return prefix


def _memoised(regex: re.Pattern[str]) -> Matcher:
    """A regex matcher that remembers answers for recently seen strings (pure: same answer)."""
    memo: dict[str, bool] = {}
    fullmatch = regex.fullmatch

    def match(value: str) -> bool:
        hit = memo.get(value)
        if hit is None:
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            hit = memo[value] = fullmatch(value) is not None
        return hit

    return match


def _combine(exact: frozenset[str], prefixes: tuple[str, ...], regex: Matcher | None) -> Matcher:
    if not prefixes and regex is None:
        return exact.__contains__
    if not exact and regex is None:
        return lambda value: value.startswith(prefixes)
    if not exact and not prefixes and regex is not None:
        return regex
    if regex is None:
        return lambda value: value in exact or value.startswith(prefixes)

    def match(value: str) -> bool:
        return (
            value in exact
            or (bool(prefixes) and value.startswith(prefixes))
            or (regex is not None and regex(value))
        )

    return match


def compile_glob_set(patterns: Sequence[str], arn: bool) -> Matcher:
    """One matcher that is true when the value glob-matches any of ``patterns``."""
    if not patterns:
        return _never
    if "*" in patterns:
        return _always
    exact: set[str] = set()
    prefixes: list[str] = []
    rest: list[str] = []
    for pattern in patterns:
        if "*" not in pattern and "?" not in pattern:
            exact.add(pattern)
        elif (prefix := _prefix_of(pattern, arn)) is not None:
            prefixes.append(prefix)
        else:
            rest.append(pattern)
    regex = None
    if rest:
        source = "|".join(f"(?:{glob_regex(pattern, arn)})" for pattern in rest)
        regex = _memoised(re.compile(source, re.DOTALL))
    return _combine(frozenset(exact), tuple(prefixes), regex)
