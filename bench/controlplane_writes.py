"""Control-plane writes through boto3, one after the other: CreateUser and PutUserPolicy.

GetUser on the same users is reported next to them (no target): the same path without the
durable append, so the table shows how much of a write's latency the append is.

The latency is the whole boto3 call as a user sees it (SigV4 signing, HTTP, the control plane
authorizing the caller through the us-east-1 data plane, the durable compare-and-append, the
answer parsed). Median of each run's p50, over the repeated runs.

Where a CreateUser's time goes inside the control plane is read from each answer's
``Server-Timing`` header (``controlplane.stages``): the p50 of every stage is a figure of its
own, so a regression names the stage that grew. What each kind of process spends on it is
read from /proc (the CPU time of its threads over the run, per write): the control plane, the
replicas that follow the log (one of them also authorized the call), Redis, and the boto3
client. On a small machine they all share the cores, so a write's latency depends on all of
them, not only on the stages inside the control plane.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from awswire.server_timing import parse_server_timing
from bench.cluster import BenchCluster
from bench.figures import Figure, Target, median, percentile
from bench.harness import Context
from bench.idle import cpu_seconds
from controlplane.stages import STAGES

__all__ = ["STAGE_FIGURES", "WRITE_FIGURES", "measure_writes"]

#: the stages of a CreateUser, as the control plane reports them, then their sum
STAGE_NAMES = (*STAGES, "total")
STAGE_FIGURES = tuple(
    Figure(
        f"write_create_user_stage_{stage}_p50_ms",
        f"  CreateUser inside the control plane, stage {stage}, p50",
        "ms",
        None,
    )
    for stage in STAGE_NAMES
)

_BASE_FIGURES = (
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
#: the same on a cluster started with ``--durability write`` (Redis appendfsync no: the AOF is
#: written before the reply, not fsynced), beside the default's figures, never instead of them
_WRITTEN_FIGURES = (
    Figure(
        "write_create_user_durability_write_p50_ms",
        "control-plane write, --durability write (appendfsync no): CreateUser, p50",
        "ms",
        None,
    ),
    Figure(
        "write_put_user_policy_durability_write_p50_ms",
        "control-plane write, --durability write: PutUserPolicy, p50",
        "ms",
        None,
    ),
    Figure(
        "write_create_user_durability_write_stage_redis_p50_ms",
        "  CreateUser with --durability write, stage redis, p50",
        "ms",
        None,
    ),
)
#: the kinds of process a write costs CPU in, as ``_cpu_kind`` names them
CPU_KINDS = ("controlplane", "replicas", "redis", "client")
CPU_FIGURES = tuple(
    Figure(f"write_create_user_cpu_{kind}_ms", f"  CPU per CreateUser: {label}", "ms", None)
    for kind, label in zip(
        CPU_KINDS,
        ("the control plane", "every replica together", "Redis", "the boto3 client"),
        strict=True,
    )
)
WRITE_FIGURES = (*_BASE_FIGURES, *_WRITTEN_FIGURES, *STAGE_FIGURES, *CPU_FIGURES)

_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
)


def _timed(
    calls: list[Callable[[], Any]], stages: dict[str, list[float]] | None = None
) -> list[float]:
    """Each call's latency (ms); with ``stages``, each answer's Server-Timing (ms by stage)
    is appended to it."""
    latencies = []
    for call in calls:
        start = time.perf_counter()
        response = call()
        latencies.append((time.perf_counter() - start) * 1000)
        if stages is not None:
            timing = response["ResponseMetadata"]["HTTPHeaders"].get("server-timing", "")
            for stage, seconds in parse_server_timing(timing).items():
                stages.setdefault(stage, []).append(seconds * 1000)
    return latencies


def _stage_figures(runs: list[dict[str, Any]]) -> list[Figure]:
    """Each stage's p50 (median over the runs); a stage no answer reported is not measured."""
    figures = []
    for template, stage in zip(STAGE_FIGURES, STAGE_NAMES, strict=True):
        values = [run["stages"][stage] for run in runs if stage in run["stages"]]
        if values:
            figures.append(dataclasses.replace(template, value=round(median(values), 4)))
        else:
            figures.append(
                dataclasses.replace(template, not_measured="no answer reported this stage")
            )
    return figures


def measure_writes(context: Context) -> list[Figure]:
    """Sequential writes on the single-Redis cluster, then on the replicated topology.

    With one Redis, every append pushes its entry to all nine replicas from the server the
    control plane waits on; with a Redis per region only us-east-1's three replicas (and two
    replication links) are served by it. Then the same on a cluster with
    ``--durability write``, whose Redis writes the AOF before replying but does not fsync it.
    """
    single = _measure(context.cluster, context, "single")
    replicated = _measure(context.replicated_cluster, context, "replicated")
    written = _measure(context.written_cluster, context, "written")
    create, put, get, create_replicated, put_replicated = _BASE_FIGURES
    create_written, put_written, redis_written = _WRITTEN_FIGURES
    written_redis = [r["CreateUser"]["stages"]["redis"] for r in written]
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
        dataclasses.replace(
            create_written, value=median([r["CreateUser"]["p50_ms"] for r in written]),
            details={"runs": written},
        ),
        dataclasses.replace(
            put_written, value=median([r["PutUserPolicy"]["p50_ms"] for r in written])
        ),
        dataclasses.replace(redis_written, value=round(median(written_redis), 4)),
        *_stage_figures([r["CreateUser"] for r in single]),
        *_cpu_figures([r["CreateUser"] for r in single]),
    ]  # fmt: skip


def _cpu_figures(runs: list[dict[str, Any]]) -> list[Figure]:
    """CPU per write of each kind of process, median over the runs."""
    return [
        dataclasses.replace(figure, value=round(median([r["cpu_ms"][kind] for r in runs]), 3))
        for figure, kind in zip(CPU_FIGURES, CPU_KINDS, strict=True)
    ]


def _cpu_kind(process: str) -> str:
    """The kind of a cluster process by its name in the cluster file."""
    if process == "controlplane":
        return "controlplane"
    return "redis" if process.startswith("redis") else "replicas"


def _cpu_by_kind(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each kind of process, this one as ``client``."""
    used = dict.fromkeys(CPU_KINDS, 0.0)
    for process, pid in pids.items():
        used[_cpu_kind(process)] += cpu_seconds(pid)
    used["client"] = time.process_time()
    return used


def _measure(
    cluster: BenchCluster, context: Context, label: str
) -> list[dict[str, dict[str, Any]]]:
    """Repeated runs of sequential CreateUser, PutUserPolicy and GetUser on one cluster."""
    iam = cluster.iam()
    pids = cluster.pids()
    count = context.sizes.sequential_writes
    iam.create_user(UserName=f"bench-writes-warmup-{label}")
    for index in range(5):
        iam.put_user_policy(
            UserName=f"bench-writes-warmup-{label}", PolicyName=f"w{index}", PolicyDocument=_POLICY
        )
    runs: list[dict[str, dict[str, Any]]] = []
    for run in range(context.sizes.repeats):
        names = [f"bench-writes-{label}-{run}-{i}" for i in range(count)]
        stages: dict[str, list[float]] = {}
        cpu_before = _cpu_by_kind(pids)
        creates = _timed([partial(iam.create_user, UserName=n) for n in names], stages)
        cpu_after = _cpu_by_kind(pids)
        puts = _timed(
            [partial(iam.put_user_policy, UserName=n, PolicyName="p", PolicyDocument=_POLICY)
             for n in names]
        )  # fmt: skip
        gets = _timed([partial(iam.get_user, UserName=n) for n in names])
        create_stats: dict[str, Any] = _stats(creates)
        create_stats["stages"] = {
            stage: round(percentile(values, 0.5), 4) for stage, values in stages.items()
        }
        create_stats["cpu_ms"] = {
            kind: round((cpu_after[kind] - cpu_before[kind]) / count * 1000, 3)
            for kind in CPU_KINDS
        }
        runs.append(
            {"CreateUser": create_stats, "PutUserPolicy": _stats(puts), "GetUser": _stats(gets)}
        )
    return runs


def _stats(latencies: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(latencies, 0.5), 3),
        "p99_ms": round(percentile(latencies, 0.99), 3),
        "max_ms": round(max(latencies), 3),
    }
