"""SigV4 verification against requests signed by botocore itself, and against tampering."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from awswire.errors import AuthFailure
from awswire.sigv4 import SignatureClaim, parse_signature, verify_signature
from tests.awswire.botocore_helpers import ACCESS_KEY, SECRET, Signed, sign

WHEN = datetime(2023, 10, 10, 12, 0, 0, tzinfo=UTC)
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
STS_URL = "https://sts.us-east-1.amazonaws.com/"
BODY = b"Action=GetCallerIdentity&Version=2011-06-15"


def _verify(
    signed: Signed,
    *,
    secret: str = SECRET,
    now: datetime = WHEN,
    service: str = "sts",
    region: str | None = "us-east-1",
    body: bytes | None = None,
) -> SignatureClaim:
    claim = parse_signature(signed.method, signed.path, signed.query, signed.headers)
    verify_signature(
        claim,
        signed.method,
        signed.path,
        signed.query,
        signed.headers,
        signed.body if body is None else body,
        secret,
        now,
        service,
        region,
    )
    return claim


def _failure(signed: Signed, **kwargs: object) -> AuthFailure:
    with pytest.raises(AuthFailure) as info:
        _verify(signed, **kwargs)  # type: ignore[arg-type]
    return info.value


def test_header_signed_post_verifies_and_exposes_the_claim() -> None:
    """A POST signed by botocore verifies, and the claim names key, scope and time."""
    claim = _verify(sign("POST", STS_URL, BODY, WHEN, headers=FORM))
    assert (claim.access_key_id, claim.scope_date, claim.region, claim.service) == (
        ACCESS_KEY,
        "20231010",
        "us-east-1",
        "sts",
    )
    assert claim.request_time == WHEN
    assert "host" in claim.signed_headers
    assert not claim.presigned


def test_security_token_is_read_from_the_header() -> None:
    """A session token sent as X-Amz-Security-Token is part of the claim."""
    claim = _verify(sign("POST", STS_URL, BODY, WHEN, headers=FORM, token="FwoGZXIv//tok+en="))
    assert claim.security_token == "FwoGZXIv//tok+en="


@pytest.mark.parametrize(
    "query",
    [
        "Action=GetCallerIdentity&Version=2011-06-15",
        "b=2&a=1&a=0&empty=",
        "Key=%E2%9C%93%20caf%C3%A9&Other=a%2Fb%2Bc%3D%26~_-.",
        "flag",
    ],
)
def test_header_signed_get_with_query_parameters_verifies(query: str) -> None:
    """GETs whose query strings repeat, reorder, or percent-encode unicode verify."""
    _verify(sign("GET", f"{STS_URL}?{query}", b"", WHEN))


def test_path_with_special_characters_verifies() -> None:
    """A percent-encoded, non-root path is canonicalised the way botocore signs it."""
    signed = sign("GET", "https://iam.amazonaws.com/a%20b/c~d/", b"", WHEN, service="iam")
    _verify(signed, service="iam")


def test_unicode_body_and_extra_signed_headers_verify() -> None:
    """A UTF-8 body and extra headers with runs of spaces verify."""
    body = b"Action=CreateUser&UserName=caf%C3%A9&Path=%2F"
    headers = {**FORM, "X-Custom": "  two   spaces  here "}
    signed = sign("POST", "https://iam.amazonaws.com/", body, WHEN, service="iam", headers=headers)
    _verify(signed, service="iam")


def test_repeated_header_values_are_joined_with_commas() -> None:
    """A header that appears twice on the wire is canonicalised as one comma-joined value."""
    signed = sign("POST", STS_URL, BODY, WHEN, headers={**FORM, "X-Multi": "a,b"})
    signed.headers = [(k, v) for k, v in signed.headers if k != "X-Multi"]
    signed.headers += [("X-Multi", "a"), ("x-multi", "b")]
    _verify(signed)


def test_iam_with_global_region_accepts_any_region_when_none_is_expected() -> None:
    """expected_region=None accepts a signature scoped to any region."""
    signed = sign("POST", STS_URL, BODY, WHEN, region="eu-west-3", headers=FORM)
    assert _verify(signed, region=None).region == "eu-west-3"


def test_presigned_get_verifies() -> None:
    """A presigned GET URL produced by botocore's SigV4QueryAuth verifies."""
    signed = sign(
        "GET", f"{STS_URL}?{BODY.decode()}", b"", WHEN, presign_expires=900, token="T/k+n"
    )
    claim = _verify(signed, now=WHEN + timedelta(minutes=10))
    assert claim.presigned
    assert claim.expires == 900
    assert claim.security_token == "T/k+n"


def test_presigned_post_body_moved_into_the_query_verifies() -> None:
    """botocore moves a form body into the presigned query; that request verifies."""
    params = {"Action": "GetCallerIdentity", "Version": "2011-06-15"}
    signed = sign("POST", STS_URL, params, WHEN, headers=FORM, presign_expires=60)
    assert "Action=GetCallerIdentity" in signed.query
    _verify(signed)


def test_expired_presigned_url_is_rejected() -> None:
    """A presigned URL used after X-Amz-Expires fails with RequestExpired."""
    signed = sign("GET", f"{STS_URL}?{BODY.decode()}", b"", WHEN, presign_expires=60)
    error = _failure(signed, now=WHEN + timedelta(seconds=61))
    assert (error.code, error.http_status) == ("RequestExpired", 400)


def test_wrong_secret_is_signature_does_not_match() -> None:
    """A signature made with another secret fails with AWS's 403 message."""
    error = _failure(sign("POST", STS_URL, BODY, WHEN, headers=FORM), secret="x" + SECRET[1:])
    assert (error.code, error.http_status) == ("SignatureDoesNotMatch", 403)
    assert error.message.startswith("The request signature we calculated does not match")


def test_changed_body_is_rejected() -> None:
    """A body changed after signing fails verification."""
    signed = sign("POST", STS_URL, BODY, WHEN, headers=FORM)
    assert _failure(signed, body=BODY + b"&X=1").code == "SignatureDoesNotMatch"


def test_changed_signed_header_is_rejected() -> None:
    """A signed header changed after signing fails verification."""
    signed = sign("POST", STS_URL, BODY, WHEN, headers={**FORM, "X-Custom": "a"})
    signed.headers = [(k, "b" if k == "X-Custom" else v) for k, v in signed.headers]
    assert _failure(signed).code == "SignatureDoesNotMatch"


def test_changed_query_is_rejected() -> None:
    """A presigned URL whose operation parameters were altered fails verification."""
    signed = sign("GET", f"{STS_URL}?{BODY.decode()}", b"", WHEN, presign_expires=60)
    signed.query = signed.query.replace("GetCallerIdentity", "GetSessionToken")
    assert _failure(signed).code == "SignatureDoesNotMatch"


def test_mismatched_content_sha256_header_is_rejected() -> None:
    """An X-Amz-Content-Sha256 header that is not the body's hash fails verification."""
    signed = sign("POST", STS_URL, BODY, WHEN, headers={**FORM, "X-Amz-Content-SHA256": "0" * 64})
    assert _failure(signed).code == "SignatureDoesNotMatch"


def test_clock_skew_in_the_past_words_the_error_like_aws() -> None:
    """A request 30 minutes old fails with AWS's 'Signature expired' sentence."""
    signed = sign("POST", STS_URL, BODY, datetime(2023, 10, 10, tzinfo=UTC), headers=FORM)
    error = _failure(signed, now=datetime(2023, 10, 10, 0, 30, tzinfo=UTC))
    assert error.code == "SignatureDoesNotMatch"
    assert error.message == (
        "Signature expired: 20231010T000000Z is now earlier than 20231010T001500Z "
        "(20231010T003000Z - 15 min.)"
    )


def test_clock_skew_in_the_future_is_not_yet_current() -> None:
    """A request dated 20 minutes ahead fails with 'Signature not yet current'."""
    signed = sign("POST", STS_URL, BODY, WHEN + timedelta(minutes=20), headers=FORM)
    assert _failure(signed).message.startswith("Signature not yet current: 20231010T122000Z")


def test_skew_within_fifteen_minutes_is_accepted() -> None:
    """Fourteen minutes of skew either way is tolerated."""
    signed = sign("POST", STS_URL, BODY, WHEN, headers=FORM)
    _verify(signed, now=WHEN + timedelta(minutes=14))
    _verify(signed, now=WHEN - timedelta(minutes=14))


def test_wrong_region_scope_is_rejected() -> None:
    """A signature scoped to another region names that region, as AWS does."""
    signed = sign("POST", STS_URL, BODY, WHEN, region="us-west-2", headers=FORM)
    error = _failure(signed)
    assert error.code == "SignatureDoesNotMatch"
    assert error.message == "Credential should be scoped to a valid region, not 'us-west-2'. "


def test_wrong_service_scope_is_rejected() -> None:
    """A signature scoped to another service names the expected one."""
    error = _failure(sign("POST", STS_URL, BODY, WHEN, service="iam", headers=FORM))
    assert error.message == "Credential should be scoped to correct service: 'sts'. "


def test_scope_date_must_match_request_date() -> None:
    """A credential scope dated another day than X-Amz-Date is rejected."""
    signed = sign("POST", STS_URL, BODY, WHEN, headers=FORM)
    signed.headers = [
        (k, v.replace("/20231010/", "/20231009/") if k == "Authorization" else v)
        for k, v in signed.headers
    ]
    assert _failure(signed).message.startswith("Date in Credential scope does not match")


def test_no_signature_at_all_is_missing_authentication_token() -> None:
    """A request with neither Authorization header nor X-Amz-* query is unauthenticated."""
    with pytest.raises(AuthFailure) as info:
        parse_signature("POST", "/", "", {"Host": "sts.amazonaws.com"})
    assert (info.value.code, info.value.http_status) == ("MissingAuthenticationToken", 403)


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        ("AWS4-HMAC-SHA256 Credential=AKID/20231010/us-east-1/sts/aws4_request", "'Signature'"),
        ("Bearer abc", "requires 'Credential' parameter"),
        ("AWS4-HMAC-SHA512 Credential=a", "Unsupported AWS 'algorithm'"),
        ("AWS4-HMAC-SHA256 Credential=AKID/20231010, SignedHeaders=host, Signature=ab", "5 slash"),
        ("AWS4-HMAC-SHA256 Credential", "missing equal-sign"),
    ],
)
def test_malformed_authorization_header_is_incomplete_signature(
    authorization: str, expected: str
) -> None:
    """Malformed Authorization headers fail with IncompleteSignature naming the problem."""
    headers = {"Authorization": authorization, "X-Amz-Date": "20231010T000000Z"}
    with pytest.raises(AuthFailure) as info:
        parse_signature("POST", "/", "", headers)
    assert info.value.code == "IncompleteSignature"
    assert expected in info.value.message


def test_bad_amz_date_is_incomplete_signature() -> None:
    """An X-Amz-Date not in ISO-8601 basic format is rejected before any key lookup."""
    headers = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=A/20231010/us-east-1/sts/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=00",
        "X-Amz-Date": "2023-10-10T00:00:00Z",
    }
    with pytest.raises(AuthFailure, match="ISO-8601 'basic format'"):
        parse_signature("POST", "/", "", headers)


def test_presigned_url_with_bad_expiry_is_incomplete_signature() -> None:
    """A presigned URL whose X-Amz-Expires exceeds a week is malformed."""
    signed = sign("GET", f"{STS_URL}?{BODY.decode()}", b"", WHEN, presign_expires=60)
    signed.query = signed.query.replace("X-Amz-Expires=60", "X-Amz-Expires=604801")
    with pytest.raises(AuthFailure, match="X-Amz-Expires"):
        parse_signature(signed.method, signed.path, signed.query, signed.headers)


def test_host_must_be_signed() -> None:
    """A claim whose signed headers omit host is rejected."""
    signed = sign("POST", STS_URL, BODY, WHEN, headers=FORM)
    claim = parse_signature(signed.method, signed.path, signed.query, signed.headers)
    unsigned_host = dataclasses.replace(claim, signed_headers=("x-amz-date",))
    with pytest.raises(AuthFailure, match="'Host'"):
        verify_signature(
            unsigned_host, "POST", "/", "", signed.headers, BODY, SECRET, WHEN, "sts", "us-east-1"
        )
