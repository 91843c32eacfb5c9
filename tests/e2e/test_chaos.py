"""Plane independence with real signals: the data planes keep answering while the control
plane is dead, and nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import botocore.exceptions
import pytest
import redis

from tests.e2e.cluster import NO_GATEWAY, Cluster, iam_planes, running_cluster

pytestmark = pytest.mark.e2e

OUTAGE_SECONDS = 10


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A cluster with small delays: us-east-1, where the control plane writes, and a delayed
    eu-west-1 (a third region would only add replicas to hammer)."""
    with running_cluster(
        Path(tmp_path_factory.mktemp("chaos")),
        "eu-west-1=50",
        regions=("us-east-1", "eu-west-1"),
        up_options=NO_GATEWAY,
    ) as running:
        yield running


async def _hammer(replicas: dict[str, str], key_id: str, seconds: float) -> tuple[int, list[str]]:
    """Authorize continuously against every replica for ``seconds``; count answers, keep errors."""
    answered = 0
    failures: list[str] = []
    query = {"principal": {"access_key_id": key_id}, "action": "iam:GetUser", "resource": "*"}
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        while time.monotonic() < deadline:
            for az, url in replicas.items():
                try:
                    async with session.post(f"{url}/authorize", json=query) as response:
                        body = await response.json()
                        if response.status != 200 or body.get("decision") != "Allow":
                            failures.append(f"{az}: {response.status} {body}")
                        answered += 1
                except (aiohttp.ClientError, TimeoutError) as error:
                    failures.append(f"{az}: {type(error).__name__}")
            await asyncio.sleep(0.01)
    return answered, failures


def test_data_planes_outlive_the_control_plane(cluster: Cluster) -> None:
    """kill -9 the control plane: authorizations never fail, writes do; after a restart,
    writes propagate again, versions are gapless and every replica has the same digest."""
    iam = cluster.iam()
    before = [f"before-{i}" for i in range(5)]
    for name in before:
        iam.create_user(UserName=name)
    root_key = cluster.root_credentials()["aws_access_key_id"]

    killed = iam_planes("chaos", "kill", "controlplane", "--state-dir", str(cluster.state_dir))
    assert killed.returncode == 0 and "killed" in killed.stdout

    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        iam.create_user(UserName="during-outage")
    answered, failures = asyncio.run(_hammer(cluster.replicas(), root_key, OUTAGE_SECONDS))
    print(f"\n{answered} authorizations during a {OUTAGE_SECONDS} s control-plane outage")
    assert failures == []
    assert answered >= 300

    started = iam_planes("chaos", "start", "controlplane", "--state-dir", str(cluster.state_dir))
    assert started.returncode == 0, started.stdout + started.stderr
    iam = cluster.iam_when_up()
    response = iam.create_user(UserName="after-restart")
    head = int(response["ResponseMetadata"]["HTTPHeaders"]["x-iam-planes-version"])

    names = {u["UserName"] for u in iam.list_users()["Users"]}
    assert set(before) | {"after-restart"} <= names
    assert "during-outage" not in names

    states = cluster.wait_converged(head)
    assert len({s["digest"] for s in states.values()}) == 1, states
    assert {s["version"] for s in states.values()} == {head}

    client = redis.Redis.from_url(cluster.file.redis.url)
    versions = [int(entry_id.split(b"-")[0]) for entry_id, _ in client.xrange("iam:log")]
    assert versions == list(range(1, head + 1))
