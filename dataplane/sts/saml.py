"""Verifying a SAML 2.0 response (XML-DSig) against a SAML provider's metadata document.

The signature is checked by ``signxml`` (exclusive C14N, RSA-SHA256 and stronger; SHA-1 is
refused) with the signing certificate(s) of the provider's ``IDPSSODescriptor``; only the XML
the signature covers is read afterwards, so signature-wrapping cannot smuggle claims in. Then
AWS's checks: audience/recipient ``https://signin.aws.amazon.com/saml``, ``NotBefore`` and
``NotOnOrAfter``, and the attributes AWS reads (Role, RoleSessionName, SessionDuration,
PrincipalTag:*, TransitiveTagKeys, SourceIdentity).
"""

from __future__ import annotations

import base64
import binascii
import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from awswire.errors import AwsError
from replication.entities import SamlProvider

__all__ = ["AWS_AUDIENCES", "SamlAssertion", "verify_assertion"]

AWS_AUDIENCES = frozenset({"https://signin.aws.amazon.com/saml", "urn:amazon:webservices"})
_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/"
_TAG_PREFIX = _ATTRIBUTE + "PrincipalTag:"
_NS = {
    "saml": "urn:oasis:names:tc:SAML:2.0:assertion",
    "md": "urn:oasis:names:tc:SAML:2.0:metadata",
    "ds": "http://www.w3.org/2000/09/xmldsig#",
}


# lxml and signxml are imported where they are used: a replica that never sees a SAML
# assertion (most of them) does not pay for importing them at every start
@functools.cache
def _parser() -> Any:
    """lxml's parser for untrusted XML: no entities, no network, no huge trees."""
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidIdentityToken", message, 400)


@dataclass(frozen=True, slots=True)
class SamlAssertion:
    """What AWS reads from a verified assertion."""

    issuer: str
    subject: str
    subject_type: str
    recipient: str
    roles: tuple[tuple[str, str], ...]  # (role ARN, provider ARN)
    session_name: str | None
    session_duration: int | None
    tags: dict[str, str] = field(default_factory=dict)
    transitive_tag_keys: tuple[str, ...] = ()
    source_identity: str | None = None


def _certificates(provider: SamlProvider) -> list[str]:
    """The PEM signing certificates of the provider's metadata document."""
    from lxml import etree

    try:
        metadata = etree.fromstring(provider.metadata_document.encode(), parser=_parser())
    except etree.XMLSyntaxError:
        raise _invalid("The SAML provider's metadata document is not valid XML.") from None
    found = metadata.xpath(
        "//md:IDPSSODescriptor/md:KeyDescriptor[not(@use) or @use='signing']"
        "//ds:X509Certificate/text()",
        namespaces=_NS,
    )
    return [
        "-----BEGIN CERTIFICATE-----\n"
        + "".join(str(text).split())
        + "\n-----END CERTIFICATE-----\n"
        for text in found
    ]


def _signed_assertion(document: bytes, provider: SamlProvider) -> Any:
    """The ``saml:Assertion`` element the provider's key signed (directly or in the Response)."""
    from lxml import etree
    from signxml.exceptions import SignXMLException
    from signxml.verifier import VerifyResult, XMLVerifier

    for cert in _certificates(provider):
        try:
            verified = XMLVerifier().verify(document, x509_cert=cert)
        except (SignXMLException, ValueError):
            continue
        if not isinstance(verified, VerifyResult):
            continue
        signed = verified.signed_xml
        if signed is None:
            continue
        if etree.QName(signed).localname == "Assertion":
            return signed
        inner = signed.findall("saml:Assertion", _NS)
        if len(inner) == 1:
            return inner[0]
    raise _invalid("Invalid SAML assertion: the signature does not verify.")


def _time(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp()


def _check_times(assertion: Any, now: float) -> None:
    """``NotBefore`` (5 minutes of skew) and every ``NotOnOrAfter``."""
    for element in assertion.iter():
        not_after = _time(element.get("NotOnOrAfter"))
        if not_after is not None and now >= not_after:
            raise AwsError("ExpiredTokenException", "Token has expired", 400)
        not_before = _time(element.get("NotBefore"))
        if not_before is not None and now + 300 < not_before:
            raise _invalid("Invalid SAML assertion: it is not yet valid (NotBefore).")


def _attributes(assertion: Any) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for attribute in assertion.iterfind(".//saml:AttributeStatement/saml:Attribute", _NS):
        texts = [v.text or "" for v in attribute.iterfind("saml:AttributeValue", _NS)]
        values.setdefault(attribute.get("Name", ""), []).extend(texts)
    return values


def _principal_tags(attrs: dict[str, list[str]]) -> dict[str, str]:
    """``PrincipalTag:KEY`` attributes (the first value of each)."""
    return {
        k.removeprefix(_TAG_PREFIX): v[0]
        for k, v in attrs.items()
        if k.startswith(_TAG_PREFIX) and v
    }


def _roles(values: list[str]) -> tuple[tuple[str, str], ...]:
    """``role-arn,provider-arn`` pairs, in either order."""
    pairs = []
    for value in values:
        parts = [p.strip() for p in value.split(",")]
        if len(parts) == 2:
            role = next((p for p in parts if ":role/" in p), None)
            provider = next((p for p in parts if ":saml-provider/" in p), None)
            if role and provider:
                pairs.append((role, provider))
    return tuple(pairs)


def verify_assertion(encoded: str, provider: SamlProvider, now: float) -> SamlAssertion:
    """Decode, verify and read a base64 SAML response; AWS's errors when it fails."""
    from lxml import etree

    try:
        document = base64.b64decode(encoded, validate=False)
        etree.fromstring(document, parser=_parser())
    except (binascii.Error, ValueError, etree.XMLSyntaxError):
        raise _invalid("Invalid base64 SAMLResponse (Malformed XML)") from None
    assertion = _signed_assertion(document, provider)
    audiences = {a.text for a in assertion.iterfind(".//saml:Audience", _NS)}
    if not audiences & AWS_AUDIENCES:
        raise _invalid("Invalid SAML assertion: the audience is not AWS.")
    confirmation = assertion.find(".//saml:SubjectConfirmationData", _NS)
    recipient = confirmation.get("Recipient", "") if confirmation is not None else ""
    if not recipient.endswith("signin.aws.amazon.com/saml"):
        raise _invalid("Invalid SAML assertion: the recipient is not AWS's sign-in endpoint.")
    _check_times(assertion, now)
    name_id = assertion.find("saml:Subject/saml:NameID", _NS)
    attrs = _attributes(assertion)
    duration = attrs.get(_ATTRIBUTE + "SessionDuration", [])
    fmt = name_id.get("Format", "") if name_id is not None else ""
    return SamlAssertion(
        issuer=(assertion.findtext("saml:Issuer", "", _NS) or "").strip(),
        subject=(name_id.text or "").strip() if name_id is not None else "",
        subject_type=fmt.rsplit(":", 1)[-1] if fmt else "",
        recipient=recipient,
        roles=_roles(attrs.get(_ATTRIBUTE + "Role", [])),
        session_name=next(iter(attrs.get(_ATTRIBUTE + "RoleSessionName", [])), None),
        session_duration=int(duration[0]) if duration and duration[0].isdigit() else None,
        tags=_principal_tags(attrs),
        transitive_tag_keys=tuple(attrs.get(_ATTRIBUTE + "TransitiveTagKeys", [])),
        source_identity=next(iter(attrs.get(_ATTRIBUTE + "SourceIdentity", [])), None),
    )
