"""A test SAML identity provider: a generated key, its self-signed certificate and metadata,
and signed SAML responses for AWS."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"
AWS_SAML = "https://signin.aws.amazon.com/saml"
ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/"
ISSUER = "https://idp.example.test/saml"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class SamlIdp:
    """A private key and the self-signed certificate the metadata publishes."""

    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @classmethod
    def generate(cls) -> SamlIdp:
        """A fresh RSA key and a one-day self-signed certificate."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idp.example.test")])
        now = dt.datetime.now(dt.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    def metadata(self) -> str:
        """The IdP's SAML metadata document, naming its signing certificate."""
        der = base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()
        return (
            '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            f'entityID="{ISSUER}"><md:IDPSSODescriptor '
            'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
            '<md:KeyDescriptor use="signing"><ds:KeyInfo '
            'xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>'
            f"{der}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
            "</md:IDPSSODescriptor></md:EntityDescriptor>"
        )

    def response(
        self,
        roles: list[str],
        *,
        session_name: str | None = "saml-user",
        subject: str = "alice@example.test",
        lifetime: int = 300,
        audience: str = AWS_SAML,
        tags: dict[str, str] | None = None,
    ) -> str:
        """A base64 SAML Response whose Assertion is signed (RSA-SHA256, exclusive C14N)."""
        now = dt.datetime.now(dt.UTC)
        until = _iso(now + dt.timedelta(seconds=lifetime))
        attributes = {ATTRIBUTE + "Role": roles}
        if session_name is not None:
            attributes[ATTRIBUTE + "RoleSessionName"] = [session_name]
        for key, value in (tags or {}).items():
            attributes[f"{ATTRIBUTE}PrincipalTag:{key}"] = [value]
        assertion = etree.Element(
            f"{{{SAML}}}Assertion",
            nsmap={"saml": SAML},
            ID=f"_{uuid.uuid4().hex}",
            Version="2.0",
            IssueInstant=_iso(now),
        )
        etree.SubElement(assertion, f"{{{SAML}}}Issuer").text = ISSUER
        subject_element = etree.SubElement(assertion, f"{{{SAML}}}Subject")
        name_id = etree.SubElement(subject_element, f"{{{SAML}}}NameID", Format=PERSISTENT)
        name_id.text = subject
        confirmation = etree.SubElement(
            subject_element,
            f"{{{SAML}}}SubjectConfirmation",
            Method="urn:oasis:names:tc:SAML:2.0:cm:bearer",
        )
        etree.SubElement(
            confirmation,
            f"{{{SAML}}}SubjectConfirmationData",
            Recipient=AWS_SAML,
            NotOnOrAfter=until,
        )
        conditions = etree.SubElement(
            assertion, f"{{{SAML}}}Conditions", NotBefore=_iso(now), NotOnOrAfter=until
        )
        restriction = etree.SubElement(conditions, f"{{{SAML}}}AudienceRestriction")
        etree.SubElement(restriction, f"{{{SAML}}}Audience").text = audience
        statement = etree.SubElement(assertion, f"{{{SAML}}}AttributeStatement")
        for name, values in attributes.items():
            attribute = etree.SubElement(statement, f"{{{SAML}}}Attribute", Name=name)
            for value in values:
                etree.SubElement(attribute, f"{{{SAML}}}AttributeValue").text = value
        signed = XMLSigner(c14n_algorithm="http://www.w3.org/2001/10/xml-exc-c14n#").sign(
            assertion,
            key=self.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            cert=self.cert.public_bytes(serialization.Encoding.PEM).decode(),
        )
        response = etree.Element(
            f"{{{PROTOCOL}}}Response",
            nsmap={"samlp": PROTOCOL},
            ID=f"_{uuid.uuid4().hex}",
            Version="2.0",
            IssueInstant=_iso(now),
            Destination=AWS_SAML,
        )
        response.append(signed)
        return base64.b64encode(etree.tostring(response)).decode("ascii")
