"""A real cluster for end-to-end tests: ``iam-planes up --detach`` in a temporary state dir."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from deploy.cluster_file import ClusterFile, load_cluster
from deploy.harness import ClusterSession, replica_delays
from deploy.ports import free_port_block
from deploy.status import http_json
from replication.delay import parse_delay_option

IAM_PLANES = [sys.executable, "-c", "from deploy.cli import main; main()"]
_NO_RETRIES = Config(
    retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2, read_timeout=10
)
#: ``up_options`` of a module that sends no AWS service call through a replica's gateway (only
#: ``/authorize``, ``/state``, ``/metrics`` to replicas, IAM to the control plane): the launcher
#: starts no moto server for it, one process fewer to start and stop
NO_GATEWAY = ("--services-backend", "none")


def iam_planes(
    *args: str, timeout: float = 180, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the ``iam-planes`` command and return its completed process."""
    return subprocess.run(
        [*IAM_PLANES, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )


@dataclass
class Cluster:
    """A running cluster and the ways to reach it."""

    state_dir: Path

    @property
    def file(self) -> ClusterFile:
        """The current cluster file (pids change under chaos)."""
        return load_cluster(self.state_dir)

    @property
    def account(self) -> str:
        """The launcher's account."""
        return next(iter(self.file.accounts))

    def root_credentials(self) -> dict[str, str]:
        """boto3 keyword arguments for the account's root key."""
        root = self.file.accounts[self.account].root
        return {
            "aws_access_key_id": root.access_key_id,
            "aws_secret_access_key": root.secret_access_key,
        }

    def iam(self, **credentials: str) -> Any:
        """A boto3 IAM client on the control plane (root credentials by default)."""
        return boto3.client(
            "iam",
            endpoint_url=self.file.controlplane.endpoint,
            region_name="us-east-1",
            config=_NO_RETRIES,
            **(credentials or self.root_credentials()),
        )

    def iam_when_up(self, timeout: float = 30) -> Any:
        """An IAM client, once the control plane answers again (after a restart)."""
        deadline = time.monotonic() + timeout
        while True:
            iam = self.iam()
            try:
                iam.list_users()
                return iam
            except botocore.exceptions.EndpointConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def replicas(self) -> dict[str, str]:
        """Every replica's endpoint by AZ."""
        return {
            az: record.endpoint
            for region in self.file.regions.values()
            for az, record in region.replicas.items()
        }

    def region_of(self, az: str) -> str:
        """The region an AZ belongs to."""
        return next(name for name, region in self.file.regions.items() if az in region.replicas)

    def states(self) -> dict[str, dict[str, Any]]:
        """``GET /state`` of every replica."""
        return {az: http_json(f"{url}/state")[1] for az, url in self.replicas().items()}

    def wait_converged(self, version: int, timeout: float = 60) -> dict[str, dict[str, Any]]:
        """Wait until every replica has applied ``version``; return their states."""
        deadline = time.monotonic() + timeout
        states: dict[str, dict[str, Any]] = {}
        while True:
            with contextlib.suppress(urllib.error.URLError, OSError):
                states = self.states()
                if all(s["version"] >= version for s in states.values()):
                    return states
            if time.monotonic() > deadline:
                raise TimeoutError(f"replicas did not reach {version}: {states}")
            time.sleep(0.05)

    def pids(self) -> list[int]:
        """Every pid the cluster file names."""
        cluster = self.file
        pids = [r.pid for r in cluster.processes().values()] + [cluster.redis.pid]
        if cluster.services is not None and cluster.services.embedded:
            pids.append(cluster.services.pid)
        return [p for p in pids if p]


@contextlib.contextmanager
def running_cluster(
    tmp: Path,
    *delays: str,
    regions: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    up_options: tuple[str, ...] = (),
) -> Iterator[Cluster]:
    """Bring a cluster up for the block (``up_options``: more ``iam-planes up`` flags);
    whatever happens, leave no process behind."""
    state_dir = tmp / "state"
    options: list[str] = list(up_options)
    for delay in delays:
        options += ["--delay", delay]
    if regions:
        options += ["--regions", *regions]
    for _attempt in range(3):
        # another test run may take a port of the block between the check and the start
        base = free_port_block(50)
        started = iam_planes(
            "up",
            "--detach",
            "--state-dir",
            str(state_dir),
            "--base-port",
            str(base),
            *options,
            env=env,
        )
        if started.returncode == 0:
            break
        iam_planes("down", "--state-dir", str(state_dir))
    assert started.returncode == 0, started.stdout + started.stderr
    cluster = Cluster(state_dir)
    pids = cluster.pids()
    try:
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            pids += cluster.pids()
        iam_planes("down", "--state-dir", str(state_dir))
        for pid in set(pids):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


@dataclass
class AccountCluster(Cluster):
    """A cluster several test modules share, seen as one account of the module's own: its
    users, roles, policies and organization live where no other module's do, so modules that
    neither stop processes nor need launch options need not start a cluster each."""

    account_id: str = ""
    access_key_id: str = ""
    secret_access_key: str = ""

    @property
    def account(self) -> str:
        """The module's own account."""
        return self.account_id

    def root_credentials(self) -> dict[str, str]:
        """boto3 keyword arguments for the module's account's root key."""
        return {
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
        }


def account_of_its_own(shared: Cluster) -> AccountCluster:
    """A fresh account on ``shared`` (its root key), once every replica has applied it."""
    root = ClusterSession.attach(shared.state_dir).new_account()
    return AccountCluster(
        shared.state_dir, root.account, root.access_key_id, root.secret_access_key
    )


@contextlib.contextmanager
def region_delays(cluster: Cluster, *delays: str) -> Iterator[None]:
    """Within the block, each named region's replicas apply changes after its delay
    (``REGION=MS`` as ``iam-planes up --delay`` takes them); the old delays come back after."""
    with replica_delays(cluster.file, dict(parse_delay_option(delay) for delay in delays)):
        yield
