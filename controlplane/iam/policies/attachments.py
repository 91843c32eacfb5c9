"""Managed policy attachments: Attach/Detach/ListAttached{User,Group,Role}Policies,
ListEntitiesForPolicy. An attachment is kept on the user, group or role that holds it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from controlplane.iam.operation import (
    Change,
    Handler,
    HandlerResult,
    Operation,
    OperationKind,
    Params,
    Requester,
)
from controlplane.iam.policies.managed_policies import policy_resource, require_policy
from controlplane.iam.policies.policy_refs import require_attachable
from controlplane.iam.principals.groups import group_resource, require_group
from controlplane.iam.principals.roles import require_role, role_resource
from controlplane.iam.principals.users import require_user, user_resource
from controlplane.iam.support.errors import no_such_entity, quota_exceeded
from controlplane.iam.support.pagination import paginate
from replication.entities import Group, Role, User
from replication.state import IamState

__all__ = ["MANAGED_POLICIES_PER_ENTITY", "OPERATIONS"]

MANAGED_POLICIES_PER_ENTITY = 10
Holder = User | Group | Role


class AttachmentHandlers(NamedTuple):
    """The handlers of one holder kind's Attach*, Detach* and ListAttached*Policies."""

    attach: Handler
    detach: Handler
    list_attached: Handler


def _handlers(noun: str, require: Callable[[IamState, str, str], Holder]) -> AttachmentHandlers:
    param = f"{noun}Name"

    def holder(state: IamState, params: Params, caller: Requester) -> Holder:
        return require(state, caller.account, params[param])

    def attach(state: IamState, params: Params, caller: Requester, now: datetime) -> HandlerResult:
        entity = holder(state, params, caller)
        policy = require_attachable(state, params["PolicyArn"], caller.account)
        if policy.arn in entity.attached_policies:
            return HandlerResult({})
        if len(entity.attached_policies) >= MANAGED_POLICIES_PER_ENTITY:
            raise quota_exceeded(f"PoliciesPer{noun}", MANAGED_POLICIES_PER_ENTITY)
        changed = entity.model_copy(
            update={"attached_policies": (*entity.attached_policies, policy.arn)}
        )
        return HandlerResult({}, Change.put(changed))

    def detach(state: IamState, params: Params, caller: Requester, now: datetime) -> HandlerResult:
        entity = holder(state, params, caller)
        arn = params["PolicyArn"]
        if arn not in entity.attached_policies:
            raise no_such_entity(f"Policy {arn} was not found.")
        remaining = tuple(a for a in entity.attached_policies if a != arn)
        changed = entity.model_copy(update={"attached_policies": remaining})
        return HandlerResult({}, Change.put(changed))

    def list_attached(
        state: IamState, params: Params, caller: Requester, now: datetime
    ) -> HandlerResult:
        entity = holder(state, params, caller)
        prefix = params.get("PathPrefix", "/")
        found = [state.managed_policy(arn) for arn in entity.attached_policies]
        shown = [
            {"PolicyName": p.name, "PolicyArn": p.arn}
            for p in found
            if p is not None and p.path.startswith(prefix)
        ]
        page, more = paginate(shown, params, key=lambda s: f"{s['PolicyName']}\x00{s['PolicyArn']}")
        return HandlerResult({"AttachedPolicies": page, **more})

    return AttachmentHandlers(attach, detach, list_attached)


def list_entities_for_policy(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListEntitiesForPolicy: the users, groups and roles of the account attaching a policy."""
    policy = require_policy(state, params["PolicyArn"])
    usage = params.get("PolicyUsageFilter")
    only = params.get("EntityFilter")
    prefix = params.get("PathPrefix", "/")

    def uses(entity: Holder) -> bool:
        boundary = getattr(entity, "permissions_boundary", None)
        attached = policy.arn in entity.attached_policies
        as_boundary = boundary == policy.arn
        if usage == "PermissionsPolicy":
            return attached
        if usage == "PermissionsBoundary":
            return as_boundary
        return attached or as_boundary

    found: list[tuple[str, str, dict[str, Any]]] = []
    if only in (None, "User"):
        found += [
            ("PolicyUsers", f"u{u.name.lower()}", {"UserName": u.name, "UserId": u.user_id})
            for u in state.users_of(caller.account)
            if uses(u) and u.path.startswith(prefix)
        ]
    if only in (None, "Group"):
        found += [
            ("PolicyGroups", f"g{g.name.lower()}", {"GroupName": g.name, "GroupId": g.group_id})
            for g in state.groups_of(caller.account)
            if uses(g) and g.path.startswith(prefix)
        ]
    if only in (None, "Role"):
        found += [
            ("PolicyRoles", f"r{r.name.lower()}", {"RoleName": r.name, "RoleId": r.role_id})
            for r in state.roles_of(caller.account)
            if uses(r) and r.path.startswith(prefix)
        ]
    found.sort(key=lambda item: item[1])
    page, more = paginate(found, params, key=lambda item: item[1])
    result: dict[str, Any] = {"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": []}
    for member, _, shape in page:
        result[member].append(shape)
    return HandlerResult({**result, **more})


_user = _handlers("User", require_user)
_group = _handlers("Group", require_group)
_role = _handlers("Role", require_role)

OPERATIONS = (
    Operation("AttachUserPolicy", _user.attach, user_resource, OperationKind.WRITE),
    Operation("DetachUserPolicy", _user.detach, user_resource, OperationKind.WRITE),
    Operation("ListAttachedUserPolicies", _user.list_attached, user_resource, OperationKind.READ),
    Operation("AttachGroupPolicy", _group.attach, group_resource, OperationKind.WRITE),
    Operation("DetachGroupPolicy", _group.detach, group_resource, OperationKind.WRITE),
    Operation(
        "ListAttachedGroupPolicies", _group.list_attached, group_resource, OperationKind.READ
    ),
    Operation("AttachRolePolicy", _role.attach, role_resource, OperationKind.WRITE),
    Operation("DetachRolePolicy", _role.detach, role_resource, OperationKind.WRITE),
    Operation("ListAttachedRolePolicies", _role.list_attached, role_resource, OperationKind.READ),
    Operation(
        "ListEntitiesForPolicy", list_entities_for_policy, policy_resource, OperationKind.READ
    ),
)
