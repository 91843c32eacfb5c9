"""Groups through boto3: lifecycle, membership, inline policies, AWS's errors and pagination."""

from __future__ import annotations

from typing import Any

import pytest

from tests.controlplane.conftest import allow, error_of

pytestmark = pytest.mark.e2e


def test_group_lifecycle_with_members_and_inline_policies(iam: Any) -> None:
    """A group is created, gains a member and a policy, and is deleted once emptied."""
    group = iam.create_group(GroupName="g-life", Path="/team/")["Group"]
    assert group["GroupId"].startswith("AGPA")
    assert group["Arn"].endswith(":group/team/g-life")
    iam.create_user(UserName="g-life-user")
    iam.add_user_to_group(GroupName="g-life", UserName="g-life-user")
    iam.add_user_to_group(GroupName="G-LIFE", UserName="g-life-user")  # idempotent, any case
    answer = iam.get_group(GroupName="g-life")
    assert [u["UserName"] for u in answer["Users"]] == ["g-life-user"]
    groups = iam.list_groups_for_user(UserName="g-life-user")["Groups"]
    assert [g["GroupName"] for g in groups] == ["g-life"]
    iam.put_group_policy(GroupName="g-life", PolicyName="s3", PolicyDocument=allow("s3:*"))
    got = iam.get_group_policy(GroupName="g-life", PolicyName="s3")
    assert got["PolicyDocument"]["Statement"][0]["Action"] == "s3:*"
    assert iam.list_group_policies(GroupName="g-life")["PolicyNames"] == ["s3"]
    iam.delete_group_policy(GroupName="g-life", PolicyName="s3")
    iam.remove_user_from_group(GroupName="g-life", UserName="g-life-user")
    iam.delete_group(GroupName="g-life")
    iam.delete_user(UserName="g-life-user")
    assert "g-life" not in [g["GroupName"] for g in iam.list_groups()["Groups"]]


def test_group_errors_have_aws_codes_and_statuses(iam: Any) -> None:
    """Duplicate, missing and non-member calls fail as AWS fails them."""
    iam.create_group(GroupName="g-err")
    iam.create_user(UserName="g-err-user")
    assert error_of(iam.create_group, GroupName="G-ERR")[:2] == ("EntityAlreadyExists", 409)
    code, status, message = error_of(iam.get_group, GroupName="g-none")
    assert (code, status, message) == (
        "NoSuchEntity",
        404,
        "The group with name g-none cannot be found.",
    )
    assert error_of(iam.remove_user_from_group, GroupName="g-err", UserName="g-err-user")[:2] == (
        "NoSuchEntity",
        404,
    )
    assert error_of(iam.get_group_policy, GroupName="g-err", PolicyName="x")[2] == (
        "The group policy with name x cannot be found."
    )
    assert error_of(iam.put_group_policy, GroupName="g-err", PolicyName="bad", PolicyDocument="{}")[
        :2
    ] == ("MalformedPolicyDocument", 400)


def test_delete_conflicts_for_groups_and_members(iam: Any) -> None:
    """A group with members or policies, and a user in a group, cannot be deleted."""
    iam.create_group(GroupName="g-conf")
    iam.create_user(UserName="g-conf-user")
    iam.add_user_to_group(GroupName="g-conf", UserName="g-conf-user")
    assert error_of(iam.delete_group, GroupName="g-conf") == (
        "DeleteConflict",
        409,
        "Cannot delete entity, must remove users from group first.",
    )
    assert error_of(iam.delete_user, UserName="g-conf-user") == (
        "DeleteConflict",
        409,
        "Cannot delete entity, must remove user from all groups first.",
    )
    iam.remove_user_from_group(GroupName="g-conf", UserName="g-conf-user")
    iam.put_group_policy(GroupName="g-conf", PolicyName="p", PolicyDocument=allow("s3:*"))
    assert error_of(iam.delete_group, GroupName="g-conf")[2] == (
        "Cannot delete entity, must delete policies first."
    )


def test_groups_per_user_quota_is_ten(iam: Any) -> None:
    """The eleventh group of a user is LimitExceeded."""
    iam.create_user(UserName="g-quota-user")
    for index in range(10):
        iam.create_group(GroupName=f"g-quota-{index}")
        iam.add_user_to_group(GroupName=f"g-quota-{index}", UserName="g-quota-user")
    iam.create_group(GroupName="g-quota-10")
    assert error_of(iam.add_user_to_group, GroupName="g-quota-10", UserName="g-quota-user") == (
        "LimitExceeded",
        409,
        "Cannot exceed quota for GroupsPerUser: 10",
    )


def test_list_groups_paginates_with_marker(iam: Any) -> None:
    """ListGroups pages with MaxItems/Marker/IsTruncated, and the paginator sees every group."""
    for index in range(5):
        iam.create_group(GroupName=f"g-page-{index}", Path="/paged/")
    first = iam.list_groups(PathPrefix="/paged/", MaxItems=2)
    assert first["IsTruncated"] is True
    assert [g["GroupName"] for g in first["Groups"]] == ["g-page-0", "g-page-1"]
    second = iam.list_groups(PathPrefix="/paged/", MaxItems=2, Marker=first["Marker"])
    assert [g["GroupName"] for g in second["Groups"]] == ["g-page-2", "g-page-3"]
    pages = iam.get_paginator("list_groups").paginate(
        PathPrefix="/paged/", PaginationConfig={"PageSize": 2}
    )
    names = [g["GroupName"] for page in pages for g in page["Groups"]]
    assert names == [f"g-page-{i}" for i in range(5)]
