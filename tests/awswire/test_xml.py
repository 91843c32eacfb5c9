"""Query XML serialization, checked by parsing the documents with botocore's own parser."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from awswire.errors import AwsError
from awswire.models import modeled_error
from awswire.xml import (
    format_query_timestamp,
    query_error_response,
    serialize_query_error,
    serialize_query_result,
)
from tests.awswire.botocore_helpers import parse_with_botocore

T = datetime(2023, 10, 10, 12, 30, 5, tzinfo=UTC)
USER = {
    "Path": "/",
    "UserName": "bob",
    "UserId": "AIDAEXAMPLE",
    "Arn": "arn:aws:iam::123456789012:user/bob",
    "CreateDate": T,
    "Tags": [{"Key": "team", "Value": "a & <b>"}],
}
KEY = {"UserName": "bob", "AccessKeyId": "AKIAEXAMPLE", "Status": "Active", "CreateDate": T}
CREDS = {
    "AccessKeyId": "ASIAEXAMPLE",
    "SecretAccessKey": "secret",
    "SessionToken": "token",
    "Expiration": T,
}

CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("iam", "CreateUser", {"User": USER}),
    ("iam", "GetUser", {"User": {**USER, "PasswordLastUsed": T}}),
    (
        "iam",
        "ListUsers",
        {"Users": [USER, {**USER, "UserName": "al"}], "IsTruncated": True, "Marker": "m1"},
    ),
    ("iam", "ListUsers", {"Users": [], "IsTruncated": False}),
    ("iam", "CreateAccessKey", {"AccessKey": {**KEY, "SecretAccessKey": "s/+="}}),
    ("iam", "ListAccessKeys", {"AccessKeyMetadata": [KEY], "IsTruncated": False}),
    (
        "iam",
        "GetUserPolicy",
        {"UserName": "bob", "PolicyName": "p", "PolicyDocument": '{"a": "\\r\\n"}'},
    ),
    ("iam", "GetAccountSummary", {"SummaryMap": {"Users": 3, "Groups": 0}}),
    (
        "iam",
        "GetCredentialReport",
        {"Content": b"user,arn\n", "ReportFormat": "text/csv", "GeneratedTime": T},
    ),
    (
        "sts",
        "AssumeRole",
        {
            "Credentials": CREDS,
            "AssumedRoleUser": {
                "AssumedRoleId": "AROA:s",
                "Arn": "arn:aws:sts::1:assumed-role/r/s",
            },
            "PackedPolicySize": 6,
            "SourceIdentity": "me",
        },
    ),
    (
        "sts",
        "GetCallerIdentity",
        {"UserId": "AIDA", "Account": "123456789012", "Arn": "arn:aws:iam::1:user/b"},
    ),
    (
        "sts",
        "GetSessionToken",
        {"Credentials": {**CREDS, "Expiration": T.replace(microsecond=123000)}},
    ),
]


@pytest.mark.parametrize(
    ("service", "operation", "result"), CASES, ids=[f"{c[0]}.{c[1]}" for c in CASES]
)
def test_result_round_trips_through_botocore(
    service: str, operation: str, result: dict[str, Any]
) -> None:
    """botocore's Query parser reads back exactly the result that was serialized."""
    response = serialize_query_result(service, operation, result, "req-1")
    parsed = parse_with_botocore("query", service, operation, response)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "req-1"
    assert parsed == result


def test_document_shape_and_namespace() -> None:
    """The document is {Op}Response/{Op}Result in the service's namespace."""
    body = serialize_query_result("sts", "GetCallerIdentity", {"Account": "1"}, "r").body.decode()
    assert body.startswith(
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
    )
    assert "<GetCallerIdentityResult><Account>1</Account></GetCallerIdentityResult>" in body


def test_operation_without_output_has_only_response_metadata() -> None:
    """DeleteUser's response carries only ResponseMetadata."""
    response = serialize_query_result("iam", "DeleteUser", None, "r-9")
    assert response.status == 200
    assert response.body.decode() == (
        '<DeleteUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        "<ResponseMetadata><RequestId>r-9</RequestId></ResponseMetadata></DeleteUserResponse>"
    )


def test_timestamps_and_booleans_are_written_as_aws_does() -> None:
    """Timestamps are ISO-8601 with Z and booleans lowercase."""
    body = serialize_query_result("iam", "ListUsers", {"Users": [USER], "IsTruncated": False}, "r")
    assert b"<CreateDate>2023-10-10T12:30:05Z</CreateDate>" in body.body
    assert b"<IsTruncated>false</IsTruncated>" in body.body


def test_documents_are_written_byte_for_byte() -> None:
    """The exact bytes: members in model order, list members and map entries, text escaped
    (a carriage return as ``&#13;``), milliseconds kept and a year written as strftime's %Y."""
    user = {
        "Path": "/",
        "UserName": "bob",
        "UserId": "AIDAEXAMPLE",
        "Arn": "arn:aws:iam::123456789012:user/bob",
        "CreateDate": T.replace(microsecond=123456),
        "Tags": [{"Key": "team", "Value": "a & <b>\r\n"}, {"Key": "k", "Value": ""}],
    }
    created = serialize_query_result("iam", "CreateUser", {"User": user}, "req-1").body
    assert created.decode() == (
        '<CreateUserResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        "<CreateUserResult><User><Path>/</Path><UserName>bob</UserName>"
        "<UserId>AIDAEXAMPLE</UserId><Arn>arn:aws:iam::123456789012:user/bob</Arn>"
        "<CreateDate>2023-10-10T12:30:05.123Z</CreateDate><Tags>"
        "<member><Key>team</Key><Value>a &amp; &lt;b&gt;&#13;\n</Value></member>"
        "<member><Key>k</Key><Value></Value></member></Tags></User></CreateUserResult>"
        "<ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></CreateUserResponse>"
    )
    summary = {"SummaryMap": {"Users": 3, "Groups": 0}}
    summarized = serialize_query_result("iam", "GetAccountSummary", summary, "req-2").body
    assert summarized.decode() == (
        '<GetAccountSummaryResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        "<GetAccountSummaryResult><SummaryMap>"
        "<entry><key>Users</key><value>3</value></entry>"
        "<entry><key>Groups</key><value>0</value></entry>"
        "</SummaryMap></GetAccountSummaryResult>"
        "<ResponseMetadata><RequestId>req-2</RequestId></ResponseMetadata>"
        "</GetAccountSummaryResponse>"
    )
    assert format_query_timestamp(datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)) == (
        datetime(999, 1, 2, 3, 4, 5).strftime("%Y-%m-%dT%H:%M:%SZ")
    )


def test_unknown_result_member_is_a_programming_error() -> None:
    """A result member the output shape lacks raises ValueError rather than vanishing."""
    with pytest.raises(ValueError, match="Nope"):
        serialize_query_result("iam", "GetUser", {"User": USER, "Nope": 1}, "r")


def test_error_parses_into_botocore_error_dict() -> None:
    """An error document parses into botocore's Error dict with code, message and status."""
    response = serialize_query_error(
        "NoSuchEntity", "The user with name x cannot be found.", 404, True, "r-2", "iam"
    )
    parsed = parse_with_botocore("query", "iam", "GetUser", response)
    assert parsed["Error"] == {
        "Type": "Sender",
        "Code": "NoSuchEntity",
        "Message": "The user with name x cannot be found.",
    }
    assert parsed["ResponseMetadata"]["RequestId"] == "r-2"
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_receiver_fault_and_escaping() -> None:
    """A server fault is typed Receiver and markup in messages is escaped."""
    error = AwsError("ServiceFailure", "bad <thing> & more", 500, sender_fault=False)
    parsed = parse_with_botocore(
        "query", "sts", "GetCallerIdentity", query_error_response(error, "r", "sts")
    )
    assert parsed["Error"] == {
        "Type": "Receiver",
        "Code": "ServiceFailure",
        "Message": "bad <thing> & more",
    }


def test_modeled_error_uses_the_model_wire_code() -> None:
    """EntityAlreadyExistsException travels as EntityAlreadyExists with status 409."""
    error = modeled_error(
        "iam", "EntityAlreadyExistsException", "User with name bob already exists."
    )
    assert (error.code, error.http_status, error.sender_fault) == ("EntityAlreadyExists", 409, True)
