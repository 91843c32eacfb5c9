"""Inline policies of users, groups and roles: Put/Get/List/Delete{User,Group,Role}Policy.

One factory builds the four actions for an entity kind, since they differ only in the entity
they read, its aggregate size quota and the names in their messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from controlplane.iam.operation import (
    Change,
    Handler,
    HandlerResult,
    Params,
    Requester,
)
from controlplane.iam.policies.documents import encoded, validated
from controlplane.iam.support.errors import limit_exceeded, no_such_entity
from controlplane.iam.support.pagination import paginate
from replication.entities import Group, Role, User
from replication.policy import PolicyKind, policy_size
from replication.state import IamState

__all__ = ["InlineKind", "InlinePolicyHandlers", "inline_policy_handlers"]

Holder = User | Group | Role


@dataclass(frozen=True, slots=True)
class InlineKind:
    """What differs between the user, group and role flavours of the inline-policy actions."""

    noun: str  # "User", "Group" or "Role": in action names, parameters and messages
    require: Callable[[IamState, str, str], Holder]
    aggregate_limit: int


class InlinePolicyHandlers(NamedTuple):
    """The handlers of one entity kind's Put/Get/List/Delete inline-policy actions."""

    put: Handler
    get: Handler
    list: Handler
    delete: Handler


def inline_policy_handlers(kind: InlineKind) -> InlinePolicyHandlers:
    """The four inline-policy handlers of one entity kind."""
    param = f"{kind.noun}Name"
    lower = kind.noun.lower()

    def holder(state: IamState, params: Params, caller: Requester) -> Holder:
        return kind.require(state, caller.account, params[param])

    def document_of(entity: Holder, name: str) -> str:
        if name not in entity.inline_policies:
            raise no_such_entity(f"The {lower} policy with name {name} cannot be found.")
        return entity.inline_policies[name]

    def put(state: IamState, params: Params, caller: Requester, now: datetime) -> HandlerResult:
        entity = holder(state, params, caller)
        validated(params["PolicyDocument"], PolicyKind.IDENTITY)
        policies = {**entity.inline_policies, params["PolicyName"]: params["PolicyDocument"]}
        if sum(policy_size(text) for text in policies.values()) > kind.aggregate_limit:
            raise limit_exceeded(
                f"Maximum policy size of {kind.aggregate_limit} bytes exceeded for "
                f"{lower} {entity.name}"
            )
        changed = entity.model_copy(update={"inline_policies": policies})
        return HandlerResult({}, Change.put(changed))

    def get(state: IamState, params: Params, caller: Requester, now: datetime) -> HandlerResult:
        entity = holder(state, params, caller)
        document = document_of(entity, params["PolicyName"])
        return HandlerResult(
            {
                param: entity.name,
                "PolicyName": params["PolicyName"],
                "PolicyDocument": encoded(document),
            }
        )

    def list_(state: IamState, params: Params, caller: Requester, now: datetime) -> HandlerResult:
        entity = holder(state, params, caller)
        page, more = paginate(sorted(entity.inline_policies), params, key=lambda n: n)
        return HandlerResult({"PolicyNames": page, **more})

    def delete(state: IamState, params: Params, caller: Requester, now: datetime) -> HandlerResult:
        entity = holder(state, params, caller)
        name = params["PolicyName"]
        document_of(entity, name)
        policies = {k: v for k, v in entity.inline_policies.items() if k != name}
        changed = entity.model_copy(update={"inline_policies": policies})
        return HandlerResult({}, Change.put(changed))

    return InlinePolicyHandlers(put, get, list_, delete)
