"""The one-pass ``${...}`` scanner finds exactly what the regex ``\\$\\{([^}]*)\\}`` finds."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from replication.policy_variables import variable_spans

_REFERENCE = re.compile(r"\$\{([^}]*)\}")


@settings(max_examples=500, deadline=None)
@given(value=st.text(alphabet="${}a,'", max_size=30))
def test_spans_are_those_the_regex_finds(value: str) -> None:
    """Same starts, ends and bodies, in the same order (on values small enough for a regex)."""
    expected = [(m.start(), m.end(), m.group(1)) for m in _REFERENCE.finditer(value)]
    assert list(variable_spans(value)) == expected


def test_a_body_runs_to_the_first_closing_brace() -> None:
    """An unclosed ``${`` inside a variable belongs to its body; a trailing one is text."""
    value = "a${b${c}d}${e"
    assert list(variable_spans(value)) == [(1, 8, "b${c")]
