"""Regional STS end to end: real processes, boto3, sessions honoured in every region."""

from __future__ import annotations

import asyncio
import base64
import hmac
import secrets
import struct
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dataplane.identity.tokens import SessionClaims, TokenKeys
from replication.entities import AccessKey, Account, Entity, MfaDevice
from replication.events import ChangeEvent
from replication.ids import IdPrefix, new_access_key_id, new_account_id, new_secret_access_key
from replication.log import RedisChangeLog, connect
from tests.e2e.cluster import Cluster, account_of_its_own, http_json, iam_planes, region_delays
from tests.e2e.sts_helpers import (
    allow,
    ask,
    credentials_of,
    policy,
    signed_query,
    sts,
    trust,
    version_of,
)

pytestmark = pytest.mark.e2e

EU, AP, US = "eu-west-1", "ap-northeast-1", "us-east-1"
OBJECT = "arn:aws:s3:::bucket/key"


@dataclass
class World:
    """The cluster plus the users, roles and accounts the tests share."""

    cluster: Cluster
    account: str
    alice: dict[str, str]
    carol: dict[str, str]
    other_account: str
    other_root: dict[str, str]
    issued: list[dict[str, str]] = field(default_factory=list)

    def role_arn(self, name: str, account: str | None = None) -> str:
        """The ARN of a role of the launcher's (or another) account."""
        return f"arn:aws:iam::{account or self.account}:role/{name}"

    def assume(self, region: str, creds: dict[str, str], **params: Any) -> dict[str, Any]:
        """AssumeRole in ``region``; the new credentials are remembered for the log check."""
        answer = sts(self.cluster, region, **creds).assume_role(**params)
        self.issued.append(credentials_of(answer))
        return answer

    def url(self, region: str) -> str:
        """The region's shared endpoint."""
        return self.cluster.file.regions[region].endpoint


async def _append(redis_url: str, *entities: Entity) -> int:
    """Append ``<entity>.put`` events to the log directly (for what IAM's API cannot make yet)."""
    log = RedisChangeLog(connect(redis_url))
    try:
        version = 0
        for entity in entities:
            event = ChangeEvent(
                version=await log.head() + 1,
                committed_at=time.time(),
                kind=f"{entity.entity}.put",  # type: ignore[arg-type]
                account=entity.id if isinstance(entity, Account) else entity.account,
                action="TestBootstrap",
                payload=entity.model_dump(mode="json"),
            )
            version = await log.append(event)
        return version
    finally:
        await log.close()


def _add_account(redis_url: str) -> tuple[str, dict[str, str]]:
    """A second account and its root key, appended to the log as the launcher does for one."""
    now = datetime.now(UTC)
    account = Account(id=new_account_id(), created_at=now)
    key = AccessKey(
        account=account.id,
        access_key_id=new_access_key_id(account.id),
        secret_access_key=new_secret_access_key(),
        user_name=None,
        created_at=now,
    )
    asyncio.run(_append(redis_url, account, key))
    creds = {"aws_access_key_id": key.access_key_id, "aws_secret_access_key": key.secret_access_key}
    return account.id, creds


def _setup(cluster: Cluster) -> World:
    iam = cluster.iam()
    account = cluster.account
    iam.create_user(UserName="alice")
    key = iam.create_access_key(UserName="alice")["AccessKey"]
    alice = {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }
    iam.put_user_policy(
        UserName="alice",
        PolicyName="assume",
        PolicyDocument=policy(
            allow(["sts:AssumeRole", "sts:TagSession"], "arn:aws:iam::*:role/*"),
            allow(["s3:*", "sts:GetFederationToken", "iam:GetUser"]),
        ),
    )
    iam.create_user(UserName="carol")
    key = iam.create_access_key(UserName="carol")["AccessKey"]
    carol = {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }
    iam.put_user_policy(
        UserName="carol",
        PolicyName="assume",
        PolicyDocument=policy(allow("sts:AssumeRole", f"arn:aws:iam::{account}:role/*")),
    )
    root = f"arn:aws:iam::{account}:root"
    s3_read = policy(allow(["s3:GetObject", "s3:ListBucket"]), allow("sts:AssumeRole"))
    for name, document, max_duration in (
        ("reader", trust(root), 7200),
        ("second", trust(root), 7200),
        ("partner", trust(root, Condition={"StringEquals": {"sts:ExternalId": "xyz-123"}}), 3600),
        ("revocable", trust(root), 3600),
    ):
        iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=document, MaxSessionDuration=max_duration
        )
        last = iam.put_role_policy(RoleName=name, PolicyName="s3", PolicyDocument=s3_read)
    other, other_root = _add_account(cluster.file.redis.url)
    cluster.wait_converged(version_of(last) + 2)
    other_iam = cluster.iam(**other_root)
    other_iam.create_role(RoleName="shared", AssumeRolePolicyDocument=trust(root))
    other_iam.create_role(
        RoleName="private", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{other}:root")
    )
    last = other_iam.put_role_policy(RoleName="shared", PolicyName="s3", PolicyDocument=s3_read)
    cluster.wait_converged(version_of(last))
    return World(cluster, account, alice, carol, other, other_root)


@pytest.fixture(scope="module")
def world(shared_cluster: Cluster) -> Iterator[World]:
    """The shared cluster, in an account of the module's own, with alice, four roles and a
    second account; eu-west-1 applies changes 50 ms late."""
    cluster = account_of_its_own(shared_cluster)
    with region_delays(cluster, f"{EU}=50"):
        yield _setup(cluster)


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_session_from_one_region_works_in_another(world: World) -> None:
    """AssumeRole in eu-west-1; GetCallerIdentity and /authorize in ap-northeast-1 honour it."""
    answer = world.assume(EU, world.alice, RoleArn=world.role_arn("reader"), RoleSessionName="s1")
    session = credentials_of(answer)
    assert session["aws_access_key_id"].startswith("ASIA")
    arn = f"arn:aws:sts::{world.account}:assumed-role/reader/s1"
    assert answer["AssumedRoleUser"]["Arn"] == arn
    identity = sts(world.cluster, AP, **session).get_caller_identity()
    assert identity["Arn"] == arn
    assert identity["UserId"].startswith("AROA") and identity["UserId"].endswith(":s1")
    assert ask(world.url(AP), session, "s3:GetObject", OBJECT)[0] == "Allow"
    assert ask(world.url(AP), session, "s3:PutObject", OBJECT)[0] == "ImplicitDeny"
    status, decided = http_json(
        f"{world.url(AP)}/authorize", signed_query(session, AP, "s3:GetObject", OBJECT)
    )
    assert (status, decided["decision"], decided["principal"]) == (200, "Allow", arn)
    with pytest.raises(ClientError) as iam_refused:  # the control plane asks us-east-1
        world.cluster.iam(**session).list_users()
    assert iam_refused.value.response["Error"]["Message"].startswith(f"User: {arn} is not")


def test_get_caller_identity_needs_no_permission(world: World) -> None:
    """GetCallerIdentity answers for the user and its temporary credentials alike (R83)."""
    identity = sts(world.cluster, US, **world.alice).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{world.account}:user/alice"
    token = sts(world.cluster, US, **world.alice).get_session_token(DurationSeconds=900)
    world.issued.append(credentials_of(token))
    again = sts(world.cluster, EU, **credentials_of(token)).get_caller_identity()
    assert again["Arn"] == identity["Arn"]
    info = sts(world.cluster, EU, **world.alice).get_access_key_info(
        AccessKeyId=token["Credentials"]["AccessKeyId"]
    )
    assert info["Account"] == world.account
    presigned = sts(world.cluster, AP, **credentials_of(token)).generate_presigned_url(
        "get_caller_identity", ExpiresIn=60, HttpMethod="GET"
    )
    try:
        with urllib.request.urlopen(presigned, timeout=5) as response:
            body = response.read().decode()
    except urllib.error.HTTPError as error:
        body = error.read().decode()
    assert f"<Arn>{identity['Arn']}</Arn>" in body


def test_cross_account_needs_trust_and_identity(world: World) -> None:
    """Another account's role: allowed when its trust names us and our policy allows; refused
    when the trust policy names only its own account."""
    shared = world.role_arn("shared", world.other_account)
    answer = world.assume(AP, world.alice, RoleArn=shared, RoleSessionName="xx")
    assert answer["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{world.other_account}:")
    assert ask(world.url(EU), credentials_of(answer), "s3:GetObject", OBJECT)[0] == "Allow"
    private = world.role_arn("private", world.other_account)
    with pytest.raises(ClientError) as refused:
        world.assume(AP, world.alice, RoleArn=private, RoleSessionName="xx")
    assert _code(refused) == "AccessDenied"
    assert refused.value.response["Error"]["Message"] == (
        f"User: arn:aws:iam::{world.account}:user/alice is not authorized to perform: "
        f"sts:AssumeRole on resource: {private}"
    )
    with pytest.raises(ClientError) as root_refused:
        world.assume(AP, world.other_root, RoleArn=private, RoleSessionName="xx")
    assert root_refused.value.response["Error"]["Message"] == (
        "Roles may not be assumed by root accounts."
    )


def test_cross_account_caller_needs_its_own_identity_allow(world: World) -> None:
    """The other account's trust names our account, but carol's own policies allow
    sts:AssumeRole only in her account: refused (R55, R48); in her account she may."""
    shared = world.role_arn("shared", world.other_account)
    with pytest.raises(ClientError) as refused:
        world.assume(EU, world.carol, RoleArn=shared, RoleSessionName="yy")
    assert _code(refused) == "AccessDenied"
    world.assume(EU, world.carol, RoleArn=world.role_arn("reader"), RoleSessionName="yy")


def test_external_id(world: World) -> None:
    """The partner role's trust requires sts:ExternalId: absent or wrong is refused."""
    partner = world.role_arn("partner")
    for extra in ({}, {"ExternalId": "wrong-id"}):
        with pytest.raises(ClientError) as refused:
            world.assume(EU, world.alice, RoleArn=partner, RoleSessionName="pp", **extra)
        assert _code(refused) == "AccessDenied"
    world.assume(EU, world.alice, RoleArn=partner, RoleSessionName="pp", ExternalId="xyz-123")


def test_session_policy_narrows(world: World) -> None:
    """A session policy limits the role's permissions; it never widens them."""
    narrow = policy(allow("s3:GetObject", "arn:aws:s3:::bucket/*"), allow("s3:DeleteObject"))
    answer = world.assume(
        AP, world.alice, RoleArn=world.role_arn("reader"), RoleSessionName="nn", Policy=narrow
    )
    assert answer["PackedPolicySize"] > 0
    session = credentials_of(answer)
    url = world.url(US)
    assert ask(url, session, "s3:GetObject", OBJECT)[0] == "Allow"
    assert ask(url, session, "s3:GetObject", "arn:aws:s3:::other/key")[0] == "ImplicitDeny"
    assert ask(url, session, "s3:ListBucket", "arn:aws:s3:::bucket")[0] == "ImplicitDeny"
    assert ask(url, session, "s3:DeleteObject", OBJECT)[0] == "ImplicitDeny"


def test_packed_policy_too_large(world: World) -> None:
    """Fifty long random session tags overflow the packed size (PackedPolicyTooLarge)."""
    tags = [{"Key": f"k{i}", "Value": secrets.token_hex(120)} for i in range(50)]
    with pytest.raises(ClientError) as refused:
        world.assume(
            EU, world.alice, RoleArn=world.role_arn("reader"), RoleSessionName="tt", Tags=tags
        )
    assert _code(refused) == "PackedPolicyTooLarge"


def test_role_chaining_is_capped_at_one_hour(world: World) -> None:
    """A role session may assume another role, for at most 3,600 s even if the role allows more."""
    first = world.assume(
        EU,
        world.alice,
        RoleArn=world.role_arn("reader"),
        RoleSessionName="aa",
        DurationSeconds=7200,
    )
    session = credentials_of(first)
    with pytest.raises(ClientError) as refused:
        world.assume(
            EU,
            session,
            RoleArn=world.role_arn("second"),
            RoleSessionName="bb",
            DurationSeconds=7200,
        )
    assert _code(refused) == "ValidationError"
    assert "role chaining" in refused.value.response["Error"]["Message"]
    chained = world.assume(EU, session, RoleArn=world.role_arn("second"), RoleSessionName="bb")
    expiry = chained["Credentials"]["Expiration"].timestamp()
    assert expiry - time.time() <= 3600 + 5
    with pytest.raises(ClientError) as too_long:
        world.assume(
            EU,
            world.alice,
            RoleArn=world.role_arn("partner"),
            RoleSessionName="cc",
            ExternalId="xyz-123",
            DurationSeconds=7200,
        )
    assert "MaxSessionDuration" in too_long.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as no_federation:
        sts(world.cluster, EU, **session).get_federation_token(Name="fed")
    assert _code(no_federation) == "AccessDenied"


def test_federation_token_is_the_intersection(world: World) -> None:
    """GetFederationToken: alice's permissions ∩ the passed policy; none without a policy."""
    client = sts(world.cluster, AP, **world.alice)
    passed = policy(allow(["s3:GetObject", "ec2:*", "iam:GetUser"]))
    answer = client.get_federation_token(Name="bob", Policy=passed, DurationSeconds=900)
    fed = credentials_of(answer)
    world.issued.append(fed)
    assert answer["FederatedUser"]["Arn"] == f"arn:aws:sts::{world.account}:federated-user/bob"
    url = world.url(EU)
    assert ask(url, fed, "s3:GetObject", OBJECT)[0] == "Allow"
    assert ask(url, fed, "s3:PutObject", OBJECT)[0] == "ImplicitDeny"  # not in the policy
    assert ask(url, fed, "ec2:RunInstances", "*")[0] == "ImplicitDeny"  # not alice's
    assert ask(url, fed, "iam:GetUser", "*")[0] == "ImplicitDeny"  # R82
    bare = credentials_of(client.get_federation_token(Name="bare"))
    world.issued.append(bare)
    assert ask(url, bare, "s3:GetObject", OBJECT)[0] == "ImplicitDeny"
    identity = sts(world.cluster, EU, **fed).get_caller_identity()
    assert identity["UserId"] == f"{world.account}:bob"


def _tamper(token: str) -> str:
    middle = len(token) // 2
    return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]


def test_tampered_expired_and_misscoped_requests_are_refused(world: World) -> None:
    """A forged token, an expired session and a request signed for another region fail with
    InvalidClientTokenId, ExpiredToken and SignatureDoesNotMatch."""
    answer = world.assume(
        EU, world.alice, RoleArn=world.role_arn("reader"), RoleSessionName="ee", DurationSeconds=900
    )
    assert 895 <= answer["Credentials"]["Expiration"].timestamp() - time.time() <= 905
    session = credentials_of(answer)
    forged = {**session, "aws_session_token": _tamper(session["aws_session_token"])}
    with pytest.raises(ClientError) as tampered:
        sts(world.cluster, AP, **forged).get_caller_identity()
    assert _code(tampered) == "InvalidClientTokenId"
    assert ask(world.url(AP), forged, "s3:GetObject", OBJECT)[0] == "InvalidClientTokenId"

    keys = TokenKeys.parse((world.cluster.state_dir / "sts-token-keys").read_text())
    claims = SessionClaims(
        token_id=keys.new_token_id(),
        kind="AssumeRole",
        access_key_id=new_access_key_id(world.account, IdPrefix.TEMPORARY_ACCESS_KEY),
        account=world.account,
        issued_at=time.time() - 1000,
        expires_at=time.time() - 100,
        role_arn=world.role_arn("reader"),
        role_id="AROAEXPIREDEXAMPLE",
        session_name="old",
    )
    expired = {
        "aws_access_key_id": claims.access_key_id,
        "aws_secret_access_key": keys.secret_for(claims),
        "aws_session_token": keys.seal(claims),
    }
    with pytest.raises(ClientError) as too_old:
        sts(world.cluster, US, **expired).get_caller_identity()
    assert _code(too_old) == "ExpiredToken"
    assert ask(world.url(EU), expired, "s3:GetObject", OBJECT)[0] == "ExpiredToken"

    with pytest.raises(ClientError) as misscoped:
        sts(world.cluster, AP, signing_region=EU, **session).get_caller_identity()
    assert _code(misscoped) == "SignatureDoesNotMatch"
    assert "scoped to a valid region" in misscoped.value.response["Error"]["Message"]
    status, answer_ = http_json(
        f"{world.url(AP)}/authorize", signed_query(forged, AP, "s3:GetObject", OBJECT)
    )
    assert (status, answer_["error"]["code"]) == (403, "InvalidClientTokenId")


def _wait_for(predicate: Any, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.05)


def test_revoking_sessions_reaches_each_region_with_its_delay(world: World) -> None:
    """AWSRevokeOlderSessions (a Deny on aws:TokenIssueTime) refuses old sessions once it has
    reached the replica; sessions issued afterwards still work; deleting the role ends all."""
    arn = world.role_arn("revocable")
    old = credentials_of(world.assume(US, world.alice, RoleArn=arn, RoleSessionName="old"))
    assert ask(world.url(EU), old, "s3:GetObject", OBJECT)[0] == "Allow"
    time.sleep(1.1)  # token issue times have one-second resolution
    cutoff = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    revoke = policy(
        {
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": cutoff}},
        }
    )
    iam = world.cluster.iam()
    version = version_of(
        iam.put_role_policy(
            RoleName="revocable", PolicyName="AWSRevokeOlderSessions", PolicyDocument=revoke
        )
    )
    world.cluster.wait_converged(version)
    for region in (US, EU, AP):
        assert ask(world.url(region), old, "s3:GetObject", OBJECT)[0] == "ExplicitDeny"
    new = credentials_of(world.assume(AP, world.alice, RoleArn=arn, RoleSessionName="new"))
    assert ask(world.url(EU), new, "s3:GetObject", OBJECT)[0] == "Allow"
    iam.delete_role_policy(RoleName="revocable", PolicyName="s3")
    iam.delete_role_policy(RoleName="revocable", PolicyName="AWSRevokeOlderSessions")
    world.cluster.wait_converged(version_of(iam.delete_role(RoleName="revocable")))
    assert ask(world.url(AP), new, "s3:GetObject", OBJECT)[0] == "ImplicitDeny"


def test_sts_outlives_the_control_plane(world: World) -> None:
    """With the control plane killed, AssumeRole, GetCallerIdentity and /authorize with the
    new session keep working in every region."""
    killed = iam_planes(
        "chaos", "kill", "controlplane", "--state-dir", str(world.cluster.state_dir)
    )
    assert killed.returncode == 0, killed.stdout + killed.stderr
    for region in (US, EU, AP):
        answer = world.assume(
            region, world.alice, RoleArn=world.role_arn("reader"), RoleSessionName=region
        )
        session = credentials_of(answer)
        for other in (US, EU, AP):
            arn = sts(world.cluster, other, **session).get_caller_identity()["Arn"]
            assert arn.endswith(f"assumed-role/reader/{region}")
            assert ask(world.url(other), session, "s3:GetObject", OBJECT)[0] == "Allow"
    with pytest.raises(Exception):  # noqa: B017 - any connection failure
        world.cluster.iam().get_user(UserName="alice")
    started = iam_planes(
        "chaos", "start", "controlplane", "--state-dir", str(world.cluster.state_dir)
    )
    assert started.returncode == 0, started.stdout + started.stderr


def _totp(seed: str, at: float) -> str:
    digest = hmac.new(base64.b32decode(seed), struct.pack(">Q", int(at // 30)), "sha1").digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**6:06d}"


def test_get_session_token_with_a_virtual_mfa_code(world: World) -> None:
    """A TOTP code from alice's virtual MFA device makes an MFA session (wrong code refused);
    a resource policy requiring aws:MultiFactorAuthPresent then allows only that session."""
    seed = base64.b32encode(secrets.token_bytes(20)).decode()
    now = datetime.now(UTC)
    device = MfaDevice(
        account=world.account,
        name="alice-phone",
        seed=seed,
        created_at=now,
        user_name="alice",
        enabled_at=now,
    )
    world.cluster.wait_converged(asyncio.run(_append(world.cluster.file.redis.url, device)))
    client = sts(world.cluster, AP, **world.alice)
    with pytest.raises(ClientError) as wrong:
        client.get_session_token(
            SerialNumber=device.serial_number,
            TokenCode="000000" if _totp(seed, time.time()) != "000000" else "111111",
        )
    assert _code(wrong) == "AccessDenied"
    answer = client.get_session_token(
        SerialNumber=device.serial_number, TokenCode=_totp(seed, time.time())
    )
    mfa_session = credentials_of(answer)
    world.issued.append(mfa_session)
    alice_arn = f"arn:aws:iam::{world.account}:user/alice"
    needs_mfa = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": alice_arn},
                "Action": "ec2:RunInstances",
                "Resource": "*",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            }
        ],
    }
    url = world.url(EU)
    extra = {"resource_policy": needs_mfa}
    assert ask(url, mfa_session, "ec2:RunInstances", "*", **extra)[0] == "Allow"
    assert ask(url, world.alice, "ec2:RunInstances", "*", **extra)[0] == "ImplicitDeny"


def test_no_secret_or_token_in_any_log(world: World) -> None:
    """Every process's log of this run is free of secret keys and session tokens."""
    secrets_seen = [world.alice["aws_secret_access_key"], world.other_root["aws_secret_access_key"]]
    for creds in world.issued:
        secrets_seen += [creds["aws_secret_access_key"], creds["aws_session_token"]]
    logs = sorted((world.cluster.state_dir / "logs").glob("*.log"))
    assert len(logs) >= 10
    text = "\n".join(path.read_text(errors="replace") for path in logs)
    assert "sts_call" in text
    leaked = [s[:6] + "..." for s in secrets_seen if s in text]
    assert not leaked, f"secrets found in logs: {leaked}"


def test_a_role_session_acts_as_itself_on_the_control_plane(world: World) -> None:
    """IAM calls with session credentials run as the session: GetUser must name a user
    (AWS's ValidationError), and a named user is returned as the session is allowed to see."""
    iam = world.cluster.iam()
    root = f"arn:aws:iam::{world.account}:root"
    iam.create_role(RoleName="iam-reader", AssumeRolePolicyDocument=trust(root))
    last = iam.put_role_policy(
        RoleName="iam-reader", PolicyName="read", PolicyDocument=policy(allow("iam:GetUser"))
    )
    world.cluster.wait_converged(version_of(last))
    answer = world.assume(
        US, world.alice, RoleArn=world.role_arn("iam-reader"), RoleSessionName="reader"
    )
    session_iam = world.cluster.iam(**credentials_of(answer))
    with pytest.raises(ClientError) as unnamed:
        session_iam.get_user()
    assert _code(unnamed) == "ValidationError"
    assert "non-User credentials" in unnamed.value.response["Error"]["Message"]
    assert session_iam.get_user(UserName="alice")["User"]["UserName"] == "alice"


def test_sts_answers_name_their_version_and_honour_min_version(world: World) -> None:
    """Every STS answer carries x-iam-planes-version; x-iam-planes-min-version waits for a
    version or fails with StaleReplica saying how far behind the replica is."""
    client = sts(world.cluster, EU, **world.alice)
    answer = client.get_caller_identity()
    version = int(answer["ResponseMetadata"]["HTTPHeaders"]["x-iam-planes-version"])
    assert version > 0
    wanted: list[int] = [version]

    def add_min_version(request: Any, **_: Any) -> None:
        request.headers["x-iam-planes-min-version"] = str(wanted[0])

    client.meta.events.register("before-sign.sts.GetCallerIdentity", add_min_version)
    assert client.get_caller_identity()["Arn"].endswith(":user/alice")
    wanted[0] = version + 1000
    with pytest.raises(ClientError) as stale:
        client.get_caller_identity()
    assert _code(stale) == "StaleReplica"
    assert "behind" in stale.value.response["Error"]["Message"]
