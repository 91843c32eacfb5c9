"""Server certificates, MFA device and SAML provider tags, GetMFADevice/ResyncMFADevice, and
the context keys policies reference (GetContextKeysFor{Custom,Principal}Policy)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from controlplane.iam.credentials.totp import STEP_SECONDS, totp
from replication.entities import EntityKey, ServerCertificate
from replication.state import delete_entity, empty_state, put_entity, state_from_entities
from tests.controlplane.conftest import document, error_of
from tests.e2e.cluster import Cluster
from tests.e2e.sts_helpers import version_of

pytestmark = pytest.mark.e2e

SAML_METADATA = "<EntityDescriptor>" + "y" * 1000 + "</EntityDescriptor>"


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: str | None = None,
    issuer_key: ec.EllipticCurvePrivateKey | None = None,
    not_after: datetime | None = None,
) -> x509.Certificate:
    """A certificate for ``key``, self-signed unless an issuer and its key are given."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer or subject)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(not_after or datetime(2099, 6, 1, 12, 0, tzinfo=UTC))
        .sign(issuer_key or key, hashes.SHA256())
    )


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def key_pair() -> tuple[str, str]:
    """A self-signed certificate body and its private key, both PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    return _pem(_certificate("certs.example.com", key)), _pem_key(key)


def test_server_certificate_lifecycle(iam: Any, key_pair: tuple[str, str]) -> None:
    """Upload, get (body, no key), list under a path, rename and move, delete."""
    body, private_key = key_pair
    uploaded = iam.upload_server_certificate(
        ServerCertificateName="sc-web",
        Path="/edge/",
        CertificateBody=body,
        PrivateKey=private_key,
        Tags=[{"Key": "team", "Value": "web"}],
    )
    metadata = uploaded["ServerCertificateMetadata"]
    assert metadata["ServerCertificateId"].startswith("ASCA")
    assert metadata["Arn"].endswith(":server-certificate/edge/sc-web")
    assert metadata["Expiration"] == datetime(2099, 6, 1, 12, 0, tzinfo=UTC)
    assert uploaded["Tags"] == [{"Key": "team", "Value": "web"}]

    got = iam.get_server_certificate(ServerCertificateName="SC-WEB")["ServerCertificate"]
    assert got["CertificateBody"] == body
    assert got["ServerCertificateMetadata"] == metadata
    assert "CertificateChain" not in got
    assert private_key.splitlines()[1] not in json.dumps(got, default=str)

    assert error_of(
        iam.upload_server_certificate,
        ServerCertificateName="Sc-Web",
        CertificateBody=body,
        PrivateKey=private_key,
    ) == ("EntityAlreadyExists", 409, "The Server Certificate with name Sc-Web already exists.")

    listed = iam.list_server_certificates(PathPrefix="/edge/")["ServerCertificateMetadataList"]
    assert [c["ServerCertificateName"] for c in listed] == ["sc-web"]
    assert (
        iam.list_server_certificates(PathPrefix="/nowhere/")["ServerCertificateMetadataList"] == []
    )

    iam.update_server_certificate(
        ServerCertificateName="sc-web", NewServerCertificateName="sc-web2", NewPath="/core/"
    )
    assert error_of(iam.get_server_certificate, ServerCertificateName="sc-web") == (
        "NoSuchEntity",
        404,
        "The Server Certificate with name sc-web cannot be found.",
    )
    moved = iam.get_server_certificate(ServerCertificateName="sc-web2")["ServerCertificate"]
    assert moved["ServerCertificateMetadata"]["Arn"].endswith(":server-certificate/core/sc-web2")
    assert (
        moved["ServerCertificateMetadata"]["ServerCertificateId"]
        == (metadata["ServerCertificateId"])
    )
    assert moved["Tags"] == [{"Key": "team", "Value": "web"}]

    iam.delete_server_certificate(ServerCertificateName="sc-web2")
    assert error_of(iam.delete_server_certificate, ServerCertificateName="sc-web2")[:2] == (
        "NoSuchEntity",
        404,
    )


def test_server_certificate_rejects_bad_material(iam: Any, key_pair: tuple[str, str]) -> None:
    """Unparsable body or key, a key of another pair, an expired certificate, a bad chain."""
    body, private_key = key_pair
    other_key = _pem_key(ec.generate_private_key(ec.SECP256R1()))

    def upload(**kwargs: str) -> tuple[str, int, str]:
        given = {"CertificateBody": body, "PrivateKey": private_key} | kwargs
        return error_of(iam.upload_server_certificate, ServerCertificateName="sc-bad", **given)

    assert upload(CertificateBody="not a certificate") == (
        "MalformedCertificate",
        400,
        "Unable to parse certificate. Please ensure the certificate is in PEM format.",
    )
    assert upload(PrivateKey="not a key")[:2] == ("MalformedCertificate", 400)
    assert upload(PrivateKey=other_key)[:2] == ("KeyPairMismatch", 400)
    old_key = ec.generate_private_key(ec.SECP256R1())
    expired = _certificate("old.example.com", old_key, not_after=datetime(2024, 6, 1, tzinfo=UTC))
    assert upload(CertificateBody=_pem(expired), PrivateKey=_pem_key(old_key))[:2] == (
        "MalformedCertificate",
        400,
    )
    unrelated = _pem(_certificate("Unrelated CA", old_key))
    code, status, message = upload(CertificateChain=unrelated)
    assert (code, status) == ("MalformedCertificate", 400)
    assert message.startswith("Unable to validate certificate chain.")
    assert upload(CertificateChain="garbage")[2].endswith("invalid certificate is: -1")
    assert error_of(iam.get_server_certificate, ServerCertificateName="sc-bad")[0] == (
        "NoSuchEntity"
    )


def test_server_certificate_with_chain(iam: Any) -> None:
    """A leaf signed by a CA uploads with the CA as its chain, and the chain comes back."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _pem(_certificate("Example CA", ca_key))
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = _pem(_certificate("leaf.example.com", leaf_key, "Example CA", ca_key))
    wrong_chain = _pem(_certificate("Other CA", ca_key))
    assert error_of(
        iam.upload_server_certificate,
        ServerCertificateName="sc-chain",
        CertificateBody=leaf,
        PrivateKey=_pem_key(leaf_key),
        CertificateChain=wrong_chain,
    )[2].endswith("The index within the chain of the invalid certificate is: 0")
    iam.upload_server_certificate(
        ServerCertificateName="sc-chain",
        CertificateBody=leaf,
        PrivateKey=_pem_key(leaf_key),
        CertificateChain=ca,
    )
    got = iam.get_server_certificate(ServerCertificateName="sc-chain")["ServerCertificate"]
    assert got["CertificateChain"] == ca
    iam.delete_server_certificate(ServerCertificateName="sc-chain")


def test_server_certificate_tags_quota_and_pages(iam: Any, key_pair: tuple[str, str]) -> None:
    """Tag operations; 20 certificates per account; Marker/MaxItems pagination."""
    body, private_key = key_pair
    names = [f"sc-q{n:02d}" for n in range(20)]
    for name in names:
        iam.upload_server_certificate(
            ServerCertificateName=name, Path="/quota/", CertificateBody=body, PrivateKey=private_key
        )
    try:
        assert error_of(
            iam.upload_server_certificate,
            ServerCertificateName="sc-q20",
            CertificateBody=body,
            PrivateKey=private_key,
        ) == ("LimitExceeded", 409, "Cannot exceed quota for ServerCertificatesPerAccount: 20")
        summary = iam.get_account_summary()["SummaryMap"]
        assert summary["ServerCertificates"] == summary["ServerCertificatesQuota"] == 20

        first = iam.list_server_certificates(PathPrefix="/quota/", MaxItems=15)
        assert first["IsTruncated"] is True
        rest = iam.list_server_certificates(
            PathPrefix="/quota/", MaxItems=15, Marker=first["Marker"]
        )
        assert rest["IsTruncated"] is False
        listed = first["ServerCertificateMetadataList"] + rest["ServerCertificateMetadataList"]
        assert [c["ServerCertificateName"] for c in listed] == names

        iam.tag_server_certificate(
            ServerCertificateName="sc-q00",
            Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "1"}],
        )
        iam.untag_server_certificate(ServerCertificateName="sc-q00", TagKeys=["B"])
        tags = iam.list_server_certificate_tags(ServerCertificateName="sc-q00")["Tags"]
        assert tags == [{"Key": "a", "Value": "1"}]
        assert error_of(iam.list_server_certificate_tags, ServerCertificateName="sc-none")[:2] == (
            "NoSuchEntity",
            404,
        )
    finally:
        for name in names:
            iam.delete_server_certificate(ServerCertificateName=name)


def _enabled_device(iam: Any, user: str, device: str) -> tuple[str, str]:
    created = iam.create_virtual_mfa_device(VirtualMFADeviceName=device)["VirtualMFADevice"]
    serial, seed = created["SerialNumber"], created["Base32StringSeed"].decode()
    iam.create_user(UserName=user)
    now = time.time()
    iam.enable_mfa_device(
        UserName=user,
        SerialNumber=serial,
        AuthenticationCode1=totp(seed, now - STEP_SECONDS),
        AuthenticationCode2=totp(seed, now),
    )
    return serial, seed


def test_get_and_resync_mfa_device(iam: Any) -> None:
    """GetMFADevice answers for an enabled device; Resync checks two consecutive codes."""
    serial, seed = _enabled_device(iam, "ck-mfa-user", "ck-mfa-device")
    iam.create_user(UserName="ck-mfa-other")
    got = iam.get_mfa_device(SerialNumber=serial)
    assert (got["UserName"], got["SerialNumber"]) == ("ck-mfa-user", serial)
    assert "EnableDate" in got
    assert iam.get_mfa_device(SerialNumber=serial, UserName="ck-mfa-user")["UserName"] == (
        "ck-mfa-user"
    )
    assert error_of(iam.get_mfa_device, SerialNumber=serial, UserName="ck-mfa-other")[:2] == (
        "NoSuchEntity",
        404,
    )
    missing = serial.replace("ck-mfa-device", "ck-mfa-none")
    assert error_of(iam.get_mfa_device, SerialNumber=missing)[:2] == ("NoSuchEntity", 404)

    now = time.time()
    iam.resync_mfa_device(
        UserName="ck-mfa-user",
        SerialNumber=serial,
        AuthenticationCode1=totp(seed, now),
        AuthenticationCode2=totp(seed, now + STEP_SECONDS),
    )
    assert error_of(
        iam.resync_mfa_device,
        UserName="ck-mfa-user",
        SerialNumber=serial,
        AuthenticationCode1=totp(seed, now + STEP_SECONDS),
        AuthenticationCode2=totp(seed, now),
    ) == ("InvalidAuthenticationCode", 403, "Authentication code for device is not valid.")
    assert error_of(
        iam.resync_mfa_device,
        UserName="ck-mfa-other",
        SerialNumber=serial,
        AuthenticationCode1=totp(seed, now),
        AuthenticationCode2=totp(seed, now + STEP_SECONDS),
    )[:2] == ("NoSuchEntity", 404)


def test_mfa_device_and_saml_provider_tags(iam: Any) -> None:
    """Tag/Untag/List tags of virtual MFA devices and SAML providers."""
    serial = iam.create_virtual_mfa_device(
        VirtualMFADeviceName="ck-tagged-device", Tags=[{"Key": "Owner", "Value": "ops"}]
    )["VirtualMFADevice"]["SerialNumber"]
    iam.tag_mfa_device(SerialNumber=serial, Tags=[{"Key": "owner", "Value": "sec"}])
    assert iam.list_mfa_device_tags(SerialNumber=serial)["Tags"] == [
        {"Key": "owner", "Value": "sec"}
    ]
    iam.untag_mfa_device(SerialNumber=serial, TagKeys=["OWNER"])
    assert iam.list_mfa_device_tags(SerialNumber=serial)["Tags"] == []
    assert error_of(iam.list_mfa_device_tags, SerialNumber=serial.replace("ck-tagged", "ck-none"))[
        :2
    ] == ("NoSuchEntity", 404)
    iam.delete_virtual_mfa_device(SerialNumber=serial)

    arn = iam.create_saml_provider(
        SAMLMetadataDocument=SAML_METADATA, Name="ck-saml", Tags=[{"Key": "env", "Value": "a"}]
    )["SAMLProviderArn"]
    iam.tag_saml_provider(SAMLProviderArn=arn, Tags=[{"Key": "cost", "Value": "42"}])
    assert iam.list_saml_provider_tags(SAMLProviderArn=arn)["Tags"] == [
        {"Key": "cost", "Value": "42"},
        {"Key": "env", "Value": "a"},
    ]
    iam.untag_saml_provider(SAMLProviderArn=arn, TagKeys=["env"])
    assert iam.get_saml_provider(SAMLProviderArn=arn)["Tags"] == [{"Key": "cost", "Value": "42"}]
    assert error_of(
        iam.tag_saml_provider,
        SAMLProviderArn=arn.replace("ck-saml", "ck-none"),
        Tags=[{"Key": "k", "Value": "v"}],
    ) == ("NoSuchEntity", 404, f"Manifest not found for arn {arn.replace('ck-saml', 'ck-none')}")
    iam.delete_saml_provider(SAMLProviderArn=arn)


CONDITIONED = document(
    {
        "Effect": "Allow",
        "Action": "dynamodb:*",
        "Resource": "arn:aws:dynamodb:us-west-2:123456789012:table/${aws:username}",
        "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2015-08-16T12:00:00Z"}},
    }
)


def test_context_keys_for_custom_policy(iam: Any) -> None:
    """Keys of conditions and policy variables, once each, as first written."""
    keys = iam.get_context_keys_for_custom_policy(PolicyInputList=[CONDITIONED])
    assert keys["ContextKeyNames"] == ["aws:username", "aws:CurrentTime"]
    second = document(
        {
            "Effect": "Deny",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {
                "Bool": {"AWS:currenttime": "true", "aws:MultiFactorAuthPresent": "false"},
                "StringEquals": {"s3:prefix": "${aws:PrincipalTag/team}"},
            },
        }
    )
    keys = iam.get_context_keys_for_custom_policy(PolicyInputList=[CONDITIONED, second])
    assert keys["ContextKeyNames"] == [
        "aws:username",
        "aws:CurrentTime",
        "aws:MultiFactorAuthPresent",
        "s3:prefix",
        "aws:PrincipalTag/team",
    ]
    plain = document({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    assert iam.get_context_keys_for_custom_policy(PolicyInputList=[plain])["ContextKeyNames"] == []
    assert error_of(iam.get_context_keys_for_custom_policy, PolicyInputList=["{not json"])[:2] == (
        "InvalidInput",
        400,
    )


def test_context_keys_for_principal_policy(iam: Any) -> None:
    """A user's own, its groups' and attached managed policies, plus PolicyInputList."""
    iam.create_user(UserName="ck-principal")
    iam.create_group(GroupName="ck-principal-group")
    iam.add_user_to_group(GroupName="ck-principal-group", UserName="ck-principal")
    iam.put_user_policy(UserName="ck-principal", PolicyName="own", PolicyDocument=CONDITIONED)
    group_policy = document(
        {
            "Effect": "Allow",
            "Action": "ec2:*",
            "Resource": "*",
            "Condition": {"StringEquals": {"ec2:Region": "us-east-1"}},
        }
    )
    iam.put_group_policy(
        GroupName="ck-principal-group", PolicyName="grp", PolicyDocument=group_policy
    )
    managed = document(
        {
            "Effect": "Allow",
            "Action": "sqs:*",
            "Resource": "*",
            "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        }
    )
    policy_arn = iam.create_policy(PolicyName="ck-managed", PolicyDocument=managed)["Policy"]["Arn"]
    iam.attach_group_policy(GroupName="ck-principal-group", PolicyArn=policy_arn)
    user_arn = iam.get_user(UserName="ck-principal")["User"]["Arn"]
    extra = document(
        {
            "Effect": "Allow",
            "Action": "sns:*",
            "Resource": "*",
            "Condition": {"StringLike": {"aws:RequestedRegion": "eu-*"}},
        }
    )
    keys = iam.get_context_keys_for_principal_policy(
        PolicySourceArn=user_arn, PolicyInputList=[extra]
    )["ContextKeyNames"]
    assert sorted(keys) == sorted(
        [
            "aws:username",
            "aws:CurrentTime",
            "ec2:Region",
            "aws:SourceIp",
            "aws:RequestedRegion",
        ]
    )
    group_arn = iam.get_group(GroupName="ck-principal-group")["Group"]["Arn"]
    group_keys = iam.get_context_keys_for_principal_policy(PolicySourceArn=group_arn)
    assert sorted(group_keys["ContextKeyNames"]) == ["aws:SourceIp", "ec2:Region"]
    missing = user_arn.replace("ck-principal", "ck-nobody")
    assert error_of(iam.get_context_keys_for_principal_policy, PolicySourceArn=missing) == (
        "NoSuchEntity",
        404,
        "The user with name ck-nobody cannot be found.",
    )
    assert error_of(
        iam.get_context_keys_for_principal_policy,
        PolicySourceArn=user_arn.replace(":user/", ":policy/"),
    )[:2] == ("InvalidInput", 400)


def test_server_certificate_folds_into_state_and_snapshots() -> None:
    """The new kind is table-driven: put, hash, snapshot round-trip and delete need no code."""
    certificate = ServerCertificate(
        account="123456789012",
        name="Sc-Fold",
        server_certificate_id="ASCAEXAMPLE",
        uploaded_at=datetime(2025, 1, 1, tzinfo=UTC),
        expires_at=datetime(2099, 1, 1, tzinfo=UTC),
        certificate_body="-----BEGIN CERTIFICATE-----",
    )
    state = put_entity(empty_state(), certificate)
    assert state.server_certificate("123456789012", "sc-fold") == certificate
    assert state.content_hash != 0
    rebuilt = state_from_entities(state.version, state.entities())
    assert (rebuilt.content_hash, rebuilt.server_certificates) == (
        state.content_hash,
        state.server_certificates,
    )
    key = EntityKey(entity="server_certificate", account="123456789012", name="Sc-Fold")
    assert delete_entity(state, key).content_hash == 0


def test_authorization_resources(iam: Any, cluster: Cluster, key_pair: tuple[str, str]) -> None:
    """Principal context keys are authorized on PolicySourceArn; a certificate rename on both
    its old and its new ARN."""
    account = cluster.account
    iam.create_user(UserName="ck-auth")
    iam.create_user(UserName="ck-auth-other")
    key = iam.create_access_key(UserName="ck-auth")["AccessKey"]
    body, private_key = key_pair
    iam.upload_server_certificate(
        ServerCertificateName="sc-auth-old", CertificateBody=body, PrivateKey=private_key
    )
    policy = document(
        {
            "Effect": "Allow",
            "Action": [
                "iam:GetContextKeysForPrincipalPolicy",
                "iam:GetContextKeysForCustomPolicy",
                "iam:UpdateServerCertificate",
            ],
            "Resource": [
                f"arn:aws:iam::{account}:user/ck-auth",
                f"arn:aws:iam::{account}:server-certificate/sc-auth-old",
            ],
        }
    )
    granted = iam.put_user_policy(UserName="ck-auth", PolicyName="ck", PolicyDocument=policy)
    cluster.wait_converged(version_of(granted))
    user = cluster.iam(
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    own = user.get_context_keys_for_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{account}:user/ck-auth"
    )
    assert own["ContextKeyNames"] == []
    code, status, message = error_of(
        user.get_context_keys_for_principal_policy,
        PolicySourceArn=f"arn:aws:iam::{account}:user/ck-auth-other",
    )
    assert (code, status) == ("AccessDenied", 403)
    assert f"arn:aws:iam::{account}:user/ck-auth-other" in message
    # GetContextKeysForCustomPolicy is authorized on "*", which the user's resources don't match
    assert error_of(user.get_context_keys_for_custom_policy, PolicyInputList=[CONDITIONED])[:2] == (
        "AccessDenied",
        403,
    )
    code, _, message = error_of(
        user.update_server_certificate,
        ServerCertificateName="sc-auth-old",
        NewServerCertificateName="sc-auth-new",
    )
    assert code == "AccessDenied"
    assert f"arn:aws:iam::{account}:server-certificate/sc-auth-new" in message
    iam.delete_server_certificate(ServerCertificateName="sc-auth-old")
