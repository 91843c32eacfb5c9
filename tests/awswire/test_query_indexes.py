"""Member indexes of Query lists and maps: 1, 2, 3... and nothing else."""

from __future__ import annotations

import pytest

from awswire.errors import AwsError
from awswire.query import parse_query_request

CREATE_USER = b"Action=CreateUser&Version=2010-05-08&UserName=bob"


@pytest.mark.parametrize(
    "index", ["-1", "0", "01", "x", "1x", "", "+1", "\u0661", "1" * 10, "9" * 5000]
)
def test_a_list_index_that_is_not_a_positive_integer_is_malformed_input(index: str) -> None:
    """``Tags.member.-1`` and its kin are refused, never dropped or accepted silently (an
    index of 5,000 digits included: it must not reach int() and fail as a 500)."""
    body = CREATE_USER + f"&Tags.member.{index}.Key=k&Tags.member.{index}.Value=v".encode()
    with pytest.raises(AwsError) as raised:
        parse_query_request("iam", body)
    assert (raised.value.code, raised.value.http_status) == ("MalformedInput", 400)
    assert raised.value.message.startswith("A member index of Tags is not a valid index")


def test_a_map_entry_index_is_held_to_the_same_rule() -> None:
    """``Attributes.entry.0`` (a map) is refused like a list index."""
    body = (
        b"Action=SimulateCustomPolicy&Version=2010-05-08&PolicyInputList.member.1=%7B%7D"
        b"&ActionNames.member.1=s3:GetObject&ContextEntries.member.0.ContextKeyName=k"
    )
    with pytest.raises(AwsError) as raised:
        parse_query_request("iam", body)
    assert raised.value.code == "MalformedInput"


def test_indexes_from_one_in_any_order_with_gaps_still_read() -> None:
    """What boto3 sends (1, 2, ...) and gaps between indexes read in numeric order."""
    body = CREATE_USER + b"&Tags.member.10.Key=b&Tags.member.10.Value=2"
    body += b"&Tags.member.2.Key=a&Tags.member.2.Value=1"
    tags = parse_query_request("iam", body).params["Tags"]
    assert tags == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]


def test_an_integer_of_thousands_of_digits_is_an_invalid_value_not_a_crash() -> None:
    """A scalar integer too long for int() is InvalidParameterValue (400)."""
    body = b"Action=ListUsers&Version=2010-05-08&MaxItems=" + b"7" * 5000
    with pytest.raises(AwsError) as raised:
        parse_query_request("iam", body)
    assert (raised.value.code, raised.value.http_status) == ("InvalidParameterValue", 400)
