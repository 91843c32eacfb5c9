"""Replication under chaos with real processes: an AZ dies and rejoins from a snapshot, a
region is partitioned and heals, Redis is killed and restarts from its AOF."""

from __future__ import annotations

import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cluster import NO_GATEWAY, Cluster, http_json, iam_planes, running_cluster

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A cluster with small delays."""
    with running_cluster(
        Path(tmp_path_factory.mktemp("replication")), "eu-west-1=100", up_options=NO_GATEWAY
    ) as c:
        yield c


def _version_of(response: dict[str, object]) -> int:
    headers = response["ResponseMetadata"]["HTTPHeaders"]  # type: ignore[index]
    return int(headers["x-iam-planes-version"])  # type: ignore[index]


def _chaos(cluster: Cluster, *args: str) -> str:
    done = iam_planes("chaos", *args, "--state-dir", str(cluster.state_dir))
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _ask_region(cluster: Cluster, region: str) -> tuple[int, dict[str, object]]:
    """One authorization through the region's shared endpoint, retried once as AWS SDKs do."""
    query = {
        "principal": f"arn:aws:iam::{cluster.account}:root",
        "action": "s3:ListBucket",
        "resource": "*",
    }
    try:
        return http_json(f"{cluster.file.regions[region].endpoint}/authorize", query, timeout=2)
    except (urllib.error.URLError, OSError):
        return http_json(f"{cluster.file.regions[region].endpoint}/authorize", query, timeout=2)


def test_a_killed_az_leaves_its_region_answering_and_rejoins_from_a_snapshot(
    cluster: Cluster,
) -> None:
    """kill -9 one AZ: the regional endpoint keeps answering; snapshot, write more, restart
    the AZ: it loads the snapshot and converges to its peers' digest."""
    iam = cluster.iam()
    for index in range(20):
        iam.create_user(UserName=f"snap-{index}")
    _chaos(cluster, "kill", "eu-west-1b")
    for _ in range(100):
        status, answer = _ask_region(cluster, "eu-west-1")
        assert status == 200 and answer["decision"] == "Allow", answer
    snapshot = iam_planes("snapshot", "--state-dir", str(cluster.state_dir))
    assert snapshot.returncode == 0 and "snapshot at version" in snapshot.stdout
    head = _version_of(iam.create_user(UserName="after-snapshot"))
    _chaos(cluster, "start", "eu-west-1b")
    states = cluster.wait_converged(head)
    assert len({s["digest"] for s in states.values()}) == 1, states
    metrics = http_json_text(cluster.replicas()["eu-west-1b"] + "/metrics")
    snapshot_version = [
        line
        for line in metrics.splitlines()
        if line.startswith("iam_planes_bootstrap_snapshot_version")
    ]
    assert snapshot_version and float(snapshot_version[0].split()[-1]) > 0


def test_a_partitioned_region_stays_put_and_catches_up_after_the_heal(cluster: Cluster) -> None:
    """During a partition a region's answers stay at one version; after the heal it converges."""
    iam = cluster.iam()
    out = _chaos(cluster, "partition", "ap-northeast-1")
    assert "ap-northeast-1a" in out
    frozen = {az: s["version"] for az, s in cluster.states().items() if az.startswith("ap-")}
    head = _version_of(iam.create_user(UserName="during-partition"))
    # the signal: the regions that are not cut off have applied the change
    deadline = time.monotonic() + 30
    while True:
        states = cluster.states()
        if all(s["version"] >= head for az, s in states.items() if not az.startswith("ap-")):
            break
        assert time.monotonic() < deadline, states
        time.sleep(0.05)
    for az, state in states.items():
        if az.startswith("ap-"):
            assert state["version"] == frozen[az]
    _chaos(cluster, "heal", "ap-northeast-1")
    states = cluster.wait_converged(head)
    assert len({s["digest"] for s in states.values()}) == 1


def test_redis_killed_and_restarted_loses_no_acknowledged_write(cluster: Cluster) -> None:
    """kill -9 redis-server, restart it from its AOF: every acknowledged write is still there,
    and replicas kept answering while it was down."""
    iam = cluster.iam()
    acknowledged = [f"durable-{i}" for i in range(10)]
    head = 0
    for name in acknowledged:
        head = _version_of(iam.create_user(UserName=name))
    _chaos(cluster, "kill", "redis")
    status, answer = _ask_region(cluster, "us-east-1")
    assert status == 200 and answer["decision"] == "Allow"
    _chaos(cluster, "start", "redis")
    deadline = time.monotonic() + 30
    while True:
        try:
            names = {u["UserName"] for u in iam.list_users(MaxItems=1000)["Users"]}
            created = _version_of(iam.create_user(UserName="after-redis-restart"))
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    assert set(acknowledged) <= names
    assert created > head
    states = cluster.wait_converged(created)
    assert len({s["digest"] for s in states.values()}) == 1


def http_json_text(url: str) -> str:
    """GET ``url`` and return its body as text."""
    import urllib.request

    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def test_a_scripted_chaos_schedule_plays_in_order(cluster: Cluster, tmp_path: Path) -> None:
    """`chaos run SCHEDULE` kills and restarts a replica at the given times."""
    schedule = tmp_path / "schedule.json"
    schedule.write_text(
        '[{"at": 0.5, "verb": "start", "target": "us-east-1c"},'
        ' {"at": 0, "verb": "kill", "target": "us-east-1c"}]'
    )
    out = _chaos(cluster, "run", str(schedule))
    assert out.index("killed") < out.index("running as pid")
    status, state = http_json(f"{cluster.replicas()['us-east-1c']}/state")
    assert status == 200 and state["status"] == "OK"


def test_a_bad_schedule_is_refused_without_a_traceback(cluster: Cluster, tmp_path: Path) -> None:
    """A schedule naming an unknown verb exits 2 with a message."""
    schedule = tmp_path / "bad.json"
    schedule.write_text('[{"at": 0, "verb": "explode", "target": "us-east-1c"}]')
    done = iam_planes("chaos", "run", str(schedule), "--state-dir", str(cluster.state_dir))
    assert done.returncode == 2 and "bad schedule" in done.stdout
    assert "Traceback" not in done.stderr
