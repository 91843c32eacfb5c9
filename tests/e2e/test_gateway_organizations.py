"""Cross-account S3 through the gateway (both sides must allow), and an SCP deny and an RCP
deny each refusing an otherwise allowed call, in an organization with a member account."""

from __future__ import annotations

import json
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest

from tests.e2e.cluster import Cluster, account_of_its_own
from tests.e2e.gateway_helpers import client, wait_for
from tests.e2e.sts_helpers import allow, credentials_of, policy, version_of

pytestmark = pytest.mark.e2e

REGION = "eu-west-1"
SHARED = "shared-data"


@pytest.fixture(scope="module")
def cluster(shared_cluster: Cluster) -> Cluster:
    """The shared cluster, in an account of the module's own (it becomes an organization's
    management account)."""
    return account_of_its_own(shared_cluster)


@pytest.fixture(scope="module")
def member(cluster: Cluster) -> dict[str, Any]:
    """An organization with a member account; a management user who may assume the member's
    OrganizationAccountAccessRole (AdministratorAccess); a bucket the management account owns."""
    org: Any = boto3.client(
        "organizations",
        endpoint_url=cluster.file.controlplane.endpoint,
        region_name="us-east-1",
        **cluster.root_credentials(),
    )
    org.create_organization(FeatureSet="ALL")
    member_id = org.create_account(Email="m@example.com", AccountName="member")[
        "CreateAccountStatus"
    ]["AccountId"]
    root_id = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
    org.enable_policy_type(RootId=root_id, PolicyType="RESOURCE_CONTROL_POLICY")
    iam = cluster.iam()
    iam.create_user(UserName="ops")
    key = iam.create_access_key(UserName="ops")["AccessKey"]
    iam.put_user_policy(
        UserName="ops", PolicyName="assume", PolicyDocument=policy(allow("sts:AssumeRole"))
    )
    cluster.wait_converged(version_of(iam.list_users()))
    s3 = client(cluster, "s3", REGION)
    s3.create_bucket(Bucket=SHARED, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=SHARED, Key="report.csv", Body=b"q3\n")
    ops = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    return {"org": org, "id": member_id, "ops": ops}


def _session(cluster: Cluster, member: dict[str, Any], **extra: Any) -> dict[str, str]:
    answer = client(cluster, "sts", REGION, **member["ops"]).assume_role(
        RoleArn=f"arn:aws:iam::{member['id']}:role/OrganizationAccountAccessRole",
        RoleSessionName="ops",
        **extra,
    )
    return credentials_of(answer)


def _denial(call: Any, **params: Any) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        call(**params)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    return str(refused.value.response["Error"]["Message"])


def _converged(cluster: Cluster) -> None:
    cluster.wait_converged(version_of(cluster.iam().list_users()))


def test_a_bucket_policy_grants_another_accounts_role_only_when_both_sides_allow(
    cluster: Cluster, member: dict[str, Any]
) -> None:
    """(3) The member's admin session reads the management account's bucket only once the
    bucket policy grants its role; a session whose own policy does not allow S3 still cannot."""
    s3 = client(cluster, "s3", REGION, **_session(cluster, member))
    message = _denial(s3.get_object, Bucket=SHARED, Key="report.csv")
    assert "because no resource-based policy allows the s3:GetObject action" in message
    role = f"arn:aws:iam::{member['id']}:role/OrganizationAccountAccessRole"
    grant = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": role},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{SHARED}/*",
            }
        ],
    }
    client(cluster, "s3", REGION).put_bucket_policy(Bucket=SHARED, Policy=json.dumps(grant))
    for replica in cluster.file.regions[REGION].replicas.values():
        on_replica = boto3.client(
            "s3",
            endpoint_url=replica.endpoint,
            region_name=REGION,
            config=botocore.config.Config(signature_version="s3v4"),
            **_session(cluster, member),
        )
        wait_for("OK", on_replica.get_object, Bucket=SHARED, Key="report.csv")
    narrowed = _session(cluster, member, Policy=policy(allow("sqs:*")))
    message = _denial(
        client(cluster, "s3", REGION, **narrowed).get_object, Bucket=SHARED, Key="report.csv"
    )
    assert "because no session policy allows the s3:GetObject action" in message


def test_an_scp_deny_refuses_an_otherwise_allowed_call(
    cluster: Cluster, member: dict[str, Any]
) -> None:
    """(5a) The member's admin session may list its own bucket until an SCP denying
    s3:ListBucket is attached to the member account."""
    s3 = client(cluster, "s3", REGION, **_session(cluster, member))
    s3.create_bucket(Bucket="member-scp", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.list_objects_v2(Bucket="member-scp")
    org = member["org"]
    deny = policy({"Effect": "Deny", "Action": "s3:ListBucket", "Resource": "*"})
    created = org.create_policy(
        Content=deny, Description="no list", Name="no-list", Type="SERVICE_CONTROL_POLICY"
    )
    policy_id = created["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=policy_id, TargetId=member["id"])
    _converged(cluster)
    message = _denial(s3.list_objects_v2, Bucket="member-scp")
    assert message.endswith("with an explicit deny in a service control policy")
    org.detach_policy(PolicyId=policy_id, TargetId=member["id"])
    _converged(cluster)
    s3.list_objects_v2(Bucket="member-scp")


def test_an_rcp_deny_refuses_an_otherwise_allowed_call(
    cluster: Cluster, member: dict[str, Any]
) -> None:
    """(5b) An RCP denying s3:GetObject on the member account's resources refuses the member's
    own admin session reading its own object."""
    s3 = client(cluster, "s3", REGION, **_session(cluster, member))
    s3.create_bucket(Bucket="member-rcp", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="member-rcp", Key="k", Body=b"v")
    assert s3.get_object(Bucket="member-rcp", Key="k")["Body"].read() == b"v"
    org = member["org"]
    deny = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}
            ],
        }
    )
    created = org.create_policy(
        Content=deny, Description="no reads", Name="no-reads", Type="RESOURCE_CONTROL_POLICY"
    )
    org.attach_policy(PolicyId=created["Policy"]["PolicySummary"]["Id"], TargetId=member["id"])
    _converged(cluster)
    message = _denial(s3.get_object, Bucket="member-rcp", Key="k")
    assert message.endswith("with an explicit deny in a resource control policy")
