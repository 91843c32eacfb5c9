"""ID-token verification against a provider's stored JWKS (RS256, ES256) and its AWS errors."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from awswire.errors import AwsError
from dataplane.sts.oidc import parse_token, verify_token
from replication.entities import OidcProvider
from tests.dataplane.sts.jwt_signing import SigningKey, b64url, jwks

NOW = 1_800_000_000
RSA = SigningKey.generate("rsa-1", "RS256")
EC = SigningKey.generate("ec-1", "ES256")
PROVIDER = OidcProvider(
    account="123456789012",
    url="idp.example.com",
    client_ids=("app",),
    created_at=datetime.now(UTC),
    jwks=jwks(RSA, EC),
)


def _claims(**overrides: Any) -> dict[str, Any]:
    return {"iss": "https://idp.example.com", "aud": "app", "sub": "u-1", "exp": NOW + 60,
            **overrides}  # fmt: skip


def _code(token: str) -> str:
    with pytest.raises(AwsError) as refused:
        verify_token(parse_token(token), PROVIDER, NOW)
    return refused.value.code


@pytest.mark.parametrize("key", [RSA, EC], ids=["RS256", "ES256"])
def test_valid_tokens_verify(key: SigningKey) -> None:
    """A token signed by a published key, for a registered audience, verifies."""
    token = parse_token(key.sign(_claims(aud=["other", "app"])))
    assert token.issuer_host == "idp.example.com"
    assert verify_token(token, PROVIDER, NOW) == "app"


def test_tampered_and_unknown_key_tokens_are_invalid() -> None:
    """A changed payload, an unpublished key or a garbled token: InvalidIdentityToken."""
    header, _, signature = RSA.sign(_claims()).split(".")
    forged_payload = RSA.sign(_claims(sub="admin")).split(".")[1]
    assert _code(f"{header}.{forged_payload}.{signature[::-1]}") == "InvalidIdentityToken"
    assert _code(SigningKey.generate("rsa-1").sign(_claims())) == "InvalidIdentityToken"
    assert _code(RSA.sign(_claims(), kid="nope")) == "InvalidIdentityToken"
    assert _code("not-a-jwt") == "InvalidIdentityToken"


def test_audience_expiry_and_subject() -> None:
    """Wrong audience, past ``exp`` and a missing ``sub`` fail with AWS's codes."""
    assert _code(RSA.sign(_claims(aud="someone-else"))) == "InvalidIdentityToken"
    assert _code(EC.sign(_claims(exp=NOW - 1))) == "ExpiredTokenException"
    assert _code(RSA.sign(_claims(nbf=NOW + 3600))) == "InvalidIdentityToken"
    assert _code(RSA.sign(_claims(sub=""))) == "IDPRejectedClaim"


def _unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return ".".join(
        b64url(part)
        for part in (json.dumps(header).encode(), json.dumps(claims).encode(), signature)
    )


def test_algorithm_confusion_is_refused() -> None:
    """``none``, an HMAC keyed with the public JWK, and an algorithm the key is not for fail."""
    public_jwk = json.dumps(RSA.jwk()).encode()
    header = {"alg": "HS256", "typ": "JWT", "kid": RSA.kid}
    signing_input = _unsigned(header, _claims()).rsplit(".", 1)[0].encode()
    forged = hmac.new(public_jwk, signing_input, hashlib.sha256).digest()
    assert _code(_unsigned(header, _claims(), forged)) == "InvalidIdentityToken"
    assert _code(_unsigned({"alg": "none", "kid": RSA.kid}, _claims())) == "InvalidIdentityToken"
    es_header_on_rsa_key = {"alg": "ES256", "typ": "JWT", "kid": RSA.kid}
    assert _code(_unsigned(es_header_on_rsa_key, _claims(), b"x" * 64)) == "InvalidIdentityToken"
