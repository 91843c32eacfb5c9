"""Roles through boto3: trust policies and their principal rules (R22), updates, conflicts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.controlplane.conftest import allow, error_of, trust

pytestmark = pytest.mark.e2e

SERVICE_TRUST = trust({"Service": "ec2.amazonaws.com"})


def test_role_lifecycle(iam: Any) -> None:
    """A role is created with its trust policy, updated, tagged and deleted."""
    role = iam.create_role(
        RoleName="r-life",
        Path="/app/",
        AssumeRolePolicyDocument=SERVICE_TRUST,
        Description="first",
        Tags=[{"Key": "team", "Value": "a"}],
    )["Role"]
    assert role["RoleId"].startswith("AROA")
    assert role["Arn"].endswith(":role/app/r-life")
    iam.update_role(RoleName="r-life", Description="second", MaxSessionDuration=7200)
    got = iam.get_role(RoleName="R-LIFE")["Role"]
    assert (got["Description"], got["MaxSessionDuration"]) == ("second", 7200)
    assert got["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "ec2.amazonaws.com"
    }
    iam.tag_role(RoleName="r-life", Tags=[{"Key": "TEAM", "Value": "b"}])
    assert iam.list_role_tags(RoleName="r-life")["Tags"] == [{"Key": "TEAM", "Value": "b"}]
    iam.untag_role(RoleName="r-life", TagKeys=["team"])
    assert iam.list_role_tags(RoleName="r-life")["Tags"] == []
    iam.put_role_policy(RoleName="r-life", PolicyName="p", PolicyDocument=allow("s3:*"))
    assert iam.list_role_policies(RoleName="r-life")["PolicyNames"] == ["p"]
    assert error_of(iam.delete_role, RoleName="r-life") == (
        "DeleteConflict",
        409,
        "Cannot delete entity, must delete policies first.",
    )
    iam.delete_role_policy(RoleName="r-life", PolicyName="p")
    iam.delete_role(RoleName="r-life")
    assert error_of(iam.get_role, RoleName="r-life") == (
        "NoSuchEntity",
        404,
        "The role with name r-life cannot be found.",
    )


def test_role_errors(iam: Any) -> None:
    """Duplicate names, a non-trust document and a missing role are refused."""
    iam.create_role(RoleName="r-err", AssumeRolePolicyDocument=SERVICE_TRUST)
    assert error_of(iam.create_role, RoleName="R-ERR", AssumeRolePolicyDocument=SERVICE_TRUST)[
        :2
    ] == ("EntityAlreadyExists", 409)
    assert error_of(iam.create_role, RoleName="r-err2", AssumeRolePolicyDocument=allow("s3:*"))[
        :2
    ] == ("MalformedPolicyDocument", 400)
    assert error_of(iam.update_role, RoleName="r-none", Description="x")[:2] == (
        "NoSuchEntity",
        404,
    )
    assert error_of(iam.get_role_policy, RoleName="r-err", PolicyName="x")[2] == (
        "The role policy with name x cannot be found."
    )


def test_trust_policy_naming_a_missing_user_is_invalid_principal(iam: Any) -> None:
    """A trust policy naming a user that does not exist is MalformedPolicyDocument."""
    account = iam.get_user()["User"]["Arn"].split(":")[4]
    ghost = f"arn:aws:iam::{account}:user/ghost"
    assert error_of(
        iam.create_role, RoleName="r-ghost", AssumeRolePolicyDocument=trust({"AWS": ghost})
    ) == ("MalformedPolicyDocument", 400, f'Invalid principal in policy: "AWS":"{ghost}"')


def test_deleted_principal_shows_its_unique_id_and_a_new_one_does_not_match(iam: Any) -> None:
    """R22: a deleted user shows as its unique ID; re-creating the name does not bring it back."""
    user = iam.create_user(UserName="r-trusted")["User"]
    iam.create_role(RoleName="r-trusting", AssumeRolePolicyDocument=trust({"AWS": user["Arn"]}))

    def shown() -> Any:
        role = iam.get_role(RoleName="r-trusting")["Role"]
        return role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"]

    assert shown() == user["Arn"]
    iam.delete_user(UserName="r-trusted")
    assert shown() == user["UserId"]
    iam.create_user(UserName="r-trusted")
    assert shown() == user["UserId"]
    iam.update_assume_role_policy(RoleName="r-trusting", PolicyDocument=trust({"AWS": user["Arn"]}))
    assert shown() == user["Arn"]


def test_service_linked_role(iam: Any) -> None:
    """CreateServiceLinkedRole puts the role under /aws-service-role/SERVICE/; it is protected."""
    role = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")["Role"]
    assert role["Path"] == "/aws-service-role/autoscaling.amazonaws.com/"
    assert role["RoleName"].startswith("AWSServiceRoleFor")
    assert error_of(iam.delete_role, RoleName=role["RoleName"])[:2] == ("UnmodifiableEntity", 400)
    deletion = iam.delete_service_linked_role(RoleName=role["RoleName"])
    assert deletion["DeletionTaskId"]


def test_list_roles_pages(iam: Any) -> None:
    """ListRoles pages by name under a path prefix."""
    for index in range(3):
        iam.create_role(
            RoleName=f"r-page-{index}", Path="/paged/", AssumeRolePolicyDocument=SERVICE_TRUST
        )
    first = iam.list_roles(PathPrefix="/paged/", MaxItems=2)
    assert first["IsTruncated"] is True
    rest = iam.list_roles(PathPrefix="/paged/", Marker=first["Marker"])
    names = [r["RoleName"] for r in first["Roles"] + rest["Roles"]]
    assert names == ["r-page-0", "r-page-1", "r-page-2"]
