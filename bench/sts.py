"""STS through boto3: GetCallerIdentity and AssumeRole latency (not implemented yet: issue 5).

When the data plane serves STS, replace ``measure_sts`` with the measurement: sequential
``boto3.client("sts", endpoint_url=<region endpoint>)`` calls, p50 of each, median of
``context.sizes.repeats`` runs, returned as ``dataclasses.replace(template, value=...)``.
"""

from __future__ import annotations

from bench.figures import Figure, Target, not_measured
from bench.harness import Context

__all__ = ["STS_FIGURES", "measure_sts"]

STS_FIGURES = (
    Figure(
        "sts_get_caller_identity_p50_ms",
        "GetCallerIdentity through boto3, p50",
        "ms",
        Target("<=", 5),
    ),
    Figure("sts_assume_role_p50_ms", "AssumeRole through boto3, p50", "ms", Target("<=", 5)),
)


def measure_sts(context: Context) -> list[Figure]:
    """Not measured until STS exists: an honest row, not a fake number."""
    return not_measured(STS_FIGURES, "STS not implemented (issue 5)")
