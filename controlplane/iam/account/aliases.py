"""Account aliases: CreateAccountAlias, ListAccountAliases, DeleteAccountAlias."""

from __future__ import annotations

from datetime import datetime

from controlplane.iam.operation import (
    Change,
    HandlerResult,
    Operation,
    OperationKind,
    Params,
    Requester,
    any_resource,
)
from controlplane.iam.support.errors import entity_already_exists, no_such_entity
from replication.state import IamState

__all__ = ["OPERATIONS"]


def create_account_alias(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """CreateAccountAlias: aliases are unique across all accounts; one per account."""
    alias = params["AccountAlias"]
    taken = any(a.alias == alias and a.id != caller.account for a in state.accounts.values())
    if taken:
        raise entity_already_exists(f"The account alias {alias} already exists.")
    account = state.accounts[caller.account].model_copy(update={"alias": alias})
    return HandlerResult({}, Change.put(account))


def list_account_aliases(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListAccountAliases: zero or one alias."""
    alias = state.accounts[caller.account].alias
    return HandlerResult({"AccountAliases": [alias] if alias else [], "IsTruncated": False})


def delete_account_alias(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DeleteAccountAlias: NoSuchEntity unless it is the account's alias."""
    account = state.accounts[caller.account]
    if account.alias != params["AccountAlias"]:
        raise no_such_entity(f"The account alias {params['AccountAlias']} cannot be found.")
    changed = account.model_copy(update={"alias": None})
    return HandlerResult({}, Change.put(changed))


OPERATIONS = (
    Operation("CreateAccountAlias", create_account_alias, any_resource, OperationKind.WRITE),
    Operation("ListAccountAliases", list_account_aliases, any_resource, OperationKind.READ),
    Operation("DeleteAccountAlias", delete_account_alias, any_resource, OperationKind.WRITE),
)
