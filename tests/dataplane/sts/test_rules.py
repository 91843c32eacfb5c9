"""STS's own parameter rules (R73-R76) and the TOTP used for virtual MFA."""

from __future__ import annotations

import base64
import json
import secrets

import pytest

from awswire.errors import AwsError
from dataplane.sts.limits import (
    check_duration,
    packed_policy_size,
    session_policy_text,
    session_tags,
)
from dataplane.sts.mfa import totp


def test_totp_matches_rfc_6238() -> None:
    """The RFC 6238 SHA-1 vectors, truncated to six digits."""
    seed = base64.b32encode(b"12345678901234567890").decode()
    assert totp(seed, 59) == "287082"
    assert totp(seed, 1111111109) == "081804"


@pytest.mark.parametrize(
    ("requested", "role_max", "chained", "fragment"),
    [(7200, 43200, True, "role chaining"), (7200, 3600, False, "MaxSessionDuration")],
)
def test_duration_limits(requested: int, role_max: int, chained: bool, fragment: str) -> None:
    """Over the role's maximum, or over an hour when chaining: ValidationError."""
    with pytest.raises(AwsError) as refused:
        check_duration(requested, role_max, chained)
    assert refused.value.code == "ValidationError"
    assert fragment in refused.value.message


def test_durations_within_limits_pass() -> None:
    """An hour when chaining and the role's maximum otherwise are fine."""
    check_duration(3600, 3600, True)
    check_duration(43200, 43200, False)


def test_session_policy_plaintext_limit() -> None:
    """Inline policy plus ARNs over 2,048 characters, or more than 10 ARNs, are refused."""
    big = json.dumps({"Version": "2012-10-17", "Statement": [], "Pad": "x" * 2100})
    with pytest.raises(AwsError):
        session_policy_text({"Policy": big})
    arns = [{"arn": f"arn:aws:iam::123456789012:policy/p{i}"} for i in range(11)]
    with pytest.raises(AwsError):
        session_policy_text({"PolicyArns": arns})
    assert session_policy_text({"Policy": "{}", "PolicyArns": arns[:2]})[1] == (
        "arn:aws:iam::123456789012:policy/p0",
        "arn:aws:iam::123456789012:policy/p1",
    )


def test_tags_unique_ignoring_case_and_transitive_subset() -> None:
    """Duplicate keys (any case) and transitive keys not among the tags are refused."""
    with pytest.raises(AwsError):
        session_tags({"Tags": [{"Key": "Team", "Value": "a"}, {"Key": "team", "Value": "b"}]})
    with pytest.raises(AwsError):
        session_tags({"Tags": [{"Key": "a", "Value": "1"}], "TransitiveTagKeys": ["b"]})
    tags, transitive = session_tags(
        {"Tags": [{"Key": "a", "Value": "1"}], "TransitiveTagKeys": ["A"]}
    )
    assert (tags, transitive) == ({"a": "1"}, ("A",))


def test_packed_size_is_a_percentage() -> None:
    """No policy packs to 0 %; a normal policy fits; fifty long random tags do not."""
    assert packed_policy_size(None, (), {}) == 0
    assert 0 < packed_policy_size('{"Version": "2012-10-17", "Statement": []}', (), {}) <= 100
    tags = {f"k{i}": secrets.token_hex(128) for i in range(50)}
    with pytest.raises(AwsError) as refused:
        packed_policy_size(None, (), tags)
    assert refused.value.code == "PackedPolicyTooLarge"
