"""SAML assertion verification against a provider's metadata certificate."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from lxml import etree
from signxml.signer import XMLSigner

from awswire.errors import AwsError
from dataplane.identity.policy_index import PolicyIndex
from dataplane.identity.sessions import open_session
from dataplane.identity.tokens import TokenKeys, new_token_key
from dataplane.sts.call import StsCall
from dataplane.sts.saml import verify_assertion
from dataplane.sts.saml_role import assume_role_with_saml
from replication.entities import SamlProvider
from tests.controlplane.organizations.test_organizations_evaluation import World
from tests.dataplane.sts.saml_signing import ATTRIBUTE, SamlIdp

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


# -- SourceIdentity, PrincipalTag:* and TransitiveTagKeys through AssumeRoleWithSAML ----------

SAML_NS = {"saml": "urn:oasis:names:tc:SAML:2.0:assertion"}
DSIG = "{http://www.w3.org/2000/09/xmldsig#}Signature"


def with_attributes(encoded: str, attributes: dict[str, list[str]], idp: SamlIdp = IDP) -> str:
    """``encoded`` with more assertion attributes, the assertion signed again by ``idp``."""
    response = etree.fromstring(base64.b64decode(encoded))
    assertion = response.find("saml:Assertion", SAML_NS)
    assert assertion is not None
    for signature in assertion.findall(DSIG):
        assertion.remove(signature)
    statement = assertion.find("saml:AttributeStatement", SAML_NS)
    assert statement is not None
    for name, values in attributes.items():
        attribute = etree.SubElement(statement, f"{{{SAML_NS['saml']}}}Attribute", Name=name)
        for value in values:
            etree.SubElement(attribute, f"{{{SAML_NS['saml']}}}AttributeValue").text = value
    pem = idp.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signed = XMLSigner(c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#").sign(
        assertion, key=pem, cert=idp.cert.public_bytes(serialization.Encoding.PEM).decode()
    )
    response.remove(assertion)
    response.append(signed)
    return base64.b64encode(etree.tostring(response)).decode("ascii")


def test_source_identity_and_transitive_tag_keys_are_read() -> None:
    """The SourceIdentity and TransitiveTagKeys attributes reach the verified assertion."""
    encoded = with_attributes(
        IDP.response([PAIR], tags={"dept": "ops", "team": "db"}),
        {ATTRIBUTE + "SourceIdentity": ["alice"], ATTRIBUTE + "TransitiveTagKeys": ["dept"]},
    )
    assertion = verify_assertion(encoded, _provider(), time.time())
    assert assertion.source_identity == "alice"
    assert assertion.tags == {"dept": "ops", "team": "db"}
    assert assertion.transitive_tag_keys == ("dept",)
    assert verify_assertion(IDP.response([PAIR]), _provider(), time.time()).source_identity is None


class _Saml:
    """A SAML provider and roles folded into a state, and AssumeRoleWithSAML against it."""

    def __init__(self) -> None:
        self.world = World()
        self.keys = TokenKeys.parse(f"k1:{new_token_key()}")
        self.index = PolicyIndex()
        created = self.world.iam(
            "CreateSAMLProvider", Name="corp", SAMLMetadataDocument=IDP.metadata()
        )
        self.provider = str(created["SAMLProviderArn"])

    def role(self, name: str, *actions: str, condition: dict[str, Any] | None = None) -> str:
        """A role the provider may assume with ``actions`` (and ``condition``); its ARN."""
        statement: dict[str, Any] = {
            "Effect": "Allow",
            "Principal": {"Federated": self.provider},
            "Action": ["sts:AssumeRoleWithSAML", *actions],
        }
        if condition:
            statement["Condition"] = condition
        trust = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        created = self.world.iam("CreateRole", RoleName=name, AssumeRolePolicyDocument=trust)
        return str(created["Role"]["Arn"])

    def assume(self, role: str, attributes: dict[str, list[str]], **tags: str) -> dict[str, Any]:
        """AssumeRoleWithSAML with an assertion offering ``role`` and these attributes."""
        encoded = with_attributes(IDP.response([f"{role},{self.provider}"], tags=tags), attributes)
        params = {"RoleArn": role, "PrincipalArn": self.provider, "SAMLAssertion": encoded}
        call = StsCall(self.world.state, None, params, time.time(), "eu-west-1", {}, self.keys,
                       self.index)  # fmt: skip
        return assume_role_with_saml(call)

    def refusal(self, role: str, attributes: dict[str, list[str]], **tags: str) -> AwsError:
        """The error AssumeRoleWithSAML answers."""
        with pytest.raises(AwsError) as refused:
            self.assume(role, attributes, **tags)
        return refused.value


def test_saml_source_identity_needs_set_source_identity_and_sticks_to_the_session() -> None:
    """A SourceIdentity attribute needs sts:SetSourceIdentity in the trust policy (else
    AccessDenied, worded as for the call); then the response and the sealed session carry
    it, aws:SourceIdentity is on the session's requests, sts:SourceIdentity on the trust's."""
    saml = _Saml()
    source = {ATTRIBUTE + "SourceIdentity": ["alice"]}
    plain = saml.role("plain")
    refused = saml.refusal(plain, source)
    assert (refused.code, refused.message) == (
        "AccessDenied",
        "Not authorized to perform sts:AssumeRoleWithSAML",
    )
    assert "SourceIdentity" not in saml.assume(plain, {})

    only_alice = {"StringEquals": {"sts:SourceIdentity": "alice"}}
    allowed = saml.role("audited", "sts:SetSourceIdentity", condition=only_alice)
    answer = saml.assume(allowed, source)
    assert answer["SourceIdentity"] == "alice"
    creds = answer["Credentials"]
    session, secret = open_session(
        saml.keys, creds["AccessKeyId"], creds["SessionToken"], time.time()
    )
    assert secret == creds["SecretAccessKey"]
    assert session.claims.source_identity == "alice"
    principal = session.principal(saml.world.state, PolicyIndex(), time.time())
    assert principal.derived["aws:sourceidentity"] == "alice"
    bob = {ATTRIBUTE + "SourceIdentity": ["bob"]}
    assert saml.refusal(allowed, bob).code == "AccessDenied"
    bad = {ATTRIBUTE + "SourceIdentity": ["aws:alice"]}
    assert saml.refusal(allowed, bad).code == "InvalidIdentityToken"


def test_saml_principal_tags_and_transitive_keys_become_session_tags() -> None:
    """PrincipalTag:* attributes are session tags (sts:TagSession required), and the
    TransitiveTagKeys attribute marks the transitive ones."""
    saml = _Saml()
    transitive = {ATTRIBUTE + "TransitiveTagKeys": ["dept"]}
    untagged = saml.role("untagged")
    assert saml.refusal(untagged, transitive, dept="ops").code == "AccessDenied"
    tagged = saml.role("tagged", "sts:TagSession")
    creds = saml.assume(tagged, transitive, dept="ops", team="db")["Credentials"]
    session, _ = open_session(saml.keys, creds["AccessKeyId"], creds["SessionToken"], time.time())
    assert session.claims.tags == {"dept": "ops", "team": "db"}
    assert session.claims.transitive_tag_keys == ("dept",)
