"""Control-plane writes through boto3, one after the other: CreateUser and PutUserPolicy.

GetUser on the same users is reported next to them (no target): the same path without the
durable append, so the table shows how much of a write's latency the append is.

The latency is the whole boto3 call as a user sees it (SigV4 signing, HTTP, the control plane
authorizing the caller through the us-east-1 data plane, the durable compare-and-append, the
answer parsed). Median of each run's p50, over the repeated runs.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from bench.figures import Figure, Target, median, percentile
from bench.harness import Context

__all__ = ["WRITE_FIGURES", "measure_writes"]

WRITE_FIGURES = (
    Figure(
        "write_create_user_p50_ms",
        "control-plane write through boto3: CreateUser, sequential, p50",
        "ms",
        Target("<=", 5),
    ),
    Figure(
        "write_put_user_policy_p50_ms",
        "control-plane write through boto3: PutUserPolicy, sequential, p50",
        "ms",
        Target("<=", 5),
    ),
    Figure(
        "read_get_user_p50_ms",
        "  ... for comparison: GetUser (no append), sequential, p50",
        "ms",
        None,
    ),
    Figure(
        "write_create_user_replicated_p50_ms",
        "control-plane write, topology replicated (a Redis per region): CreateUser, p50",
        "ms",
        Target("<=", 5),
    ),
    Figure(
        "write_put_user_policy_replicated_p50_ms",
        "control-plane write, topology replicated: PutUserPolicy, p50",
        "ms",
        Target("<=", 5),
    ),
)

_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
)


def _timed(calls: list[Callable[[], Any]]) -> list[float]:
    latencies = []
    for call in calls:
        start = time.perf_counter()
        call()
        latencies.append((time.perf_counter() - start) * 1000)
    return latencies


def measure_writes(context: Context) -> list[Figure]:
    """Sequential writes on the single-Redis cluster, then on the replicated topology.

    With one Redis, every append wakes all nine replicas' blocked XREADs on the server the
    control plane waits on; with a Redis per region only us-east-1's three replicas (and two
    replication links) are served before the acknowledgement.
    """
    single = _measure(context.cluster.iam(), context, "single")
    replicated = _measure(context.replicated_cluster.iam(), context, "replicated")
    create, put, get, create_replicated, put_replicated = WRITE_FIGURES
    return [
        dataclasses.replace(
            create, value=median([r["CreateUser"]["p50_ms"] for r in single]),
            details={"runs": single},
        ),
        dataclasses.replace(put, value=median([r["PutUserPolicy"]["p50_ms"] for r in single])),
        dataclasses.replace(get, value=median([r["GetUser"]["p50_ms"] for r in single])),
        dataclasses.replace(
            create_replicated,
            value=median([r["CreateUser"]["p50_ms"] for r in replicated]),
            details={"runs": replicated},
        ),
        dataclasses.replace(
            put_replicated, value=median([r["PutUserPolicy"]["p50_ms"] for r in replicated])
        ),
    ]  # fmt: skip


def _measure(iam: Any, context: Context, label: str) -> list[dict[str, dict[str, float]]]:
    """Repeated runs of sequential CreateUser, PutUserPolicy and GetUser on one cluster."""
    count = context.sizes.sequential_writes
    iam.create_user(UserName=f"bench-writes-warmup-{label}")
    for index in range(5):
        iam.put_user_policy(
            UserName=f"bench-writes-warmup-{label}", PolicyName=f"w{index}", PolicyDocument=_POLICY
        )
    runs: list[dict[str, dict[str, float]]] = []
    for run in range(context.sizes.repeats):
        names = [f"bench-writes-{label}-{run}-{i}" for i in range(count)]
        creates = _timed([partial(iam.create_user, UserName=n) for n in names])
        puts = _timed(
            [partial(iam.put_user_policy, UserName=n, PolicyName="p", PolicyDocument=_POLICY)
             for n in names]
        )  # fmt: skip
        gets = _timed([partial(iam.get_user, UserName=n) for n in names])
        runs.append(
            {"CreateUser": _stats(creates), "PutUserPolicy": _stats(puts), "GetUser": _stats(gets)}
        )
    return runs


def _stats(latencies: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(latencies, 0.5), 3),
        "p99_ms": round(percentile(latencies, 0.99), 3),
        "max_ms": round(max(latencies), 3),
    }
