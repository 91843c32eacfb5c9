"""Managed policies through boto3: versions, attachments, quotas, boundaries, conflicts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.controlplane.conftest import allow, error_of, trust

pytestmark = pytest.mark.e2e


def _policy(iam: Any, name: str, action: str = "s3:GetObject") -> str:
    return str(iam.create_policy(PolicyName=name, PolicyDocument=allow(action))["Policy"]["Arn"])


def test_policy_versions_up_to_five_with_one_default(iam: Any) -> None:
    """Versions v2..v5 are created; the sixth is LimitExceeded; the default cannot be deleted."""
    arn = _policy(iam, "mp-versions")
    policy = iam.get_policy(PolicyArn=arn)["Policy"]
    assert policy["PolicyId"].startswith("ANPA")
    assert policy["DefaultVersionId"] == "v1"
    for _ in range(4):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=allow("s3:PutObject"))
    assert error_of(iam.create_policy_version, PolicyArn=arn, PolicyDocument=allow("s3:*")) == (
        "LimitExceeded",
        409,
        "A managed policy can have up to 5 versions. Before you create a new version, you must "
        "delete an existing version.",
    )
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v5", "v4", "v3", "v2", "v1"]
    assert error_of(iam.delete_policy_version, PolicyArn=arn, VersionId="v1") == (
        "DeleteConflict",
        409,
        "Cannot delete the default version of a policy.",
    )
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v3")
    got = iam.get_policy_version(PolicyArn=arn, VersionId="v3")["PolicyVersion"]
    assert got["IsDefaultVersion"] is True
    assert got["Document"]["Statement"][0]["Action"] == "s3:PutObject"
    assert error_of(iam.get_policy_version, PolicyArn=arn, VersionId="v9")[:2] == (
        "NoSuchEntity",
        404,
    )
    assert error_of(iam.delete_policy, PolicyArn=arn)[:2] == ("DeleteConflict", 409)
    for version in ("v1", "v2", "v4", "v5"):
        iam.delete_policy_version(PolicyArn=arn, VersionId=version)
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=allow("s3:*"))
    assert iam.list_policy_versions(PolicyArn=arn)["Versions"][0]["VersionId"] == "v6"
    iam.delete_policy_version(PolicyArn=arn, VersionId="v6")
    iam.delete_policy(PolicyArn=arn)
    assert error_of(iam.get_policy, PolicyArn=arn) == (
        "NoSuchEntity",
        404,
        f"Policy {arn} was not found.",
    )


def test_create_policy_errors(iam: Any) -> None:
    """A duplicate name is EntityAlreadyExists; a bad document is MalformedPolicyDocument."""
    _policy(iam, "mp-dup")
    assert error_of(iam.create_policy, PolicyName="mp-dup", PolicyDocument=allow("s3:*")) == (
        "EntityAlreadyExists",
        409,
        "A policy called mp-dup already exists. Duplicate names are not allowed.",
    )
    bad = trust({"Service": "ec2.amazonaws.com"})
    assert error_of(iam.create_policy, PolicyName="mp-bad", PolicyDocument=bad)[:2] == (
        "MalformedPolicyDocument",
        400,
    )


def test_attach_detach_and_list_entities_for_policy(iam: Any) -> None:
    """A policy attached to a user, group and role is listed for each and blocks deletes."""
    arn = _policy(iam, "mp-attach")
    iam.create_user(UserName="mp-user")
    iam.create_group(GroupName="mp-group")
    iam.create_role(
        RoleName="mp-role", AssumeRolePolicyDocument=trust({"Service": "ec2.amazonaws.com"})
    )
    iam.attach_user_policy(UserName="mp-user", PolicyArn=arn)
    iam.attach_group_policy(GroupName="mp-group", PolicyArn=arn)
    iam.attach_role_policy(RoleName="mp-role", PolicyArn=arn)
    attached = iam.list_attached_user_policies(UserName="mp-user")["AttachedPolicies"]
    assert attached == [{"PolicyName": "mp-attach", "PolicyArn": arn}]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 3
    entities = iam.list_entities_for_policy(PolicyArn=arn)
    assert [u["UserName"] for u in entities["PolicyUsers"]] == ["mp-user"]
    assert [g["GroupName"] for g in entities["PolicyGroups"]] == ["mp-group"]
    assert [r["RoleName"] for r in entities["PolicyRoles"]] == ["mp-role"]
    only_roles = iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="Role")
    assert only_roles["PolicyUsers"] == [] and len(only_roles["PolicyRoles"]) == 1
    assert error_of(iam.delete_policy, PolicyArn=arn) == (
        "DeleteConflict",
        409,
        "Cannot delete a policy attached to entities.",
    )
    assert error_of(iam.delete_user, UserName="mp-user")[2] == (
        "Cannot delete entity, must detach all policies first."
    )
    assert error_of(iam.delete_role, RoleName="mp-role")[2] == (
        "Cannot delete entity, must detach all policies first."
    )
    iam.detach_user_policy(UserName="mp-user", PolicyArn=arn)
    assert error_of(iam.detach_user_policy, UserName="mp-user", PolicyArn=arn) == (
        "NoSuchEntity",
        404,
        f"Policy {arn} was not found.",
    )
    attached_roles = iam.list_attached_role_policies(RoleName="mp-role")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached_roles] == [arn]
    iam.detach_group_policy(GroupName="mp-group", PolicyArn=arn)
    iam.detach_role_policy(RoleName="mp-role", PolicyArn=arn)
    iam.delete_policy(PolicyArn=arn)


def test_attaching_a_missing_policy_and_the_ten_policy_quota(iam: Any) -> None:
    """A missing ARN is NoSuchEntity; the eleventh attachment is LimitExceeded."""
    iam.create_user(UserName="mp-quota")
    account = iam.get_user()["User"]["Arn"].split(":")[4]
    missing = f"arn:aws:iam::{account}:policy/none"
    assert error_of(iam.attach_user_policy, UserName="mp-quota", PolicyArn=missing) == (
        "NoSuchEntity",
        404,
        f"Policy {missing} does not exist or is not attachable.",
    )
    iam.attach_user_policy(UserName="mp-quota", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    for index in range(9):
        iam.attach_user_policy(UserName="mp-quota", PolicyArn=_policy(iam, f"mp-q-{index}"))
    assert error_of(
        iam.attach_user_policy, UserName="mp-quota", PolicyArn=_policy(iam, "mp-q-extra")
    ) == ("LimitExceeded", 409, "Cannot exceed quota for PoliciesPerUser: 10")


def test_list_policies_scopes_and_pagination(iam: Any) -> None:
    """Scope=AWS lists the catalogue, Scope=Local the account's, paginated by name."""
    for index in range(3):
        iam.create_policy(
            PolicyName=f"mp-list-{index}", Path="/listed/", PolicyDocument=allow("s3:*")
        )
    aws = iam.list_policies(Scope="AWS")["Policies"]
    assert "AdministratorAccess" in [p["PolicyName"] for p in aws]
    first = iam.list_policies(Scope="Local", PathPrefix="/listed/", MaxItems=2)
    assert first["IsTruncated"] is True
    rest = iam.list_policies(Scope="Local", PathPrefix="/listed/", Marker=first["Marker"])
    names = [p["PolicyName"] for p in first["Policies"] + rest["Policies"]]
    assert names == ["mp-list-0", "mp-list-1", "mp-list-2"]


def test_permissions_boundaries_and_policy_tags(iam: Any) -> None:
    """A boundary set at creation or later shows on the entity and counts as a use."""
    arn = _policy(iam, "mp-boundary")
    user = iam.create_user(UserName="mp-bounded", PermissionsBoundary=arn)["User"]
    assert user["PermissionsBoundary"]["PermissionsBoundaryArn"] == arn
    iam.create_role(
        RoleName="mp-bounded", AssumeRolePolicyDocument=trust({"Service": "ec2.amazonaws.com"})
    )
    iam.put_role_permissions_boundary(RoleName="mp-bounded", PermissionsBoundary=arn)
    role = iam.get_role(RoleName="mp-bounded")["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == arn
    assert iam.get_policy(PolicyArn=arn)["Policy"]["PermissionsBoundaryUsageCount"] == 2
    assert error_of(iam.delete_policy, PolicyArn=arn)[:2] == ("DeleteConflict", 409)
    iam.delete_user_permissions_boundary(UserName="mp-bounded")
    iam.delete_role_permissions_boundary(RoleName="mp-bounded")
    assert "PermissionsBoundary" not in iam.get_user(UserName="mp-bounded")["User"]
    iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    iam.untag_policy(PolicyArn=arn, TagKeys=["k"])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == []
    iam.delete_policy(PolicyArn=arn)


def test_user_tags(iam: Any) -> None:
    """Tag/Untag/ListUserTags; a tag key replaces one that differs only in case."""
    iam.create_user(UserName="mp-tagged", Tags=[{"Key": "a", "Value": "1"}])
    iam.tag_user(
        UserName="mp-tagged", Tags=[{"Key": "A", "Value": "2"}, {"Key": "b", "Value": "3"}]
    )
    tags = iam.list_user_tags(UserName="mp-tagged")["Tags"]
    assert tags == [{"Key": "A", "Value": "2"}, {"Key": "b", "Value": "3"}]
    iam.untag_user(UserName="mp-tagged", TagKeys=["b"])
    assert iam.list_user_tags(UserName="mp-tagged")["Tags"] == [{"Key": "A", "Value": "2"}]
