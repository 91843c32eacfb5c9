"""Policy documents at the API edge: validation as AWS words it, and IAM's URL encoding."""

from __future__ import annotations

from urllib.parse import quote

from controlplane.iam.errors import malformed_policy
from replication.policy import MalformedPolicyDocument, PolicyDocument, PolicyKind, parse_policy

__all__ = ["encoded", "validated"]


def validated(document: str, kind: PolicyKind) -> PolicyDocument:
    """The parsed document, or MalformedPolicyDocument (400) with the parser's message."""
    try:
        return parse_policy(document, kind)
    except MalformedPolicyDocument as error:
        raise malformed_policy(error.message) from None


def encoded(document: str) -> str:
    """A document as IAM returns it: URL-encoded (boto3 decodes it back to a dict)."""
    return quote(document, safe="")
