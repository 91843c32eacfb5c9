"""SAML assertion verification against a provider's metadata certificate."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest

from awswire.errors import AwsError
from dataplane.sts.saml import verify_assertion
from replication.entities import SamlProvider
from tests.sts.saml_signing import SamlIdp

IDP = SamlIdp.generate()
ROLE = "arn:aws:iam::123456789012:role/saml"
PAIR = f"{ROLE},arn:aws:iam::123456789012:saml-provider/corp"


def _provider(idp: SamlIdp = IDP) -> SamlProvider:
    now = datetime.now(UTC)
    return SamlProvider(account="123456789012", name="corp", metadata_document=idp.metadata(),
                        created_at=now, valid_until=now)  # fmt: skip


def _code(encoded: str, provider: SamlProvider | None = None) -> str:
    with pytest.raises(AwsError) as refused:
        verify_assertion(encoded, provider or _provider(), time.time())
    return refused.value.code


def test_signed_assertion_is_read() -> None:
    """A signed assertion yields its subject, role pairs, session name and principal tags."""
    encoded = IDP.response([PAIR], tags={"dept": "ops"})
    assertion = verify_assertion(encoded, _provider(), time.time())
    assert assertion.roles == ((ROLE, "arn:aws:iam::123456789012:saml-provider/corp"),)
    assert (assertion.subject, assertion.subject_type) == ("alice@example.test", "persistent")
    assert (assertion.session_name, assertion.tags) == ("saml-user", {"dept": "ops"})
    assert assertion.recipient == "https://signin.aws.amazon.com/saml"


def test_tampered_foreign_and_expired_assertions_are_refused() -> None:
    """Edited XML, another IdP's key, a wrong audience or a past NotOnOrAfter are refused."""
    encoded = IDP.response([PAIR])
    tampered = base64.b64decode(encoded).replace(b"saml-user", b"root-user")
    assert _code(base64.b64encode(tampered).decode()) == "InvalidIdentityToken"
    assert _code(encoded, _provider(SamlIdp.generate())) == "InvalidIdentityToken"
    assert _code(IDP.response([PAIR], audience="https://else.example")) == "InvalidIdentityToken"
    assert _code(IDP.response([PAIR], lifetime=-10)) == "ExpiredTokenException"
    assert _code("%%%not-base64") == "InvalidIdentityToken"
