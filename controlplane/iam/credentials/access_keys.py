"""Access keys: CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey."""

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
)
from controlplane.iam.principals.users import user_of_call, user_resource
from controlplane.iam.support.errors import no_such_entity, quota_exceeded
from controlplane.iam.support.pagination import paginate
from replication.entities import AccessKey, EntityKey
from replication.ids import new_access_key_id, new_secret_access_key
from replication.state import IamState

__all__ = ["OPERATIONS"]

ACCESS_KEYS_PER_USER = 2


def _owner(state: IamState, params: Params, caller: Requester) -> str | None:
    """The user whose keys the call is about (None: the root user's own keys)."""
    user = user_of_call(state, params, caller)
    return user.name if user else None


def _metadata(key: AccessKey, owner: str | None) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "AccessKeyId": key.access_key_id,
        "Status": key.status,
        "CreateDate": key.created_at,
    }
    if owner is not None:
        shape["UserName"] = owner
    return shape


def _require_key(state: IamState, caller: Requester, owner: str | None, key_id: str) -> AccessKey:
    key = state.access_keys.get(key_id)
    owned = key is not None and key.account == caller.account
    if key is None or not owned or (key.user_name or "").lower() != (owner or "").lower():
        raise no_such_entity(f"The Access Key with id {key_id} cannot be found.")
    return key


def create_access_key(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """CreateAccessKey: at most two keys per user; the secret is shown only in this answer."""
    owner = _owner(state, params, caller)
    if len(state.keys_of(caller.account, owner)) >= ACCESS_KEYS_PER_USER:
        raise quota_exceeded("AccessKeysPerUser", ACCESS_KEYS_PER_USER)
    key = AccessKey(
        account=caller.account,
        access_key_id=new_access_key_id(caller.account),
        secret_access_key=new_secret_access_key(),
        user_name=owner,
        created_at=now,
    )
    shape = _metadata(key, owner) | {"SecretAccessKey": key.secret_access_key}
    if owner is None:
        shape["UserName"] = "root"
    return HandlerResult({"AccessKey": shape}, Change.put(key))


def list_access_keys(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListAccessKeys: the metadata (never the secret) of a user's keys."""
    owner = _owner(state, params, caller)
    keys = state.keys_of(caller.account, owner)
    page, more = paginate(keys, params, key=lambda k: k.access_key_id)
    return HandlerResult({"AccessKeyMetadata": [_metadata(k, owner) for k in page], **more})


def update_access_key(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """UpdateAccessKey: make a key Active or Inactive."""
    owner = _owner(state, params, caller)
    key = _require_key(state, caller, owner, params["AccessKeyId"])
    changed = key.model_copy(update={"status": params["Status"]})
    return HandlerResult({}, Change.put(changed))


def delete_access_key(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DeleteAccessKey: the key stops working once the deletion reaches each replica."""
    owner = _owner(state, params, caller)
    key = _require_key(state, caller, owner, params["AccessKeyId"])
    ref = EntityKey(entity="access_key", account=caller.account, name=key.access_key_id)
    return HandlerResult({}, Change.delete(ref))


OPERATIONS = (
    Operation("CreateAccessKey", create_access_key, user_resource, OperationKind.WRITE),
    Operation("ListAccessKeys", list_access_keys, user_resource, OperationKind.READ),
    Operation("UpdateAccessKey", update_access_key, user_resource, OperationKind.WRITE),
    Operation("DeleteAccessKey", delete_access_key, user_resource, OperationKind.WRITE),
)
