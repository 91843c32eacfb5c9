"""IAM's own error codes, with the HTTP status and wording AWS gives them."""

from __future__ import annotations

from awswire.errors import AwsError

__all__ = [
    "delete_conflict",
    "entity_already_exists",
    "invalid_input",
    "limit_exceeded",
    "malformed_policy",
    "no_such_entity",
    "quota_exceeded",
    "root_credentials_unsupported",
    "unmodifiable_entity",
]


def no_such_entity(message: str) -> AwsError:
    """404 NoSuchEntity."""
    return AwsError("NoSuchEntity", message, 404)


def entity_already_exists(message: str) -> AwsError:
    """409 EntityAlreadyExists."""
    return AwsError("EntityAlreadyExists", message, 409)


def delete_conflict(message: str) -> AwsError:
    """409 DeleteConflict."""
    return AwsError("DeleteConflict", message, 409)


def limit_exceeded(message: str) -> AwsError:
    """409 LimitExceeded."""
    return AwsError("LimitExceeded", message, 409)


def quota_exceeded(quota: str, limit: int) -> AwsError:
    """409 LimitExceeded for an IAM quota (e.g. ``GroupsPerAccount``), as AWS words them all."""
    return limit_exceeded(f"Cannot exceed quota for {quota}: {limit}")


def malformed_policy(message: str) -> AwsError:
    """400 MalformedPolicyDocument."""
    return AwsError("MalformedPolicyDocument", message, 400)


def invalid_input(message: str) -> AwsError:
    """400 InvalidInput."""
    return AwsError("InvalidInput", message, 400)


def unmodifiable_entity(message: str) -> AwsError:
    """400 UnmodifiableEntity (service-linked roles, AWS managed policies)."""
    return AwsError("UnmodifiableEntity", message, 400)


def root_credentials_unsupported(what: str) -> AwsError:
    """501 NotImplemented: ``what`` of the root user, which the emulator keeps no entity for."""
    return AwsError("NotImplemented", f"iam-planes does not support {what} of the root user.", 501)
