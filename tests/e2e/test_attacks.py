"""Issue 14's attacks on real processes: each must be refused as AWS refuses it.

One cluster (us-east-1 only, a 2-second header timeout) serves every test of the module.
"""

from __future__ import annotations

import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deploy.status import http_json
from tests.awswire.raw_http import exchange, post, signed_post
from tests.controlplane.conftest import error_of
from tests.e2e.cluster import Cluster, running_cluster
from tests.e2e.fuzz_inputs import authorize_bodies, json_bodies, query_bodies
from tests.e2e.sts_helpers import allow, credentials_of, policy, sts, version_of

pytestmark = pytest.mark.e2e

HEADER_TIMEOUT = 2
MARKER = "LEAKMARKER"
EC2_TRUST = policy(
    {
        "Effect": "Allow",
        "Principal": {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The cluster every attack is aimed at."""
    with running_cluster(
        Path(tmp_path_factory.mktemp("attacks")),
        regions=("us-east-1",),
        env={"IAM_PLANES_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT)},
    ) as running:
        yield running


def _user_with_key(cluster: Cluster, name: str, document: str) -> dict[str, str]:
    """A user with one inline policy and an access key every replica knows."""
    iam = cluster.iam()
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="grants", PolicyDocument=document)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    cluster.wait_converged(version_of(iam.list_users()))
    return {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }


def test_pass_role_guards_add_role_to_instance_profile(cluster: Cluster) -> None:
    """A user allowed iam:* on instance profiles and iam:PassRole on role/allowed-* only:
    adding role/admin is AccessDenied naming iam:PassRole, adding role/allowed-x succeeds,
    and a PassRole grant for another service (iam:PassedToService) does not count."""
    account = cluster.account
    iam = cluster.iam()
    for role in ("admin", "allowed-x", "lambda-only"):
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=EC2_TRUST)
    for profile in ("escalate", "legit", "wrong-service"):
        iam.create_instance_profile(InstanceProfileName=profile)
    grants = policy(
        allow("iam:*", f"arn:aws:iam::{account}:instance-profile/*"),
        allow("iam:PassRole", f"arn:aws:iam::{account}:role/allowed-*"),
        allow(
            "iam:PassRole",
            f"arn:aws:iam::{account}:role/lambda-only",
            Condition={"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}},
        ),
    )
    deployer = cluster.iam(**_user_with_key(cluster, "deployer", grants))

    assert error_of(
        deployer.add_role_to_instance_profile, InstanceProfileName="escalate", RoleName="admin"
    ) == (
        "AccessDenied",
        403,
        f"User: arn:aws:iam::{account}:user/deployer is not authorized to perform: "
        f"iam:PassRole on resource: arn:aws:iam::{account}:role/admin "
        "because no identity-based policy allows the iam:PassRole action",
    )
    code, status, message = error_of(
        deployer.add_role_to_instance_profile,
        InstanceProfileName="wrong-service",
        RoleName="lambda-only",
    )
    assert (code, status) == ("AccessDenied", 403) and "iam:PassRole" in message
    deployer.add_role_to_instance_profile(InstanceProfileName="legit", RoleName="allowed-x")
    profiles = {
        p["InstanceProfileName"]: [r["RoleName"] for r in p["Roles"]]
        for p in iam.list_instance_profiles()["InstanceProfiles"]
    }
    assert profiles == {"escalate": [], "legit": ["allowed-x"], "wrong-service": []}


def test_another_accounts_policy_cannot_be_attached(cluster: Cluster) -> None:
    """An administrator session in a member account attaches the management account's
    customer managed policy: NoSuchEntity, 'does not exist or is not attachable'."""
    account = cluster.account
    iam = cluster.iam()
    shared = iam.create_policy(PolicyName="shared", PolicyDocument=policy(allow("s3:*")))
    shared_arn = shared["Policy"]["Arn"]
    org: Any = boto3.client(
        "organizations",
        endpoint_url=cluster.file.controlplane.endpoint,
        region_name="us-east-1",
        **cluster.root_credentials(),
    )
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(Email="member@attacks.example", AccountName="member")
    member_id = member["CreateAccountStatus"]["AccountId"]
    ops = _user_with_key(cluster, "ops", policy(allow("sts:AssumeRole")))
    session = credentials_of(
        sts(cluster, "us-east-1", **ops).assume_role(
            RoleArn=f"arn:aws:iam::{member_id}:role/OrganizationAccountAccessRole",
            RoleSessionName="ops",
        )
    )
    member_iam = cluster.iam(**session)
    member_iam.create_user(UserName="victim")
    assert error_of(member_iam.attach_user_policy, UserName="victim", PolicyArn=shared_arn) == (
        "NoSuchEntity",
        404,
        f"Policy arn:aws:iam::{account}:policy/shared does not exist or is not attachable.",
    )
    member_iam.attach_user_policy(
        UserName="victim", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess"
    )


def test_policy_size_quotas_answer_limit_exceeded(cluster: Cluster) -> None:
    """CreatePolicy with valid documents of 6,145 and 131,072 characters: LimitExceeded
    (409) PolicySize; 6,144 characters are created."""
    iam = cluster.iam()
    for size in (6145, 131_072):
        head = (
            '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*",'
            '"Resource":"arn:aws:s3:::'
        )
        tail = '"}]}'
        document = head + "a" * (size - len(head) - len(tail)) + tail
        assert error_of(iam.create_policy, PolicyName=f"big{size}", PolicyDocument=document) == (
            "LimitExceeded",
            409,
            "Cannot exceed quota for PolicySize: 6144",
        )
    fits = head + "a" * (6144 - len(head) - len(tail)) + tail
    assert iam.create_policy(PolicyName="fits", PolicyDocument=fits)["Policy"]["Arn"]


def test_a_long_term_key_with_a_session_token_is_refused(cluster: Cluster) -> None:
    """The root's long-term key sent with a real session token of someone else: the control
    plane and STS both answer InvalidClientTokenId (403)."""
    someone = _user_with_key(cluster, "someone", policy(allow("sts:GetSessionToken")))
    token = sts(cluster, "us-east-1", **someone).get_session_token()["Credentials"]["SessionToken"]
    root = cluster.root_credentials()
    invalid = (
        "InvalidClientTokenId",
        403,
        "The security token included in the request is invalid.",
    )
    assert error_of(cluster.iam(**root, aws_session_token=token).list_users) == invalid
    assert (
        error_of(sts(cluster, "us-east-1", **root, aws_session_token=token).get_caller_identity)
        == invalid
    )
    cluster.iam(**root).list_users()  # the same key without a token still works


def _log_text(cluster: Cluster) -> str:
    return "".join(path.read_text(errors="replace") for path in cluster.state_dir.rglob("*.log"))


@pytest.mark.parametrize("plane", ["controlplane", "replica"])
def test_an_oversized_header_gets_an_aws_error_and_nothing_is_echoed(
    cluster: Cluster, plane: str
) -> None:
    """A session-token header of 9,000 bytes: a 400 Query error, and no part of the token in
    the answer or in any log file of the cluster."""
    endpoint = (
        cluster.file.controlplane.endpoint
        if plane == "controlplane"
        else cluster.file.regions["us-east-1"].endpoint
    )
    token = (MARKER + plane) * (9000 // len(MARKER + plane))
    request = f"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Security-Token: {token}\r\n\r\n".encode()
    answer, _ = exchange(endpoint, request)
    status_line = answer.split(b"\r\n", 1)[0]
    assert b" 400 " in status_line
    assert b"<Code>RequestHeaderSectionTooLarge</Code>" in answer
    assert MARKER.encode() not in answer
    time.sleep(0.5)  # let the process write its log line
    logs = _log_text(cluster)
    assert "http_request_refused" in logs
    assert MARKER not in logs
    assert http_json(f"{endpoint}/health")[0] == 200


@pytest.mark.parametrize(("plane", "path"), [("controlplane", "/"), ("replica", "/authorize")])
def test_a_body_over_the_limit_gets_an_aws_error(cluster: Cluster, plane: str, path: str) -> None:
    """A 3 MB body (over both planes' limits): 413 RequestEntityTooLarge, nothing echoed."""
    endpoint = (
        cluster.file.controlplane.endpoint
        if plane == "controlplane"
        else cluster.file.regions["us-east-1"].endpoint
    )
    body = (MARKER * (3 * 1024 * 1024 // len(MARKER))).encode()
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
    answer, _ = exchange(endpoint, head.encode() + body)
    assert b" 413 " in answer.split(b"\r\n", 1)[0]
    assert b"RequestEntityTooLarge" in answer
    assert MARKER.encode() not in answer


@pytest.mark.parametrize("plane", ["controlplane", "replica"])
@pytest.mark.parametrize("pause", [0.0, 0.25])
def test_a_slow_request_head_is_disconnected(cluster: Cluster, plane: str, pause: float) -> None:
    """Half a request line, or a whole head trickled a byte every 250 ms: the plane closes
    the connection (its header timeout is 2 s; the bound here is generous) and answers
    others all along."""
    endpoint = (
        cluster.file.controlplane.endpoint
        if plane == "controlplane"
        else cluster.file.regions["us-east-1"].endpoint
    )
    head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"s" * 100 + b"\r\n\r\n"
    answer, took = exchange(endpoint, b"GET /hea" if pause == 0.0 else head, pause)
    assert answer == b""
    assert took < HEADER_TIMEOUT + 20
    assert http_json(f"{endpoint}/health")[0] == 200


@pytest.mark.parametrize("index", ["-1", "0", "x"])
def test_a_bad_member_index_is_malformed_input(cluster: Cluster, index: str) -> None:
    """``Tags.member.-1`` (and 0, and a name) on the wire: 400 MalformedInput, no user made."""
    root = cluster.root_credentials()
    body = (
        f"Action=CreateUser&Version=2010-05-08&UserName=tagged{index.strip('-')}"
        f"&Tags.member.{index}.Key=k&Tags.member.{index}.Value=v"
    ).encode()
    status, answer = signed_post(
        cluster.file.controlplane.endpoint,
        body,
        "iam",
        root["aws_access_key_id"],
        root["aws_secret_access_key"],
    )
    assert status == 400 and b"<Code>MalformedInput</Code>" in answer
    names = {u["UserName"] for u in cluster.iam().list_users()["Users"]}
    assert f"tagged{index.strip('-')}" not in names


def test_every_file_of_the_state_dir_is_private(cluster: Cluster) -> None:
    """The AOF (every secret key in clear), redis.conf, cluster.json, the token keys, the AWS
    profile and the logs: no file readable by group or others, every directory 0700."""
    cluster.iam().create_user(UserName="written-to-the-aof")
    files = [p for p in cluster.state_dir.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"redis.conf", "cluster.json", "credentials"} <= names
    assert any("appendonly" in str(p) for p in files)
    for path in [cluster.state_dir, *cluster.state_dir.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is {oct(mode)}"


FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ORGANIZATIONS_TARGETS = [
    "AWSOrganizationsV20161128.CreatePolicy",
    "AWSOrganizationsV20161128.AttachPolicy",
    "AWSOrganizationsV20161128.ListAccounts",
    "AWSOrganizationsV20161128.Nope",
]


def _answered_sanely(status: int, body: bytes) -> None:
    """No 5xx (but NotImplemented, 501, for an action the emulator does not implement) and
    nothing of a Python traceback in the answer."""
    assert status < 500 or (status == 501 and b"NotImplemented" in body), (status, body[:300])
    assert b"Traceback" not in body and b'File "' not in body, body[:300]


@FUZZ
@given(body=query_bodies())
def test_fuzz_the_control_planes_query_parser(cluster: Cluster, body: bytes) -> None:
    """Random and mutated IAM Query bodies, unsigned: an AWS error or an answer, never more."""
    status, answer = post(
        cluster.file.controlplane.endpoint + "/",
        body,
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    _answered_sanely(status, answer)


@FUZZ
@given(body=json_bodies(), target=st.sampled_from(ORGANIZATIONS_TARGETS))
def test_fuzz_the_control_planes_json_parser(cluster: Cluster, body: bytes, target: str) -> None:
    """Random and mutated Organizations JSON bodies, unsigned."""
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target}
    status, answer = post(cluster.file.controlplane.endpoint + "/", body, headers)
    _answered_sanely(status, answer)


@FUZZ
@given(body=authorize_bodies())
def test_fuzz_the_replicas_authorize_parser(cluster: Cluster, body: bytes) -> None:
    """Random and mutated ``/authorize`` queries (and batches of them)."""
    endpoint = cluster.file.regions["us-east-1"].endpoint
    status, answer = post(f"{endpoint}/authorize", body, {"Content-Type": "application/json"})
    _answered_sanely(status, answer)


@FUZZ
@given(body=query_bodies())
def test_fuzz_the_replicas_sts_query_parser(cluster: Cluster, body: bytes) -> None:
    """Random and mutated STS Query bodies, unsigned."""
    endpoint = cluster.file.regions["us-east-1"].endpoint
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, answer = post(endpoint + "/", body, headers)
    _answered_sanely(status, answer)


def test_the_planes_still_answer(cluster: Cluster) -> None:
    """After every attack and fuzz run above, both planes are up and a signed call works."""
    assert http_json(f"{cluster.file.controlplane.endpoint}/health")[0] == 200
    assert http_json(f"{cluster.file.regions['us-east-1'].endpoint}/health")[0] == 200
    iam = cluster.iam()
    iam.create_user(UserName="survivor")
    assert "survivor" in {u["UserName"] for u in iam.list_users()["Users"]}
