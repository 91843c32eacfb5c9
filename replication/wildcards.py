"""Wildcard patterns (``*`` any run, ``?`` one character) matched without regular expressions.

Shared by both planes: policy elements and condition operators (R14, R16, R35) and the
control plane's simulation filters. Patterns come from callers, and a backtracking regex
such as ``.*a.*a.*a.*b`` takes time growing as the value's length to the power of the number
of stars, so nothing here backtracks: a pattern is cut at its stars into fixed-length pieces,
and each piece is placed at its leftmost fit after the previous one (leftmost is always safe:
a later piece only gains room from it). The time is bounded by pattern length x value length
whatever the pattern, and is linear for ordinary ones.

In ARN mode a wildcard cannot cross the first five colons (partition, service, region and
account fields): the value is cut at its first five colons and each field matched on its own.
Text in literal segments (substituted policy variables, ``${*}``) is never a wildcard.
``*`` matches any character, newlines included; ``?`` matches exactly one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import NamedTuple

__all__ = ["ARN_FIELDS", "Matcher", "Segment", "pattern_matcher", "segments_matcher"]

Matcher = Callable[[str], bool]
#: a piece of a rendered pattern: (text, literal); literal text never holds wildcards
Segment = tuple[str, bool]
#: the ARN fields a wildcard cannot leave: partition, service, region, account (and arn:)
ARN_FIELDS = 5


class _Piece(NamedTuple):
    """A run of pattern between two stars: fixed length, literal text at fixed offsets."""

    length: int
    literals: tuple[tuple[int, str], ...]  # (offset, non-empty text); the gaps are ``?``


class _Glob(NamedTuple):
    """A pattern without field boundaries: ``head*middle*...*tail`` (``tail`` None: no star)."""

    head: _Piece
    middle: tuple[_Piece, ...]
    tail: _Piece | None


_Token = str | None  # one literal character, or None for ``?``; stars separate token runs


def _piece(tokens: list[_Token]) -> _Piece:
    literals: list[tuple[int, str]] = []
    run: list[str] = []
    for offset, token in enumerate(tokens):
        if token is None:
            if run:
                literals.append((offset - len(run), "".join(run)))
                run = []
        else:
            run.append(token)
    if run:
        literals.append((len(tokens) - len(run), "".join(run)))
    return _Piece(len(tokens), tuple(literals))


def _glob(runs: list[list[_Token]]) -> _Glob:
    """A glob from its star-separated token runs (one run: no star)."""
    pieces = [_piece(run) for run in runs]
    if len(pieces) == 1:
        return _Glob(pieces[0], (), None)
    middle = tuple(piece for piece in pieces[1:-1] if piece.length)  # ``**`` is one star
    return _Glob(pieces[0], middle, pieces[-1])


def _fits(piece: _Piece, value: str, at: int) -> bool:
    """Whether the literals of ``piece`` sit in ``value`` at ``at`` (length checked by caller)."""
    for offset, text in piece.literals:  # noqa: SIM110 - not all(generator): runs per request
        if not value.startswith(text, at + offset):
            return False
    return True


def _leftmost(piece: _Piece, value: str, start: int, end: int) -> int:
    """The first position >= start where ``piece`` fits and ends by ``end``; -1 if none."""
    last = end - piece.length
    if last < start:
        return -1
    if not piece.literals:
        return start
    (first_offset, first_text), rest = piece.literals[0], piece.literals[1:]
    bound = last + first_offset + len(first_text)
    found = value.find(first_text, start + first_offset, bound)
    while found >= 0:
        at = found - first_offset
        if all(value.startswith(text, at + offset) for offset, text in rest):
            return at
        found = value.find(first_text, found + 1, bound)
    return -1


def _matches(glob: _Glob, value: str, start: int, end: int) -> bool:
    """Whether ``value[start:end]`` matches ``glob`` (no copy of the value is made)."""
    head, middle, tail = glob
    if tail is None:
        return end - start == head.length and _fits(head, value, start)
    tail_at = end - tail.length
    if tail_at - start < head.length or not _fits(head, value, start):
        return False
    if not _fits(tail, value, tail_at):
        return False
    at = start + head.length
    for piece in middle:
        found = _leftmost(piece, value, at, tail_at)
        if found < 0:
            return False
        at = found + piece.length
    return True


_Span = Callable[[str, int, int], bool]  # whether value[start:end] matches (no copy made)
#: a pattern without ``?``: its exact text (no star), or its head, middle and tail texts
_Literal = str | tuple[str, list[str], str]


def _text(piece: _Piece) -> str | None:
    """The piece's text when it holds no ``?``."""
    if not piece.literals:
        return "" if not piece.length else None
    text = piece.literals[0][1]
    return text if len(piece.literals) == 1 and len(text) == piece.length else None


def _literal(glob: _Glob) -> _Literal | None:
    """The texts of a glob without ``?`` (which C-speed string methods match), else None."""
    texts = [_text(piece) for piece in (glob.head, *glob.middle)]
    if glob.tail is None:
        return texts[0]
    tail = _text(glob.tail)
    if tail is None or None in texts:
        return None
    return texts[0] or "", [text or "" for text in texts[1:]], tail


def _literal_span(head: str, middle: list[str], tail: str) -> _Span:
    """``head*middle*...*tail`` over a span: startswith/endswith/find only."""
    need = len(head) + sum(map(len, middle)) + len(tail)
    if not middle:
        return lambda value, start, end: (
            end - start >= need
            and value.startswith(head, start)
            and value.endswith(tail, start, end)
        )

    def match(value: str, start: int, end: int) -> bool:
        if end - start < need or not value.startswith(head, start):
            return False
        if not value.endswith(tail, start, end):
            return False
        at, limit = start + len(head), end - len(tail)
        for text in middle:
            found = value.find(text, at, limit)
            if found < 0:
                return False
            at = found + len(text)
        return True

    return match


def _literal_matcher(head: str, middle: list[str], tail: str) -> Matcher:
    """:func:`_literal_span` over a whole value (one call less, for action patterns)."""
    need = len(head) + sum(map(len, middle)) + len(tail)
    if not middle:
        return lambda value: len(value) >= need and value.startswith(head) and value.endswith(tail)

    def match(value: str) -> bool:
        if len(value) < need or not value.startswith(head) or not value.endswith(tail):
            return False
        at, limit = len(head), len(value) - len(tail)
        for text in middle:
            found = value.find(text, at, limit)
            if found < 0:
                return False
            at = found + len(text)
        return True

    return match


def _span(glob: _Glob) -> _Span:
    """The fastest span test for ``glob``: exact text, literal pieces, or the general case."""
    literal = _literal(glob)
    if isinstance(literal, str):
        size = len(literal)
        return lambda value, start, end: end - start == size and value.startswith(literal, start)
    if literal is not None:
        return _literal_span(*literal)
    return lambda value, start, end: _matches(glob, value, start, end)


def _fields(segments: Iterable[Segment], arn: bool) -> list[list[list[_Token]]]:
    """Token runs per field: in ARN mode the first five colons end a field, else one field."""
    fields: list[list[list[_Token]]] = [[[]]]
    for text, literal in segments:
        for char in text:
            if char == ":" and arn and len(fields) <= ARN_FIELDS:
                fields.append([[]])
            elif literal or char not in "*?":
                fields[-1][-1].append(char)
            elif char == "*":
                fields[-1].append([])
            else:
                fields[-1][-1].append(None)
    return fields


def _is_literal(field: list[list[_Token]]) -> bool:
    return len(field) == 1 and None not in field[0]


def _is_star(field: list[list[_Token]]) -> bool:
    return len(field) == 2 and not field[0] and not field[1]


def _joined(fields: list[list[list[_Token]]]) -> list[list[_Token]]:
    """Fields put back together with their colons, as one field of token runs."""
    runs: list[list[_Token]] = [[]]
    for index, field in enumerate(fields):
        if index:
            runs[-1].append(":")
        runs[-1].extend(field[0])
        runs.extend(list(run) for run in field[1:])
    return runs


def _plain_matcher(runs: list[list[_Token]]) -> Matcher:
    """A whole-value matcher (the span test's shapes, without its start/end indirection)."""
    glob = _glob(runs)
    literal = _literal(glob)
    if isinstance(literal, str):
        return literal.__eq__
    if literal is not None:
        return _literal_matcher(*literal)
    return lambda value: _matches(glob, value, 0, len(value))


def _arn_matcher(fields: list[list[list[_Token]]]) -> Matcher:
    """Field-by-field matching. Leading wildcard-free fields are one literal prefix that pins
    the value's first colons; with fewer than six fields the value has exactly as many."""
    open_ended = len(fields) > ARN_FIELDS
    lead = 0
    while lead < len(fields) - 1 and _is_literal(fields[lead]):
        lead += 1
    last = len(fields) - 1
    while open_ended and last > lead and _is_literal(fields[last - 1]):
        last -= 1  # literal fields before the open end join it: their colons pin themselves
    if last == lead and (open_ended or _is_literal(fields[last])):
        return _plain_matcher(_joined(fields))  # no field boundary left to enforce
    prefix = "".join("".join(map(str, field[0])) + ":" for field in fields[:lead])
    bounded = [None if _is_star(f) else _span(_glob(f)) for f in fields[lead:last]]
    rest = _span(_glob(_joined(fields[last:])))
    if open_ended and bounded == [None]:  # one ``*`` field, as in arn:aws:ec2:*:123:...

        def one_star_field(value: str) -> bool:
            colon = value.find(":", len(prefix))
            return colon >= 0 and value.startswith(prefix) and rest(value, colon + 1, len(value))

        return one_star_field

    def match(value: str) -> bool:
        if not value.startswith(prefix):
            return False
        at = len(prefix)
        for span in bounded:
            colon = value.find(":", at)
            if colon < 0 or (span is not None and not span(value, at, colon)):
                return False
            at = colon + 1
        if not open_ended and value.find(":", at) >= 0:
            return False
        return rest(value, at, len(value))

    return match


def segments_matcher(segments: Iterable[Segment], arn: bool) -> Matcher:
    """A matcher for a pattern given as segments; wildcards only in non-literal segments."""
    fields = _fields(segments, arn)
    return _arn_matcher(fields) if arn else _plain_matcher(fields[0])


def pattern_matcher(pattern: str, arn: bool) -> Matcher:
    """A matcher for one pattern written as text (every ``*`` and ``?`` a wildcard)."""
    return segments_matcher(((pattern, False),), arn)
