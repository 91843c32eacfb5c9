"""The linear-time wildcard matchers agree with a direct dynamic-programming reading of R14/R16.

The reference below is the definition, character by character: ``*`` any run and ``?`` one
character, except that in ARN mode a wildcard before the pattern's fifth colon matches no
colon; text from literal segments is never a wildcard. It is quadratic and obviously right,
which is all a reference needs to be.
"""

from __future__ import annotations

from functools import cache

from hypothesis import example, given, settings
from hypothesis import strategies as st

from dataplane.evaluation._glob import any_segments_matcher, compile_glob_set
from replication.wildcards import Segment, pattern_matcher, segments_matcher

_ALPHABET = "ab:*?\n"
_SETTINGS = settings(max_examples=400, deadline=None)


def reference(segments: list[Segment], arn: bool, value: str) -> bool:
    """Whether ``value`` matches the pattern, by memoised recursion over (pattern, value)."""
    tokens: list[tuple[str, bool, bool]] = []  # (character, is a wildcard, cannot take ':')
    colons = 0
    for text, literal in segments:
        for char in text:
            tokens.append((char, not literal and char in "*?", arn and colons < 5))
            colons += char == ":"

    @cache
    def matches(i: int, j: int) -> bool:
        if i == len(tokens):
            return j == len(value)
        char, wildcard, fielded = tokens[i]
        takes = j < len(value) and not (fielded and value[j] == ":")
        if wildcard and char == "*":
            return matches(i + 1, j) or (takes and matches(i, j + 1))
        if wildcard:
            return takes and matches(i + 1, j + 1)
        return j < len(value) and value[j] == char and matches(i + 1, j + 1)

    return matches(0, 0)


_free_segments = st.lists(st.tuples(st.text(_ALPHABET, max_size=6), st.booleans()), max_size=4)
_field = st.one_of(st.sampled_from(["", "*", "a", "ab", "a*", "?"]), st.text("ab*?", max_size=3))
#: patterns with four to seven colon-separated fields, as ARN patterns are written
_fielded_segments = st.lists(_field, min_size=4, max_size=8).map(lambda f: [(":".join(f), False)])
_segments = st.one_of(_free_segments, _fielded_segments)


@st.composite
def _value_for(draw: st.DrawFn, segments: list[Segment]) -> str:
    """A value built from the pattern (wildcards filled in at random), so matches are common."""
    out: list[str] = []
    for text, literal in segments:
        for char in text:
            if literal or char not in "*?":
                out.append(char)
            elif char == "?":
                out.append(draw(st.sampled_from(_ALPHABET)))
            else:
                out.append(draw(st.text(_ALPHABET, max_size=5)))
    return "".join(out)


@st.composite
def _near_miss(draw: st.DrawFn, segments: list[Segment]) -> str:
    """A value built from the pattern with one character changed: it matches only if that
    character fell to a wildcard."""
    value = draw(_value_for(segments))
    if not value:
        return value
    at = draw(st.integers(0, len(value) - 1))
    return value[:at] + draw(st.sampled_from(_ALPHABET)) + value[at + 1 :]


@st.composite
def _cases(draw: st.DrawFn) -> tuple[list[Segment], str]:
    segments = draw(_segments)
    values = (_value_for(segments), _near_miss(segments), st.text(_ALPHABET, max_size=14))
    return segments, draw(st.one_of(values))


@_SETTINGS
@given(case=_cases(), arn=st.booleans())
@example(case=([("*a?b*", False)], "aaxb"), arn=False)  # the first 'a' is a decoy
@example(case=([("a:*:?:", False), ("*", True)], "a:x:y:*"), arn=True)
@example(case=([("arn:aws:ec2:*:1:i/*", False)], "arn:aws:ec2:us:east:1:i/x"), arn=True)
@example(case=([("arn:aws:ec2:*:1:i/*", False)], "arn:aws:ec3:us:1:i/x"), arn=True)
def test_segment_patterns_match_the_reference(case: tuple[list[Segment], str], arn: bool) -> None:
    """Rendered patterns (literal segments from policy variables) in both modes."""
    segments, value = case
    assert segments_matcher(segments, arn)(value) == reference(segments, arn, value)


@_SETTINGS
@given(case=_cases(), arn=st.booleans())
def test_text_patterns_match_the_reference(case: tuple[list[Segment], str], arn: bool) -> None:
    """Patterns written as text: every ``*`` and ``?`` is a wildcard."""
    segments, value = case
    pattern = "".join(text for text, _ in segments)
    assert pattern_matcher(pattern, arn)(value) == reference([(pattern, False)], arn, value)


@_SETTINGS
@given(cases=st.lists(_cases(), min_size=1, max_size=4), arn=st.booleans(), data=st.data())
def test_pattern_sets_match_when_any_member_does(
    cases: list[tuple[list[Segment], str]], arn: bool, data: st.DataObject
) -> None:
    """A set is one callable (exact, prefix and general patterns mixed); a bare ``*`` in a
    set matches everything, in ARN mode too."""
    patterns = ["".join(text for text, _ in segments) for segments, _ in cases]
    value = data.draw(st.sampled_from([value for _, value in cases]))
    expected = any(p == "*" or reference([(p, False)], arn, value) for p in patterns)
    matcher = compile_glob_set(patterns, arn)
    assert matcher(value) == expected
    assert matcher(value) == expected  # the memoised answer is the same answer
    rendered = [segments for segments, _ in cases]
    assert any_segments_matcher(rendered, arn)(value) == any(
        reference(segments, arn, value) for segments in rendered
    )
