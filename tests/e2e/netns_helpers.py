"""What the netns-hosts tests share: a cluster on network-namespace hosts (``up --hosts
netns``), a steady write load, and probes of a region's answers.

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
import redis
from rich.console import Console

from deploy.netns import destroy_network, load_network, unsupported_reason
from deploy.watch import render_frame
from tests.e2e.cluster import Cluster, http_json, iam_planes
from tests.e2e.sts_helpers import NO_RETRIES, allow, credentials_of, policy, sts, version_of

UNSUPPORTED = unsupported_reason()

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
        pids = all_pids(cluster)
        yield cluster
    finally:
        with contextlib.suppress(Exception):
            pids += all_pids(Cluster(state_dir))
        iam_planes("down", "--state-dir", str(state_dir))
        destroy_network(state_dir)  # a no-op unless `down` itself failed
        for pid in set(pids):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    assert load_network(state_dir) is None


def all_pids(cluster: Cluster) -> list[int]:
    servers = cluster.file.redis_servers().values()
    return cluster.pids() + [server.pid for server in servers if server.pid]


def traveller(cluster: Cluster, name: str) -> tuple[dict[str, str], int]:
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


def status_row(cluster: Cluster, process: str) -> dict[str, Any]:
    shown = iam_planes("status", "--json", "--state-dir", str(cluster.state_dir), timeout=60)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    return next(row for row in json.loads(shown.stdout) if row["process"] == process)


def watch_frame(cluster: Cluster) -> list[str]:
    """One frame of ``iam-planes watch``, as text lines."""
    console = Console(record=True, width=160, file=io.StringIO())
    console.print(render_frame(cluster.file))
    return console.export_text().splitlines()


def sync_counts(cluster: Cluster) -> tuple[int, int]:
    """The primary's (full copies, partial resyncs) served to replicas so far."""
    client = redis.Redis.from_url(cluster.file.redis.url, socket_timeout=5)
    try:
        stats = client.info("stats")
    finally:
        client.close()
    return int(stats["sync_full"]), int(stats["sync_partial_ok"])


def link_status(cluster: Cluster, region: str) -> str:
    client = redis.Redis.from_url(cluster.file.regional_redis[region].url, socket_timeout=5)
    try:
        return str(client.info("replication")["master_link_status"])
    finally:
        client.close()


def wait_for(what: str, check: Callable[[], bool], timeout: float = 60) -> None:
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
            self.expect_caller(self.sts)
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
        self.expect_caller(client)

    def expect_caller(self, client: Any) -> None:
        arn = client.get_caller_identity()["Arn"]
        if arn != self.arn:
            self.errors.append(f"sts in {self.region} answered as {arn}, not {self.arn}")
