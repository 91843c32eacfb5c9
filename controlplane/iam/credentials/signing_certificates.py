"""X.509 signing certificates of users: Upload, List, Update and DeleteSigningCertificate.

Without a UserName a call is about the caller's own certificates. The root user's
certificates are not emulated (there is no root user entity to keep them on).
"""

from __future__ import annotations

import secrets
import string
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from awswire.errors import AwsError
from controlplane.iam.credentials.user_changes import user_put, with_status, without
from controlplane.iam.operation import HandlerResult, Operation, OperationKind, Params, Requester
from controlplane.iam.principals.users import user_of_call, user_resource
from controlplane.iam.support.errors import (
    no_such_entity,
    quota_exceeded,
    root_credentials_unsupported,
)
from controlplane.iam.support.pagination import paginate
from replication.entities import SigningCertificate, User
from replication.state import IamState

__all__ = ["OPERATIONS"]

SIGNING_CERTIFICATES_PER_USER = 2
_CERTIFICATE_ID_ALPHABET = string.ascii_uppercase + string.digits
CERTIFICATE_ID_LENGTH = 32


def _new_certificate_id() -> str:
    return "".join(secrets.choice(_CERTIFICATE_ID_ALPHABET) for _ in range(CERTIFICATE_ID_LENGTH))


def _der_of(body: str) -> bytes:
    """The certificate's DER bytes (what makes two uploads the same certificate)."""
    try:
        certificate = x509.load_pem_x509_certificate(body.strip().encode("utf-8"))
    except ValueError:
        raise AwsError(
            "MalformedCertificate",
            "Unable to parse certificate. Please ensure the certificate is in PEM format.",
            400,
        ) from None
    return certificate.public_bytes(serialization.Encoding.DER)


def _owned(state: IamState, params: Params, caller: Requester) -> User:
    """The user whose certificates a change is about (the root user's are not supported)."""
    user = user_of_call(state, params, caller)
    if user is None:
        raise root_credentials_unsupported("signing certificates")
    return user


def _require_certificate(user: User, certificate_id: str) -> SigningCertificate:
    found = next((c for c in user.signing_certificates if c.certificate_id == certificate_id), None)
    if found is None:
        raise no_such_entity(f"The Certificate with id {certificate_id} cannot be found.")
    return found


def _certificate_shape(user: User, certificate: SigningCertificate) -> dict[str, Any]:
    return {
        "UserName": user.name,
        "CertificateId": certificate.certificate_id,
        "CertificateBody": certificate.body,
        "Status": certificate.status,
        "UploadDate": certificate.uploaded_at,
    }


def upload_signing_certificate(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """UploadSigningCertificate: a PEM certificate, Active; at most two per user, and a
    certificate already held by any user of the account is refused."""
    user = _owned(state, params, caller)
    body = params["CertificateBody"]
    der = _der_of(body)
    held = (c for u in state.users_of(caller.account) for c in u.signing_certificates)
    if any(_der_of(c.body) == der for c in held):
        raise AwsError(
            "DuplicateCertificate",
            "The request was rejected because the same certificate is associated with an IAM "
            "user in the account.",
            409,
        )
    if len(user.signing_certificates) >= SIGNING_CERTIFICATES_PER_USER:
        raise quota_exceeded("SigningCertificatesPerUser", SIGNING_CERTIFICATES_PER_USER)
    certificate = SigningCertificate(
        certificate_id=_new_certificate_id(), body=body, uploaded_at=now
    )
    return HandlerResult(
        {"Certificate": _certificate_shape(user, certificate)},
        user_put(user, "signing_certificates", (*user.signing_certificates, certificate)),
    )


def list_signing_certificates(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListSigningCertificates: a user's certificates, bodies included."""
    user = user_of_call(state, params, caller)
    if user is None:  # the root user has none here
        return HandlerResult({"Certificates": [], "IsTruncated": False})
    page, more = paginate(user.signing_certificates, params, key=lambda c: c.certificate_id)
    return HandlerResult({"Certificates": [_certificate_shape(user, c) for c in page], **more})


def update_signing_certificate(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """UpdateSigningCertificate: make a certificate Active or Inactive."""
    user = _owned(state, params, caller)
    target = _require_certificate(user, params["CertificateId"])
    certificates = with_status(user.signing_certificates, target, params["Status"])
    return HandlerResult({}, user_put(user, "signing_certificates", certificates))


def delete_signing_certificate(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DeleteSigningCertificate: the certificate is gone for good."""
    user = _owned(state, params, caller)
    target = _require_certificate(user, params["CertificateId"])
    remaining = without(user.signing_certificates, target)
    return HandlerResult({}, user_put(user, "signing_certificates", remaining))


OPERATIONS = (
    Operation(
        "UploadSigningCertificate",
        upload_signing_certificate,
        user_resource,
        OperationKind.WRITE,
    ),
    Operation(
        "ListSigningCertificates", list_signing_certificates, user_resource, OperationKind.READ
    ),
    Operation(
        "UpdateSigningCertificate",
        update_signing_certificate,
        user_resource,
        OperationKind.WRITE,
    ),
    Operation(
        "DeleteSigningCertificate",
        delete_signing_certificate,
        user_resource,
        OperationKind.WRITE,
    ),
)
