"""Regions on hosts of their own (``up --hosts netns``), and faults that are real network faults.

A partition unplugs eu-west-1's host from the network between regions: its Redis loses the
primary for real, yet eu-west-1 keeps answering from what it holds, and catches up by Redis's
own partial resync once plugged back. Killing us-east-1's whole host stops only IAM writes.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
import redis
from rich.console import Console

from deploy.netns import destroy_network, load_network, unsupported_reason
from deploy.watch import render_frame
from tests.e2e.cluster import Cluster, http_json, iam_planes
from tests.e2e.sts_helpers import NO_RETRIES, allow, credentials_of, policy, sts, version_of

_UNSUPPORTED = unsupported_reason()
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(_UNSUPPORTED is not None, reason=_UNSUPPORTED or ""),
]

PARTITION_SECONDS = 30
HOST_OUTAGE_SECONDS = 60
OBJECT = "arn:aws:s3:::netns-bucket/key"


@contextlib.contextmanager
def netns_cluster(tmp: Path, *regions: str) -> Iterator[Cluster]:
    """``up --hosts netns`` for the block; whatever happens, no process, namespace or link of
    it is left behind."""
    state_dir = tmp / "state"
    started = iam_planes(
        "up", "--detach", "--hosts", "netns", "--state-dir", str(state_dir), "--regions", *regions
    )
    pids: list[int] = []
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        cluster = Cluster(state_dir)
        pids = _all_pids(cluster)
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            pids += _all_pids(Cluster(state_dir))
        iam_planes("down", "--state-dir", str(state_dir))
        destroy_network(state_dir)  # a no-op unless `down` itself failed
        for pid in set(pids):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    assert load_network(state_dir) is None


def _all_pids(cluster: Cluster) -> list[int]:
    servers = cluster.file.redis_servers().values()
    return cluster.pids() + [server.pid for server in servers if server.pid]


def _traveller(cluster: Cluster, name: str) -> tuple[dict[str, str], int]:
    """An IAM user allowed to read the test object; its key and the version that made it."""
    iam = cluster.iam()
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name, PolicyName="read", PolicyDocument=policy(allow("s3:GetObject", OBJECT))
    )
    created = iam.create_access_key(UserName=name)
    key = {
        "aws_access_key_id": created["AccessKey"]["AccessKeyId"],
        "aws_secret_access_key": created["AccessKey"]["SecretAccessKey"],
    }
    return key, version_of(created)


@dataclass
class WriteLoad:
    """A thread creating a user every few tenths of a second; it keeps what was acknowledged."""

    cluster: Cluster
    acknowledged: dict[str, int] = field(default_factory=dict)  # user name -> its version
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> WriteLoad:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop writing and wait for the last write to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        iam = self.cluster.iam()  # a client of its own: boto3 clients are per thread
        sequence = 0
        while not self._stop.wait(0.2):
            sequence += 1
            name = f"load-{sequence}"
            try:
                self.acknowledged[name] = version_of(iam.create_user(UserName=name))
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
                self.errors.append(f"{name}: {error}")

    @property
    def head(self) -> int:
        """The newest acknowledged version."""
        return max(self.acknowledged.values(), default=0)


def _status_row(cluster: Cluster, process: str) -> dict[str, Any]:
    shown = iam_planes("status", "--json", "--state-dir", str(cluster.state_dir), timeout=60)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    return next(row for row in json.loads(shown.stdout) if row["process"] == process)


def _watch_frame(cluster: Cluster) -> list[str]:
    """One frame of ``iam-planes watch``, as text lines."""
    console = Console(record=True, width=160, file=io.StringIO())
    console.print(render_frame(cluster.file))
    return console.export_text().splitlines()


def _sync_counts(cluster: Cluster) -> tuple[int, int]:
    """The primary's (full copies, partial resyncs) served to replicas so far."""
    client = redis.Redis.from_url(cluster.file.redis.url, socket_timeout=5)
    try:
        stats = client.info("stats")
    finally:
        client.close()
    return int(stats["sync_full"]), int(stats["sync_partial_ok"])


def _link_status(cluster: Cluster, region: str) -> str:
    client = redis.Redis.from_url(cluster.file.regional_redis[region].url, socket_timeout=5)
    try:
        return str(client.info("replication")["master_link_status"])
    finally:
        client.close()


def _wait_for(what: str, check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} within {timeout} s"
        time.sleep(0.2)


class RegionProbe:
    """Asks a region the questions its clients ask: /authorize on every AZ, and STS at its
    regional endpoint with boto3. Counts answers, keeps every error and every version seen."""

    def __init__(self, cluster: Cluster, region: str, user: str, key: dict[str, str]) -> None:
        self.region = region
        self.arn = f"arn:aws:iam::{cluster.account}:user/{user}"
        self.key = key
        self.azs = {az: r.endpoint for az, r in cluster.file.regions[region].replicas.items()}
        self.sts = sts(cluster, region, **key)
        self.answered = 0
        self.errors: list[str] = []
        self.versions: list[tuple[float, int]] = []

    def ask_once(self, issue_session: bool = False) -> None:
        """One round: every AZ authorizes the key; STS knows the caller (and issues a session)."""
        query = {
            "principal": {"access_key_id": self.key["aws_access_key_id"]},
            "action": "s3:GetObject",
            "resource": OBJECT,
        }
        for az, url in self.azs.items():
            try:
                status, answer = http_json(f"{url}/authorize", query, timeout=10)
            except OSError as error:
                self.errors.append(f"{az}: {type(error).__name__} {error}")
                continue
            if status != 200 or answer.get("decision") != "Allow":
                self.errors.append(f"{az}: {status} {answer}")
                continue
            self.versions.append((time.monotonic(), int(answer["version"])))
            self.answered += 1
        try:
            self._expect_caller(self.sts)
            if issue_session:
                session = credentials_of(self.sts.get_session_token(DurationSeconds=900))
                self._check_session(session)
            self.answered += 1
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
            self.errors.append(f"sts in {self.region}: {error}")

    def _check_session(self, session: dict[str, str]) -> None:
        """The session just issued is usable in the region that issued it."""
        client = boto3.client(
            "sts",
            endpoint_url=self.sts.meta.endpoint_url,
            region_name=self.region,
            config=NO_RETRIES,
            **session,
        )
        self._expect_caller(client)

    def _expect_caller(self, client: Any) -> None:
        arn = client.get_caller_identity()["Arn"]
        if arn != self.arn:
            self.errors.append(f"sts in {self.region} answered as {arn}, not {self.arn}")


def test_a_partitioned_region_keeps_answering_and_resyncs_partially(tmp_path: Path) -> None:
    """Unplug eu-west-1 for 30 s under a steady write load: eu-west-1 answers /authorize and
    STS at the version it had, with no error, while its Redis reports the link down and falls
    further behind; plugged back, Redis resyncs partially (no full copy), every replica reaches
    the same digest and no acknowledged write is lost."""
    with netns_cluster(tmp_path, "us-east-1", "eu-west-1") as cluster:
        key, made = _traveller(cluster, "traveller")
        cluster.wait_converged(made)
        probe = RegionProbe(cluster, "eu-west-1", "traveller", key)
        with WriteLoad(cluster) as load:
            _wait_for("the first writes", lambda: len(load.acknowledged) >= 3)
            cluster.wait_converged(load.head)
            full_before, partial_before = _sync_counts(cluster)

            cut = iam_planes(
                "chaos", "partition", "eu-west-1", "--state-dir", str(cluster.state_dir)
            )
            assert cut.returncode == 0, cut.stdout + cut.stderr
            cut_at = time.monotonic()
            _wait_for(
                "eu-west-1's Redis to see its link down",
                lambda: _link_status(cluster, "eu-west-1") == "down",
                timeout=20,
            )
            early = _status_row(cluster, "redis-eu-west-1")
            while time.monotonic() < cut_at + PARTITION_SECONDS:
                probe.ask_once()
                time.sleep(0.1)
            late = _status_row(cluster, "redis-eu-west-1")
            watched = _watch_frame(cluster)
            head_at_heal = load.head

            healed = iam_planes("chaos", "heal", "eu-west-1", "--state-dir", str(cluster.state_dir))
            assert healed.returncode == 0, healed.stdout + healed.stderr
            _wait_for(
                "eu-west-1's Redis to resync", lambda: _link_status(cluster, "eu-west-1") == "up"
            )
            time.sleep(1)  # a few writes after the heal, which must flow again too
        assert load.errors == []

        print(
            f"\n{probe.answered} answers from eu-west-1 during a {PARTITION_SECONDS} s partition;"
            f" {len(load.acknowledged)} writes acknowledged; status when cut {early}, later {late}"
        )
        assert probe.errors == []
        assert probe.answered >= 100
        # the region answered from what it held when cut off: one version, well behind
        frozen = {version for at, version in probe.versions if at > cut_at + 5}
        assert len(frozen) == 1, frozen
        assert max(frozen) < head_at_heal - 20
        # and status reported the cut link, growing lag and a growing gap, while it lasted
        assert early["link"] == late["link"] == "down"
        assert late["lag_ms"] > early["lag_ms"]
        assert late["behind"] > early["behind"] > 0
        assert any(" down " in line for line in watched if line.startswith("│ eu-west-1 ")), watched

        states = cluster.wait_converged(load.head)
        assert len({s["digest"] for s in states.values()}) == 1, states
        full_after, partial_after = _sync_counts(cluster)
        assert full_after == full_before  # no full copy of the data set
        assert partial_after > partial_before

        iam = cluster.iam()
        names = {
            u["UserName"]
            for page in iam.get_paginator("list_users").paginate()
            for u in page["Users"]
        }
        assert set(load.acknowledged) <= names
        for name in load.acknowledged:
            iam.get_user(UserName=name)


def test_losing_us_east_1s_host_stops_only_iam_writes(tmp_path: Path) -> None:
    """SIGKILL every process on us-east-1's host (the control plane, the primary Redis and its
    AZs): for 60 s the other regions authorize and issue STS sessions with no error while IAM
    writes fail; the host started again takes writes, and nothing acknowledged is lost."""
    with netns_cluster(tmp_path, "us-east-1", "eu-west-1", "ap-northeast-1") as cluster:
        key, made = _traveller(cluster, "survivor")
        iam = cluster.iam()
        before = [f"before-{i}" for i in range(5)]
        for name in before:
            made = version_of(iam.create_user(UserName=name))
        cluster.wait_converged(made)
        probes = [
            RegionProbe(cluster, region, "survivor", key)
            for region in ("eu-west-1", "ap-northeast-1")
        ]

        killed = iam_planes(
            "chaos", "kill-host", "us-east-1", "--state-dir", str(cluster.state_dir)
        )
        assert killed.returncode == 0, killed.stdout + killed.stderr
        assert "controlplane" in killed.stdout and "redis" in killed.stdout
        with pytest.raises(botocore.exceptions.EndpointConnectionError):
            iam.create_user(UserName="during-outage")

        started = time.monotonic()
        while time.monotonic() < started + HOST_OUTAGE_SECONDS:
            for probe in probes:
                probe.ask_once(issue_session=True)
            time.sleep(0.1)
        assert _link_status(cluster, "eu-west-1") == "down"
        for probe in probes:
            print(f"\n{probe.answered} answers from {probe.region} without us-east-1's host")
            assert probe.errors == []
            assert probe.answered >= 100

        restarted = iam_planes(
            "chaos", "start-host", "us-east-1", "--state-dir", str(cluster.state_dir)
        )
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        iam = cluster.iam_when_up(timeout=60)
        head = version_of(iam.create_user(UserName="after-restart"))
        names = {
            u["UserName"]
            for page in iam.get_paginator("list_users").paginate()
            for u in page["Users"]
        }
        assert {*before, "survivor", "after-restart"} <= names
        assert "during-outage" not in names
        states = cluster.wait_converged(head)
        assert len({s["digest"] for s in states.values()}) == 1, states
