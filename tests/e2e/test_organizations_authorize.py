"""SCPs replicate like any IAM change and restrict live answers in every region."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from tests.e2e.cluster import Cluster, account_of_its_own
from tests.e2e.sts_helpers import allow, ask, credentials_of, policy, sts, version_of

pytestmark = pytest.mark.e2e

DENY_S3 = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
)
OBJECT = "arn:aws:s3:::reports/q3.csv"


@pytest.fixture(scope="module")
def cluster(shared_cluster: Cluster) -> Cluster:
    """The shared cluster, in an account of the module's own, which becomes an
    organization's management account."""
    return account_of_its_own(shared_cluster)


def _all_answer(cluster: Cluster, creds: dict[str, str], expected: str) -> None:
    """Wait (bounded) until every replica answers ``expected`` for s3:GetObject."""
    deadline = time.monotonic() + 30
    while True:
        answers = {
            az: ask(url, creds, "s3:GetObject", OBJECT)[0] for az, url in cluster.replicas().items()
        }
        if set(answers.values()) == {expected}:
            return
        assert time.monotonic() < deadline, answers
        time.sleep(0.05)


def test_an_scp_on_a_member_account_cuts_its_sessions_everywhere(cluster: Cluster) -> None:
    """A session in a member account (OrganizationAccountAccessRole, AdministratorAccess) may
    read S3 until an SCP denying s3:* is attached; every replica then says ExplicitDeny from
    the SCP, and Allow again once it is detached."""
    iam = cluster.iam()
    iam.create_user(UserName="ops")
    key = iam.create_access_key(UserName="ops")["AccessKey"]
    iam.put_user_policy(
        UserName="ops", PolicyName="assume", PolicyDocument=policy(allow("sts:AssumeRole"))
    )
    org: Any = boto3.client(
        "organizations",
        endpoint_url=cluster.file.controlplane.endpoint,
        region_name="us-east-1",
        **cluster.root_credentials(),
    )
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(Email="m@example.com", AccountName="member")
    member_id = member["CreateAccountStatus"]["AccountId"]
    root_id = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
    created = org.create_policy(
        Content=DENY_S3, Description="no s3", Name="no-s3", Type="SERVICE_CONTROL_POLICY"
    )
    policy_id = created["Policy"]["PolicySummary"]["Id"]
    cluster.wait_converged(version_of(iam.list_users()))

    ops = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    answer = sts(cluster, "us-east-1", **ops).assume_role(
        RoleArn=f"arn:aws:iam::{member_id}:role/OrganizationAccountAccessRole",
        RoleSessionName="ops",
    )
    session = credentials_of(answer)
    _all_answer(cluster, session, "Allow")

    org.attach_policy(PolicyId=policy_id, TargetId=member_id)
    _all_answer(cluster, session, "ExplicitDeny")
    decided = ask(cluster.replicas()["ap-northeast-1c"], session, "s3:GetObject", OBJECT)[1]
    assert decided["decided_by"] == "explicit_deny"
    denies = [m["policy"] for m in decided["matched"] if m["effect"] == "Deny"]
    assert denies == ["service_control_policy:no-s3"], decided

    org.detach_policy(PolicyId=policy_id, TargetId=member_id)
    _all_answer(cluster, session, "Allow")
