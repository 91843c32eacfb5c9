"""A real cluster for the benchmarks: ``iam-planes up --detach`` in a temporary state dir.

Whatever happens, ``bench_cluster`` stops what it started: ``iam-planes down``, then SIGKILL to
every pid the cluster file ever named.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from deploy.cluster_file import ClusterFile, load_cluster
from deploy.ports import free_port_block
from deploy.status import http_json
from replication.headers import VERSION_HEADER

__all__ = [
    "PROJECT_ROOT",
    "BenchCluster",
    "bench_cluster",
    "iam_planes",
    "kill_pids",
    "write_version",
]

PROJECT_ROOT = Path(__file__).resolve().parents[1]
IAM_PLANES = [sys.executable, "-c", "from deploy.cli import main; main()"]
_NO_RETRIES = Config(
    retries={"max_attempts": 1, "mode": "standard"},
    connect_timeout=2,
    read_timeout=10,
    max_pool_connections=16,
)


def iam_planes(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run the ``iam-planes`` command and return its completed process."""
    return subprocess.run(
        [*IAM_PLANES, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=PROJECT_ROOT,
    )


def kill_pids(pids: set[int]) -> None:
    """SIGKILL every pid in ``pids`` that is still there."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


@dataclass
class BenchCluster:
    """A running cluster and the ways to reach it."""

    state_dir: Path
    file: ClusterFile

    @property
    def account(self) -> str:
        """The launcher's account."""
        return next(iter(self.file.accounts))

    def iam(self) -> Any:
        """A boto3 IAM client on the control plane with the account's root key."""
        root = self.file.accounts[self.account].root
        return boto3.client(
            "iam",
            endpoint_url=self.file.controlplane.endpoint,
            region_name="us-east-1",
            aws_access_key_id=root.access_key_id,
            aws_secret_access_key=root.secret_access_key,
            config=_NO_RETRIES,
        )

    def replicas(self) -> dict[str, str]:
        """Every replica's endpoint by AZ."""
        return {
            az: record.endpoint
            for region in self.file.regions.values()
            for az, record in region.replicas.items()
        }

    def pids(self) -> dict[str, int]:
        """Every process of the cluster (planes and the embedded Redis) by name."""
        found = {name: r.pid for name, r in self.file.processes().items() if r.pid}
        found.update({n: r.pid for n, r in self.file.redis_servers().items() if r.pid})
        return found

    def wait_converged(self, version: int, timeout: float = 60) -> None:
        """Wait until every replica has applied ``version``."""
        deadline = time.monotonic() + timeout
        pending = dict(self.replicas())
        while pending:
            for az, url in list(pending.items()):
                _, state = http_json(f"{url}/state", timeout=10)
                if int(state["version"]) >= version:
                    del pending[az]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"replicas {sorted(pending)} did not reach version {version}")
            time.sleep(0.02)


def write_version(response: dict[str, Any]) -> int:
    """The log version a boto3 call's response says it created."""
    return int(response["ResponseMetadata"]["HTTPHeaders"][VERSION_HEADER])


@contextlib.contextmanager
def bench_cluster(
    work_dir: Path, *delays: str, options: tuple[str, ...] = (), name: str = "cluster"
) -> Iterator[BenchCluster]:
    """Bring a cluster up for the block (default: the instant profile, one Redis); ``options``
    are more ``iam-planes up`` flags. Always tear it down."""
    state_dir = work_dir / name
    base = free_port_block(50)
    args = ["up", "--detach", "--state-dir", str(state_dir), "--base-port", str(base), *options]
    for delay in delays:
        args += ["--delay", delay]
    pids: set[int] = set()
    try:
        started = iam_planes(*args)
        with contextlib.suppress(FileNotFoundError, ValueError):
            pids |= set(BenchCluster(state_dir, load_cluster(state_dir)).pids().values())
        if started.returncode != 0:
            raise RuntimeError(f"iam-planes up failed: {started.stdout}{started.stderr}")
        yield BenchCluster(state_dir, load_cluster(state_dir))
    finally:
        with contextlib.suppress(FileNotFoundError, ValueError):
            pids |= set(BenchCluster(state_dir, load_cluster(state_dir)).pids().values())
        if state_dir.exists():
            with contextlib.suppress(subprocess.TimeoutExpired):
                iam_planes("down", "--state-dir", str(state_dir), timeout=60)
        kill_pids(pids)
