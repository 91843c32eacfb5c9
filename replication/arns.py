"""ARNs of IAM entities (spec R84). IAM ARNs have an empty region field."""

from __future__ import annotations

__all__ = ["access_key_owner_arn", "role_arn", "root_arn", "user_arn"]

PARTITION = "aws"


def root_arn(account: str) -> str:
    """The ARN that names an account (and its root user)."""
    return f"arn:{PARTITION}:iam::{account}:root"


def user_arn(account: str, path: str, name: str) -> str:
    """The ARN of an IAM user; the path keeps its slashes (``/`` for none)."""
    return f"arn:{PARTITION}:iam::{account}:user{path}{name}"


def role_arn(account: str, path: str, name: str) -> str:
    """The ARN of an IAM role; the path keeps its slashes (``/`` for none)."""
    return f"arn:{PARTITION}:iam::{account}:role{path}{name}"


def access_key_owner_arn(account: str, user_path: str | None, user_name: str | None) -> str:
    """The ARN of whoever owns an access key: a user, or the root user when there is none."""
    if user_name is None:
        return root_arn(account)
    return user_arn(account, user_path or "/", user_name)
