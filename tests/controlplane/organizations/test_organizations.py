"""Organizations through boto3's JSON protocol on the control plane's port."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.controlplane.conftest import error_of, error_with_response
from tests.e2e.cluster import Cluster, http_json
from tests.e2e.sts_helpers import version_of

pytestmark = pytest.mark.e2e

SCP = "SERVICE_CONTROL_POLICY"
RCP = "RESOURCE_CONTROL_POLICY"
DENY_S3 = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
)


@pytest.fixture(scope="module")
def org(cluster: Cluster) -> Iterator[Any]:
    """An organization client; the cluster's account creates the organization once."""
    client = boto3.client(
        "organizations",
        endpoint_url=cluster.file.controlplane.endpoint,
        region_name="us-east-1",
        **cluster.root_credentials(),
    )
    client.create_organization(FeatureSet="ALL")
    yield client


def _root(org: Any) -> str:
    return str(org.list_roots()["Roots"][0]["Id"])


def test_organization_and_accounts(org: Any) -> None:
    """The organization exists once; CreateAccount succeeds at once and is listed."""
    described = org.describe_organization()["Organization"]
    assert described["Id"].startswith("o-")
    assert error_of(org.create_organization)[:2] == ("AlreadyInOrganizationException", 400)
    status = org.create_account(Email="dev@example.com", AccountName="dev")["CreateAccountStatus"]
    assert status["State"] == "SUCCEEDED"
    again = org.describe_create_account_status(CreateAccountRequestId=status["Id"])
    assert again["CreateAccountStatus"]["AccountId"] == status["AccountId"]
    account = org.describe_account(AccountId=status["AccountId"])["Account"]
    assert (account["Name"], account["JoinedMethod"]) == ("dev", "CREATED")
    assert error_of(org.create_account, Email="dev@example.com", AccountName="x")[0] == (
        "DuplicateAccountException"
    )
    first = org.list_accounts(MaxResults=1)
    assert len(first["Accounts"]) == 1 and "NextToken" in first
    pages = org.get_paginator("list_accounts").paginate(PaginationConfig={"PageSize": 1})
    ids = [a["Id"] for page in pages for a in page["Accounts"]]
    assert status["AccountId"] in ids and described["MasterAccountId"] in ids


def test_organizational_units_and_moves(org: Any) -> None:
    """Accounts move between the root and OUs; a non-empty OU cannot be deleted."""
    root = _root(org)
    unit = org.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]
    assert unit["Id"].startswith("ou-")
    assert error_of(org.create_organizational_unit, ParentId=root, Name="workloads")[0] == (
        "DuplicateOrganizationalUnitException"
    )
    account = org.create_account(Email="ou@example.com", AccountName="ou")["CreateAccountStatus"]
    org.move_account(
        AccountId=account["AccountId"], SourceParentId=root, DestinationParentId=unit["Id"]
    )
    children = org.list_children(ParentId=unit["Id"], ChildType="ACCOUNT")["Children"]
    assert children == [{"Id": account["AccountId"], "Type": "ACCOUNT"}]
    parents = org.list_parents(ChildId=account["AccountId"])["Parents"]
    assert parents == [{"Id": unit["Id"], "Type": "ORGANIZATIONAL_UNIT"}]
    assert error_of(org.delete_organizational_unit, OrganizationalUnitId=unit["Id"])[0] == (
        "OrganizationalUnitNotEmptyException"
    )
    assert error_of(org.list_children, ParentId="ou-none-12345678", ChildType="ACCOUNT")[0] == (
        "ParentNotFoundException"
    )


def test_service_control_policies(org: Any) -> None:
    """Enabling SCPs attaches FullAWSAccess everywhere; policies attach with AWS's limits."""
    root = _root(org)
    assert error_of(org.attach_policy, PolicyId="p-FullAWSAccess", TargetId=root)[0] == (
        "PolicyTypeNotEnabledException"
    )
    enabled = org.enable_policy_type(RootId=root, PolicyType=SCP)["Root"]
    assert enabled["PolicyTypes"] == [{"Type": SCP, "Status": "ENABLED"}]
    assert error_of(org.enable_policy_type, RootId=root, PolicyType=SCP)[0] == (
        "PolicyTypeAlreadyEnabledException"
    )
    on_root = org.list_policies_for_target(TargetId=root, Filter=SCP)["Policies"]
    assert [(p["Name"], p["AwsManaged"]) for p in on_root] == [("FullAWSAccess", True)]
    code, _, _, response = error_with_response(
        org.detach_policy, PolicyId="p-FullAWSAccess", TargetId=root
    )
    assert code == "ConstraintViolationException"
    assert response["Reason"] == "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED"
    policy = org.create_policy(Content=DENY_S3, Description="no s3", Name="deny-s3", Type=SCP)
    policy_id = policy["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=policy_id, TargetId=root)
    assert error_of(org.attach_policy, PolicyId=policy_id, TargetId=root)[0] == (
        "DuplicatePolicyAttachmentException"
    )
    targets = org.list_targets_for_policy(PolicyId=policy_id)["Targets"]
    assert [t["Type"] for t in targets] == ["ROOT"]
    assert error_of(org.delete_policy, PolicyId=policy_id)[0] == "PolicyInUseException"
    updated = org.update_policy(PolicyId=policy_id, Name="deny-s3-v2")["Policy"]
    assert updated["PolicySummary"]["Name"] == "deny-s3-v2"
    org.detach_policy(PolicyId=policy_id, TargetId=root)
    org.delete_policy(PolicyId=policy_id)
    assert error_of(org.describe_policy, PolicyId=policy_id)[0] == "PolicyNotFoundException"


def test_policy_limits_and_validation(org: Any) -> None:
    """A malformed SCP, an oversized one and a sixth policy on a target are refused."""
    root = _root(org)
    assert error_of(org.create_policy, Content="{}", Description="", Name="bad", Type=SCP)[0] == (
        "MalformedPolicyDocumentException"
    )
    huge = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Deny", "Action": [f"s3:A{i:05d}" for i in range(600)], "Resource": "*"}
            ],
        }
    )
    code, _, _, response = error_with_response(
        org.create_policy, Content=huge, Description="", Name="huge", Type=SCP
    )
    assert (code, response["Reason"]) == (
        "ConstraintViolationException",
        "POLICY_CONTENT_LIMIT_EXCEEDED",
    )
    unit = org.create_organizational_unit(ParentId=root, Name="limits")["OrganizationalUnit"]
    for index in range(4):
        created = org.create_policy(Content=DENY_S3, Description="", Name=f"l{index}", Type=SCP)
        org.attach_policy(PolicyId=created["Policy"]["PolicySummary"]["Id"], TargetId=unit["Id"])
    extra = org.create_policy(Content=DENY_S3, Description="", Name="l-extra", Type=SCP)
    code, _, _, response = error_with_response(
        org.attach_policy, PolicyId=extra["Policy"]["PolicySummary"]["Id"], TargetId=unit["Id"]
    )
    assert (code, response["Reason"]) == (
        "ConstraintViolationException",
        "POLICY_NUMBER_LIMIT_EXCEEDED",
    )


def test_resource_control_policies(org: Any) -> None:
    """Enabling RCPs attaches RCPFullAWSAccess; ListPolicies filters by type."""
    root = _root(org)
    org.enable_policy_type(RootId=root, PolicyType=RCP)
    names = [p["Name"] for p in org.list_policies(Filter=RCP)["Policies"]]
    assert names == ["RCPFullAWSAccess"]
    on_root = org.list_policies_for_target(TargetId=root, Filter=RCP)["Policies"]
    assert [p["Id"] for p in on_root] == ["p-RCPFullAWSAccess"]


def test_an_rcp_guards_a_member_accounts_resources_from_other_accounts(
    org: Any, cluster: Cluster
) -> None:
    """The member account's RCP (not the caller's account chain) decides: the management
    account's user is denied on the member's queue in every replica, and allowed on its own."""
    root = _root(org)
    enabled = {t["Type"] for t in org.list_roots()["Roots"][0]["PolicyTypes"]}
    if RCP not in enabled:
        org.enable_policy_type(RootId=root, PolicyType=RCP)
    member = org.create_account(Email="rcp@example.com", AccountName="rcp-guarded")
    member_id = member["CreateAccountStatus"]["AccountId"]
    deny = {"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*"}
    created = org.create_policy(
        Content=json.dumps({"Version": "2012-10-17", "Statement": [deny]}),
        Description="no sqs",
        Name="no-sqs",
        Type=RCP,
    )
    org.attach_policy(PolicyId=created["Policy"]["PolicySummary"]["Id"], TargetId=member_id)
    iam = cluster.iam()
    admin = iam.create_user(UserName="rcp-admin")["User"]["Arn"]
    allow_sqs = {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}
    written = iam.put_user_policy(
        UserName="rcp-admin",
        PolicyName="sqs",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [allow_sqs]}),
    )
    cluster.wait_converged(version_of(written))
    queue_policy = {
        "Version": "2012-10-17",
        "Statement": [{**allow_sqs, "Principal": {"AWS": admin}}],
    }

    def decisions(account: str) -> set[str]:
        queue = f"arn:aws:sqs:us-east-1:{account}:jobs"
        query = {
            "principal": admin,
            "action": "sqs:SendMessage",
            "resource": queue,
            "resource_policy": queue_policy,
        }
        return {
            http_json(f"{url}/authorize", query)[1]["decision"]
            for url in cluster.replicas().values()
        }

    assert decisions(member_id) == {"ExplicitDeny"}
    assert decisions(cluster.account) == {"Allow"}
