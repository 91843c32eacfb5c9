"""Topology ``replicated``: one Redis per region, each a REPLICAOF us-east-1's; regions keep
answering from their own Redis when us-east-1's is dead."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from deploy.ports import free_port_block
from tests.e2e.cluster import Cluster, http_json, iam_planes
from tests.e2e.sts_helpers import sts, version_of

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A cluster whose regions each read their own Redis replica."""
    state_dir = Path(tmp_path_factory.mktemp("regional")) / "state"
    started = iam_planes(
        "up",
        "--detach",
        "--topology",
        "replicated",
        "--state-dir",
        str(state_dir),
        "--base-port",
        str(free_port_block(50)),
        "--delay",
        "eu-west-1=100",
        env={"IAM_PLANES_KEY_USAGE_FLUSH_SECONDS": "0.2"},
    )
    assert started.returncode == 0, started.stdout + started.stderr
    running = Cluster(state_dir)
    pids = running.pids() + [r.pid for r in running.file.regional_redis.values() if r.pid]
    try:
        yield running
    finally:
        iam_planes("down", "--state-dir", str(state_dir))
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_each_region_reads_its_own_redis_replica(cluster: Cluster) -> None:
    """The regional servers are replicas of the primary, and changes reach every region."""
    regional = cluster.file.regional_redis
    assert set(regional) == {"eu-west-1", "ap-northeast-1"}
    for record in regional.values():
        info = redis.Redis.from_url(record.url).info("replication")
        assert info["role"] == "slave" and info["master_link_status"] == "up"
    response = cluster.iam().create_user(UserName="everywhere")
    head = int(response["ResponseMetadata"]["HTTPHeaders"]["x-iam-planes-version"])
    states = cluster.wait_converged(head)
    assert len({s["digest"] for s in states.values()}) == 1


def test_key_usage_in_a_replica_region_reaches_the_primary(cluster: Cluster) -> None:
    """A region reading a read-only Redis replica still records key usage (on the primary),
    so GetAccessKeyLastUsed names the region where the key was used."""
    iam = cluster.iam()
    iam.create_user(UserName="traveller")
    created = iam.create_access_key(UserName="traveller")
    key = created["AccessKey"]
    cluster.wait_converged(version_of(created))
    signed = {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }
    sts(cluster, "ap-northeast-1", **signed).get_caller_identity()
    deadline = time.monotonic() + 60
    while True:
        used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
        if used["Region"] == "ap-northeast-1":
            break
        assert time.monotonic() < deadline, used
        time.sleep(0.1)
    assert used["ServiceName"] == "sts"
    assert "LastUsedDate" in used


def test_regions_keep_answering_with_the_primary_redis_dead(cluster: Cluster) -> None:
    """kill -9 us-east-1's Redis: all nine replicas still answer; a restarted eu-west-1 AZ
    bootstraps from its region's Redis and reaches its peers' digest."""
    before = cluster.states()
    killed = iam_planes("chaos", "kill", "redis", "--state-dir", str(cluster.state_dir))
    assert "killed" in killed.stdout
    query = {
        "principal": f"arn:aws:iam::{cluster.account}:user/everywhere",
        "action": "s3:GetObject",
        "resource": "*",
    }
    for az, url in cluster.replicas().items():
        for _ in range(20):
            status, answer = http_json(f"{url}/authorize", query)
            assert status == 200 and answer["decision"] == "ImplicitDeny", (az, answer)
    iam_planes("chaos", "kill", "eu-west-1a", "--state-dir", str(cluster.state_dir))
    restarted = iam_planes("chaos", "start", "eu-west-1a", "--state-dir", str(cluster.state_dir))
    assert restarted.returncode == 0, restarted.stdout
    state = http_json(f"{cluster.replicas()['eu-west-1a']}/state")[1]
    assert state["digest"] == before["eu-west-1b"]["digest"]
    assert state["status"] == "OK"
