"""UpdateUser, UpdateGroup, UpdateRoleDescription, GetAccountSummary and
GetServiceLinkedRoleDeletionStatus, as AWS answers them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.controlplane.conftest import allow, document, error_of
from tests.e2e.cluster import Cluster
from tests.e2e.sts_helpers import sts, version_of

pytestmark = pytest.mark.e2e


def test_renaming_a_user_carries_everything_over(iam: Any, cluster: Cluster) -> None:
    """Keys, groups, policies, tags and the unique id move to the new name, the old name is
    gone, and the user's key authenticates as the new ARN once the rename has replicated."""
    created = iam.create_user(UserName="upd-old", Tags=[{"Key": "team", "Value": "a"}])["User"]
    key = iam.create_access_key(UserName="upd-old")["AccessKey"]
    iam.create_group(GroupName="upd-team")
    iam.add_user_to_group(GroupName="upd-team", UserName="upd-old")
    iam.put_user_policy(UserName="upd-old", PolicyName="p", PolicyDocument=allow("s3:*"))
    managed = iam.create_policy(PolicyName="upd-managed", PolicyDocument=allow("sqs:*"))
    iam.attach_user_policy(UserName="upd-old", PolicyArn=managed["Policy"]["Arn"])

    renamed = iam.update_user(UserName="upd-old", NewUserName="upd-new", NewPath="/moved/")
    user = iam.get_user(UserName="upd-new")["User"]
    assert user["UserId"] == created["UserId"]
    assert user["Arn"].endswith(":user/moved/upd-new")
    assert user["Tags"] == [{"Key": "team", "Value": "a"}]
    keys = iam.list_access_keys(UserName="upd-new")["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["UserName"]) for k in keys] == [(key["AccessKeyId"], "upd-new")]
    groups = iam.list_groups_for_user(UserName="upd-new")["Groups"]
    assert [g["GroupName"] for g in groups] == ["upd-team"]
    assert iam.list_user_policies(UserName="upd-new")["PolicyNames"] == ["p"]
    attached = iam.list_attached_user_policies(UserName="upd-new")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["upd-managed"]
    assert error_of(iam.get_user, UserName="upd-old")[:2] == ("NoSuchEntity", 404)

    cluster.wait_converged(version_of(renamed))
    creds = {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }
    identity = sts(cluster, "eu-west-1", **creds).get_caller_identity()
    assert identity["Arn"] == user["Arn"]


def test_renaming_onto_an_existing_user_or_a_missing_one_fails(iam: Any) -> None:
    """A taken name is EntityAlreadyExists (ignoring case); a missing user NoSuchEntity."""
    iam.create_user(UserName="upd-a")
    iam.create_user(UserName="upd-b")
    code = error_of(iam.update_user, UserName="upd-a", NewUserName="UPD-B")
    assert code == ("EntityAlreadyExists", 409, "User with name UPD-B already exists.")
    assert error_of(iam.update_user, UserName="upd-nobody", NewPath="/x/")[:2] == (
        "NoSuchEntity",
        404,
    )
    iam.update_user(UserName="upd-a", NewUserName="Upd-A")
    assert iam.get_user(UserName="upd-a")["User"]["UserName"] == "Upd-A"


def test_renaming_a_group_keeps_its_members(iam: Any) -> None:
    """UpdateGroup moves the group; its members list the new name."""
    iam.create_group(GroupName="upd-g1")
    iam.create_user(UserName="upd-member")
    iam.add_user_to_group(GroupName="upd-g1", UserName="upd-member")
    iam.update_group(GroupName="upd-g1", NewGroupName="upd-g2", NewPath="/teams/")
    group = iam.get_group(GroupName="upd-g2")
    assert group["Group"]["Arn"].endswith(":group/teams/upd-g2")
    assert [u["UserName"] for u in group["Users"]] == ["upd-member"]
    groups = iam.list_groups_for_user(UserName="upd-member")["Groups"]
    assert [g["GroupName"] for g in groups] == ["upd-g2"]
    assert error_of(iam.get_group, GroupName="upd-g1")[:2] == ("NoSuchEntity", 404)
    iam.create_group(GroupName="upd-g3")
    assert error_of(iam.update_group, GroupName="upd-g3", NewGroupName="upd-g2")[:2] == (
        "EntityAlreadyExists",
        409,
    )


def test_account_summary_counts_and_quotas(iam: Any) -> None:
    """SummaryMap counts what the account holds and names AWS's quotas."""
    before = iam.get_account_summary()["SummaryMap"]
    iam.create_user(UserName="upd-counted")
    after = iam.get_account_summary()["SummaryMap"]
    assert after["Users"] == before["Users"] + 1
    assert after["UsersQuota"] == 5000
    assert after["AccessKeysPerUserQuota"] == 2
    assert after["VersionsPerPolicyQuota"] == 5
    assert after["AccountAccessKeysPresent"] == 1


def test_role_description_and_service_linked_deletion_status(iam: Any) -> None:
    """UpdateRoleDescription answers the role; a deleted service-linked role's task SUCCEEDED."""
    role = iam.create_service_linked_role(AWSServiceName="elasticbeanstalk.amazonaws.com")["Role"]
    updated = iam.update_role_description(RoleName=role["RoleName"], Description="described")
    assert updated["Role"]["Description"] == "described"
    task = iam.delete_service_linked_role(RoleName=role["RoleName"])["DeletionTaskId"]
    status = iam.get_service_linked_role_deletion_status(DeletionTaskId=task)
    assert status["Status"] == "SUCCEEDED"
    assert error_of(iam.get_service_linked_role_deletion_status, DeletionTaskId="bogus")[:2] == (
        "InvalidInput",
        400,
    )


def test_a_rename_needs_permission_on_the_old_and_the_new_name(iam: Any, cluster: Cluster) -> None:
    """As in AWS, UpdateUser/UpdateGroup are authorized on the source and the target ARN."""
    account = cluster.account
    iam.create_user(UserName="rn-admin")
    key = iam.create_access_key(UserName="rn-admin")["AccessKey"]
    iam.create_user(UserName="rn-old")
    iam.create_group(GroupName="rn-group")
    only_old = document(
        {
            "Effect": "Allow",
            "Action": ["iam:UpdateUser", "iam:UpdateGroup"],
            "Resource": [
                f"arn:aws:iam::{account}:user/rn-old",
                f"arn:aws:iam::{account}:group/rn-group",
            ],
        }
    )
    granted = iam.put_user_policy(UserName="rn-admin", PolicyName="rn", PolicyDocument=only_old)
    cluster.wait_converged(version_of(granted))
    admin = cluster.iam(
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    code, status, message = error_of(admin.update_user, UserName="rn-old", NewUserName="rn-new")
    assert (code, status) == ("AccessDenied", 403)
    assert f"arn:aws:iam::{account}:user/rn-new" in message
    code, _, message = error_of(admin.update_group, GroupName="rn-group", NewPath="/moved/")
    assert code == "AccessDenied"
    assert f"arn:aws:iam::{account}:group/moved/rn-group" in message
    assert iam.get_user(UserName="rn-old")["User"]["UserName"] == "rn-old"

    both = only_old.replace("user/rn-old", "user/rn-*").replace("group/rn-group", "group/*")
    granted = iam.put_user_policy(UserName="rn-admin", PolicyName="rn", PolicyDocument=both)
    cluster.wait_converged(version_of(granted))
    admin.update_user(UserName="rn-old", NewUserName="rn-new")
    admin.update_group(GroupName="rn-group", NewPath="/moved/")
    assert iam.get_user(UserName="rn-new")["User"]["UserName"] == "rn-new"
    assert iam.get_group(GroupName="rn-group")["Group"]["Path"] == "/moved/"
