"""Policy variables ``${key}`` / ``${key, 'default'}`` and the escapes ``${*}`` ``${?}`` ``${$}``.

Spec R24-R27. A template is parsed once at compile time; rendering looks the keys up in the
request context (then the principal-derived keys) and yields segments whose substituted and
escaped text is literal (never a wildcard). An absent key without a default makes the whole
value unresolvable (``None``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from dataplane.evaluation._glob import Segment
from replication.policy_variables import variable_spans

__all__ = ["Context", "Template", "lookup", "parse_template"]

#: request context: lower-cased key -> one value or a tuple of values
Context = Mapping[str, "str | tuple[str, ...]"]

_BODY = re.compile(r"\s*([^\s,'}]+)\s*(?:,\s*'([^']*)'\s*)?")
_ESCAPES = frozenset("*?$")


def lookup(key: str, ctx: Context, derived: Context) -> str | tuple[str, ...] | None:
    """A context value: the request's own keys win over the principal-derived ones."""
    value = ctx.get(key)
    return derived.get(key) if value is None else value


@dataclass(frozen=True, slots=True)
class _Variable:
    key: str  # lower-cased
    name: str  # as written, for missing-key reports
    default: str | None


_Part = tuple[str, bool] | _Variable


@dataclass(frozen=True, slots=True)
class Template:
    """A value with at least one ``${...}`` in it."""

    parts: tuple[_Part, ...]

    def render(self, ctx: Context, derived: Context, missing: list[str]) -> list[Segment] | None:
        """Segments with variables substituted, or ``None`` when a variable has no value."""
        out: list[Segment] = []
        for part in self.parts:
            if isinstance(part, tuple):
                out.append(part)
                continue
            value = lookup(part.key, ctx, derived)
            if not isinstance(value, str):
                if value is None:
                    missing.append(part.name)
                if part.default is None:
                    return None
                value = part.default
            out.append((value, True))
        return out

    def render_text(self, ctx: Context, derived: Context, missing: list[str]) -> str | None:
        """The rendered value as plain text (for equality operators)."""
        segments = self.render(ctx, derived, missing)
        return None if segments is None else "".join(text for text, _ in segments)


def _body(body: str) -> _Part:
    if body in _ESCAPES:
        return (body, True)
    found = _BODY.fullmatch(body)
    if found is None:
        return ("${" + body + "}", False)
    return _Variable(found.group(1).lower(), found.group(1), found.group(2))


def parse_template(value: str) -> Template | None:
    """Parse a value; ``None`` when it holds no variable or escape (it is then a plain value)."""
    if "${" not in value:
        return None
    parts: list[_Part] = []
    position = 0
    for start, end, body in variable_spans(value):
        if start > position:
            parts.append((value[position:start], False))
        parts.append(_body(body))
        position = end
    if position < len(value):
        parts.append((value[position:], False))
    if all(isinstance(part, tuple) and not part[1] for part in parts):
        return None
    return Template(tuple(parts))
