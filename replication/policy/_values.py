"""Validation of element values: actions (R11), resources (R16) and principals (R10, R20)."""

from __future__ import annotations

import re

from replication.policy._ast import MalformedPolicyDocument

__all__ = ["check_action", "check_principal_value", "check_resource"]

_VENDOR = re.compile(r"[A-Za-z0-9.\-]+")
_PARTITIONS = frozenset({"aws", "aws-cn", "aws-us-gov", "*"})
_ACCOUNT = re.compile(r"\d{12}")
_UNIQUE_ID = re.compile(r"A(?:IDA|ROA)[A-Z0-9]{4,}")
_IAM_PRINCIPAL_ARN = re.compile(
    r"arn:(?:aws|aws-cn|aws-us-gov):iam::\d{12}:(?:root|user/\S+|role/\S+)"
)
_STS_PRINCIPAL_ARN = re.compile(
    r"arn:(?:aws|aws-cn|aws-us-gov):sts::\d{12}:(?:assumed-role/[^/\s]+/[^/\s]+|federated-user/\S+)"
)
_SERVICE = re.compile(r"[a-z0-9][a-z0-9.\-]*\.amazonaws\.com(?:\.cn)?|[a-z0-9][a-z0-9.\-]*\.aws")
_FEDERATED = re.compile(
    r"arn:(?:aws|aws-cn|aws-us-gov):iam::\d{12}:(?:saml-provider|oidc-provider)/\S+|[\w.\-/:]+"
)


def check_action(action: str, path: str) -> None:
    """``*`` or ``vendor:pattern`` with a literal vendor (R11)."""
    if action == "*":
        return
    parts = action.split(":")
    if len(parts) == 1:
        raise MalformedPolicyDocument(
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.", path
        )
    if len(parts) > 2:
        raise MalformedPolicyDocument("Actions/Condition can contain only one colon.", path)
    if not _VENDOR.fullmatch(parts[0]):
        raise MalformedPolicyDocument(f"Vendor {parts[0]} is not valid", path)


def check_resource(resource: str, path: str) -> None:
    """``*`` or an ARN whose partition is known and whose service is literal (R16)."""
    if resource == "*":
        return
    parts = resource.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        raise MalformedPolicyDocument(f'Resource {resource} must be in ARN format or "*".', path)
    if parts[1] not in _PARTITIONS:
        raise MalformedPolicyDocument(
            f'Partition "{parts[1]}" is not valid for resource "{resource}".', path
        )
    if not parts[2] or "*" in parts[2] or "?" in parts[2]:
        raise MalformedPolicyDocument(
            "Resource vendor must be fully qualified and cannot contain regexes.", path
        )


def _valid_aws(value: str) -> bool:
    return bool(
        value == "*"
        or _ACCOUNT.fullmatch(value)
        or _UNIQUE_ID.fullmatch(value)
        or (
            "*" not in value
            and (_IAM_PRINCIPAL_ARN.fullmatch(value) or _STS_PRINCIPAL_ARN.fullmatch(value))
        )
    )


def _valid(key: str, value: str) -> bool:
    if key == "AWS":
        return _valid_aws(value)
    if "*" in value or not value:
        return False
    if key == "Service":
        return bool(_SERVICE.fullmatch(value))
    if key == "Federated":
        return bool(_FEDERATED.fullmatch(value))
    return key == "CanonicalUser" and bool(re.fullmatch(r"[0-9a-fA-F]{64}", value))


def check_principal_value(key: str, value: str, path: str) -> None:
    """Reject partial wildcards, groups, role-session wildcards and unknown keys (R10, R20)."""
    if not _valid(key, value):
        raise MalformedPolicyDocument(f'Invalid principal in policy: "{key}":"{value}"', path)
