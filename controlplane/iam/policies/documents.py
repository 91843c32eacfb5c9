"""Policy documents at the API edge: validation as AWS words it, and IAM's URL encoding."""

from __future__ import annotations

from urllib.parse import quote

from controlplane.iam.support.errors import malformed_policy, quota_exceeded
from replication.policy import (
    SIZE_LIMITS,
    MalformedPolicyDocument,
    PolicyDocument,
    PolicyKind,
    parse_policy,
    policy_size,
)

__all__ = ["encoded", "validated", "validated_managed_policy", "within_trust_policy_quota"]

#: the quota names IAM's LimitExceeded messages give each single-document size
_QUOTA_NAMES = {PolicyKind.IDENTITY: "PolicySize", PolicyKind.TRUST: "ACLSizePerRole"}


def validated(document: str, kind: PolicyKind) -> PolicyDocument:
    """The parsed document, or MalformedPolicyDocument (400) with the parser's message."""
    try:
        return parse_policy(document, kind)
    except MalformedPolicyDocument as error:
        raise malformed_policy(error.message) from None


def _within_quota(document: str, kind: PolicyKind) -> None:
    """LimitExceeded (409) when the document, white space not counted, is over its quota."""
    limit = SIZE_LIMITS[kind]
    if policy_size(document) > limit:
        raise quota_exceeded(_QUOTA_NAMES[kind], limit)


def validated_managed_policy(document: str) -> PolicyDocument:
    """A managed policy's document: at most 6,144 characters (PolicySize), then valid."""
    _within_quota(document, PolicyKind.IDENTITY)
    return validated(document, PolicyKind.IDENTITY)


def within_trust_policy_quota(document: str) -> None:
    """A role's trust policy: at most 2,048 characters (ACLSizePerRole, AWS's default)."""
    _within_quota(document, PolicyKind.TRUST)


def encoded(document: str) -> str:
    """A document as IAM returns it: URL-encoded (boto3 decodes it back to a dict)."""
    return quote(document, safe="")
