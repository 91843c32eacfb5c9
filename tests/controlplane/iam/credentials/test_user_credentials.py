"""User credentials beyond access keys: login profiles, the account password policy,
ChangePassword, SSH public keys, signing certificates and service-specific credentials."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.x509.oid import NameOID

from tests.controlplane.conftest import allow, error_of
from tests.e2e.cluster import Cluster
from tests.e2e.sts_helpers import version_of

pytestmark = pytest.mark.e2e

GOOD_PASSWORD = "Correct-Horse-1"


def _ssh_key(bits: int = 2048) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits).public_key()
    openssh = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return openssh.decode()


def _certificate(common_name: str) -> str:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(private, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def _unvalidated_iam(cluster: Cluster) -> Any:
    """A root IAM client that sends out-of-range values instead of refusing them itself."""
    return boto3.client(
        "iam",
        endpoint_url=cluster.file.controlplane.endpoint,
        region_name="us-east-1",
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
        **cluster.root_credentials(),
    )


@pytest.fixture
def custom_policy(iam: Any) -> Iterator[None]:
    """A custom password policy for one test, deleted afterwards (it is account-wide)."""
    iam.update_account_password_policy(
        MinimumPasswordLength=12,
        RequireUppercaseCharacters=True,
        RequireNumbers=True,
        PasswordReusePrevention=2,
        MaxPasswordAge=90,
    )
    try:
        yield
    finally:
        iam.delete_account_password_policy()


def test_login_profile_lifecycle(iam: Any) -> None:
    """One profile per user, checked against AWS's default policy; it blocks DeleteUser."""
    iam.create_user(UserName="cred-console")
    assert error_of(iam.create_login_profile, UserName="cred-console", Password="short1A") == (
        "PasswordPolicyViolation",
        400,
        "Password should have a minimum length of 8",
    )
    assert error_of(iam.create_login_profile, UserName="cred-console", Password="alllower1")[
        :2
    ] == ("PasswordPolicyViolation", 400)
    created = iam.create_login_profile(
        UserName="cred-console", Password=GOOD_PASSWORD, PasswordResetRequired=True
    )["LoginProfile"]
    assert (created["UserName"], created["PasswordResetRequired"]) == ("cred-console", True)
    assert error_of(iam.create_login_profile, UserName="cred-console", Password=GOOD_PASSWORD) == (
        "EntityAlreadyExists",
        409,
        "Login Profile for user cred-console already exists.",
    )
    got = iam.get_login_profile(UserName="cred-console")["LoginProfile"]
    assert got["CreateDate"] == created["CreateDate"]
    assert got["PasswordResetRequired"] is True

    iam.update_login_profile(UserName="cred-console", PasswordResetRequired=False)
    got = iam.get_login_profile(UserName="cred-console")["LoginProfile"]
    assert got["PasswordResetRequired"] is False
    assert error_of(iam.update_login_profile, UserName="cred-console", Password="weak")[:2] == (
        "PasswordPolicyViolation",
        400,
    )

    assert error_of(iam.delete_user, UserName="cred-console") == (
        "DeleteConflict",
        409,
        "Cannot delete entity, must delete login profile first.",
    )
    iam.delete_login_profile(UserName="cred-console")
    missing = ("NoSuchEntity", 404, "Login Profile for User cred-console cannot be found.")
    assert error_of(iam.get_login_profile, UserName="cred-console") == missing
    assert error_of(iam.delete_login_profile, UserName="cred-console") == missing
    assert error_of(iam.get_login_profile, UserName="cred-nobody") == (
        "NoSuchEntity",
        404,
        "The user with name cred-nobody cannot be found.",
    )
    iam.delete_user(UserName="cred-console")


def test_password_policy_round_trip(iam: Any, cluster: Cluster) -> None:
    """No policy: NoSuchEntity naming the account; a policy reads back as set, omitted
    parameters at their defaults; out-of-range values are the wire's ValidationError."""
    missing = (
        "NoSuchEntity",
        404,
        f"The Password Policy with domain name {cluster.account} cannot be found.",
    )
    assert error_of(iam.get_account_password_policy) == missing
    assert error_of(iam.delete_account_password_policy) == missing
    unvalidated = _unvalidated_iam(cluster)
    for out_of_range in (
        {"MinimumPasswordLength": 5},
        {"MinimumPasswordLength": 129},
        {"MaxPasswordAge": 1096},
        {"PasswordReusePrevention": 25},
    ):
        code = error_of(unvalidated.update_account_password_policy, **out_of_range)
        assert code[:2] == ("ValidationError", 400)
        assert next(iter(out_of_range)).lower() in code[2].lower()
    iam.update_account_password_policy(RequireSymbols=True, MaxPasswordAge=30)
    try:
        policy = iam.get_account_password_policy()["PasswordPolicy"]
        assert policy == {
            "MinimumPasswordLength": 6,
            "RequireSymbols": True,
            "RequireNumbers": False,
            "RequireUppercaseCharacters": False,
            "RequireLowercaseCharacters": False,
            "AllowUsersToChangePassword": False,
            "ExpirePasswords": True,
            "MaxPasswordAge": 30,
        }
    finally:
        iam.delete_account_password_policy()
    assert error_of(iam.get_account_password_policy) == missing


@pytest.mark.usefixtures("custom_policy")
def test_custom_policy_governs_new_passwords(iam: Any) -> None:
    """A custom policy replaces the default rules, naming what a password lacks."""
    iam.create_user(UserName="cred-policy")
    assert error_of(iam.create_login_profile, UserName="cred-policy", Password="Short-1") == (
        "PasswordPolicyViolation",
        400,
        "Password should have a minimum length of 12",
    )
    assert error_of(
        iam.create_login_profile, UserName="cred-policy", Password="no-uppercase-1"
    ) == ("PasswordPolicyViolation", 400, "Password should have at least one uppercase letter")
    assert error_of(
        iam.create_login_profile, UserName="cred-policy", Password="No-Numbers-Here"
    ) == ("PasswordPolicyViolation", 400, "Password should have at least one number")
    iam.create_login_profile(UserName="cred-policy", Password="Long-Enough-12")
    iam.delete_login_profile(UserName="cred-policy")
    iam.delete_user(UserName="cred-policy")


@pytest.mark.usefixtures("custom_policy")
def test_change_password(iam: Any, cluster: Cluster) -> None:
    """Only an IAM user with a login profile changes its own password, knowing the old one;
    recent passwords cannot come back and a pending reset is cleared."""
    assert error_of(iam.change_password, OldPassword="x", NewPassword="y")[:2] == (
        "InvalidUserType",
        400,
    )
    iam.create_user(UserName="cred-changer")
    iam.put_user_policy(
        UserName="cred-changer", PolicyName="self", PolicyDocument=allow("iam:ChangePassword")
    )
    key = iam.create_access_key(UserName="cred-changer")["AccessKey"]
    cluster.wait_converged(version_of(iam.get_user(UserName="cred-changer")))
    user = cluster.iam(
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    first, second = "First-Password-1", "Second-Password-2"
    assert error_of(user.change_password, OldPassword=first, NewPassword=second) == (
        "NoSuchEntity",
        404,
        "Login Profile for User cred-changer cannot be found.",
    )
    iam.create_login_profile(UserName="cred-changer", Password=first, PasswordResetRequired=True)
    assert error_of(user.change_password, OldPassword="Wrong-Password-1", NewPassword=second) == (
        "InvalidUserType",
        400,
        "The old password is incorrect.",
    )
    assert error_of(user.change_password, OldPassword=first, NewPassword="weak")[:2] == (
        "PasswordPolicyViolation",
        400,
    )
    user.change_password(OldPassword=first, NewPassword=second)
    profile = iam.get_login_profile(UserName="cred-changer")["LoginProfile"]
    assert profile["PasswordResetRequired"] is False
    # the old password no longer works, and PasswordReusePrevention=2 refuses it as the new one
    assert error_of(user.change_password, OldPassword=first, NewPassword=second)[:2] == (
        "InvalidUserType",
        400,
    )
    assert error_of(user.change_password, OldPassword=second, NewPassword=first)[:2] == (
        "PasswordPolicyViolation",
        400,
    )
    user.change_password(OldPassword=second, NewPassword="Third-Password-3")


def test_ssh_public_keys(iam: Any) -> None:
    """RSA keys of 2048+ bits, five per user, no duplicates; served as SSH or PEM."""
    iam.create_user(UserName="cred-ssh")
    body = _ssh_key()
    uploaded = iam.upload_ssh_public_key(UserName="cred-ssh", SSHPublicKeyBody=body + " me@host")[
        "SSHPublicKey"
    ]
    key_id = uploaded["SSHPublicKeyId"]
    assert key_id.startswith("APKA")
    assert (uploaded["Status"], uploaded["SSHPublicKeyBody"]) == ("Active", body)
    assert re.fullmatch(r"([0-9a-f]{2}:){15}[0-9a-f]{2}", uploaded["Fingerprint"])

    as_pem = iam.get_ssh_public_key(UserName="cred-ssh", SSHPublicKeyId=key_id, Encoding="PEM")
    assert as_pem["SSHPublicKey"]["SSHPublicKeyBody"].startswith("-----BEGIN PUBLIC KEY-----")
    as_ssh = iam.get_ssh_public_key(UserName="cred-ssh", SSHPublicKeyId=key_id, Encoding="SSH")
    assert as_ssh["SSHPublicKey"]["Fingerprint"] == uploaded["Fingerprint"]

    pem_body = as_pem["SSHPublicKey"]["SSHPublicKeyBody"]
    assert error_of(iam.upload_ssh_public_key, UserName="cred-ssh", SSHPublicKeyBody=pem_body)[
        :2
    ] == ("DuplicateSSHPublicKey", 400)
    assert error_of(
        iam.upload_ssh_public_key, UserName="cred-ssh", SSHPublicKeyBody="ssh-rsa garbage"
    )[:2] == ("InvalidPublicKey", 400)
    assert error_of(
        iam.upload_ssh_public_key, UserName="cred-ssh", SSHPublicKeyBody=_ssh_key(1024)
    )[:2] == ("UnrecognizedPublicKeyEncoding", 400)
    ed = ed25519.Ed25519PrivateKey.generate().public_key()
    ed_body = ed.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    assert error_of(
        iam.upload_ssh_public_key, UserName="cred-ssh", SSHPublicKeyBody=ed_body.decode()
    )[:2] == ("UnrecognizedPublicKeyEncoding", 400)

    for _ in range(4):
        iam.upload_ssh_public_key(UserName="cred-ssh", SSHPublicKeyBody=_ssh_key())
    assert error_of(
        iam.upload_ssh_public_key, UserName="cred-ssh", SSHPublicKeyBody=_ssh_key()
    ) == (
        "LimitExceeded",
        409,
        "Cannot exceed quota for SSHPublicKeysPerUser: 5",
    )
    listed = iam.list_ssh_public_keys(UserName="cred-ssh")["SSHPublicKeys"]
    assert len(listed) == 5 and all("SSHPublicKeyBody" not in k for k in listed)

    iam.update_ssh_public_key(UserName="cred-ssh", SSHPublicKeyId=key_id, Status="Inactive")
    got = iam.get_ssh_public_key(UserName="cred-ssh", SSHPublicKeyId=key_id, Encoding="SSH")
    assert got["SSHPublicKey"]["Status"] == "Inactive"

    assert error_of(iam.delete_user, UserName="cred-ssh") == (
        "DeleteConflict",
        409,
        "Cannot delete entity, must delete SSH public keys first.",
    )
    for listed_key in listed:
        iam.delete_ssh_public_key(UserName="cred-ssh", SSHPublicKeyId=listed_key["SSHPublicKeyId"])
    assert error_of(
        iam.get_ssh_public_key, UserName="cred-ssh", SSHPublicKeyId=key_id, Encoding="SSH"
    )[:2] == ("NoSuchEntity", 404)
    iam.delete_user(UserName="cred-ssh")


def test_signing_certificates(iam: Any) -> None:
    """PEM certificates, two per user, unique in the account; they block DeleteUser."""
    iam.create_user(UserName="cred-cert")
    iam.create_user(UserName="cred-cert2")
    body = _certificate("cred-cert")
    uploaded = iam.upload_signing_certificate(UserName="cred-cert", CertificateBody=body)[
        "Certificate"
    ]
    certificate_id = uploaded["CertificateId"]
    assert re.fullmatch(r"[A-Z0-9]{24,}", certificate_id)
    assert (uploaded["UserName"], uploaded["Status"]) == ("cred-cert", "Active")
    assert error_of(
        iam.upload_signing_certificate, UserName="cred-cert", CertificateBody="not a cert"
    )[:2] == ("MalformedCertificate", 400)
    for owner in ("cred-cert", "cred-cert2"):
        assert error_of(iam.upload_signing_certificate, UserName=owner, CertificateBody=body)[
            :2
        ] == ("DuplicateCertificate", 409)
    iam.upload_signing_certificate(UserName="cred-cert", CertificateBody=_certificate("second"))
    assert error_of(
        iam.upload_signing_certificate, UserName="cred-cert", CertificateBody=_certificate("x")
    ) == ("LimitExceeded", 409, "Cannot exceed quota for SigningCertificatesPerUser: 2")

    iam.update_signing_certificate(
        UserName="cred-cert", CertificateId=certificate_id, Status="Inactive"
    )
    listed = iam.list_signing_certificates(UserName="cred-cert")["Certificates"]
    statuses = {c["CertificateId"]: c["Status"] for c in listed}
    assert len(statuses) == 2 and statuses[certificate_id] == "Inactive"
    assert (
        next(c for c in listed if c["CertificateId"] == certificate_id)["CertificateBody"] == body
    )

    assert error_of(iam.delete_user, UserName="cred-cert") == (
        "DeleteConflict",
        409,
        "Cannot delete entity, must delete signing certificates first.",
    )
    for certificate in listed:
        iam.delete_signing_certificate(
            UserName="cred-cert", CertificateId=certificate["CertificateId"]
        )
    assert error_of(
        iam.delete_signing_certificate, UserName="cred-cert", CertificateId=certificate_id
    )[:2] == ("NoSuchEntity", 404)
    iam.delete_user(UserName="cred-cert")
    iam.delete_user(UserName="cred-cert2")


def test_service_specific_credentials(iam: Any, cluster: Cluster) -> None:
    """Two per user and service; the password only at create and reset; unsupported services
    are NotSupportedService."""
    iam.create_user(UserName="cred-git")
    created = iam.create_service_specific_credential(
        UserName="cred-git", ServiceName="codecommit.amazonaws.com"
    )["ServiceSpecificCredential"]
    credential_id = created["ServiceSpecificCredentialId"]
    assert credential_id.startswith("ACCA")
    assert created["ServiceUserName"] == f"cred-git-at-{cluster.account}"
    assert created["Status"] == "Active" and len(created["ServicePassword"]) >= 20
    assert error_of(
        iam.create_service_specific_credential, UserName="cred-git", ServiceName="s3.amazonaws.com"
    )[:2] == ("NotSupportedService", 404)

    iam.create_service_specific_credential(
        UserName="cred-git", ServiceName="codecommit.amazonaws.com"
    )
    assert error_of(
        iam.create_service_specific_credential,
        UserName="cred-git",
        ServiceName="codecommit.amazonaws.com",
    )[:2] == ("LimitExceeded", 409)
    iam.create_service_specific_credential(
        UserName="cred-git", ServiceName="cassandra.amazonaws.com"
    )

    listed = iam.list_service_specific_credentials(UserName="cred-git")[
        "ServiceSpecificCredentials"
    ]
    assert len(listed) == 3 and all("ServicePassword" not in c for c in listed)
    only_git = iam.list_service_specific_credentials(
        UserName="cred-git", ServiceName="codecommit.amazonaws.com"
    )["ServiceSpecificCredentials"]
    assert len(only_git) == 2

    reset = iam.reset_service_specific_credential(
        UserName="cred-git", ServiceSpecificCredentialId=credential_id
    )["ServiceSpecificCredential"]
    assert reset["ServicePassword"] != created["ServicePassword"]
    iam.update_service_specific_credential(
        UserName="cred-git", ServiceSpecificCredentialId=credential_id, Status="Inactive"
    )
    statuses = {
        c["ServiceSpecificCredentialId"]: c["Status"]
        for c in iam.list_service_specific_credentials(UserName="cred-git")[
            "ServiceSpecificCredentials"
        ]
    }
    assert statuses[credential_id] == "Inactive"

    assert error_of(iam.delete_user, UserName="cred-git")[:2] == ("DeleteConflict", 409)
    for credential in listed:
        iam.delete_service_specific_credential(
            UserName="cred-git",
            ServiceSpecificCredentialId=credential["ServiceSpecificCredentialId"],
        )
    assert error_of(
        iam.delete_service_specific_credential,
        UserName="cred-git",
        ServiceSpecificCredentialId=credential_id,
    )[:2] == ("NoSuchEntity", 404)
    iam.delete_user(UserName="cred-git")
