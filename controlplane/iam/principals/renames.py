"""UpdateUser and UpdateGroup: a new name and/or path, everything else carried over.

Users and groups are keyed by (account, lower-cased name), and what belongs to them names
them: access keys and MFA devices name their user, users name their groups. A rename is
therefore one ``batch.put`` event that deletes the old keys and puts the entity and its
dependents under the new name, folded atomically, so no replica ever sees a user without
its keys. A change of path or of letter case alone keeps the key and is a plain put.

As in AWS, the caller must be allowed on both the old and the new ARN; the unique id
stays, policies stay with the entity and group members stay members; policies that name the
entity as a resource are not rewritten.
"""

from __future__ import annotations

from datetime import datetime

from controlplane.iam.operation import (
    Change,
    HandlerResult,
    Operation,
    OperationKind,
    Params,
    Requester,
)
from controlplane.iam.principals.groups import GROUPS, group_resource, require_group
from controlplane.iam.principals.users import USERS, require_user, user_resource
from controlplane.iam.support.named_entities import key_of
from replication.entities import Entity, EntityKey, Group, User
from replication.state import IamState

__all__ = ["OPERATIONS", "update_group", "update_user"]


def _renamed_user(state: IamState, user: User, new_name: str) -> Change:
    """The batch that moves a user, its access keys and its MFA devices to ``new_name``."""
    keys = state.keys_of(user.account, user.name)
    devices = [
        d
        for (account, _), d in state.mfa_devices.items()
        if account == user.account and d.user_name and d.user_name.lower() == user.name.lower()
    ]
    deletes = [key_of(user)]
    deletes += [
        EntityKey(entity="access_key", account=user.account, name=k.access_key_id) for k in keys
    ]
    moved: list[Entity] = [user.model_copy(update={"name": new_name})]
    moved += [k.model_copy(update={"user_name": new_name}) for k in keys]
    moved += [d.model_copy(update={"user_name": new_name}) for d in devices]
    return Change.batch(moved, deletes)


def update_user(state: IamState, params: Params, caller: Requester, now: datetime) -> HandlerResult:
    """UpdateUser: rename and/or move a user; keys, groups, policies and tags carry over."""
    user = require_user(state, caller.account, params["UserName"])
    new_name = USERS.new_name(state, params, caller, user)
    user = user.model_copy(update={"path": params.get("NewPath", user.path)})
    if new_name == user.name:
        return HandlerResult({}, Change.put(user))
    return HandlerResult({}, _renamed_user(state, user, new_name))


def _renamed_group(state: IamState, group: Group, new_name: str) -> Change:
    """The batch that moves a group to ``new_name`` and renames it in its members."""
    old = group.name.lower()
    members = [
        u.model_copy(
            update={"groups": tuple(new_name if g.lower() == old else g for g in u.groups)}
        )
        for u in state.members_of(group)
    ]
    moved: list[Entity] = [group.model_copy(update={"name": new_name}), *members]
    return Change.batch(moved, [key_of(group)])


def update_group(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """UpdateGroup: rename and/or move a group; members and policies carry over."""
    group = require_group(state, caller.account, params["GroupName"])
    new_name = GROUPS.new_name(state, params, caller, group)
    group = group.model_copy(update={"path": params.get("NewPath", group.path)})
    if new_name == group.name:
        return HandlerResult({}, Change.put(group))
    return HandlerResult({}, _renamed_group(state, group, new_name))


OPERATIONS = (
    Operation(
        "UpdateUser", update_user, user_resource, OperationKind.WRITE, target=USERS.rename_target
    ),
    Operation(
        "UpdateGroup",
        update_group,
        group_resource,
        OperationKind.WRITE,
        target=GROUPS.rename_target,
    ),
)
