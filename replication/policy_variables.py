"""Where ``${...}`` policy variables sit in a policy value, found in one left-to-right pass.

Shared by both planes (the engine renders them, the control plane lists the keys they name).
A regex scan (``\\$\\{([^}]*)\\}``) retries from every ``${`` when no ``}`` follows, which is
quadratic: a value of 40,000 ``${`` took nine seconds. Here, once no ``}`` is left, the scan
stops, since no later ``${`` can be closed either.
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["variable_spans"]


def variable_spans(value: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, body)`` of each ``${body}`` in order: ``value[start:end]`` is the whole
    variable, and the body runs to the first ``}`` (it may hold ``${``)."""
    position = 0
    while (start := value.find("${", position)) >= 0:
        end = value.find("}", start + 2)
        if end < 0:
            return
        yield start, end + 1, value[start + 2 : end]
        position = end + 1
