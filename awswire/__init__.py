"""awswire: the AWS wire layer both planes speak, driven by botocore's service models.

- Query protocol (IAM, STS): :func:`parse_query_request`, :func:`serialize_query_result`,
  :func:`serialize_query_error` / :func:`query_error_response`.
- JSON 1.1 protocol (Organizations): :func:`parse_json_request`,
  :func:`serialize_json_result`, :func:`serialize_json_error`.
- SigV4 verification: :func:`parse_signature` then :func:`verify_signature`.
- Errors: :class:`AwsError` (and :class:`AuthFailure`), with constructors for common codes.

It imports neither plane nor the launcher.
"""

from awswire.errors import (
    AuthFailure,
    AwsError,
    access_denied,
    incomplete_signature,
    invalid_action,
    invalid_client_token_id,
    invalid_parameter_value,
    missing_authentication_token,
    signature_does_not_match,
    validation_error,
)
from awswire.json_protocol import parse_json_request, serialize_json_error, serialize_json_result
from awswire.models import modeled_error
from awswire.query import parse_query_request
from awswire.sigv4 import SignatureClaim, canonical_request, parse_signature, verify_signature
from awswire.wire import ApiCall, WireResponse
from awswire.xml import (
    query_error_response,
    serialize_error,
    serialize_query_error,
    serialize_query_result,
)

__all__ = [
    "ApiCall",
    "AuthFailure",
    "AwsError",
    "SignatureClaim",
    "WireResponse",
    "access_denied",
    "canonical_request",
    "incomplete_signature",
    "invalid_action",
    "invalid_client_token_id",
    "invalid_parameter_value",
    "missing_authentication_token",
    "modeled_error",
    "parse_json_request",
    "parse_query_request",
    "parse_signature",
    "query_error_response",
    "serialize_error",
    "serialize_json_error",
    "serialize_json_result",
    "serialize_query_error",
    "serialize_query_result",
    "signature_does_not_match",
    "validation_error",
    "verify_signature",
]
