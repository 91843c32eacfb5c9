"""ARNs of IAM entities (docs/evaluation.md R84). IAM ARNs have an empty region field."""

from __future__ import annotations

__all__ = [
    "access_key_owner_arn",
    "group_arn",
    "instance_profile_arn",
    "mfa_arn",
    "oidc_provider_arn",
    "parse_iam_arn",
    "policy_arn",
    "role_arn",
    "root_arn",
    "saml_provider_arn",
    "server_certificate_arn",
    "user_arn",
]

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


def group_arn(account: str, path: str, name: str) -> str:
    """The ARN of an IAM group."""
    return f"arn:{PARTITION}:iam::{account}:group{path}{name}"


def policy_arn(account: str, path: str, name: str) -> str:
    """The ARN of a managed policy (``account`` is ``aws`` for AWS managed policies)."""
    return f"arn:{PARTITION}:iam::{account}:policy{path}{name}"


def instance_profile_arn(account: str, path: str, name: str) -> str:
    """The ARN of an instance profile."""
    return f"arn:{PARTITION}:iam::{account}:instance-profile{path}{name}"


def oidc_provider_arn(account: str, host: str) -> str:
    """The ARN of an OpenID Connect provider (its URL without ``https://``)."""
    return f"arn:{PARTITION}:iam::{account}:oidc-provider/{host}"


def saml_provider_arn(account: str, name: str) -> str:
    """The ARN of a SAML provider."""
    return f"arn:{PARTITION}:iam::{account}:saml-provider/{name}"


def mfa_arn(account: str, path: str, name: str) -> str:
    """The ARN (serial number) of a virtual MFA device."""
    return f"arn:{PARTITION}:iam::{account}:mfa{path}{name}"


def server_certificate_arn(account: str, path: str, name: str) -> str:
    """The ARN of a server certificate stored in IAM."""
    return f"arn:{PARTITION}:iam::{account}:server-certificate{path}{name}"


def parse_iam_arn(arn: str) -> tuple[str, str, str, str] | None:
    """``(account, resource type, path, name)`` of an IAM ARN such as ``...:user/a/b``.

    None when ``arn`` is not an IAM ARN with a ``type/...`` resource.
    """
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or "/" not in parts[5]:
        return None
    kind, rest = parts[5].split("/", 1)
    path, _, name = rest.rpartition("/")
    return parts[4], kind, "/" + path + "/" if path else "/", name
