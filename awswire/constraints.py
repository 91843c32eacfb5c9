"""Model constraints (required, length, range, pattern, enum) checked on parsed input.

Both protocols convert the wire form into Python values first and then run
:func:`check_structure` over them, collecting every :class:`Violation` with its AWS
lowerCamelCase path (``tags.1.member.key``) the way AWS's front door reports them.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from awswire.models import Shape, shape_members

__all__ = ["Violation", "check_structure", "lower_camel", "pattern_matcher"]

_INT_LIMITS = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
# Java's \p{L}, \p{Z}, \p{N} have no Python `re` spelling inside a character class: they are
# replaced by private-use placeholders, and values are mapped the same way before matching.
_CATEGORY_PLACEHOLDERS = {"L": "\ue000", "Z": "\ue001", "N": "\ue002"}
_P_CLASS = re.compile(r"\\p\{([LZN])\}")
_ASCII_MEMBERS = {"L": "a-zA-Z", "Z": " ", "N": "0-9"}


@dataclass(frozen=True)
class Violation:
    """One failed constraint: where, on which value, what kind, and AWS's constraint text."""

    path: str
    value: object
    kind: str
    constraint: str
    sensitive: bool = False

    def message(self) -> str:
        """AWS's sentence: ``Value 'x' at 'userName' failed to satisfy constraint: ...``."""
        if self.value is None:
            shown = "Value null"
        elif self.sensitive:
            shown = "Value"
        else:
            shown = f"Value '{render_value(self.value)}'"
        return f"{shown} at '{self.path}' failed to satisfy constraint: {self.constraint}"


def render_value(value: object) -> str:
    """Render a value as AWS (Java) does inside a validation message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(render_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={render_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def lower_camel(name: str) -> str:
    """The path segment AWS uses for a member: its name with the first letter lowercased."""
    return name[:1].lower() + name[1:]


@functools.cache
def pattern_matcher(pattern: str) -> Callable[[str], bool]:
    """A full-match predicate for a model ``pattern`` (Java regex syntax), cached."""
    translated = _translate_categories(pattern)
    compiled = re.compile(translated, re.ASCII | re.DOTALL)
    if translated == pattern:
        return lambda value: compiled.fullmatch(value) is not None
    return lambda value: compiled.fullmatch(_map_categories(value)) is not None


def _translate_categories(pattern: str) -> str:
    """Rewrite ``\\p{L}``/``\\p{Z}``/``\\p{N}`` into ASCII ranges plus a placeholder."""
    out: list[str] = []
    in_class = escaped = False
    index = 0
    while index < len(pattern):
        match = _P_CLASS.match(pattern, index) if not escaped else None
        if match:
            category = match.group(1)
            body = _CATEGORY_PLACEHOLDERS[category] + _ASCII_MEMBERS[category]
            out.append(body if in_class else f"[{body}]")
            index = match.end()
            continue
        char = pattern[index]
        if not escaped and char == "[":
            in_class = True
        elif not escaped and char == "]":
            in_class = False
        escaped = char == "\\" and not escaped
        out.append(char)
        index += 1
    return "".join(out)


def _map_categories(value: str) -> str:
    if value.isascii():
        return value
    out = []
    for char in value:
        placeholder = (
            None if char.isascii() else _CATEGORY_PLACEHOLDERS.get(unicodedata.category(char)[0])
        )
        out.append(placeholder or char)
    return "".join(out)


def check_structure(
    shape: Shape, value: Mapping[str, Any], path: str, out: list[Violation]
) -> None:
    """Check a parsed structure against its shape, appending violations to ``out``."""
    required = shape.required_members
    for name, member in shape_members(shape).items():
        child_path = f"{path}.{lower_camel(name)}" if path else lower_camel(name)
        if name not in value or value[name] is None:
            if name in required:
                out.append(Violation(child_path, None, "required", "Member must not be null"))
            continue
        check_value(member, value[name], child_path, out)


def check_value(shape: Shape, value: Any, path: str, out: list[Violation]) -> None:
    """Check one parsed value (of any shape type) and everything inside it."""
    kind = shape.type_name
    if kind == "structure":
        check_structure(shape, value, path, out)
    elif kind == "list":
        _check_length(shape, value, len(value), path, out)
        for index, item in enumerate(value, start=1):
            check_value(shape.member, item, f"{path}.{index}.member", out)
    elif kind == "map":
        _check_length(shape, value, len(value), path, out)
        for key, item in value.items():
            check_value(shape.key, key, f"{path}.{key}.key", out)
            check_value(shape.value, item, f"{path}.{key}.value", out)
    elif kind == "string":
        _check_string(shape, value, path, out)
    elif kind in ("integer", "long", "float", "double"):
        _check_range(shape, value, path, out)
    elif kind == "blob":
        _check_length(shape, value, len(value), path, out)


def _check_string(shape: Shape, value: str, path: str, out: list[Violation]) -> None:
    sensitive = bool(shape.metadata.get("sensitive", False))
    enum: Sequence[str] = shape.enum
    if enum and value not in enum:
        text = "Member must satisfy enum value set: [" + ", ".join(enum) + "]"
        out.append(Violation(path, value, "enum", text, sensitive))
    pattern = shape.metadata.get("pattern")
    if pattern is not None and not pattern_matcher(pattern)(value):
        text = f"Member must satisfy regular expression pattern: {pattern}"
        out.append(Violation(path, value, "pattern", text, sensitive))
    # Smithy's @length counts Unicode scalar values (code points), which is Python's len().
    _check_length(shape, value, len(value), path, out)


def _check_length(shape: Shape, value: Any, length: int, path: str, out: list[Violation]) -> None:
    sensitive = bool(shape.metadata.get("sensitive", False))
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and length < low:
        text = f"Member must have length greater than or equal to {low}"
        out.append(Violation(path, value, "min_length", text, sensitive))
    if high is not None and length > high:
        text = f"Member must have length less than or equal to {high}"
        out.append(Violation(path, value, "max_length", text, sensitive))


def _check_range(shape: Shape, value: float, path: str, out: list[Violation]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and value < low:
        text = f"Member must have value greater than or equal to {low}"
        out.append(Violation(path, value, "min_value", text))
    if high is not None and value > high:
        text = f"Member must have value less than or equal to {high}"
        out.append(Violation(path, value, "max_value", text))


def int_limits(type_name: str) -> tuple[int, int]:
    """The representable range of a model ``integer`` (32-bit) or ``long`` (64-bit)."""
    return _INT_LIMITS[type_name]
