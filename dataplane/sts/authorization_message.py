"""Encoded authorization failure messages and ``DecodeAuthorizationMessage``.

A denied ``/authorize`` answer carries ``encoded_authorization_message``, as AWS services do
in "Encoded authorization failure message: ..." : the decision's details (matched statements,
principal, action, resource, context) as AWS's JSON, sealed with the token keys (AES-GCM), so
only the caller's account, with ``sts:DecodeAuthorizationMessage``, can read them, in any
region, through STS.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from awswire.errors import AwsError
from dataplane.identity.tokens import TokenError, TokenKeys
from dataplane.sts.call import StsCall

__all__ = ["decode_authorization_message", "encode_authorization_message"]

_PURPOSE = b"iam-planes authorization message v1"


def _invalid() -> AwsError:
    return AwsError(
        "InvalidAuthorizationMessageException",
        "The encoded authorization message is invalid or was not issued to your account.",
        400,
    )


def encode_authorization_message(
    keys: TokenKeys, answer: Mapping[str, Any], query: Any, account: str | None
) -> str:
    """The sealed message for a denied ``/authorize`` ``answer`` to ``query``."""
    message = {
        "allowed": False,
        "explicitDeny": answer.get("decision") == "ExplicitDeny",
        "matchedStatements": {"items": list(answer.get("matched", []))},
        "failures": {"items": list(answer.get("errors", []))},
        "context": {
            "principal": {"arn": answer.get("principal")},
            "action": query.action,
            "resource": query.resource,
            "conditions": {
                "items": [
                    {"key": key, "values": {"items": [{"value": str(value)}]}}
                    for key, value in dict(query.context).items()
                ]
            },
        },
    }
    sealed = {"account": account, "message": message}
    return keys.encrypt(_PURPOSE, json.dumps(sealed, separators=(",", ":")).encode())


def decode_authorization_message(call: StsCall) -> dict[str, Any]:
    """``DecodeAuthorizationMessage``: needs ``sts:DecodeAuthorizationMessage``; only the
    account whose request was denied may read the message."""
    caller = call.signed_caller
    call.require("sts:DecodeAuthorizationMessage", "*")
    try:
        sealed = json.loads(call.keys.decrypt(_PURPOSE, str(call.params["EncodedMessage"])))
    except (TokenError, ValueError):
        raise _invalid() from None
    if sealed.get("account") != caller.account:
        raise _invalid()
    return {"DecodedMessage": json.dumps(sealed["message"])}
