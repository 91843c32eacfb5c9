"""End to end: a write on the control plane reaches each region after that region's delay."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests.e2e.cluster import Cluster, account_of_its_own, http_json, region_delays

pytestmark = pytest.mark.e2e

DELAYS_MS = {"us-east-1": 200, "eu-west-1": 1000, "ap-northeast-1": 2000}
ALLOW_S3 = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
)


@pytest.fixture(scope="module")
def cluster(shared_cluster: Cluster) -> Iterator[Cluster]:
    """The shared cluster, in an account of the module's own, with distinct delays per region
    for the whole module."""
    running = account_of_its_own(shared_cluster)
    with region_delays(running, *(f"{region}={ms}" for region, ms in DELAYS_MS.items())):
        yield running


def _ask(url: str, key_id: str) -> str:
    status, answer = http_json(
        f"{url}/authorize",
        {
            "principal": {"access_key_id": key_id},
            "action": "s3:GetObject",
            "resource": "arn:aws:s3:::bucket/key",
        },
    )
    if "error" in answer:
        return str(answer["error"]["code"])
    assert status == 200
    return str(answer["decision"])


def test_every_replica_flips_after_its_region_delay(cluster: Cluster) -> None:
    """Each of the nine replicas refuses first, then allows, never before its region's delay."""
    iam = cluster.iam()
    iam.create_user(UserName="alice")
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    sent_at = time.time()
    iam.put_user_policy(UserName="alice", PolicyName="s3", PolicyDocument=ALLOW_S3)
    replicas = cluster.replicas()
    seen: dict[str, list[str]] = {az: [] for az in replicas}
    allowed_at: dict[str, float] = {}
    deadline = time.monotonic() + 30
    while len(allowed_at) < len(replicas) and time.monotonic() < deadline:
        for az, url in replicas.items():
            if az in allowed_at:
                continue
            answer = _ask(url, key["AccessKeyId"])
            if not seen[az] or seen[az][-1] != answer:
                seen[az].append(answer)
            if answer == "Allow":
                allowed_at[az] = time.time()
        time.sleep(0.01)
    print("\nper-replica arrival (ms after PutUserPolicy was sent):")
    for az in sorted(allowed_at, key=allowed_at.__getitem__):
        elapsed = (allowed_at[az] - sent_at) * 1000
        print(f"  {az:18} {elapsed:8.1f} ms  {' -> '.join(seen[az])}")
    assert set(allowed_at) == set(replicas), seen
    for az, answers in seen.items():
        assert answers[0] in ("InvalidClientTokenId", "ImplicitDeny"), (az, answers)
        assert answers[-1] == "Allow"
        assert all(a != "Allow" for a in answers[:-1]), (az, answers)
        delay = DELAYS_MS[cluster.region_of(az)] / 1000
        assert allowed_at[az] >= sent_at + delay, (az, allowed_at[az] - sent_at)


def test_get_user_succeeds_on_the_control_plane_before_replicas_know(cluster: Cluster) -> None:
    """Read-your-writes holds on the control plane, not on the data planes."""
    iam = cluster.iam()
    iam.create_user(UserName="bob")
    assert iam.get_user(UserName="bob")["User"]["UserName"] == "bob"
    url = cluster.replicas()["ap-northeast-1a"]
    arn = f"arn:aws:iam::{cluster.account}:user/bob"
    status, answer = http_json(
        f"{url}/authorize", {"principal": arn, "action": "s3:GetObject", "resource": "*"}
    )
    assert status == 404 and answer["error"]["code"] == "NoSuchEntity"


def test_replicas_agree_on_the_digest_once_converged(cluster: Cluster) -> None:
    """At the same version every replica has the same digest."""
    head = int(
        cluster.iam().list_users()["ResponseMetadata"]["HTTPHeaders"]["x-iam-planes-version"]
    )
    states = cluster.wait_converged(head)
    digests = {s["digest"] for s in states.values()}
    assert len(digests) == 1, states
    assert all(s["status"] == "OK" for s in states.values())


def test_min_version_waits_for_the_write(cluster: Cluster) -> None:
    """A query with min_version waits for that version instead of answering stale."""
    iam = cluster.iam()
    response = iam.create_user(UserName="carol")
    version = int(response["ResponseMetadata"]["HTTPHeaders"]["x-iam-planes-version"])
    url = cluster.replicas()["eu-west-1b"]
    status, answer = http_json(
        f"{url}/authorize",
        {
            "principal": f"arn:aws:iam::{cluster.account}:user/carol",
            "action": "s3:GetObject",
            "resource": "*",
            "min_version": version,
        },
    )
    assert status == 200, answer
    assert answer["version"] >= version
    assert answer["decision"] == "ImplicitDeny"
    assert answer["decided_by"] == "no_allow"
