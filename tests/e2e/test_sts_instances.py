"""Instance credentials and SAML source identity end to end, against a real cluster.

IMDS: each replica hands an instance the same credentials on every fetch (until rotation), and
those credentials carry ec2:SourceInstanceARN, so a role policy can pin them to one instance.
SAML: a SourceIdentity attribute comes back in boto3's AssumeRoleWithSAML response.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.dataplane.sts.saml_signing import ATTRIBUTE, SamlIdp
from tests.dataplane.sts.test_saml import with_attributes
from tests.e2e.cluster import Cluster, account_of_its_own
from tests.e2e.sts_helpers import ask, credentials_of, policy, version_of

pytestmark = pytest.mark.e2e

EU = "eu-west-1"
PINNED, ELSEWHERE = "i-0aaaaaaaaaaaaaaa1", "i-0bbbbbbbbbbbbbbb2"
CHAIN_PINNED, CHAIN_ELSEWHERE = "i-0ccccccccccccccc3", "i-0ddddddddddddddd4"
OBJECT = "arn:aws:s3:::instances-bucket/key"
EC2_TRUST = policy(
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
)


@pytest.fixture(scope="module")
def cluster(shared_cluster: Cluster) -> Cluster:
    """The shared cluster, in an account of the module's own."""
    return account_of_its_own(shared_cluster)


def _fetch(endpoint: str, instance: str, role: str) -> dict[str, Any]:
    """IMDSv2: a session token, then the role's credentials document."""
    base = f"{endpoint}/imds/{instance}/latest"
    put = urllib.request.Request(
        base + "/api/token",
        method="PUT",
        headers={"X-aws-ec2-metadata-token-ttl-seconds": "300"},
    )
    with urllib.request.urlopen(put, timeout=5) as answer:
        token = answer.read().decode()
    get = urllib.request.Request(
        f"{base}/meta-data/iam/security-credentials/{role}",
        headers={"X-aws-ec2-metadata-token": token},
    )
    with urllib.request.urlopen(get, timeout=5) as answer:
        return dict(json.loads(answer.read()))


def _as_boto(document: dict[str, Any]) -> dict[str, str]:
    return {
        "aws_access_key_id": document["AccessKeyId"],
        "aws_secret_access_key": document["SecretAccessKey"],
        "aws_session_token": document["Token"],
    }


def test_instance_credentials_are_stable_and_pinned_to_their_instance(cluster: Cluster) -> None:
    """Every replica of the region returns an instance the same credentials fetch after
    fetch; a role policy on ec2:SourceInstanceARN allows one instance, not the other."""
    iam, account = cluster.iam(), cluster.account
    pinned_arn = f"arn:aws:ec2:{EU}:{account}:instance/{PINNED}"
    pinned = {"StringEquals": {"ec2:SourceInstanceARN": pinned_arn, "ec2:RoleDelivery": "2.0"}}
    read = policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                   "Condition": pinned})  # fmt: skip
    iam.create_role(RoleName="pinned", AssumeRolePolicyDocument=EC2_TRUST)
    iam.put_role_policy(RoleName="pinned", PolicyName="read", PolicyDocument=read)
    iam.create_instance_profile(InstanceProfileName="pinned-servers")
    iam.add_role_to_instance_profile(InstanceProfileName="pinned-servers", RoleName="pinned")
    last = iam.tag_instance_profile(
        InstanceProfileName="pinned-servers",
        Tags=[{"Key": "iam-planes:instance-id", "Value": f"{PINNED} {ELSEWHERE}"}],
    )
    cluster.wait_converged(version_of(last))
    eu_replicas = [url for az, url in cluster.replicas().items() if cluster.region_of(az) == EU]
    assert eu_replicas
    for replica in eu_replicas:
        first = _fetch(replica, PINNED, "pinned")
        assert first["Code"] == "Success"
        assert _fetch(replica, PINNED, "pinned") == first
        other = _fetch(replica, ELSEWHERE, "pinned")
        assert other["AccessKeyId"] != first["AccessKeyId"]
        url = cluster.file.regions[EU].endpoint
        assert ask(url, _as_boto(first), "s3:GetObject", OBJECT)[0] == "Allow"
        assert ask(url, _as_boto(other), "s3:GetObject", OBJECT)[0] == "ImplicitDeny"


def test_sts_sees_the_instance_of_instance_credentials(cluster: Cluster) -> None:
    """STS's own authorization sees ec2:SourceInstanceARN too: the instance role may chain
    into another role only from the pinned instance."""
    iam, account = cluster.iam(), cluster.account
    pinned_arn = f"arn:aws:ec2:{EU}:{account}:instance/{CHAIN_PINNED}"
    account_trust = policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
         "Action": "sts:AssumeRole"}
    )  # fmt: skip
    target = f"arn:aws:iam::{account}:role/chained-target"
    chain = policy(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": target,
         "Condition": {"StringEquals": {"ec2:SourceInstanceARN": pinned_arn}}}
    )  # fmt: skip
    iam.create_role(RoleName="chained-target", AssumeRolePolicyDocument=account_trust)
    iam.create_role(RoleName="chainer", AssumeRolePolicyDocument=EC2_TRUST)
    iam.put_role_policy(RoleName="chainer", PolicyName="chain", PolicyDocument=chain)
    iam.create_instance_profile(InstanceProfileName="chainers")
    iam.add_role_to_instance_profile(InstanceProfileName="chainers", RoleName="chainer")
    last = iam.tag_instance_profile(
        InstanceProfileName="chainers",
        Tags=[{"Key": "iam-planes:instance-id", "Value": f"{CHAIN_PINNED} {CHAIN_ELSEWHERE}"}],
    )
    cluster.wait_converged(version_of(last))
    endpoint = cluster.file.regions[EU].endpoint

    def chain_from(instance: str) -> Any:
        client = boto3.client(
            "sts", endpoint_url=endpoint, region_name=EU,
            **_as_boto(_fetch(endpoint, instance, "chainer")),
        )  # fmt: skip
        return client.assume_role(RoleArn=target, RoleSessionName="chained")

    assert chain_from(CHAIN_PINNED)["AssumedRoleUser"]["Arn"].endswith("/chained-target/chained")
    with pytest.raises(ClientError) as refused:
        chain_from(CHAIN_ELSEWHERE)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_saml_source_identity_comes_back_from_sts(cluster: Cluster) -> None:
    """AssumeRoleWithSAML with a SourceIdentity attribute: refused without
    sts:SetSourceIdentity in the trust policy, returned in the response with it, and seen as
    aws:SourceIdentity by the role's policy."""
    iam, account, idp = cluster.iam(), cluster.account, SamlIdp.generate()
    provider = iam.create_saml_provider(Name="instances-idp", SAMLMetadataDocument=idp.metadata())[
        "SAMLProviderArn"
    ]

    def trust(*actions: str) -> str:
        return policy(
            {"Effect": "Allow", "Principal": {"Federated": provider},
             "Action": ["sts:AssumeRoleWithSAML", *actions]}
        )  # fmt: skip

    iam.create_role(RoleName="saml-plain", AssumeRolePolicyDocument=trust())
    iam.create_role(
        RoleName="saml-audited", AssumeRolePolicyDocument=trust("sts:SetSourceIdentity")
    )
    by_alice = {"StringEquals": {"aws:SourceIdentity": "alice"}}
    read = policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                   "Condition": by_alice})  # fmt: skip
    last = iam.put_role_policy(RoleName="saml-audited", PolicyName="read", PolicyDocument=read)
    cluster.wait_converged(version_of(last))
    client = boto3.client(
        "sts",
        endpoint_url=cluster.file.regions[EU].endpoint,
        region_name=EU,
        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
    )

    def assume(role: str) -> dict[str, Any]:
        arn = f"arn:aws:iam::{account}:role/{role}"
        encoded = with_attributes(
            idp.response([f"{arn},{provider}"]), {ATTRIBUTE + "SourceIdentity": ["alice"]}, idp
        )
        answer: dict[str, Any] = client.assume_role_with_saml(
            RoleArn=arn, PrincipalArn=provider, SAMLAssertion=encoded
        )
        return answer

    with pytest.raises(ClientError) as refused:
        assume("saml-plain")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    answer = assume("saml-audited")
    assert answer["SourceIdentity"] == "alice"
    session = credentials_of(answer)
    assert ask(cluster.file.regions[EU].endpoint, session, "s3:GetObject", OBJECT)[0] == "Allow"
