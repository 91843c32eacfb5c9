"""Organizations' error codes, with the HTTP status and wire code the service model gives them."""

from __future__ import annotations

from awswire.errors import AwsError
from awswire.models import modeled_error

__all__ = ["constraint_violation", "org_error"]


def org_error(shape: str, message: str) -> AwsError:
    """The modelled Organizations exception ``shape`` (e.g. ``PolicyNotFoundException``)."""
    return modeled_error("organizations", shape, message)


def constraint_violation(reason: str, message: str) -> AwsError:
    """ConstraintViolationException with its ``Reason`` member."""
    error = org_error("ConstraintViolationException", message)
    return AwsError(error.code, message, error.http_status, extra={"Reason": reason})
