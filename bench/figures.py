"""One row of the benchmark table: a measured figure, its target, and whether the target is met.

A figure is either measured (``value`` is a number) or explicitly not measured (``value`` is
None and ``not_measured`` says why). A missed target is printed as missed: the harness never
bends a measurement to meet a target.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Figure", "Target", "latencies_ms", "median", "not_measured", "percentile"]

Comparison = Literal[">=", "<="]


@dataclass(frozen=True)
class Target:
    """A bound a figure must meet, e.g. ``>= 3000 req/s`` or ``<= 10 ms``."""

    comparison: Comparison
    bound: float

    def met_by(self, value: float) -> bool:
        """Whether ``value`` meets the bound."""
        if self.comparison == ">=":
            return value >= self.bound
        return value <= self.bound

    def render(self, unit: str) -> str:
        """The target as printed in the table."""
        return f"{self.comparison} {_number(self.bound)} {unit}".rstrip()


@dataclass
class Figure:
    """A measured (or not measured) figure of one benchmark."""

    key: str
    label: str
    unit: str
    target: Target | None
    value: float | None = None
    not_measured: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def met(self) -> bool | None:
        """True/False against the target; None when not measured or without a target."""
        if self.value is None or self.target is None:
            return None
        return self.target.met_by(self.value)

    def measured_text(self) -> str:
        """The measured cell of the table."""
        if self.value is None:
            return f"not measured: {self.not_measured or 'unknown reason'}"
        return f"{_number(self.value)} {self.unit}".rstrip()

    def target_text(self) -> str:
        """The target cell of the table."""
        return self.target.render(self.unit) if self.target else "(for information)"

    def as_json(self) -> dict[str, Any]:
        """The figure as written to ``bench/results/*.json``."""
        return {
            "key": self.key,
            "label": self.label,
            "value": self.value,
            "unit": self.unit,
            "target": (
                {"comparison": self.target.comparison, "bound": self.target.bound}
                if self.target
                else None
            ),
            "met": self.met,
            "not_measured": self.not_measured,
            "details": self.details,
        }


def not_measured(figures: Sequence[Figure], reason: str) -> list[Figure]:
    """Copies of ``figures`` marked as not measured for ``reason``."""
    return [
        Figure(f.key, f.label, f.unit, f.target, value=None, not_measured=reason) for f in figures
    ]


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` (0..1) percentile of ``values`` by the nearest-rank method."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    """The median of ``values``."""
    return float(statistics.median(values))


def _number(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def latencies_ms(call: Callable[[], object], count: int, warmup: int = 0) -> list[float]:
    """Milliseconds of each of ``count`` sequential calls, after ``warmup`` unmeasured ones."""
    for _ in range(warmup):
        call()
    measured = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        measured.append((time.perf_counter() - started) * 1000)
    return measured
