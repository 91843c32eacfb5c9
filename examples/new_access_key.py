"""Create an access key and use it at once: the key is refused (InvalidClientTokenId) until
IAM has propagated it to the region that serves the call."""

from __future__ import annotations

from typing import Any

import boto3

from examples.backoff import retry_on


def create_key(user: str) -> dict[str, Any]:
    """A new user and its first access key."""
    iam = boto3.client("iam")
    iam.create_user(UserName=user)
    key: dict[str, Any] = iam.create_access_key(UserName=user)["AccessKey"]
    return key


def whoami(key: dict[str, Any]) -> dict[str, Any]:
    """GetCallerIdentity signed with ``key``."""
    sts = boto3.client(
        "sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    identity: dict[str, Any] = sts.get_caller_identity()
    return identity


def naive(user: str) -> dict[str, Any]:
    """Create the key and use it straight away (the race is lost while the key propagates)."""
    return whoami(create_key(user))


def with_retry(user: str, budget_s: float = 60.0) -> dict[str, Any]:
    """Create the key, then use it, retrying while it is not known yet."""
    key = create_key(user)
    return retry_on({"InvalidClientTokenId"}, lambda: whoami(key), budget_s)
