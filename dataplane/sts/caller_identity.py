"""``GetCallerIdentity`` (no permission needed, R83) and ``GetAccessKeyInfo``."""

from __future__ import annotations

from typing import Any

from awswire.errors import AwsError
from dataplane.sts.call import StsCall
from replication.ids import account_of_access_key

__all__ = ["get_access_key_info", "get_caller_identity"]


def get_caller_identity(call: StsCall) -> dict[str, Any]:
    """Who signed the request: UserId, Account and ARN (``assumed-role/ROLE/SESSION``)."""
    caller = call.signed_caller
    return {"UserId": caller.user_id, "Account": caller.account, "Arn": caller.arn}


def get_access_key_info(call: StsCall) -> dict[str, Any]:
    """The account an access key belongs to, decoded from the key id alone."""
    call.signed_caller  # noqa: B018 - any authenticated caller may ask
    account = account_of_access_key(call.params["AccessKeyId"])
    if account is None:
        raise AwsError("InvalidParameterValue", "The access key ID is not valid.")
    return {"Account": account}
