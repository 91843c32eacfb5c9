"""Inline user policies: PutUserPolicy, GetUserPolicy, ListUserPolicies, DeleteUserPolicy."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from controlplane.iam.operation import (
    Change,
    HandlerResult,
    Operation,
    OperationKind,
    Params,
    Requester,
)
from controlplane.iam.principals.users import require_user, user_resource
from controlplane.iam.support.errors import limit_exceeded, malformed_policy, no_such_entity
from controlplane.iam.support.pagination import paginate
from replication.policy import MalformedPolicyDocument, PolicyKind, parse_policy, policy_size
from replication.state import IamState

__all__ = ["OPERATIONS", "validate_identity_policy"]

INLINE_BYTES_PER_USER = 2048


def validate_identity_policy(document: str) -> None:
    """Refuse a document that is not a valid identity policy (MalformedPolicyDocument)."""
    try:
        parse_policy(document, PolicyKind.IDENTITY)
    except MalformedPolicyDocument as error:
        raise malformed_policy(error.message) from None


def put_user_policy(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """PutUserPolicy: add or replace an inline policy; the user's inline total is capped."""
    user = require_user(state, caller.account, params["UserName"])
    document = params["PolicyDocument"]
    validate_identity_policy(document)
    policies = {**user.inline_policies, params["PolicyName"]: document}
    if sum(policy_size(text) for text in policies.values()) > INLINE_BYTES_PER_USER:
        raise limit_exceeded(
            f"Maximum policy size of {INLINE_BYTES_PER_USER} bytes exceeded for user {user.name}"
        )
    changed = user.model_copy(update={"inline_policies": policies})
    return HandlerResult({}, Change.put(changed))


def _require_policy(state: IamState, params: Params, caller: Requester) -> tuple[str, str, str]:
    user = require_user(state, caller.account, params["UserName"])
    name = params["PolicyName"]
    if name not in user.inline_policies:
        raise no_such_entity(f"The user policy with name {name} cannot be found.")
    return user.name, name, user.inline_policies[name]


def get_user_policy(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """GetUserPolicy: the document, URL-encoded as IAM returns it (boto3 decodes it)."""
    user_name, name, document = _require_policy(state, params, caller)
    return HandlerResult(
        {"UserName": user_name, "PolicyName": name, "PolicyDocument": quote(document, safe="")}
    )


def list_user_policies(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListUserPolicies: the names of a user's inline policies, sorted, paginated."""
    user = require_user(state, caller.account, params["UserName"])
    page, more = paginate(sorted(user.inline_policies), params, key=lambda n: n)
    return HandlerResult({"PolicyNames": page, **more})


def delete_user_policy(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DeleteUserPolicy: remove one inline policy."""
    user = require_user(state, caller.account, params["UserName"])
    _, name, _ = _require_policy(state, params, caller)
    policies = {k: v for k, v in user.inline_policies.items() if k != name}
    changed = user.model_copy(update={"inline_policies": policies})
    return HandlerResult({}, Change.put(changed))


OPERATIONS = (
    Operation("PutUserPolicy", put_user_policy, user_resource, OperationKind.WRITE),
    Operation("GetUserPolicy", get_user_policy, user_resource, OperationKind.READ),
    Operation("ListUserPolicies", list_user_policies, user_resource, OperationKind.READ),
    Operation("DeleteUserPolicy", delete_user_policy, user_resource, OperationKind.WRITE),
)
