"""``GetSessionToken`` and ``GetFederationToken``: temporary credentials for an IAM user.

Both are for long-term credentials only (R69, R82). GetFederationToken's session gets the
user's permissions intersected with the passed session policies (R81, R46).
"""

from __future__ import annotations

from typing import Any

from awswire.errors import access_denied
from dataplane.identity.long_term import LongTermCaller
from dataplane.identity.sessions import Session
from dataplane.sts.call import StsCall
from dataplane.sts.credentials import issue
from dataplane.sts.limits import packed_policy_size, session_policy_text, session_tags
from dataplane.sts.mfa import mfa_claims
from replication.policy import PolicyKind

__all__ = ["get_federation_token", "get_session_token"]

USER_DEFAULT_DURATION = 43200
ROOT_MAX_DURATION = 3600


def _duration(params: Any, caller: LongTermCaller) -> int:
    """R73: users 900-129,600 s (default 12 h); root sessions are capped at one hour."""
    if caller.user is None:
        return min(int(params.get("DurationSeconds", ROOT_MAX_DURATION)), ROOT_MAX_DURATION)
    return int(params.get("DurationSeconds", USER_DEFAULT_DURATION))


def _user_fields(caller: LongTermCaller) -> dict[str, Any]:
    user = caller.user
    return {"user_arn": user.arn, "user_id": user.user_id} if user is not None else {}


def get_session_token(call: StsCall) -> dict[str, Any]:
    """Temporary credentials with the caller's own permissions (no permission needed)."""
    caller = call.signed_caller
    if not isinstance(caller, LongTermCaller):
        raise access_denied("Cannot call GetSessionToken with session credentials")
    mfa = mfa_claims(call.state, caller, call.params, call.now)
    _, credentials = issue(
        call.keys,
        caller.account,
        call.now,
        _duration(call.params, caller),
        kind="GetSessionToken",
        **_user_fields(caller),
        **mfa,
    )
    return {"Credentials": credentials}


def get_federation_token(call: StsCall) -> dict[str, Any]:
    """A federated-user session: the user's permissions ∩ the passed policies."""
    caller, params = call.signed_caller, call.params
    name = params["Name"]
    resource = f"arn:aws:sts::{caller.account}:federated-user/{name}"
    call.require("sts:GetFederationToken", resource)  # R82 refuses every session here
    if not isinstance(caller, LongTermCaller):  # unreachable while R82 holds; keeps types honest
        raise access_denied("Cannot call GetFederationToken with session credentials")
    policy, arns = session_policy_text(params)
    if policy is not None:
        call.index.document(policy, PolicyKind.SESSION, "session")
    tags, _ = session_tags(params)
    packed = packed_policy_size(policy, arns, tags)
    claims, credentials = issue(
        call.keys,
        caller.account,
        call.now,
        _duration(params, caller),
        kind="GetFederationToken",
        federated_name=name,
        policy=policy,
        policy_arns=arns,
        tags=tags,
        issuer_chain=(caller.arn,),
        **_user_fields(caller),
    )
    session = Session(claims)
    result: dict[str, Any] = {
        "Credentials": credentials,
        "FederatedUser": {"FederatedUserId": session.user_id, "Arn": session.arn},
    }
    if packed:
        result["PackedPolicySize"] = packed
    return result
