"""The compiled wildcard matchers agree with a direct reading of R14/R16 on random patterns."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from dataplane.evaluation._glob import compile_glob_set

_TEXT = st.text(alphabet="ab:/*?", max_size=12)


def _glob(pattern: str, value: str) -> bool:
    """Plain glob: ``*`` any run, ``?`` one character, everything else literal."""
    source = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(source, value, re.DOTALL) is not None


def _arn(pattern: str, value: str) -> bool:
    """R16: split both at the first five colons and glob-match piece by piece."""
    if pattern == "*":
        return True
    parts, pieces = pattern.split(":", 5), value.split(":", 5)
    if len(parts) != len(pieces):
        return False
    return all(_glob(p, v) for p, v in zip(parts, pieces, strict=True))


@settings(max_examples=300, deadline=None)
@given(patterns=st.lists(_TEXT, min_size=1, max_size=3), value=_TEXT)
def test_string_globs_match_reference(patterns: list[str], value: str) -> None:
    """StringLike-style sets match exactly when some pattern globs the value."""
    matcher = compile_glob_set(patterns, arn=False)
    assert matcher(value) == any(_glob(p, value) for p in patterns)


@settings(max_examples=300, deadline=None)
@given(patterns=st.lists(_TEXT, min_size=1, max_size=3), value=_TEXT)
def test_arn_globs_match_reference(patterns: list[str], value: str) -> None:
    """ARN-mode sets match exactly when some pattern matches field by field (R16)."""
    matcher = compile_glob_set(patterns, arn=True)
    assert matcher(value) == any(_arn(p, value) for p in patterns)
