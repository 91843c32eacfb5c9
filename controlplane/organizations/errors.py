"""Organizations' error codes, with the HTTP status and wire code the service model gives them."""

from __future__ import annotations

from awswire.errors import AwsError
from awswire.models import modeled_error

__all__ = ["constraint_violation", "org_error", "reasoned_error"]


def org_error(shape: str, message: str) -> AwsError:
    """The modelled Organizations exception ``shape`` (e.g. ``PolicyNotFoundException``)."""
    return modeled_error("organizations", shape, message)


def reasoned_error(shape: str, reason: str, message: str) -> AwsError:
    """A modelled exception that carries a ``Reason`` member (InvalidInputException, ...)."""
    error = org_error(shape, message)
    return AwsError(error.code, message, error.http_status, extra={"Reason": reason})


def constraint_violation(reason: str, message: str) -> AwsError:
    """ConstraintViolationException with its ``Reason`` member."""
    return reasoned_error("ConstraintViolationException", reason, message)
