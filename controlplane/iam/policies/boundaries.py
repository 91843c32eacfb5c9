"""Permissions boundaries: Put/Delete{User,Role}PermissionsBoundary."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

from controlplane.iam.operation import (
    Change,
    Handler,
    HandlerResult,
    Operation,
    OperationKind,
    Params,
    Requester,
)
from controlplane.iam.policies.policy_refs import require_attachable
from controlplane.iam.principals.roles import require_role, role_resource
from controlplane.iam.principals.users import require_user, user_resource
from replication.entities import Role, User
from replication.state import IamState

__all__ = ["OPERATIONS"]


class BoundaryHandlers(NamedTuple):
    """The handlers of Put/Delete<User|Role>PermissionsBoundary."""

    put: Handler
    delete: Handler


def _handlers(
    noun: str,
    require: Callable[[IamState, str, str], User | Role],
) -> BoundaryHandlers:
    param = f"{noun}Name"

    def put(state: IamState, params: Params, caller: Requester, now: datetime) -> HandlerResult:
        entity = require(state, caller.account, params[param])
        policy = require_attachable(state, params["PermissionsBoundary"], caller.account)
        changed = entity.model_copy(update={"permissions_boundary": policy.arn})
        return HandlerResult({}, Change.put(changed))

    def delete(state: IamState, params: Params, caller: Requester, now: datetime) -> HandlerResult:
        entity = require(state, caller.account, params[param])
        changed = entity.model_copy(update={"permissions_boundary": None})
        return HandlerResult({}, Change.put(changed))

    return BoundaryHandlers(put, delete)


_user_boundary = _handlers("User", require_user)
_role_boundary = _handlers("Role", require_role)

OPERATIONS = (
    Operation("PutUserPermissionsBoundary", _user_boundary.put, user_resource, OperationKind.WRITE),
    Operation(
        "DeleteUserPermissionsBoundary", _user_boundary.delete, user_resource, OperationKind.WRITE
    ),
    Operation("PutRolePermissionsBoundary", _role_boundary.put, role_resource, OperationKind.WRITE),
    Operation(
        "DeleteRolePermissionsBoundary", _role_boundary.delete, role_resource, OperationKind.WRITE
    ),
)
