"""Revoke an access key and verify that it is refused: the revoked key keeps working until
the deletion has propagated. A check made once, right after the delete, wrongly reports the
key as still valid; the honest check waits for the refusal and measures how long it took."""

from __future__ import annotations

import time
from typing import Any

import boto3
from botocore.exceptions import ClientError


class KeyStillWorksError(AssertionError):
    """The revoked key was still accepted."""


def _accepted(key: dict[str, Any]) -> bool:
    sts = boto3.client(
        "sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    try:
        sts.get_caller_identity()
    except ClientError as error:
        if error.response["Error"]["Code"] == "InvalidClientTokenId":
            return False
        raise
    return True


def revoke(user: str, key: dict[str, Any]) -> None:
    """Delete the key."""
    boto3.client("iam").delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])


def naive(user: str, key: dict[str, Any]) -> None:
    """Revoke, then check once that the key is refused."""
    revoke(user, key)
    if _accepted(key):
        raise KeyStillWorksError(f"{key['AccessKeyId']} still works after its deletion")


def with_wait(user: str, key: dict[str, Any], budget_s: float = 120.0) -> float:
    """Revoke, then wait until the key is refused; return how long it kept working (s)."""
    revoked_at = time.monotonic()
    revoke(user, key)
    while _accepted(key):
        if time.monotonic() - revoked_at > budget_s:
            raise KeyStillWorksError(f"{key['AccessKeyId']} still works after {budget_s} s")
        time.sleep(0.05)
    return time.monotonic() - revoked_at
