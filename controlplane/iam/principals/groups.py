"""IAM groups: Create/Get/List/DeleteGroup, membership, and group inline policies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from controlplane.iam.operation import (
    Change,
    HandlerResult,
    Operation,
    OperationKind,
    Params,
    Requester,
    listing_resource,
)
from controlplane.iam.policies.inline_policies import InlineKind, inline_policy_handlers
from controlplane.iam.policies.policy_refs import refuse_while_policies_held
from controlplane.iam.principals.users import require_user, user_resource, user_shape
from controlplane.iam.support.errors import (
    delete_conflict,
    no_such_entity,
    quota_exceeded,
)
from controlplane.iam.support.named_entities import NamedKind, key_of, page_by_name, page_under_path
from replication.arns import group_arn
from replication.entities import Group
from replication.ids import IdPrefix, new_unique_id
from replication.policy import INLINE_AGGREGATE_LIMITS
from replication.state import IamState

__all__ = ["GROUPS", "OPERATIONS", "group_resource", "group_shape", "require_group"]

GROUPS_PER_ACCOUNT = 300
GROUPS_PER_USER = 10


def group_shape(group: Group) -> dict[str, Any]:
    """The ``Group`` structure of IAM's responses."""
    return {
        "Path": group.path,
        "GroupName": group.name,
        "GroupId": group.group_id,
        "Arn": group.arn,
        "CreateDate": group.created_at,
    }


GROUPS: NamedKind[Group] = NamedKind(
    name_param="GroupName",
    find=IamState.group,
    arn_for=group_arn,
    missing="The group with name {name} cannot be found.",
    taken="Group with name {name} already exists.",
)
require_group = GROUPS.require
group_resource = GROUPS.resource


def create_group(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """CreateGroup: a new group with a fresh AGPA id; names are unique ignoring case."""
    name = GROUPS.unused_name(state, params, caller)
    if len(state.groups_of(caller.account)) >= GROUPS_PER_ACCOUNT:
        raise quota_exceeded("GroupsPerAccount", GROUPS_PER_ACCOUNT)
    group = Group(
        account=caller.account,
        name=name,
        path=params.get("Path", "/"),
        group_id=new_unique_id(IdPrefix.GROUP),
        created_at=now,
    )
    change = Change.put(group)
    return HandlerResult({"Group": group_shape(group)}, change)


def get_group(state: IamState, params: Params, caller: Requester, now: datetime) -> HandlerResult:
    """GetGroup: the group and its members, paginated."""
    group = require_group(state, caller.account, params["GroupName"])
    page, more = page_by_name(state.members_of(group), params)
    return HandlerResult(
        {"Group": group_shape(group), "Users": [user_shape(u) for u in page], **more}
    )


def list_groups(state: IamState, params: Params, caller: Requester, now: datetime) -> HandlerResult:
    """ListGroups: groups under a path prefix, sorted by name."""
    page, more = page_under_path(state.groups_of(caller.account), params)
    return HandlerResult({"Groups": [group_shape(g) for g in page], **more})


def delete_group(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DeleteGroup: refused while it has members, inline or attached policies."""
    group = require_group(state, caller.account, params["GroupName"])
    if state.members_of(group):
        raise delete_conflict("Cannot delete entity, must remove users from group first.")
    refuse_while_policies_held(group)
    return HandlerResult({}, Change.delete(key_of(group)))


def add_user_to_group(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """AddUserToGroup: idempotent; a user is in at most ten groups."""
    group = require_group(state, caller.account, params["GroupName"])
    user = require_user(state, caller.account, params["UserName"])
    if any(g.lower() == group.name.lower() for g in user.groups):
        return HandlerResult({})
    if len(user.groups) >= GROUPS_PER_USER:
        raise quota_exceeded("GroupsPerUser", GROUPS_PER_USER)
    changed = user.model_copy(update={"groups": (*user.groups, group.name)})
    return HandlerResult({}, Change.put(changed))


def remove_user_from_group(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """RemoveUserFromGroup: NoSuchEntity when the user is not a member."""
    group = require_group(state, caller.account, params["GroupName"])
    user = require_user(state, caller.account, params["UserName"])
    remaining = tuple(g for g in user.groups if g.lower() != group.name.lower())
    if remaining == user.groups:
        raise no_such_entity(f"The user with name {user.name} cannot be found.")
    changed = user.model_copy(update={"groups": remaining})
    return HandlerResult({}, Change.put(changed))


def list_groups_for_user(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListGroupsForUser: the user's groups, sorted by name."""
    user = require_user(state, caller.account, params["UserName"])
    page, more = page_by_name(state.groups_of_user(user), params)
    return HandlerResult({"Groups": [group_shape(g) for g in page], **more})


_group_inline = inline_policy_handlers(
    InlineKind("Group", require_group, INLINE_AGGREGATE_LIMITS["group"])
)

OPERATIONS = (
    Operation("CreateGroup", create_group, group_resource, OperationKind.WRITE),
    Operation("GetGroup", get_group, group_resource, OperationKind.READ),
    Operation("ListGroups", list_groups, listing_resource("group"), OperationKind.READ),
    Operation("DeleteGroup", delete_group, group_resource, OperationKind.WRITE),
    Operation("AddUserToGroup", add_user_to_group, group_resource, OperationKind.WRITE),
    Operation("RemoveUserFromGroup", remove_user_from_group, group_resource, OperationKind.WRITE),
    Operation("ListGroupsForUser", list_groups_for_user, user_resource, OperationKind.READ),
    Operation("PutGroupPolicy", _group_inline.put, group_resource, OperationKind.WRITE),
    Operation("GetGroupPolicy", _group_inline.get, group_resource, OperationKind.READ),
    Operation("ListGroupPolicies", _group_inline.list, group_resource, OperationKind.READ),
    Operation("DeleteGroupPolicy", _group_inline.delete, group_resource, OperationKind.WRITE),
)
