"""Inline user policies: PutUserPolicy, GetUserPolicy, ListUserPolicies, DeleteUserPolicy (the
handlers are the ones groups and roles use, see inline_policies)."""

from __future__ import annotations

from controlplane.iam.operation import Operation, OperationKind
from controlplane.iam.policies.inline_policies import InlineKind, inline_policy_handlers
from controlplane.iam.principals.users import require_user, user_resource
from replication.policy import INLINE_AGGREGATE_LIMITS

__all__ = ["INLINE_BYTES_PER_USER", "OPERATIONS"]

INLINE_BYTES_PER_USER = INLINE_AGGREGATE_LIMITS["user"]

_user_inline = inline_policy_handlers(InlineKind("User", require_user, INLINE_BYTES_PER_USER))

OPERATIONS = (
    Operation("PutUserPolicy", _user_inline.put, user_resource, OperationKind.WRITE),
    Operation("GetUserPolicy", _user_inline.get, user_resource, OperationKind.READ),
    Operation("ListUserPolicies", _user_inline.list, user_resource, OperationKind.READ),
    Operation("DeleteUserPolicy", _user_inline.delete, user_resource, OperationKind.WRITE),
)
