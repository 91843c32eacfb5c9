"""GetAccessKeyLastUsed: when, where and for which service an access key was last used.

The uses themselves are recorded by the data planes and read from Redis by the API edge;
this module stays pure: it names the key the call is about, the resource the call is
authorized on, and shapes the answer from the projection and the use the edge read.
"""

from __future__ import annotations

from typing import Any

from awswire.errors import access_denied
from controlplane.iam.operation import (
    Operation,
    OperationKind,
    Params,
    Requester,
    answered_at_the_edge,
)
from replication.arns import root_arn
from replication.entities import AccessKey
from replication.key_usage import KeyUse
from replication.state import IamState

__all__ = ["OPERATIONS", "access_key_last_used", "key_id_of"]

#: answered by the API edge, which reads the recorded uses from Redis
NOT_APPLICABLE = "N/A"


def key_id_of(params: Params) -> str:
    """The access key the call is about."""
    return str(params["AccessKeyId"])


def _own_key(state: IamState, caller: Requester, key_id: str) -> AccessKey | None:
    """The key when it exists in the caller's account (others' keys are not visible)."""
    key = state.access_keys.get(key_id)
    return key if key is not None and key.account == caller.account else None


def _key_owner(state: IamState, params: Params, caller: Requester) -> str:
    """The ARN of the key's owner (user or root user); the caller's own ARN when the key is
    not one of its account's (the handler then refuses it)."""
    key = _own_key(state, caller, key_id_of(params))
    if key is None:
        return caller.arn
    if key.user_name is None:
        return root_arn(key.account)
    user = state.user(key.account, key.user_name)
    return user.arn if user is not None else caller.arn


def access_key_last_used(
    state: IamState, params: Params, caller: Requester, use: KeyUse | None
) -> dict[str, Any]:
    """GetAccessKeyLastUsed's result for the key, given its last recorded ``use`` (None:
    never used). A key that is not one of the caller's account's is AccessDenied, as AWS
    answers for keys it will not disclose."""
    key_id = key_id_of(params)
    key = _own_key(state, caller, key_id)
    if key is None:
        raise access_denied(
            f"User: {caller.arn} is not authorized to perform: iam:GetAccessKeyLastUsed "
            f"on resource: access key {key_id}"
        )
    last_used: dict[str, Any]
    if use is None:
        last_used = {"ServiceName": NOT_APPLICABLE, "Region": NOT_APPLICABLE}
    else:
        last_used = {"LastUsedDate": use.used_at, "ServiceName": use.service, "Region": use.region}
    # the root user's keys answer "root", as CreateAccessKey names their owner
    return {"UserName": key.user_name or "root", "AccessKeyLastUsed": last_used}


OPERATIONS = (
    Operation(
        "GetAccessKeyLastUsed", answered_at_the_edge, _key_owner, OperationKind.CREDENTIAL_USAGE
    ),
)
