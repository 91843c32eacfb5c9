"""Prometheus metrics of a replica, refreshed from the replica when ``/metrics`` is scraped.

The replica records arrivals; the metrics read them on each scrape (pull, no coupling), so
the follower's hot path never touches a metric object.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from dataplane.replica import Replica

__all__ = ["ReplicaMetrics"]

_PROPAGATION_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1)


class ReplicaMetrics:
    """Every metric one replica exports, in a registry of its own."""

    def __init__(self, replica: Replica) -> None:
        self.registry = CollectorRegistry()
        self._replica = replica
        self._seen_version = 0
        self.applied_version = Gauge(
            "iam_planes_applied_version", "Newest log version applied", registry=self.registry
        )
        self.read_version = Gauge(
            "iam_planes_read_version",
            "Newest log version read (applied or held)",
            registry=self.registry,
        )
        self.lag = Gauge(
            "iam_planes_lag_seconds", "Age of the oldest held event", registry=self.registry
        )
        self.up = Gauge(
            "iam_planes_replica_ok", "1 when the replica follows its log", registry=self.registry
        )
        self.halted = Gauge(
            "iam_planes_replica_halted",
            "1 while the replica is halted at a log entry it cannot apply",
            registry=self.registry,
        )
        self.halted_bad_version = Gauge(
            "iam_planes_replica_halted_bad_version",
            "Version of the log entry the replica is halted at (0: not halted)",
            registry=self.registry,
        )
        self.partitioned = Gauge(
            "iam_planes_partitioned", "1 while the replica is partitioned", registry=self.registry
        )
        self.snapshot_version = Gauge(
            "iam_planes_bootstrap_snapshot_version",
            "Version of the snapshot the replica bootstrapped from (0: none)",
            registry=self.registry,
        )
        self.propagation = Histogram(
            "iam_planes_propagation_seconds",
            "Commit-to-apply delay per change kind",
            ["kind"],
            buckets=_PROPAGATION_BUCKETS,
            registry=self.registry,
        )
        self.decisions = Counter(
            "iam_planes_decisions",
            "Authorization decisions by result",
            ["decision"],
            registry=self.registry,
        )
        self.request_latency = Histogram(
            "iam_planes_request_seconds",
            "Request latency by route",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )

    def refresh(self) -> None:
        """Bring the gauges up to date and observe the arrivals since the last scrape."""
        replica = self._replica
        self.applied_version.set(replica.state.version)
        self.read_version.set(replica.read_version)
        self.lag.set(replica.lag_ms() / 1000)
        self.up.set(1 if replica.status.value == "OK" else 0)
        self.partitioned.set(1 if replica.partitioned else 0)
        self.halted.set(0 if replica.halted is None else 1)
        self.halted_bad_version.set(0 if replica.halted is None else replica.halted.version)
        self.snapshot_version.set(replica.bootstrapped_from_snapshot or 0)
        for arrival in replica.arrivals:
            if arrival.version > self._seen_version:
                self.propagation.labels(arrival.kind).observe(
                    max(0.0, arrival.applied_at - arrival.committed_at)
                )
        if replica.arrivals:
            self._seen_version = max(self._seen_version, replica.arrivals[-1].version)
