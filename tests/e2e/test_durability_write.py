"""``iam-planes up --durability write``: Redis runs ``appendfsync no``, and still no write
acknowledged through boto3 is lost when redis-server is killed with SIGKILL under write load."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import botocore.exceptions
import pytest
import redis

from deploy.chaos import kill_target, start_target
from tests.e2e.cluster import NO_GATEWAY, Cluster, running_cluster

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One region, with the faster durability."""
    with running_cluster(
        Path(tmp_path_factory.mktemp("durability-write")),
        regions=("us-east-1",),
        up_options=("--durability", "write", *NO_GATEWAY),
    ) as running:
        yield running


class _Writer(threading.Thread):
    """Creates users one after another, remembering which creations were acknowledged."""

    def __init__(self, cluster: Cluster, lane: int) -> None:
        super().__init__(daemon=True)
        self.cluster = cluster
        self.lane = lane
        self.acknowledged: list[str] = []
        self.refused = 0
        self.stop = threading.Event()

    def run(self) -> None:
        iam = self.cluster.iam()
        index = 0
        while not self.stop.is_set():
            name = f"lane{self.lane}-{index}"
            index += 1
            try:
                iam.create_user(UserName=name)
                self.acknowledged.append(name)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                self.refused += 1
                time.sleep(0.05)


def test_kill_9_of_redis_under_writes_loses_no_acknowledged_write(cluster: Cluster) -> None:
    """Four clients stream CreateUser while redis-server (appendfsync no) is killed with
    SIGKILL and restarted from its AOF: every acknowledged user is still there."""
    configured = redis.Redis.from_url(cluster.file.redis.url).config_get("appendfsync")
    assert configured == {"appendfsync": "no"}
    writers = [_Writer(cluster, lane) for lane in range(4)]
    for writer in writers:
        writer.start()
    try:
        time.sleep(1.0)
        assert kill_target(cluster.state_dir, "redis")
        time.sleep(0.5)
        start_target(cluster.state_dir, "redis")
        time.sleep(1.0)
    finally:
        for writer in writers:
            writer.stop.set()
        for writer in writers:
            writer.join(30)
    acknowledged = [name for writer in writers for name in writer.acknowledged]
    assert acknowledged and sum(writer.refused for writer in writers) > 0
    deadline = time.monotonic() + 30
    while True:
        try:
            pages = cluster.iam().get_paginator("list_users").paginate()
            listed = [user for page in pages for user in page["Users"]]
            break
        except botocore.exceptions.ClientError:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    print(f"\n{len(acknowledged)} acknowledged, {sum(w.refused for w in writers)} refused")
    assert set(acknowledged) <= {user["UserName"] for user in listed}
