"""Federated STS end to end: web identity (OIDC JWTs), SAML assertions, decoding denials and
instance metadata credentials, with boto3 against a real cluster."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.dataplane.sts.jwt_signing import SigningKey, jwks, jwks_tags
from tests.dataplane.sts.saml_signing import SamlIdp
from tests.e2e.cluster import Cluster, account_of_its_own
from tests.e2e.sts_helpers import allow, ask, credentials_of, policy, sts, version_of

pytestmark = pytest.mark.e2e

EU, AP = "eu-west-1", "ap-northeast-1"
HOST = "idp.example.test"
OBJECT = "arn:aws:s3:::bucket/key"


@dataclass
class World:
    """The cluster, the OIDC provider's keys and the roles the tests share."""

    cluster: Cluster
    account: str
    rsa: SigningKey
    ec: SigningKey
    idp: SamlIdp

    def role_arn(self, name: str) -> str:
        """The ARN of one of the launcher account's roles."""
        return f"arn:aws:iam::{self.account}:role/{name}"

    def url(self, region: str) -> str:
        """The region's shared endpoint."""
        return self.cluster.file.regions[region].endpoint

    def unsigned_sts(self, region: str) -> Any:
        """A boto3 STS client without credentials (as a web or SAML client holds)."""
        config = Config(signature_version=UNSIGNED, retries={"max_attempts": 1})
        return boto3.client("sts", endpoint_url=self.url(region), region_name=region, config=config)

    def jwt(self, key: SigningKey | None = None, **claims: Any) -> str:
        """An ID token from the test provider, valid for ten minutes unless overridden."""
        base = {"iss": f"https://{HOST}", "aud": "app", "sub": "user-1", "iat": int(time.time()),
                "exp": int(time.time()) + 600}  # fmt: skip
        return (key or self.rsa).sign({**base, **claims})


def _setup(cluster: Cluster) -> World:
    iam, account = cluster.iam(), cluster.account
    rsa, ec = SigningKey.generate("rsa-1"), SigningKey.generate("ec-1", "ES256")
    provider = iam.create_open_id_connect_provider(
        Url=f"https://{HOST}", ClientIDList=["app"], Tags=jwks_tags(jwks(rsa, ec))
    )["OpenIDConnectProviderArn"]
    web_trust = policy(
        {
            "Effect": "Allow",
            "Principal": {"Federated": provider},
            "Action": ["sts:AssumeRoleWithWebIdentity", "sts:TagSession"],
            "Condition": {
                "StringEquals": {f"{HOST}:aud": "app"},
                "StringLike": {f"{HOST}:sub": "user-*"},
            },
        }
    )
    iam.create_role(RoleName="web", AssumeRolePolicyDocument=web_trust)
    tagged_put = allow("s3:PutObject", Condition={"StringEquals": {"aws:PrincipalTag/team": "eng"}})
    last = iam.put_role_policy(
        RoleName="web", PolicyName="s3", PolicyDocument=policy(allow("s3:GetObject"), tagged_put)
    )
    idp = SamlIdp.generate()
    saml = iam.create_saml_provider(Name="corp", SAMLMetadataDocument=idp.metadata())
    saml_trust = policy(
        {
            "Effect": "Allow",
            "Principal": {"Federated": saml["SAMLProviderArn"]},
            "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
            "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
        }
    )
    iam.create_role(RoleName="saml", AssumeRolePolicyDocument=saml_trust)
    iam.create_role(RoleName="nosaml", AssumeRolePolicyDocument=web_trust)
    last = iam.put_role_policy(
        RoleName="saml", PolicyName="s3", PolicyDocument=policy(allow("s3:GetObject"))
    )
    cluster.wait_converged(version_of(last))
    return World(cluster, account, rsa, ec, idp)


@pytest.fixture(scope="module")
def world(shared_cluster: Cluster) -> World:
    """The shared cluster, in an account of the module's own, with an OIDC provider and a
    web-identity role."""
    return _setup(account_of_its_own(shared_cluster))


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_web_identity_session_works_in_every_region(world: World) -> None:
    """An RS256 token yields a role session whose tags come from the token's tags claim."""
    tags = {"principal_tags": {"team": ["eng"]}, "transitive_tag_keys": ["team"]}
    token = world.jwt(**{"https://aws.amazon.com/tags": tags})
    answer = world.unsigned_sts(EU).assume_role_with_web_identity(
        RoleArn=world.role_arn("web"), RoleSessionName="web-1", WebIdentityToken=token
    )
    arn = f"arn:aws:sts::{world.account}:assumed-role/web/web-1"
    assert answer["AssumedRoleUser"]["Arn"] == arn
    assert answer["SubjectFromWebIdentityToken"] == "user-1"
    assert answer["Audience"] == "app"
    assert answer["Provider"] == f"arn:aws:iam::{world.account}:oidc-provider/{HOST}"
    session = credentials_of(answer)
    assert sts(world.cluster, AP, **session).get_caller_identity()["Arn"] == arn
    assert ask(world.url(AP), session, "s3:GetObject", OBJECT)[0] == "Allow"
    assert ask(world.url(AP), session, "s3:PutObject", OBJECT)[0] == "Allow"  # tag team=eng


def test_web_identity_refusals_use_aws_codes(world: World) -> None:
    """ES256 works; a foreign subject, an expired, forged or wrong-audience token is refused."""
    client, role = world.unsigned_sts(AP), world.role_arn("web")

    def attempt(token: str) -> str:
        with pytest.raises(ClientError) as refused:
            client.assume_role_with_web_identity(
                RoleArn=role, RoleSessionName="s1", WebIdentityToken=token
            )
        return _code(refused)

    ok = client.assume_role_with_web_identity(
        RoleArn=role, RoleSessionName="ec", WebIdentityToken=world.jwt(world.ec)
    )
    assert ok["AssumedRoleUser"]["Arn"].endswith(":assumed-role/web/ec")
    assert attempt(world.jwt(sub="intruder")) == "AccessDenied"
    assert attempt(world.jwt(exp=int(time.time()) - 5)) == "ExpiredTokenException"
    assert attempt(world.jwt(aud="other-app")) == "InvalidIdentityToken"
    assert attempt(world.jwt(SigningKey.generate("rsa-1"))) == "InvalidIdentityToken"
    assert attempt(world.jwt(iss="https://unknown.example.test")) == "InvalidIdentityToken"


def test_web_identity_source_identity_needs_set_source_identity(world: World) -> None:
    """The token's source_identity claim is refused unless the trust policy allows
    sts:SetSourceIdentity; then the session carries it as aws:SourceIdentity."""
    iam, provider = world.cluster.iam(), f"arn:aws:iam::{world.account}:oidc-provider/{HOST}"
    trust = policy(
        {
            "Effect": "Allow",
            "Principal": {"Federated": provider},
            "Action": ["sts:AssumeRoleWithWebIdentity", "sts:SetSourceIdentity"],
        }
    )
    iam.create_role(RoleName="web-si", AssumeRolePolicyDocument=trust)
    traced = allow("s3:DeleteObject", Condition={"StringEquals": {"aws:SourceIdentity": "alice"}})
    written = iam.put_role_policy(RoleName="web-si", PolicyName="s3", PolicyDocument=policy(traced))
    world.cluster.wait_converged(version_of(written))
    token = world.jwt(**{"https://aws.amazon.com/source_identity": "alice"})
    client = world.unsigned_sts(EU)
    with pytest.raises(ClientError) as refused:
        client.assume_role_with_web_identity(
            RoleArn=world.role_arn("web"), RoleSessionName="si", WebIdentityToken=token
        )
    assert _code(refused) == "AccessDenied"
    answer = client.assume_role_with_web_identity(
        RoleArn=world.role_arn("web-si"), RoleSessionName="si", WebIdentityToken=token
    )
    assert answer["SourceIdentity"] == "alice"
    session = credentials_of(answer)
    assert ask(world.url(AP), session, "s3:DeleteObject", OBJECT)[0] == "Allow"
    plain = client.assume_role_with_web_identity(
        RoleArn=world.role_arn("web-si"), RoleSessionName="plain", WebIdentityToken=world.jwt()
    )
    assert "SourceIdentity" not in plain
    assert ask(world.url(AP), credentials_of(plain), "s3:DeleteObject", OBJECT)[0] != "Allow"


def test_rotated_signing_keys_replicate(world: World) -> None:
    """A key added with TagOpenIDConnectProvider is honoured once the change reaches a region."""
    iam, rotated = world.cluster.iam(), SigningKey.generate("rsa-2")
    provider = f"arn:aws:iam::{world.account}:oidc-provider/{HOST}"
    written = iam.tag_open_id_connect_provider(
        OpenIDConnectProviderArn=provider, Tags=jwks_tags(jwks(world.rsa, world.ec, rotated))
    )
    world.cluster.wait_converged(version_of(written))
    answer = world.unsigned_sts(EU).assume_role_with_web_identity(
        RoleArn=world.role_arn("web"), RoleSessionName="rot", WebIdentityToken=world.jwt(rotated)
    )
    assert answer["SubjectFromWebIdentityToken"] == "user-1"
    tags = iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=provider)["Tags"]
    assert not [t for t in tags if t["Key"].startswith("iam-planes:jwks:")]


def test_saml_assertion_yields_a_session(world: World) -> None:
    """A signed assertion offering the role/provider pair yields a session usable elsewhere."""
    provider = f"arn:aws:iam::{world.account}:saml-provider/corp"
    role = world.role_arn("saml")
    assertion = world.idp.response([f"{role},{provider}"], tags={"dept": "ops"})
    answer = world.unsigned_sts(EU).assume_role_with_saml(
        RoleArn=role, PrincipalArn=provider, SAMLAssertion=assertion
    )
    arn = f"arn:aws:sts::{world.account}:assumed-role/saml/saml-user"
    assert answer["AssumedRoleUser"]["Arn"] == arn
    assert (answer["Subject"], answer["SubjectType"]) == ("alice@example.test", "persistent")
    assert answer["Audience"] == "https://signin.aws.amazon.com/saml"
    session = credentials_of(answer)
    assert sts(world.cluster, AP, **session).get_caller_identity()["Arn"] == arn
    assert ask(world.url(AP), session, "s3:GetObject", OBJECT)[0] == "Allow"


def test_saml_refusals_use_aws_codes(world: World) -> None:
    """A role the assertion does not offer, an untrusting role, expiry and forgery: refused."""
    provider = f"arn:aws:iam::{world.account}:saml-provider/corp"
    client = world.unsigned_sts(AP)

    def attempt(role: str, assertion: str) -> str:
        with pytest.raises(ClientError) as refused:
            client.assume_role_with_saml(
                RoleArn=world.role_arn(role), PrincipalArn=provider, SAMLAssertion=assertion
            )
        return _code(refused)

    pair = f"{world.role_arn('saml')},{provider}"
    other_pair = f"{world.role_arn('nosaml')},{provider}"
    assert attempt("nosaml", world.idp.response([pair])) == "AccessDenied"
    assert attempt("nosaml", world.idp.response([other_pair])) == "AccessDenied"
    assert attempt("saml", world.idp.response([pair], lifetime=-5)) == "ExpiredTokenException"
    assert attempt("saml", SamlIdp.generate().response([pair])) == "InvalidIdentityToken"


def test_denials_carry_a_decodable_message(world: World) -> None:
    """A denied /authorize answer carries an encoded message that only a caller allowed
    sts:DecodeAuthorizationMessage in the same account can decode, in any region."""
    answer = world.unsigned_sts(EU).assume_role_with_web_identity(
        RoleArn=world.role_arn("web"), RoleSessionName="dec", WebIdentityToken=world.jwt()
    )
    session = credentials_of(answer)
    decision, denied = ask(world.url(EU), session, "s3:DeleteObject", OBJECT)
    assert decision == "ImplicitDeny"
    encoded = denied["encoded_authorization_message"]
    with pytest.raises(ClientError) as refused:
        sts(world.cluster, AP, **session).decode_authorization_message(EncodedMessage=encoded)
    assert _code(refused) == "AccessDenied"
    root = world.cluster.root_credentials()
    decoded = sts(world.cluster, AP, **root).decode_authorization_message(EncodedMessage=encoded)
    message = json.loads(decoded["DecodedMessage"])
    assert (message["allowed"], message["context"]["action"]) == (False, "s3:DeleteObject")
    with pytest.raises(ClientError) as garbled:
        sts(world.cluster, AP, **root).decode_authorization_message(EncodedMessage=encoded[:-4])
    assert _code(garbled) == "InvalidAuthorizationMessageException"


def test_instance_metadata_feeds_the_default_credential_chain(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An instance registered on an instance profile gets role credentials through IMDSv2 and
    botocore's default chain; aws:userid is ROLEID:INSTANCE-ID; IMDSv1 is refused."""
    iam, instance = world.cluster.iam(), "i-0123456789abcdef0"
    ec2_trust = policy(
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    )
    role_id = iam.create_role(RoleName="ec2", AssumeRolePolicyDocument=ec2_trust)["Role"]["RoleId"]
    iam.put_role_policy(RoleName="ec2", PolicyName="s3", PolicyDocument=policy(allow("s3:*")))
    iam.create_instance_profile(InstanceProfileName="servers")
    iam.add_role_to_instance_profile(InstanceProfileName="servers", RoleName="ec2")
    last = iam.tag_instance_profile(
        InstanceProfileName="servers", Tags=[{"Key": "iam-planes:instance-id", "Value": instance}]
    )
    world.cluster.wait_converged(version_of(last))
    endpoint = f"{world.url(AP)}/imds/{instance}/"
    with pytest.raises(urllib.error.HTTPError) as v1:
        urllib.request.urlopen(endpoint + "latest/meta-data/iam/security-credentials/", timeout=5)
    assert v1.value.code == 401
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint)
    credentials = botocore.session.Session().get_credentials()
    assert credentials is not None and credentials.method == "iam-role"
    frozen = credentials.get_frozen_credentials()
    creds = {"aws_access_key_id": frozen.access_key, "aws_secret_access_key": frozen.secret_key,
             "aws_session_token": frozen.token}  # fmt: skip
    identity = sts(world.cluster, EU, **creds).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{world.account}:assumed-role/ec2/{instance}"
    assert identity["UserId"] == f"{role_id}:{instance}"
    assert ask(world.url(EU), creds, "s3:GetObject", OBJECT)[0] == "Allow"
