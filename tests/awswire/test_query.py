"""Query protocol parsing: structure, lists, maps, types, and AWS's validation wording."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from awswire.errors import AwsError
from awswire.query import parse_query_request
from tests.awswire.botocore_helpers import serialize_query_body


def _error(service: str, body: bytes, query: str = "") -> AwsError:
    with pytest.raises(AwsError) as info:
        parse_query_request(service, body, query)
    return info.value


def test_nested_lists_of_structures_are_rebuilt() -> None:
    """``Tags.member.N.Key`` keys become a list of dicts in index order."""
    body = (
        b"Action=CreateUser&Version=2010-05-08&UserName=bob&Path=%2Fteam%2F"
        b"&Tags.member.2.Key=b&Tags.member.2.Value=2&Tags.member.1.Key=a&Tags.member.1.Value=1"
    )
    call = parse_query_request("iam", body)
    assert call == (
        "CreateUser",
        {
            "UserName": "bob",
            "Path": "/team/",
            "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
        },
    )


def test_scalars_are_converted_to_their_model_types() -> None:
    """Integers, booleans and timestamps arrive as int, bool and aware datetime."""
    params = {
        "MinimumPasswordLength": 12,
        "RequireSymbols": True,
        "AllowUsersToChangePassword": False,
    }
    body = serialize_query_body("iam", "UpdateAccountPasswordPolicy", params)
    assert parse_query_request("iam", body).params == params
    body = b"Action=GetServiceLastAccessedDetails&Version=2010-05-08&JobId=" + b"j" * 36
    assert parse_query_request("iam", body).params == {"JobId": "j" * 36}


def test_timestamp_parameters_parse_as_utc() -> None:
    """An ISO-8601 timestamp with an offset is converted to UTC."""
    body = (
        b"Action=SimulateCustomPolicy&Version=2010-05-08&PolicyInputList.member.1=%7B%7D"
        b"&ActionNames.member.1=s3%3AGetObject&ContextEntries.member.1.ContextKeyName=aws%3ACurrentTime"
        b"&ContextEntries.member.1.ContextKeyType=date"
        b"&ContextEntries.member.1.ContextKeyValues.member.1=x"
    )
    call = parse_query_request("iam", body)
    assert call.params["ContextEntries"][0]["ContextKeyValues"] == ["x"]
    assert parse_query_request("iam", body, "").operation == "SimulateCustomPolicy"
    from awswire.query import parse_query_timestamp

    assert parse_query_timestamp("2023-10-10T02:00:00+02:00") == datetime(2023, 10, 10, tzinfo=UTC)


def test_maps_are_rebuilt_from_entries() -> None:
    """``Map.entry.N.key/value`` keys become a dict."""
    params = {"Properties": {"a": "1", "b": "2"}}
    body = serialize_query_body("iam", "PutAccountProperties", params)
    assert b"entry.1" in body
    assert parse_query_request("iam", body, validate=False).params == params


def test_empty_list_is_an_empty_list() -> None:
    """A bare ``Tags=`` (botocore's empty list) parses as an empty list."""
    body = b"Action=CreateUser&Version=2010-05-08&UserName=bob&Tags="
    assert parse_query_request("iam", body).params["Tags"] == []


def test_query_string_parameters_merge_with_the_body_and_auth_params_are_ignored() -> None:
    """Params may come in the URL; presigning X-Amz-* params are not operation params."""
    query = "Action=GetUser&Version=2010-05-08&X-Amz-Signature=ab&X-Amz-Date=20231010T000000Z"
    assert parse_query_request("iam", b"UserName=al", query) == ("GetUser", {"UserName": "al"})


def test_missing_action_is_invalid_action() -> None:
    """A request without Action fails with InvalidAction."""
    error = _error("iam", b"Version=2010-05-08")
    assert (error.code, error.http_status) == ("InvalidAction", 400)


def test_unknown_action_is_worded_like_aws() -> None:
    """An unknown action names the action and version as AWS does."""
    error = _error("sts", b"Action=CreateUser&Version=2011-06-15")
    assert error.message == "Could not find operation CreateUser for version 2011-06-15"


def test_wrong_version_is_invalid_action() -> None:
    """An action sent with another API version is not found."""
    error = _error("iam", b"Action=GetUser&Version=2011-06-15")
    assert error.message == "Could not find operation GetUser for version 2011-06-15"


def test_missing_required_member_is_value_null() -> None:
    """A missing required member is reported as AWS IAM does."""
    error = _error("iam", b"Action=CreateUser&Version=2010-05-08")
    assert (error.code, error.http_status) == ("ValidationError", 400)
    assert error.message == (
        "1 validation error detected: Value null at 'userName' failed to satisfy "
        "constraint: Member must not be null"
    )


def test_too_long_name_is_worded_like_aws() -> None:
    """A 65-character user name fails with AWS's max-length sentence."""
    error = _error("iam", b"Action=CreateUser&Version=2010-05-08&UserName=" + b"u" * 65)
    assert error.message == (
        f"1 validation error detected: Value '{'u' * 65}' at 'userName' failed to satisfy "
        "constraint: Member must have length less than or equal to 64"
    )


def test_pattern_failure_quotes_the_model_pattern() -> None:
    """A session name with a colon fails with the model's regular expression."""
    body = (
        b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr"
        b"&RoleSessionName=a%3Ab"
    )
    error = _error("sts", body)
    assert error.message == (
        "1 validation error detected: Value 'a:b' at 'roleSessionName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
    )


def test_several_violations_are_counted_and_joined() -> None:
    """Violations in nested list members carry AWS paths and are joined with '; '."""
    body = (
        b"Action=TagUser&Version=2010-05-08&UserName=bob&Tags.member.1.Key=k&Tags.member.2.Value=v"
    )
    error = _error("iam", body)
    assert error.message == (
        "2 validation errors detected: "
        "Value null at 'tags.1.member.value' failed to satisfy constraint: "
        "Member must not be null; "
        "Value null at 'tags.2.member.key' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_enum_and_range_violations() -> None:
    """Enum and numeric range failures use AWS's constraint sentences."""
    status = _error(
        "iam",
        b"Action=UpdateAccessKey&Version=2010-05-08&AccessKeyId=AKIAAAAAAAAAAAAAAAAA&Status=On",
    )
    assert status.message.endswith(
        "Member must satisfy enum value set: [Active, Inactive, Expired]"
    )
    items = _error("iam", b"Action=ListUsers&Version=2010-05-08&MaxItems=1001")
    assert items.message.endswith(
        "Value '1001' at 'maxItems' failed to satisfy constraint: "
        "Member must have value less than or equal to 1000"
    )


def test_sensitive_values_are_not_echoed() -> None:
    """A sensitive member's value is left out of the validation message."""
    body = b"Action=CreateLoginProfile&Version=2010-05-08&UserName=bob&Password="
    error = _error("iam", body)
    assert "Value at 'password' failed to satisfy constraint" in error.message


def test_unicode_tag_values_match_java_property_classes() -> None:
    """Tag values with non-ASCII letters satisfy the model's \\p{L} pattern."""
    prefix = "Action=TagUser&Version=2010-05-08&UserName=bob&Tags.member.1.Key=k&Tags.member.1."
    body = (prefix + "Value=café 日本").encode()
    assert parse_query_request("iam", body).params["Tags"] == [{"Key": "k", "Value": "café 日本"}]
    bad = (prefix + "Value=%21").encode()
    assert "regular expression pattern" in _error("iam", bad).message


@pytest.mark.parametrize(
    "param",
    [b"MaxItems=ten", b"MaxItems=99999999999"],
)
def test_unreadable_integers_are_invalid_parameter_values(param: bytes) -> None:
    """A non-numeric or out-of-range integer is rejected before validation."""
    error = _error("iam", b"Action=ListUsers&Version=2010-05-08&" + param)
    assert error.code == "InvalidParameterValue"


def test_unreadable_boolean_is_rejected() -> None:
    """A boolean other than true/false is rejected."""
    body = b"Action=UpdateAccountPasswordPolicy&Version=2010-05-08&RequireSymbols=yes"
    assert _error("iam", body).code == "InvalidParameterValue"


def test_operation_without_input_parses_to_no_params() -> None:
    """GetCallerIdentity takes no input and parses to empty params."""
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    assert parse_query_request("sts", body) == ("GetCallerIdentity", {})
