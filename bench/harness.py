"""The benchmark registry and what every benchmark shares: sizes, the cluster, the principals.

A benchmark is a name, the figures it reports (templates with their targets) and one function
``measure(context) -> list[Figure]``. If it raises, its figures are reported as not measured
with the reason; adding a benchmark (e.g. STS when issue 5 lands) is one function and one entry
in ``bench.__main__.BENCHMARKS``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.cluster import BenchCluster, bench_cluster
from bench.figures import Figure, not_measured
from bench.principals import Principals, create_principals

__all__ = ["Benchmark", "Context", "Sizes", "run_benchmark"]


@dataclass(frozen=True)
class Sizes:
    """How long and how much each benchmark runs: full (``make bench``) or ``--quick``."""

    repeats: int
    http_duration_s: float
    http_warmup_s: float
    batch_size: int
    propagation_rate: float
    propagation_duration_s: float
    sequential_writes: int
    concurrent_writes_s: float
    bootstrap_entities: int
    bootstrap_repeats: int
    idle_seconds: float
    engine_repeats: int | None
    #: more ``iam-planes up`` flags for every cluster of the run
    cluster_options: tuple[str, ...] = ()

    @classmethod
    def full(cls) -> Sizes:
        """The sizes ``make bench`` uses."""
        return cls(
            repeats=3,
            http_duration_s=5.0,
            http_warmup_s=1.0,
            batch_size=1000,
            propagation_rate=200.0,
            propagation_duration_s=10.0,
            sequential_writes=200,
            concurrent_writes_s=5.0,
            bootstrap_entities=100_000,
            bootstrap_repeats=3,
            idle_seconds=10.0,
            engine_repeats=None,
        )

    @classmethod
    def quick(cls) -> Sizes:
        """Small sizes for a smoke test: every code path, no meaningful numbers."""
        return cls(
            repeats=1,
            http_duration_s=1.0,
            http_warmup_s=0.3,
            batch_size=200,
            propagation_rate=100.0,
            propagation_duration_s=1.5,
            sequential_writes=15,
            concurrent_writes_s=1.0,
            bootstrap_entities=2_000,
            bootstrap_repeats=1,
            idle_seconds=1.5,
            engine_repeats=1,
            # a smoke run needs every code path, not nine replicas per cluster
            cluster_options=("--regions", "us-east-1"),
        )


class Context:
    """Shared by the benchmarks of one run; starts the cluster only when one needs it."""

    def __init__(self, work_dir: Path, sizes: Sizes, stack: contextlib.ExitStack) -> None:
        self.work_dir = work_dir
        self.sizes = sizes
        self._stack = stack
        self._cluster: BenchCluster | None = None
        self._replicated: BenchCluster | None = None
        self._written: BenchCluster | None = None
        self._principals: Principals | None = None

    @property
    def cluster(self) -> BenchCluster:
        """The cluster (instant profile), started on first use, stopped when the run ends."""
        if self._cluster is None:
            self._cluster = self._stack.enter_context(
                bench_cluster(self.work_dir, options=self.sizes.cluster_options)
            )
        return self._cluster

    @property
    def replicated_cluster(self) -> BenchCluster:
        """A cluster with topology ``replicated`` (a Redis per region), started on first use."""
        if self._replicated is None:
            self._replicated = self._stack.enter_context(
                bench_cluster(
                    self.work_dir,
                    options=("--topology", "replicated", *self.sizes.cluster_options),
                    name="replicated",
                )
            )
        return self._replicated

    @property
    def written_cluster(self) -> BenchCluster:
        """A cluster with ``--durability write`` (Redis appendfsync no), started on first use."""
        if self._written is None:
            self._written = self._stack.enter_context(
                bench_cluster(
                    self.work_dir,
                    options=("--durability", "write", *self.sizes.cluster_options),
                    name="written",
                )
            )
        return self._written

    @property
    def principals(self) -> Principals:
        """Users with inline policies and access keys, applied on every replica."""
        if self._principals is None:
            principals = create_principals(self.cluster)
            self.cluster.wait_converged(principals.version)
            self._principals = principals
        return self._principals


@dataclass(frozen=True)
class Benchmark:
    """A named benchmark: its figure templates and how to measure them."""

    name: str
    figures: tuple[Figure, ...]
    measure: Callable[[Context], list[Figure]]


def run_benchmark(benchmark: Benchmark, context: Context) -> tuple[list[Figure], float]:
    """Run one benchmark; on failure its figures are not measured, with the reason."""
    start = time.monotonic()
    try:
        figures = benchmark.measure(context)
    except Exception as error:  # a failing benchmark must not hide the others' figures
        reason = f"benchmark failed: {type(error).__name__}: {error}"
        figures = not_measured(benchmark.figures, reason[:300])
    return figures, time.monotonic() - start
