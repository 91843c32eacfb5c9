"""End to end: managed policies, groups and boundaries reach and change every replica's answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.e2e.cluster import Cluster, account_of_its_own, http_json, region_delays

pytestmark = pytest.mark.e2e


def _allow(action: str) -> str:
    statement = {"Effect": "Allow", "Action": action, "Resource": "*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.fixture(scope="module")
def cluster(shared_cluster: Cluster) -> Iterator[Cluster]:
    """The shared cluster, in an account of the module's own, with small, distinct region
    delays."""
    running = account_of_its_own(shared_cluster)
    with region_delays(running, "us-east-1=50", "eu-west-1=150", "ap-northeast-1=300"):
        yield running


def _version(answer: dict[str, Any]) -> int:
    return int(answer["ResponseMetadata"]["HTTPHeaders"]["x-iam-planes-version"])


def _decisions(cluster: Cluster, principal: str, action: str) -> dict[str, tuple[str, str]]:
    """The decision and deciding stage of every replica for ``action`` on any S3 object."""
    found = {}
    for az, url in cluster.replicas().items():
        status, answer = http_json(
            f"{url}/authorize",
            {"principal": principal, "action": action, "resource": "arn:aws:s3:::b/k"},
        )
        assert status == 200, answer
        found[az] = (answer["decision"], answer["decided_by"])
    return found


def _all(cluster: Cluster, principal: str, action: str) -> set[str]:
    return {decision for decision, _ in _decisions(cluster, principal, action).values()}


def test_attaching_a_managed_policy_flips_all_nine_replicas(cluster: Cluster) -> None:
    """Attach, then SetDefaultPolicyVersion, then detach: each reaches all nine replicas."""
    iam = cluster.iam()
    user = iam.create_user(UserName="managed")["User"]["Arn"]
    arn = iam.create_policy(PolicyName="read", PolicyDocument=_allow("s3:GetObject"))["Policy"][
        "Arn"
    ]
    cluster.wait_converged(_version(iam.list_users()))
    assert _all(cluster, user, "s3:GetObject") == {"ImplicitDeny"}
    cluster.wait_converged(_version(iam.attach_user_policy(UserName="managed", PolicyArn=arn)))
    assert _all(cluster, user, "s3:GetObject") == {"Allow"}
    new_default = iam.create_policy_version(
        PolicyArn=arn, PolicyDocument=_allow("s3:PutObject"), SetAsDefault=True
    )
    cluster.wait_converged(_version(new_default))
    assert _all(cluster, user, "s3:GetObject") == {"ImplicitDeny"}
    assert _all(cluster, user, "s3:PutObject") == {"Allow"}
    cluster.wait_converged(_version(iam.detach_user_policy(UserName="managed", PolicyArn=arn)))
    assert _all(cluster, user, "s3:PutObject") == {"ImplicitDeny"}


def test_group_membership_grants_group_policies(cluster: Cluster) -> None:
    """Joining a group grants its inline and attached policies; leaving takes them away."""
    iam = cluster.iam()
    user = iam.create_user(UserName="member")["User"]["Arn"]
    iam.create_group(GroupName="readers")
    iam.put_group_policy(GroupName="readers", PolicyName="get", PolicyDocument=_allow("s3:Get*"))
    iam.attach_group_policy(
        GroupName="readers", PolicyArn="arn:aws:iam::aws:policy/AmazonS3FullAccess"
    )
    cluster.wait_converged(_version(iam.list_users()))
    assert _all(cluster, user, "s3:GetObject") == {"ImplicitDeny"}
    joined = iam.add_user_to_group(GroupName="readers", UserName="member")
    cluster.wait_converged(_version(joined))
    assert _all(cluster, user, "s3:GetObject") == {"Allow"}
    assert _all(cluster, user, "s3:DeleteObject") == {"Allow"}
    iam.detach_group_policy(
        GroupName="readers", PolicyArn="arn:aws:iam::aws:policy/AmazonS3FullAccess"
    )
    cluster.wait_converged(_version(iam.list_users()))
    assert _all(cluster, user, "s3:DeleteObject") == {"ImplicitDeny"}
    left = iam.remove_user_from_group(GroupName="readers", UserName="member")
    cluster.wait_converged(_version(left))
    assert _all(cluster, user, "s3:GetObject") == {"ImplicitDeny"}


def test_a_boundary_cuts_an_allow_in_every_replica(cluster: Cluster) -> None:
    """A boundary that does not allow the action turns Allow into a boundary ImplicitDeny."""
    iam = cluster.iam()
    user = iam.create_user(UserName="bounded")["User"]["Arn"]
    iam.put_user_policy(UserName="bounded", PolicyName="all", PolicyDocument=_allow("s3:*"))
    boundary = iam.create_policy(PolicyName="list-only", PolicyDocument=_allow("s3:ListBucket"))
    cluster.wait_converged(_version(boundary))
    assert _all(cluster, user, "s3:GetObject") == {"Allow"}
    put = iam.put_user_permissions_boundary(
        UserName="bounded", PermissionsBoundary=boundary["Policy"]["Arn"]
    )
    cluster.wait_converged(_version(put))
    assert set(_decisions(cluster, user, "s3:GetObject").values()) == {("ImplicitDeny", "boundary")}
    assert _all(cluster, user, "s3:ListBucket") == {"Allow"}


def test_organization_changes_replicate_to_every_replica(cluster: Cluster) -> None:
    """CreateAccount (one batch event) and SCP changes reach all nine replicas identically."""
    org = boto3.client(
        "organizations",
        endpoint_url=cluster.file.controlplane.endpoint,
        region_name="us-east-1",
        **cluster.root_credentials(),
    )
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    status = org.create_account(Email="member@example.com", AccountName="member")
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    states = cluster.wait_converged(_version(org.list_roots()))
    assert len({s["digest"] for s in states.values()}) == 1, states
    member_root = f"arn:aws:iam::{status['CreateAccountStatus']['AccountId']}:root"
    assert _all(cluster, member_root, "s3:GetObject") == {"Allow"}
