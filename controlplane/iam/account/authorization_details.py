"""GetAccountAuthorizationDetails: every user, group, role and policy with their policies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from controlplane.iam.operation import (
    HandlerResult,
    Operation,
    OperationKind,
    Params,
    Requester,
    any_resource,
)
from controlplane.iam.policies.documents import encoded
from controlplane.iam.policies.managed_policies import policy_shape, usage_of
from controlplane.iam.policies.policy_refs import boundary_shape
from controlplane.iam.principals.groups import group_shape
from controlplane.iam.principals.roles import role_shape
from controlplane.iam.principals.users import user_shape
from controlplane.iam.resources.instance_profiles import profile_shape, profiles_of
from controlplane.iam.support.tags import tag_shapes
from replication.aws_managed import AWS_MANAGED_POLICIES
from replication.entities import Group, ManagedPolicy, Role, User
from replication.state import IamState

__all__ = ["OPERATIONS"]


def _inline(entity: User | Group | Role) -> list[dict[str, str]]:
    return [
        {"PolicyName": name, "PolicyDocument": encoded(document)}
        for name, document in sorted(entity.inline_policies.items())
    ]


def _attached(state: IamState, entity: User | Group | Role) -> list[dict[str, str]]:
    found = (state.managed_policy(arn) for arn in entity.attached_policies)
    return [{"PolicyName": p.name, "PolicyArn": p.arn} for p in found if p is not None]


def _user_detail(state: IamState, user: User) -> dict[str, Any]:
    return user_shape(user) | {
        "UserPolicyList": _inline(user),
        "GroupList": list(user.groups),
        "AttachedManagedPolicies": _attached(state, user),
    }


def _group_detail(state: IamState, group: Group) -> dict[str, Any]:
    return group_shape(group) | {
        "GroupPolicyList": _inline(group),
        "AttachedManagedPolicies": _attached(state, group),
    }


def _role_detail(state: IamState, role: Role) -> dict[str, Any]:
    profiles = [
        profile_shape(state, p)
        for p in profiles_of(state, role.account)
        if role.name.lower() in (r.lower() for r in p.roles)
    ]
    shape = role_shape(state, role, full=False) | boundary_shape(role.permissions_boundary)
    for member in ("MaxSessionDuration", "Description"):  # not members of RoleDetail
        shape.pop(member, None)
    return shape | {
        "InstanceProfileList": profiles,
        "RolePolicyList": _inline(role),
        "AttachedManagedPolicies": _attached(state, role),
        "Tags": tag_shapes(role.tags),
        "RoleLastUsed": {},
    }


def _policy_details(state: IamState, caller: Requester, kinds: set[str]) -> list[dict[str, Any]]:
    usage = usage_of(state, caller.account)
    policies: list[ManagedPolicy] = []
    if "LocalManagedPolicy" in kinds:
        policies += state.managed_policies_of(caller.account)
    if "AWSManagedPolicy" in kinds:
        policies += [p for p in AWS_MANAGED_POLICIES.values() if usage.attachments[p.arn]]
    return [
        policy_shape(p, usage, full=False)
        | {
            "PolicyVersionList": [
                {
                    "Document": encoded(v.document),
                    "VersionId": v.version_id,
                    "IsDefaultVersion": v.version_id == p.default_version,
                    "CreateDate": v.created_at,
                }
                for v in p.versions
            ]
        }
        for p in policies
    ]


def get_account_authorization_details(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """GetAccountAuthorizationDetails: every user, group, role and policy with their policies."""
    kinds = set(
        params.get("Filter") or ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"]
    )
    account = caller.account
    result: dict[str, Any] = {
        "UserDetailList": [_user_detail(state, u) for u in state.users_of(account)]
        if "User" in kinds
        else [],
        "GroupDetailList": [_group_detail(state, g) for g in state.groups_of(account)]
        if "Group" in kinds
        else [],
        "RoleDetailList": [_role_detail(state, r) for r in state.roles_of(account)]
        if "Role" in kinds
        else [],
        "Policies": _policy_details(state, caller, kinds),
        "IsTruncated": False,
    }
    return HandlerResult(result)


OPERATIONS = (
    Operation(
        "GetAccountAuthorizationDetails",
        get_account_authorization_details,
        any_resource,
        OperationKind.READ,
    ),
)
