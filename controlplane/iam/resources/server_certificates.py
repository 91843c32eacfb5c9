"""Server certificates: Upload/Get/List/Update/DeleteServerCertificate and their tags.

The certificate body (and chain) are parsed with ``cryptography``; the private key is parsed
only to check that it is the certificate's key pair, then dropped. IAM never returns a
private key and nothing here needs it again, so it is neither stored nor replicated.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from awswire.errors import AwsError
from controlplane.iam.operation import (
    Change,
    HandlerResult,
    Operation,
    OperationKind,
    Params,
    Requester,
    listing_resource,
)
from controlplane.iam.support.errors import quota_exceeded
from controlplane.iam.support.named_entities import NamedKind, key_of, page_under_path
from controlplane.iam.support.tags import tag_handlers, tag_shapes, tags_member, tags_of
from replication.arns import server_certificate_arn
from replication.entities import ServerCertificate
from replication.ids import new_unique_id
from replication.state import IamState

__all__ = ["OPERATIONS", "SERVER_CERTIFICATES_PER_ACCOUNT", "checked_certificate"]

SERVER_CERTIFICATES_PER_ACCOUNT = 20
SERVER_CERTIFICATE_ID_PREFIX = "ASCA"

_UNPARSABLE_BODY = "Unable to parse certificate. Please ensure the certificate is in PEM format."
_UNPARSABLE_KEY = "Unable to parse private key. Please ensure the private key is in PEM format."
_BROKEN_CHAIN = (
    "Unable to validate certificate chain. The certificate chain must start with the "
    "immediate signing certificate, followed by any intermediaries in order. "
    "The index within the chain of the invalid certificate is: {index}"
)


def _malformed(message: str) -> AwsError:
    return AwsError("MalformedCertificate", message, 400)


def _certificate(body: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(body.encode("latin-1"))
    except ValueError:
        raise _malformed(_UNPARSABLE_BODY) from None


def _private_key(text: str) -> PrivateKeyTypes:
    try:
        return serialization.load_pem_private_key(text.encode("latin-1"), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # TypeError: an encrypted key without a password, which IAM cannot use either
        raise _malformed(_UNPARSABLE_KEY) from None


def _public_der(key: Any) -> bytes:
    return bytes(
        key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _check_chain(certificate: x509.Certificate, chain_text: str) -> None:
    """The chain must start with the certificate's issuer, then each next issuer in order."""
    try:
        chain = x509.load_pem_x509_certificates(chain_text.encode("latin-1"))
    except ValueError:
        raise _malformed(_BROKEN_CHAIN.format(index=-1)) from None
    child = certificate
    for index, issuer in enumerate(chain):
        if child.issuer != issuer.subject:
            raise _malformed(_BROKEN_CHAIN.format(index=index))
        child = issuer


def checked_certificate(
    body: str, private_key: str, chain: str | None, now: datetime
) -> x509.Certificate:
    """The parsed certificate once body, key and chain pass IAM's checks.

    MalformedCertificate (400) for an unparsable or expired body, an unparsable key or a
    broken chain; KeyPairMismatch (400) when the key is not the certificate's key.
    """
    certificate = _certificate(body)
    if certificate.not_valid_after_utc <= now.astimezone(UTC):
        raise _malformed("The certificate has expired.")
    key = _private_key(private_key)
    if _public_der(key.public_key()) != _public_der(certificate.public_key()):
        raise AwsError(
            "KeyPairMismatch",
            "The request was rejected because the public key certificate and the private "
            "key do not match.",
            400,
        )
    if chain is not None and chain.strip():
        _check_chain(certificate, chain)
    return certificate


def certificates_of(state: IamState, account: str) -> list[ServerCertificate]:
    """The account's server certificates, sorted by name."""
    found = [c for (acct, _), c in state.server_certificates.items() if acct == account]
    return sorted(found, key=lambda c: c.name.lower())


def metadata_shape(certificate: ServerCertificate) -> dict[str, Any]:
    """The ``ServerCertificateMetadata`` structure of IAM's responses."""
    return {
        "Path": certificate.path,
        "ServerCertificateName": certificate.name,
        "ServerCertificateId": certificate.server_certificate_id,
        "Arn": certificate.arn,
        "UploadDate": certificate.uploaded_at,
        "Expiration": certificate.expires_at,
    }


_SERVER_CERTIFICATES: NamedKind[ServerCertificate] = NamedKind(
    name_param="ServerCertificateName",
    find=IamState.server_certificate,
    arn_for=server_certificate_arn,
    missing="The Server Certificate with name {name} cannot be found.",
    taken="The Server Certificate with name {name} already exists.",
)
_require = _SERVER_CERTIFICATES.require
_resource = _SERVER_CERTIFICATES.resource


def upload_server_certificate(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """UploadServerCertificate: a checked certificate with a fresh ASCA id; key not kept."""
    name = _SERVER_CERTIFICATES.unused_name(state, params, caller)
    if len(certificates_of(state, caller.account)) >= SERVER_CERTIFICATES_PER_ACCOUNT:
        raise quota_exceeded("ServerCertificatesPerAccount", SERVER_CERTIFICATES_PER_ACCOUNT)
    chain = params.get("CertificateChain")
    parsed = checked_certificate(params["CertificateBody"], params["PrivateKey"], chain, now)
    certificate = ServerCertificate(
        account=caller.account,
        name=name,
        path=params.get("Path", "/"),
        server_certificate_id=new_unique_id(SERVER_CERTIFICATE_ID_PREFIX),
        uploaded_at=now,
        expires_at=parsed.not_valid_after_utc,
        certificate_body=params["CertificateBody"],
        certificate_chain=chain or None,
        tags=tags_of(params),
    )
    result = {
        "ServerCertificateMetadata": metadata_shape(certificate),
        **tags_member(certificate.tags),
    }
    change = Change.put(certificate)
    return HandlerResult(result, change)


def get_server_certificate(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """GetServerCertificate: metadata, body, chain and tags (never the private key)."""
    certificate = _require(state, caller.account, params["ServerCertificateName"])
    shape: dict[str, Any] = {
        "ServerCertificateMetadata": metadata_shape(certificate),
        "CertificateBody": certificate.certificate_body,
        "Tags": tag_shapes(certificate.tags),
    }
    if certificate.certificate_chain is not None:
        shape["CertificateChain"] = certificate.certificate_chain
    return HandlerResult({"ServerCertificate": shape})


def list_server_certificates(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListServerCertificates: metadata under a path prefix, sorted by name."""
    page, more = page_under_path(certificates_of(state, caller.account), params)
    return HandlerResult(
        {"ServerCertificateMetadataList": [metadata_shape(c) for c in page], **more}
    )


def update_server_certificate(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """UpdateServerCertificate: a new path and/or name; id, body and tags carry over."""
    certificate = _require(state, caller.account, params["ServerCertificateName"])
    new_name = _SERVER_CERTIFICATES.new_name(state, params, caller, certificate)
    changed = certificate.model_copy(
        update={"name": new_name, "path": params.get("NewPath", certificate.path)}
    )
    if new_name.lower() == certificate.name.lower():  # same key: a plain put
        return HandlerResult({}, Change.put(changed))
    # the key moves: the old one goes and the new one comes in one atomic batch
    return HandlerResult({}, Change.batch([changed], [key_of(certificate)]))


def delete_server_certificate(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DeleteServerCertificate."""
    certificate = _require(state, caller.account, params["ServerCertificateName"])
    return HandlerResult({}, Change.delete(key_of(certificate)))


_server_certificate_tags = tag_handlers("ServerCertificate", _SERVER_CERTIFICATES.named_in)

OPERATIONS = (
    Operation("UploadServerCertificate", upload_server_certificate, _resource, OperationKind.WRITE),
    Operation("GetServerCertificate", get_server_certificate, _resource, OperationKind.READ),
    Operation(
        "ListServerCertificates",
        list_server_certificates,
        listing_resource("server-certificate"),
        OperationKind.READ,
    ),
    Operation(
        "UpdateServerCertificate",
        update_server_certificate,
        _resource,
        OperationKind.WRITE,
        target=_SERVER_CERTIFICATES.rename_target,
    ),
    Operation("DeleteServerCertificate", delete_server_certificate, _resource, OperationKind.WRITE),
    Operation("TagServerCertificate", _server_certificate_tags.tag, _resource, OperationKind.WRITE),
    Operation(
        "UntagServerCertificate", _server_certificate_tags.untag, _resource, OperationKind.WRITE
    ),
    Operation(
        "ListServerCertificateTags",
        _server_certificate_tags.list_tags,
        _resource,
        OperationKind.READ,
    ),
)
