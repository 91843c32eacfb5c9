"""The chaos suite: repeated kill -9 of the control plane under writes, and a long outage
under authorization load. Nothing acknowledged is lost; no authorization fails."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import botocore.exceptions
import pytest
import redis

from deploy.chaos import kill_target, start_target
from deploy.demo.hammer import hammer
from tests.e2e.cluster import NO_GATEWAY, Cluster, http_json, running_cluster

pytestmark = [pytest.mark.e2e, pytest.mark.long]

KILLS = 20
OUTAGE_SECONDS = 30
MIN_AUTHORIZATIONS = 10_000


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """An instant-profile cluster."""
    with running_cluster(
        Path(tmp_path_factory.mktemp("chaos-suite")), up_options=NO_GATEWAY
    ) as running:
        yield running


class _Writer(threading.Thread):
    """Creates users one after another, remembering which creations were acknowledged."""

    def __init__(self, cluster: Cluster) -> None:
        super().__init__(daemon=True)
        self.cluster = cluster
        self.acknowledged: list[str] = []
        self.unacknowledged: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        index = 0
        while not self.stop.is_set():
            name = f"w-{index}"
            index += 1
            try:
                self.cluster.iam().create_user(UserName=name)
                self.acknowledged.append(name)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                self.unacknowledged.append(name)
                time.sleep(0.05)


def _present_on(url: str, account: str, name: str) -> bool:
    status, answer = http_json(
        f"{url}/authorize",
        {
            "principal": f"arn:aws:iam::{account}:user/{name}",
            "action": "s3:GetObject",
            "resource": "*",
        },
    )
    assert status in (200, 404), answer
    return status == 200


def test_twenty_kills_of_the_control_plane_lose_nothing_acknowledged(cluster: Cluster) -> None:
    """Writes stream while the control plane is killed 20 times; at the end every acknowledged
    user is on every replica, every unacknowledged one is on all or none, versions are gapless
    and digests equal."""
    rng = random.Random(7)
    writer = _Writer(cluster)
    writer.start()
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.2, 0.6))
            kill_target(cluster.state_dir, "controlplane")
            start_target(cluster.state_dir, "controlplane")
        time.sleep(0.5)
    finally:
        writer.stop.set()
        writer.join(30)
    print(f"\n{len(writer.acknowledged)} acknowledged, {len(writer.unacknowledged)} not")
    assert len(writer.acknowledged) > KILLS

    head = int(
        cluster.iam().list_users()["ResponseMetadata"]["HTTPHeaders"]["x-iam-planes-version"]
    )
    states = cluster.wait_converged(head)
    assert len({s["digest"] for s in states.values()}) == 1, states

    client = redis.Redis.from_url(cluster.file.redis.url)
    versions = [int(entry_id.split(b"-")[0]) for entry_id, _ in client.xrange("iam:log")]
    assert versions == list(range(versions[0], head + 1))

    listed = {u["UserName"] for u in cluster.iam().list_users(MaxItems=1000)["Users"]}
    assert set(writer.acknowledged) <= listed
    replicas = cluster.replicas()
    for name in writer.acknowledged[-5:] + writer.unacknowledged:
        present = {_present_on(url, cluster.account, name) for url in replicas.values()}
        assert len(present) == 1, name  # on every replica or on none
        assert present == {name in listed}


def test_a_thirty_second_outage_costs_no_authorization(cluster: Cluster) -> None:
    """With the control plane dead for 30 s, at least 10,000 authorizations across the nine
    replicas all succeed."""
    query = {
        "principal": f"arn:aws:iam::{cluster.account}:root",
        "action": "s3:GetObject",
        "resource": "*",
    }
    kill_target(cluster.state_dir, "controlplane")
    try:
        result = asyncio.run(hammer(cluster.replicas(), query, OUTAGE_SECONDS))
    finally:
        start_target(cluster.state_dir, "controlplane")
    print(f"\n{result.answered} authorizations in {OUTAGE_SECONDS} s: {result.by_replica}")
    assert result.failures == []
    assert result.answered >= MIN_AUTHORIZATIONS
