"""IMDS role credentials: rotation on the injected clock, and the instance context keys.

In-process: IAM handlers fold into a state (as ``test_organizations_evaluation`` does), a
stand-in replica serves it, the IMDS routes answer over a local aiohttp test server, and the
replicas' ``Authorizer`` decides with the credentials they hand out.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from dataplane.authorizer import Authorizer
from dataplane.identity.policy_index import PolicyIndex
from dataplane.identity.sessions import open_session
from dataplane.identity.tokens import TokenKeys, new_token_key
from dataplane.replica import Replica, ReplicaIdentity
from dataplane.sts.instance_metadata import (
    CREDENTIAL_SECONDS,
    INSTANCE_TAG,
    ROTATION_SECONDS,
    InstanceMetadata,
)
from replication.queries import AccessKeyPrincipal, AuthorizeQuery
from tests.controlplane.organizations.test_organizations_evaluation import MANAGEMENT, World
from tests.dataplane.replica_stand_in import ReplicaStandIn


def _replica(world: World) -> Replica:
    return cast(Replica, ReplicaStandIn(world, ReplicaIdentity("eu-west-1", "eu-west-1a")))


WEB, OTHER = "i-0123456789abcdef0", "i-0fedcba9876543210"
START = 1_800_000_000.0
BUCKET = "arn:aws:s3:::imds-bucket/key"
WEB_ARN = f"arn:aws:ec2:eu-west-1:{MANAGEMENT}:instance/{WEB}"
EC2_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
# the role may read the bucket only with the credentials of instance WEB
ONLY_FROM_WEB = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "ec2:SourceInstanceARN": WEB_ARN,
                        "ec2:RoleDelivery": "2.0",
                    }
                },
            }
        ],
    }
)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


class Imds:
    """One replica's IMDS, its clock, keys and authorizer."""

    def __init__(
        self, world: World, client: TestClient[Any, Any], clock: Clock, keys: TokenKeys
    ) -> None:
        self.world, self.client, self.clock, self.keys = world, client, clock, keys
        replica = _replica(world)
        self.authorizer = Authorizer(replica, clock, token_keys=self.keys)

    async def fetch(self, instance: str, role: str = "web") -> dict[str, str]:
        """The credentials document IMDSv2 returns for ``role`` (HTTP 200 only)."""
        put = await self.client.put(
            f"/imds/{instance}/latest/api/token",
            headers={"X-aws-ec2-metadata-token-ttl-seconds": "21600"},
        )
        token = await put.text()
        got = await self.client.get(
            f"/imds/{instance}/latest/meta-data/iam/security-credentials/{role}",
            headers={"X-aws-ec2-metadata-token": token},
        )
        assert got.status == 200
        return cast(dict[str, str], await got.json())

    async def status(self, instance: str, role: str = "web") -> int:
        """The HTTP status of a credentials fetch."""
        put = await self.client.put(
            f"/imds/{instance}/latest/api/token",
            headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"},
        )
        got = await self.client.get(
            f"/imds/{instance}/latest/meta-data/iam/security-credentials/{role}",
            headers={"X-aws-ec2-metadata-token": await put.text()},
        )
        return got.status

    async def decide(self, creds: dict[str, str], **context: str) -> str:
        """The authorizer's decision for s3:GetObject with these IMDS credentials."""
        principal = AccessKeyPrincipal(
            access_key_id=creds["AccessKeyId"], session_token=creds["Token"]
        )
        query = AuthorizeQuery(
            principal=principal, action="s3:GetObject", resource=BUCKET, context=context
        )
        answer = await self.authorizer.answer_or_error(query, "10.0.0.1")
        return str(answer["error"]["code"] if "error" in answer else answer["decision"])


def _world() -> World:
    world = World()
    world.iam("CreateRole", RoleName="web", AssumeRolePolicyDocument=EC2_TRUST)
    world.iam("PutRolePolicy", RoleName="web", PolicyName="s3", PolicyDocument=ONLY_FROM_WEB)
    world.iam("CreateInstanceProfile", InstanceProfileName="servers")
    world.iam("AddRoleToInstanceProfile", InstanceProfileName="servers", RoleName="web")
    tag = {"Key": INSTANCE_TAG, "Value": f"{WEB} {OTHER}"}
    world.iam("TagInstanceProfile", InstanceProfileName="servers", Tags=[tag])
    return world


@pytest.fixture
async def imds() -> AsyncIterator[Imds]:
    world, clock = _world(), Clock()
    keys = TokenKeys.parse(f"k1:{new_token_key()}")
    metadata = InstanceMetadata(
        _replica(world),
        keys,
        PolicyIndex(),
        clock,
    )
    app = web.Application()
    app.router.add_routes(metadata.routes())
    async with TestClient(TestServer(app)) as client:
        yield Imds(world, client, clock, keys)


async def test_the_same_credentials_until_rotation_then_new_ones(imds: Imds) -> None:
    """Repeated fetches return identical credentials until the hourly rotation, then new
    ones (announced long before the old expire); the old ones work until their expiry."""
    first = await imds.fetch(WEB)
    assert first["Code"] == "Success" and first["Type"] == "AWS-HMAC"
    assert first["LastUpdated"] == "2027-01-15T08:00:00Z"
    assert first["Expiration"] == "2027-01-15T14:00:00Z"  # six hours
    imds.clock.now = START + ROTATION_SECONDS - 1
    assert await imds.fetch(WEB) == first

    imds.clock.now = START + ROTATION_SECONDS
    rotated = await imds.fetch(WEB)
    assert rotated["AccessKeyId"] != first["AccessKeyId"]
    assert rotated["Token"] != first["Token"]
    assert rotated["LastUpdated"] == "2027-01-15T09:00:00Z"
    assert rotated["Expiration"] == "2027-01-15T15:00:00Z"
    assert await imds.fetch(WEB) == rotated
    # new credentials come at least five minutes before the old ones expire
    assert ROTATION_SECONDS <= CREDENTIAL_SECONDS - 300

    assert await imds.decide(first) == "Allow"  # still valid
    imds.clock.now = START + CREDENTIAL_SECONDS - 1
    assert await imds.decide(first) == "Allow"
    imds.clock.now = START + CREDENTIAL_SECONDS
    assert await imds.decide(first) == "ExpiredToken"
    assert await imds.decide(rotated) == "Allow"


async def test_each_instance_has_its_own_credentials(imds: Imds) -> None:
    """Two instances of one profile get different sessions, each kept for itself."""
    web_creds, other_creds = await imds.fetch(WEB), await imds.fetch(OTHER)
    assert web_creds["AccessKeyId"] != other_creds["AccessKeyId"]
    assert await imds.fetch(WEB) == web_creds
    assert await imds.fetch(OTHER) == other_creds


async def test_a_role_change_is_not_answered_with_stale_credentials(imds: Imds) -> None:
    """Another role on the profile, the role re-created, or a trust policy that no longer
    lets EC2 in: never the credentials delivered before."""
    world = imds.world
    first = await imds.fetch(WEB)

    world.iam("UpdateAssumeRolePolicy", RoleName="web", PolicyDocument=EC2_TRUST.replace(
        "ec2.amazonaws.com", "lambda.amazonaws.com"))  # fmt: skip
    refused = await imds.fetch(WEB)
    assert refused["Code"] == "AssumeRoleUnauthorizedAccess"
    assert "AccessKeyId" not in refused
    world.iam("UpdateAssumeRolePolicy", RoleName="web", PolicyDocument=EC2_TRUST)
    trusted_again = await imds.fetch(WEB)
    assert trusted_again["AccessKeyId"] != first["AccessKeyId"]

    world.iam("RemoveRoleFromInstanceProfile", InstanceProfileName="servers", RoleName="web")
    assert await imds.status(WEB) == 404
    world.iam("CreateRole", RoleName="db", AssumeRolePolicyDocument=EC2_TRUST)
    world.iam("AddRoleToInstanceProfile", InstanceProfileName="servers", RoleName="db")
    assert await imds.status(WEB, "web") == 404
    db = await imds.fetch(WEB, "db")
    session, _ = open_session(imds.keys, db["AccessKeyId"], db["Token"], imds.clock.now)
    assert session.arn == f"arn:aws:sts::{MANAGEMENT}:assumed-role/db/{WEB}"

    # the role re-created under the same name: a new role ID, so new credentials
    world.iam("RemoveRoleFromInstanceProfile", InstanceProfileName="servers", RoleName="db")
    world.iam("DeleteRole", RoleName="db")
    world.iam("CreateRole", RoleName="db", AssumeRolePolicyDocument=EC2_TRUST)
    world.iam("AddRoleToInstanceProfile", InstanceProfileName="servers", RoleName="db")
    recreated = await imds.fetch(WEB, "db")
    assert recreated["AccessKeyId"] != db["AccessKeyId"]
    assert await imds.fetch(WEB, "db") == recreated


async def test_instance_context_keys_reach_policy_conditions(imds: Imds) -> None:
    """ec2:SourceInstanceARN and ec2:RoleDelivery are on the instance's requests: the role's
    policy matching instance WEB allows WEB's credentials, not OTHER's (same role), and the
    query's context cannot pose as another instance."""
    web_creds, other_creds = await imds.fetch(WEB), await imds.fetch(OTHER)
    session, _ = open_session(imds.keys, web_creds["AccessKeyId"], web_creds["Token"], START)
    assert session.request_context == {
        "ec2:SourceInstanceARN": WEB_ARN,
        "ec2:RoleDelivery": "2.0",
    }
    assert await imds.decide(web_creds) == "Allow"
    assert await imds.decide(other_creds) == "ImplicitDeny"
    assert await imds.decide(other_creds, **{"ec2:SourceInstanceARN": WEB_ARN}) == "ImplicitDeny"
