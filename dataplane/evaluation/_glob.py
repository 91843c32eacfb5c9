"""Wildcard patterns compiled once into fast matchers (docs/evaluation.md R14, R16, R35).

A set of patterns becomes one callable: exact strings go to a frozenset, ``prefix*`` patterns
to a ``str.startswith`` tuple, and only the rest, behind a memo, to the matchers of
:mod:`replication.wildcards`, whose time is bounded by pattern length x value length (never
a regex: a caller's pattern must not be able to stall a replica). In ARN mode a wildcard
cannot cross the first five colons (the partition/service/region/account fields).
"""

from __future__ import annotations

from collections.abc import Sequence

from replication.wildcards import ARN_FIELDS, Matcher, Segment, pattern_matcher, segments_matcher

__all__ = ["Matcher", "Segment", "any_segments_matcher", "compile_glob_set"]

_MEMO_LIMIT = 4096
_MEMO_LONGEST = 2048  # characters: an /authorize resource is at most this long


def _never(_value: str) -> bool:
    return False


def _always(_value: str) -> bool:
    return True


def _any_of(matchers: Sequence[Matcher]) -> Matcher:
    if len(matchers) == 1:
        return matchers[0]

    def any_match(value: str) -> bool:
        for match in matchers:  # noqa: SIM110 - not any(generator): runs per request
            if match(value):
                return True
        return False

    return any_match


def any_segments_matcher(patterns: Sequence[Sequence[Segment]], arn: bool) -> Matcher:
    """One matcher for patterns rendered per request (no memo: it lives for one request)."""
    if not patterns:
        return _never
    return _any_of([segments_matcher(segments, arn) for segments in patterns])


def _prefix_of(pattern: str, arn: bool) -> str | None:
    """The literal prefix when the pattern is ``literal*`` and the ``*`` cannot cross a field."""
    if pattern.count("*") != 1 or "?" in pattern or not pattern.endswith("*"):
        return None
    prefix = pattern[:-1]
    if arn and prefix.count(":") < ARN_FIELDS:
        return None
    return prefix


def _memoised(matcher: Matcher) -> Matcher:
    """A matcher that remembers answers for recently seen strings (pure: same answer).

    Values longer than any ARN are answered but not kept: a caller sending megabyte-long
    context values must not make every memo hold thousands of them.
    """
    memo: dict[str, bool] = {}

    def match(value: str) -> bool:
        hit = memo.get(value)
        if hit is None:
            hit = matcher(value)
            if len(value) <= _MEMO_LONGEST:
                if len(memo) >= _MEMO_LIMIT:
                    memo.clear()
                memo[value] = hit
        return hit

    return match


def _combine(
    exact: frozenset[str], prefixes: tuple[str, ...], wildcards: Matcher | None
) -> Matcher:
    if not prefixes and wildcards is None:
        return exact.__contains__
    if not exact and wildcards is None:
        return lambda value: value.startswith(prefixes)
    if not exact and not prefixes and wildcards is not None:
        return wildcards
    if wildcards is None:
        return lambda value: value in exact or value.startswith(prefixes)

    def match(value: str) -> bool:
        return (
            value in exact
            or (bool(prefixes) and value.startswith(prefixes))
            or (wildcards is not None and wildcards(value))
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
    wildcards = None
    if rest:
        wildcards = _memoised(_any_of([pattern_matcher(pattern, arn) for pattern in rest]))
    return _combine(frozenset(exact), tuple(prefixes), wildcards)
