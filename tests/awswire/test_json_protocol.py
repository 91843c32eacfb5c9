"""JSON 1.1 protocol (Organizations): parsing, validation, and botocore round trips."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from awswire.errors import AwsError
from awswire.json_protocol import parse_json_request, serialize_json_error, serialize_json_result
from tests.awswire.botocore_helpers import parse_with_botocore

PREFIX = "AWSOrganizationsV20161128"
T = datetime(2023, 10, 10, 12, 0, 0, tzinfo=UTC)


def _error(target: str | None, body: bytes) -> AwsError:
    with pytest.raises(AwsError) as info:
        parse_json_request("organizations", target, body)
    return info.value


def test_request_parses_into_operation_and_params() -> None:
    """A CreateAccount body parses into typed params."""
    body = json.dumps(
        {"Email": "a@example.com", "AccountName": "dev", "Tags": [{"Key": "k", "Value": "v"}]}
    )
    call = parse_json_request("organizations", f"{PREFIX}.CreateAccount", body.encode())
    assert call == (
        "CreateAccount",
        {"Email": "a@example.com", "AccountName": "dev", "Tags": [{"Key": "k", "Value": "v"}]},
    )


def test_empty_body_for_operation_without_required_members() -> None:
    """DescribeOrganization takes no input; an empty body is fine."""
    assert parse_json_request("organizations", f"{PREFIX}.DescribeOrganization", b"") == (
        "DescribeOrganization",
        {},
    )


@pytest.mark.parametrize("target", [None, "Other.CreateAccount", f"{PREFIX}.Nope"])
def test_unknown_target_is_unknown_operation(target: str | None) -> None:
    """A missing, foreign or unknown X-Amz-Target is UnknownOperationException."""
    assert _error(target, b"{}").code == "UnknownOperationException"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{}", "INPUT_REQUIRED"),
        (b'{"AccountId": "12"}', "INVALID_PATTERN"),
    ],
)
def test_constraint_failures_are_invalid_input_with_reason(body: bytes, reason: str) -> None:
    """Organizations reports constraint failures as InvalidInputException with a Reason."""
    error = _error(f"{PREFIX}.DescribeAccount", body)
    assert (error.code, error.extra["Reason"]) == ("InvalidInputException", reason)


def test_enum_and_range_failures() -> None:
    """An unknown enum value and an out-of-range MaxResults carry their reasons."""
    enum = _error(f"{PREFIX}.ListPolicies", b'{"Filter": "NOPE"}')
    assert enum.extra["Reason"] == "INVALID_ENUM"
    limit = _error(f"{PREFIX}.ListAccounts", b'{"MaxResults": 0}')
    assert limit.extra["Reason"] == "MIN_VALUE_EXCEEDED"


@pytest.mark.parametrize("body", [b"not json", b"[1]", b'{"AccountId": 5}', b'{"MaxResults": "5"}'])
def test_wrong_json_types_are_serialization_exceptions(body: bytes) -> None:
    """Malformed JSON or values of the wrong JSON type are SerializationException."""
    target = f"{PREFIX}.ListAccounts" if b"MaxResults" in body else f"{PREFIX}.DescribeAccount"
    assert _error(target, body).code == "SerializationException"


def test_result_round_trips_through_botocore_with_epoch_timestamps() -> None:
    """botocore's JSON parser reads back the result; timestamps travel as epoch seconds."""
    account = {
        "Id": "123456789012",
        "Arn": "arn:aws:organizations::1:account/o-abc/123456789012",
        "Email": "a@example.com",
        "Name": "dev",
        "Status": "ACTIVE",
        "JoinedMethod": "CREATED",
        "JoinedTimestamp": T,
    }
    result = {"Accounts": [account], "NextToken": "n"}
    response = serialize_json_result("organizations", "ListAccounts", result, "r-1")
    assert json.loads(response.body)["Accounts"][0]["JoinedTimestamp"] == int(T.timestamp())
    assert response.headers["Content-Type"] == "application/x-amz-json-1.1"
    parsed = parse_with_botocore("json", "organizations", "ListAccounts", response)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "r-1"
    assert parsed == result


def test_error_parses_into_botocore_error_dict() -> None:
    """A JSON error carries __type, Message and extra members, with its status."""
    error = AwsError(
        "InvalidInputException",
        "You specified an invalid value.",
        400,
        extra={"Reason": "INVALID_ENUM"},
    )
    response = serialize_json_error(error, "r-3")
    assert response.status == 400
    assert json.loads(response.body) == {
        "__type": "InvalidInputException",
        "Message": "You specified an invalid value.",
        "Reason": "INVALID_ENUM",
    }
    parsed = parse_with_botocore("json", "organizations", "ListAccounts", response)
    assert parsed["Error"]["Code"] == "InvalidInputException"
    assert parsed["Error"]["Message"] == "You specified an invalid value."
