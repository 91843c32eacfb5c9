"""IAM users: CreateUser, GetUser, ListUsers, DeleteUser."""

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
from controlplane.iam.policies.policy_refs import (
    boundary_shape,
    refuse_while_policies_held,
    require_attachable,
)
from controlplane.iam.support.errors import (
    delete_conflict,
    quota_exceeded,
)
from controlplane.iam.support.named_entities import NamedKind, key_of, page_under_path
from controlplane.iam.support.tags import tag_handlers, tags_member, tags_of
from replication.arns import root_arn, user_arn
from replication.entities import User
from replication.ids import IdPrefix, new_unique_id
from replication.state import IamState

__all__ = ["OPERATIONS", "USERS", "require_user", "user_of_call", "user_shape"]

USERS_PER_ACCOUNT = 5000


def user_shape(user: User) -> dict[str, Any]:
    """The ``User`` structure of IAM's responses."""
    shape: dict[str, Any] = {
        "Path": user.path,
        "UserName": user.name,
        "UserId": user.user_id,
        "Arn": user.arn,
        "CreateDate": user.created_at,
    }
    return shape | boundary_shape(user.permissions_boundary) | tags_member(user.tags)


USERS: NamedKind[User] = NamedKind(
    name_param="UserName",
    find=IamState.user,
    arn_for=user_arn,
    missing="The user with name {name} cannot be found.",
    taken="User with name {name} already exists.",
)
require_user = USERS.require


def user_of_call(state: IamState, params: Params, caller: Requester) -> User | None:
    """The user the call names, else the calling user (None: the root user, who has no user
    entity); NoSuchEntity when the named user does not exist."""
    name = caller.user_named_or_self(params)
    return require_user(state, caller.account, name) if name else None


def user_resource(state: IamState, params: Params, caller: Requester) -> str:
    """The ARN a user action is authorized on (the user's own path when it exists)."""
    name = params.get("UserName")
    if name is None:
        return caller.arn
    existing = state.user(caller.account, name)
    path = existing.path if existing else params.get("Path", "/")
    return user_arn(caller.account, path, existing.name if existing else name)


def create_user(state: IamState, params: Params, caller: Requester, now: datetime) -> HandlerResult:
    """CreateUser: a new user with a fresh AIDA id; names are unique ignoring case."""
    name = USERS.unused_name(state, params, caller)
    # counting the account's users walks every user: only when all accounts hold enough
    if len(state.users) >= USERS_PER_ACCOUNT and state.user_count(caller.account) >= (
        USERS_PER_ACCOUNT
    ):
        raise quota_exceeded("UsersPerAccount", USERS_PER_ACCOUNT)
    boundary = params.get("PermissionsBoundary")
    if boundary is not None:
        require_attachable(state, boundary, caller.account)
    user = User(
        account=caller.account,
        name=name,
        path=params.get("Path", "/"),
        user_id=new_unique_id(IdPrefix.USER),
        created_at=now,
        tags=tags_of(params),
        permissions_boundary=boundary,
    )
    return HandlerResult({"User": user_shape(user)}, Change.put(user))


def get_user(state: IamState, params: Params, caller: Requester, now: datetime) -> HandlerResult:
    """GetUser: the named user, or the caller itself when no name is given."""
    name = caller.user_named_or_self(params)
    if name is None:  # the root user asking about itself
        account = state.accounts[caller.account]
        root = {"UserId": caller.account, "Arn": root_arn(caller.account)}
        return HandlerResult({"User": {**root, "CreateDate": account.created_at}})
    return HandlerResult({"User": user_shape(require_user(state, caller.account, name))})


def list_users(state: IamState, params: Params, caller: Requester, now: datetime) -> HandlerResult:
    """ListUsers: users under a path prefix, sorted by name, paginated."""
    page, more = page_under_path(state.users_of(caller.account), params)
    return HandlerResult({"Users": [user_shape(u) for u in page], **more})


def _refuse_while_credentials_remain(user: User) -> None:
    """DeleteConflict while the user still has a password, certificates, SSH keys or
    service-specific credentials, each named as AWS names it."""
    if user.login_profile is not None:
        raise delete_conflict("Cannot delete entity, must delete login profile first.")
    if user.signing_certificates:
        raise delete_conflict("Cannot delete entity, must delete signing certificates first.")
    if user.ssh_public_keys:
        raise delete_conflict("Cannot delete entity, must delete SSH public keys first.")
    if user.service_credentials:
        raise delete_conflict(
            "Cannot delete entity, must delete service-specific credentials first."
        )


def delete_user(state: IamState, params: Params, caller: Requester, now: datetime) -> HandlerResult:
    """DeleteUser: refused with DeleteConflict while the user still owns anything."""
    user = require_user(state, caller.account, params["UserName"])
    if state.keys_of(caller.account, user.name):
        raise delete_conflict("Cannot delete entity, must delete access keys first.")
    refuse_while_policies_held(user)
    if user.groups:
        raise delete_conflict("Cannot delete entity, must remove user from all groups first.")
    if any(
        d.user_name == user.name for (a, _), d in state.mfa_devices.items() if a == user.account
    ):
        raise delete_conflict("Cannot delete entity, must delete MFA device first.")
    _refuse_while_credentials_remain(user)
    return HandlerResult({}, Change.delete(key_of(user)))


_user_tags = tag_handlers("User", USERS.named_in)

OPERATIONS = (
    Operation("CreateUser", create_user, user_resource, OperationKind.WRITE),
    Operation("GetUser", get_user, user_resource, OperationKind.READ),
    Operation("ListUsers", list_users, listing_resource("user"), OperationKind.READ),
    Operation("DeleteUser", delete_user, user_resource, OperationKind.WRITE),
    Operation("TagUser", _user_tags.tag, user_resource, OperationKind.WRITE),
    Operation("UntagUser", _user_tags.untag, user_resource, OperationKind.WRITE),
    Operation("ListUserTags", _user_tags.list_tags, user_resource, OperationKind.READ),
)
