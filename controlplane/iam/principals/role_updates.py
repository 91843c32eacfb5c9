"""UpdateRoleDescription and GetServiceLinkedRoleDeletionStatus.

UpdateRoleDescription is the older form of UpdateRole that answers the changed role; it is
allowed on service-linked roles, whose description is the one thing a customer may edit.
DeleteServiceLinkedRole deletes at once here, so every deletion task it named has succeeded.
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
from controlplane.iam.principals.roles import (
    SERVICE_ROLE_PATH,
    require_role,
    role_resource,
    role_shape,
)
from controlplane.iam.support.errors import invalid_input
from replication.state import IamState

__all__ = ["OPERATIONS"]

_TASK_PREFIX = "task" + SERVICE_ROLE_PATH


def update_role_description(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """UpdateRoleDescription: a new description; the answer is the whole role."""
    role = require_role(state, caller.account, params["RoleName"])
    changed = role.model_copy(update={"description": params["Description"]})
    change = Change.put(changed)
    return HandlerResult({"Role": role_shape(state, changed)}, change)


def get_service_linked_role_deletion_status(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """GetServiceLinkedRoleDeletionStatus: SUCCEEDED for any task DeleteServiceLinkedRole
    named (deletion is immediate); InvalidInput for anything else."""
    task = str(params["DeletionTaskId"])
    if not task.startswith(_TASK_PREFIX) or task.count("/") < 3:
        raise invalid_input(f"Invalid deletion task id {task}.")
    return HandlerResult({"Status": "SUCCEEDED"})


OPERATIONS = (
    Operation("UpdateRoleDescription", update_role_description, role_resource, OperationKind.WRITE),
    Operation(
        "GetServiceLinkedRoleDeletionStatus",
        get_service_linked_role_deletion_status,
        lambda s, p, c: f"arn:aws:iam::{c.account}:role{SERVICE_ROLE_PATH}*",
        OperationKind.READ,
    ),
)
