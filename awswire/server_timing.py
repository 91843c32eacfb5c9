"""The ``Server-Timing`` header (W3C): ``name;dur=MILLISECONDS, ...``.

Both planes report where a request's time went in it: the data plane its part of an
authorization, the control plane every stage of an IAM call; the benchmark reads it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

__all__ = ["SERVER_TIMING", "format_server_timing", "parse_server_timing"]

SERVER_TIMING = "Server-Timing"


def format_server_timing(durations: Iterable[tuple[str, float]]) -> str:
    """The header's value for ``(name, seconds)`` pairs, in milliseconds to the microsecond."""
    return ", ".join(f"{name};dur={seconds * 1000:.3f}" for name, seconds in durations)


def parse_server_timing(value: str) -> dict[str, float]:
    """Seconds by name; entries without a readable duration are skipped."""
    return dict(_entries(value))


def _entries(value: str) -> Iterator[tuple[str, float]]:
    for entry in value.split(","):
        name, _, params = entry.strip().partition(";")
        for param in params.split(";"):
            key, _, number = param.strip().partition("=")
            if key.strip() != "dur" or not name:
                continue
            try:
                seconds = float(number) / 1000
            except ValueError:
                continue
            yield name, seconds
