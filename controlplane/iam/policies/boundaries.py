"""Permissions boundaries: Put/Delete{User,Role}PermissionsBoundary."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from controlplane.iam.operation import (
    Change,
    HandlerResult,
    Operation,
    Params,
    Requester,
    ResourceOf,
)
from controlplane.iam.policies.policy_refs import require_attachable
from controlplane.iam.principals.roles import require_role, role_resource
from controlplane.iam.principals.users import require_user, user_resource
from replication.entities import Role, User
from replication.state import IamState

__all__ = ["OPERATIONS"]


def _operations(
    noun: str,
    require: Callable[[IamState, str, str], User | Role],
    resource: ResourceOf,
) -> tuple[Operation, ...]:
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

    return (
        Operation(f"Put{noun}PermissionsBoundary", put, resource, writes=True),
        Operation(f"Delete{noun}PermissionsBoundary", delete, resource, writes=True),
    )


OPERATIONS = (
    *_operations("User", require_user, user_resource),
    *_operations("Role", require_role, role_resource),
)
