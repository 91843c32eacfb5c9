"""The one exception type of the AWS wire layer, and constructors for the common errors.

Every failure that should reach a client as an AWS error is an :class:`AwsError`: the
protocol serializers (`awswire.xml`, `awswire.json_protocol`) turn it into the exact body
AWS sends, so handlers raise it and never build error bodies themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

__all__ = [
    "AuthFailure",
    "AwsError",
    "access_denied",
    "incomplete_signature",
    "invalid_action",
    "invalid_client_token_id",
    "invalid_parameter_value",
    "missing_authentication_token",
    "service_failure",
    "signature_does_not_match",
    "validation_error",
]

_NO_EXTRA: Mapping[str, str] = MappingProxyType({})


class AwsError(Exception):
    """An error as AWS reports it: a code, a message, an HTTP status and who is at fault.

    ``extra`` holds additional modelled members of the error shape (for example
    Organizations' ``Reason``); the JSON serializer emits them beside ``Message``.
    """

    def __init__(
        self,
        code: str,
        message: str,
        http_status: int = 400,
        sender_fault: bool = True,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status
        self.sender_fault = sender_fault
        self.extra: Mapping[str, str] = MappingProxyType(dict(extra)) if extra else _NO_EXTRA

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r}, {self.http_status})"


class AuthFailure(AwsError):
    """An :class:`AwsError` raised while authenticating a request (SigV4 parsing/verification)."""


def invalid_action(action: str | None, version: str | None) -> AwsError:
    """``InvalidAction`` (400) for a missing or unknown Query action, worded as AWS does."""
    if not action:
        return AwsError(
            "InvalidAction",
            "The action or operation requested is invalid. "
            "Verify that the action is typed correctly.",
        )
    return AwsError("InvalidAction", f"Could not find operation {action} for version {version}")


def validation_error(violations: Sequence[str]) -> AwsError:
    """``ValidationError`` (400) joining constraint violations the way AWS Query services do."""
    count = len(violations)
    noun = "error" if count == 1 else "errors"
    detail = "; ".join(violations)
    return AwsError("ValidationError", f"{count} validation {noun} detected: {detail}")


def invalid_parameter_value(message: str) -> AwsError:
    """``InvalidParameterValue`` (400): a value that cannot be read as its modelled type."""
    return AwsError("InvalidParameterValue", message)


def missing_authentication_token() -> AuthFailure:
    """``MissingAuthenticationToken`` (403): the request carries no signature at all."""
    return AuthFailure("MissingAuthenticationToken", "Request is missing Authentication Token", 403)


def incomplete_signature(message: str) -> AuthFailure:
    """``IncompleteSignature`` (400): the signature is present but malformed."""
    return AuthFailure("IncompleteSignature", message, 400)


def signature_does_not_match(message: str | None = None) -> AuthFailure:
    """``SignatureDoesNotMatch`` (403), by default with AWS's canonical mismatch message."""
    return AuthFailure(
        "SignatureDoesNotMatch",
        message
        or (
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. "
            "Consult the service documentation for details."
        ),
        403,
    )


def invalid_client_token_id() -> AuthFailure:
    """``InvalidClientTokenId`` (403): the access key id is unknown (raised by the caller)."""
    return AuthFailure(
        "InvalidClientTokenId", "The security token included in the request is invalid.", 403
    )


def access_denied(message: str) -> AwsError:
    """``AccessDenied`` (403) with the caller-supplied explanation."""
    return AwsError("AccessDenied", message, 403)


def service_failure(
    message: str = (
        "The request processing has failed because of an unknown error, exception or failure."
    ),
) -> AwsError:
    """``ServiceFailure`` (500): the service's fault, never the caller's."""
    return AwsError("ServiceFailure", message, 500, sender_fault=False)
