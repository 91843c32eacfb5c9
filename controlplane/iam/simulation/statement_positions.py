"""Where each ``Statement`` of a policy's text begins and ends, as IAM's simulator reports it.

``MatchedStatements`` name a statement by the row and column of its first and last character
in the document the caller sent (``StartPosition``/``EndPosition``, rows and columns counted
from 1). This module scans the JSON text itself (the parsed document has no positions): it
finds the top-level ``Statement`` member and the span of each of its objects.
"""

from __future__ import annotations

__all__ = ["Span", "statement_spans"]

Span = tuple[tuple[int, int], tuple[int, int]]
"""((start line, start column), (end line, end column)), 1-based, end inclusive."""

_CLOSERS = {"{": "}", "[": "]"}


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _string_end(text: str, i: int) -> int:
    """The index just past the string literal starting at ``text[i] == '"'``."""
    i += 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i + 1
        i += 1
    raise ValueError("unterminated string")


def _value_end(text: str, i: int) -> int:
    """The index just past the JSON value starting at ``i``."""
    if text[i] == '"':
        return _string_end(text, i)
    if text[i] in _CLOSERS:
        depth = 0
        while i < len(text):
            char = text[i]
            if char == '"':
                i = _string_end(text, i)
                continue
            if char in "{[":
                depth += 1
            elif char in "}]":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        raise ValueError("unterminated value")
    while i < len(text) and text[i] not in ",}] \t\r\n":
        i += 1
    return i


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _statement_offsets(text: str) -> list[tuple[int, int]]:
    i = _skip_space(text, 0)
    if i >= len(text) or text[i] != "{":
        return []
    i += 1
    while True:
        i = _skip_space(text, i)
        if i >= len(text) or text[i] != '"':
            return []
        key_end = _string_end(text, i)
        key = text[i + 1 : key_end - 1]
        i = _skip_space(text, _skip_space(text, key_end) + 1)  # past the colon
        end = _value_end(text, i)
        if key == "Statement":
            if text[i] == "{":
                return [(i, end)]
            if text[i] == "[":
                return _elements(text, i)
            return []
        i = _skip_space(text, end)
        if i >= len(text) or text[i] != ",":
            return []
        i += 1


def _elements(text: str, i: int) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    i += 1
    while True:
        i = _skip_space(text, i)
        if i >= len(text) or text[i] == "]":
            return found
        end = _value_end(text, i)
        found.append((i, end))
        i = _skip_space(text, end)
        if i < len(text) and text[i] == ",":
            i += 1


def statement_spans(text: str) -> list[Span]:
    """The span of each statement of a policy document's text, in order (empty when the
    text cannot be scanned: positions are then left out, never guessed)."""
    try:
        offsets = _statement_offsets(text)
    except (ValueError, IndexError):
        return []
    return [(_position(text, start), _position(text, end - 1)) for start, end in offsets]
