"""``iam-planes why`` names what is missing for an Allow, per replica, now and at the head;
``/authorize`` with ``at_version`` answers as the replica would have then (time travel)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from deploy.applied import version_of
from deploy.status import http_json
from tests.e2e.cluster import NO_GATEWAY, Cluster, iam_planes, running_cluster

pytestmark = [pytest.mark.e2e, pytest.mark.long]

RESOURCE = "arn:aws:s3:::bucket/key"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two regions; eu-west-1 holds changes back 6 s, so a grant can be seen pending."""
    with running_cluster(
        Path(tmp_path_factory.mktemp("why")),
        "eu-west-1=6000",
        regions=("us-east-1", "eu-west-1"),
        up_options=NO_GATEWAY,
    ) as running:
        yield running


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _why(cluster: Cluster, principal: str, action: str, *options: str) -> dict[str, Any]:
    ran = iam_planes(
        "why",
        "--state-dir",
        str(cluster.state_dir),
        "--principal",
        principal,
        "--action",
        action,
        "--resource",
        RESOURCE,
        "--json",
        *options,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    answers: dict[str, Any] = json.loads(ran.stdout)
    return answers


def test_why_names_the_missing_grant_and_the_denying_statement(cluster: Cluster) -> None:
    iam = cluster.iam()
    iam.create_user(UserName="why-bob")
    denied = iam.put_user_policy(
        UserName="why-bob",
        PolicyName="no-delete",
        PolicyDocument=_policy(
            {"Sid": "NoDelete", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}
        ),
    )
    cluster.wait_converged(version_of(denied))
    bob = f"arn:aws:iam::{cluster.account}:user/why-bob"
    missing = _why(cluster, bob, "s3:GetObject")
    assert len(missing) == 6
    for answer in missing.values():
        assert answer["decision"] == "ImplicitDeny"
        assert answer["missing_for_allow"] == (
            "no identity-based policy (inline, managed or group) grants s3:GetObject"
        )
    for answer in _why(cluster, bob, "s3:DeleteObject").values():
        assert answer["decision"] == "ExplicitDeny"
        assert answer["missing_for_allow"].startswith("denied by ")
        assert answer["missing_for_allow"].endswith("no-delete statement #0 (NoDelete)")


def test_a_pending_grant_shows_at_the_head_and_time_travel_sees_before_it(
    cluster: Cluster,
) -> None:
    iam = cluster.iam()
    cluster.wait_converged(version_of(iam.create_user(UserName="why-carol")))
    granted = iam.put_user_policy(
        UserName="why-carol",
        PolicyName="read",
        PolicyDocument=_policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}),
    )
    version = version_of(granted)
    carol = f"arn:aws:iam::{cluster.account}:user/why-carol"
    cluster.wait_converged(version - 1)
    deadline = time.monotonic() + 10
    for record in cluster.file.regions["eu-west-1"].replicas.values():
        while http_json(f"{record.endpoint}/state")[1]["read_version"] < version:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    # both asked at once: the grant stays pending only for eu-west-1's delay, and each CLI
    # run takes a second or more to start on a loaded machine
    with ThreadPoolExecutor(2) as pool:
        asked = pool.submit(_why, cluster, carol, "s3:GetObject", "--region", "eu-west-1")
        table = pool.submit(
            iam_planes,
            "why",
            "--state-dir",
            str(cluster.state_dir),
            "--principal",
            carol,
            "--action",
            "s3:GetObject",
            "--resource",
            RESOURCE,
            "--region",
            "eu-west-1",
        ).result()
        answers = asked.result()
    assert set(answers) == {"eu-west-1a", "eu-west-1b", "eu-west-1c"}
    behind = [a for a in answers.values() if a["version"] < version]
    assert behind, "every replica applied the grant before it was asked (a very slow machine)"
    for answer in behind:
        assert answer["decision"] == "ImplicitDeny"
        assert answer["head"]["decision"] == "Allow"
        assert answer["head"]["version"] >= version
        assert answer["stale"]["stale"]
    assert "(pending: granted at the" in table.stdout
    assert "missing for an Allow" in table.stdout

    cluster.wait_converged(version)
    before = _why(cluster, carol, "s3:GetObject", "--at-version", str(version - 1))
    at = _why(cluster, carol, "s3:GetObject", "--at-version", str(version))
    assert {a["decision"] for a in before.values()} == {"ImplicitDeny"}
    assert {a["version"] for a in before.values()} == {version - 1}
    assert {a["decision"] for a in at.values()} == {"Allow"}


def test_time_travel_refuses_a_version_not_in_the_log(cluster: Cluster) -> None:
    replica = next(iter(cluster.replicas().values()))
    head = http_json(f"{replica}/state")[1]["read_version"]
    query = {
        "principal": f"arn:aws:iam::{cluster.account}:root",
        "action": "s3:GetObject",
        "resource": RESOURCE,
    }
    status, answer = http_json(f"{replica}/authorize", {**query, "at_version": head + 100})
    assert status == 400
    assert answer["error"]["code"] == "ValidationError"
    assert "not in the log yet" in answer["error"]["message"]
    status, answer = http_json(f"{replica}/authorize", {**query, "at_version": 1, "min_version": 1})
    assert status == 400
    assert "exclude each other" in answer["error"]["message"]


def _snapshot(cluster: Cluster) -> None:
    taken = iam_planes("snapshot", "--state-dir", str(cluster.state_dir))
    assert taken.returncode == 0, taken.stdout


def test_time_travel_reaches_back_through_snapshots_until_the_log_is_trimmed(
    cluster: Cluster,
) -> None:
    """The log is trimmed behind the oldest of the two snapshots kept: a version between the
    snapshots is rebuilt from the older one plus the log; once a third snapshot drops it, the
    version is gone."""
    iam = cluster.iam()
    _snapshot(cluster)
    first = version_of(iam.create_user(UserName="why-early"))
    early = f"arn:aws:iam::{cluster.account}:user/why-early"
    query = {"principal": early, "action": "s3:GetObject", "resource": RESOURCE}
    replica = cluster.file.regions["us-east-1"].replicas["us-east-1a"].endpoint
    cluster.wait_converged(version_of(iam.create_user(UserName="why-later-1")))
    _snapshot(cluster)
    status, answer = http_json(f"{replica}/authorize", {**query, "at_version": first})
    assert status == 200, answer
    assert (answer["version"], answer["decision"]) == (first, "ImplicitDeny")
    status, answer = http_json(f"{replica}/authorize", {**query, "at_version": first - 1})
    assert status == 404  # before the user existed
    assert answer["error"]["code"] == "NoSuchEntity"
    cluster.wait_converged(version_of(iam.create_user(UserName="why-later-2")))
    _snapshot(cluster)
    status, answer = http_json(f"{replica}/authorize", {**query, "at_version": first})
    assert status == 400
    assert "no longer holds" in answer["error"]["message"]
