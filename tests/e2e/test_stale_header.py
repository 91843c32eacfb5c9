"""The stale verdict over HTTP: STS and ``/authorize`` carry it in ``x-iam-planes-stale``; the
AWS-shaped error body stays exactly what AWS sends."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from dataplane.staleness import parse_stale_header
from deploy.applied import version_of
from deploy.status import http_json
from replication.headers import STALE_HEADER
from tests.e2e.cluster import Cluster, account_of_its_own, region_delays

pytestmark = pytest.mark.e2e

# long enough that a new key is certainly still pending when it is first used
_DELAY = "eu-west-1=3000"


@pytest.fixture(scope="module")
def cluster(shared_cluster: Cluster) -> Iterator[Cluster]:
    """The shared cluster, in an account of the module's own; its eu-west-1 applies changes
    3 s after they are committed."""
    running = account_of_its_own(shared_cluster)
    with region_delays(running, _DELAY):
        yield running


def _sts(cluster: Cluster, key_id: str, secret: str) -> Any:
    return boto3.client(
        "sts",
        endpoint_url=cluster.file.regions["eu-west-1"].endpoint,
        region_name="eu-west-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )


def _refusal(cluster: Cluster, key_id: str, secret: str) -> tuple[dict[str, Any], dict[str, str]]:
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        _sts(cluster, key_id, secret).get_caller_identity()
    response = refused.value.response
    return response["Error"], response["ResponseMetadata"]["HTTPHeaders"]


def _read_everywhere(cluster: Cluster, version: int) -> None:
    """Wait until every eu-west-1 replica has read (not applied) ``version``."""
    deadline = time.monotonic() + 10
    for record in cluster.file.regions["eu-west-1"].replicas.values():
        while http_json(f"{record.endpoint}/state")[1]["read_version"] < version:
            assert time.monotonic() < deadline
            time.sleep(0.02)


def test_a_new_key_s_refusal_is_stale_and_a_bogus_key_s_is_not(cluster: Cluster) -> None:
    iam = cluster.iam()
    iam.create_user(UserName="stale-alice")
    created = iam.create_access_key(UserName="stale-alice")
    key = created["AccessKey"]
    version = version_of(created)
    _read_everywhere(cluster, version)
    error, headers = _refusal(cluster, key["AccessKeyId"], key["SecretAccessKey"])
    verdict = parse_stale_header(headers[STALE_HEADER])
    assert error["Code"] == "InvalidClientTokenId"
    assert verdict.stale
    assert verdict.version < version <= verdict.head_version
    assert verdict.head_outcome == "Success"
    assert verdict.flips_at_version == version
    assert verdict.due_in_ms is not None
    assert verdict.due_in_ms <= 3000

    bogus_error, bogus_headers = _refusal(cluster, "AKIAIOSFODNN7EXAMPLE", "x" * 40)
    assert bogus_error == error  # byte for byte the body AWS sends, whatever the verdict
    assert not parse_stale_header(bogus_headers[STALE_HEADER]).stale


def test_authorize_says_a_missing_grant_is_not_stale_but_a_pending_one_is(
    cluster: Cluster,
) -> None:
    iam = cluster.iam()
    cluster.wait_converged(version_of(iam.create_user(UserName="stale-bob")))
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
    granted = iam.put_user_policy(
        UserName="stale-bob", PolicyName="read", PolicyDocument=json.dumps(policy)
    )
    version = version_of(granted)
    _read_everywhere(cluster, version)
    replica = cluster.file.regions["eu-west-1"].replicas["eu-west-1a"].endpoint
    query = {
        "principal": f"arn:aws:iam::{cluster.account}:user/stale-bob",
        "resource": "arn:aws:s3:::bucket/key",
    }

    def ask(action: str) -> tuple[dict[str, Any], dict[str, Any]]:
        status, answer = http_json(f"{replica}/authorize", {**query, "action": action})
        assert status == 200, answer
        return answer, answer["stale"]

    pending, verdict = ask("s3:GetObject")
    assert pending["decision"] == "ImplicitDeny"
    assert verdict["stale"]
    assert (verdict["head_outcome"], verdict["flips_at_version"]) == ("Allow", version)
    never, verdict = ask("s3:PutObject")
    assert never["decision"] == "ImplicitDeny"
    assert not verdict["stale"]
    assert verdict["head_version"] >= version  # it looked at the pending grant
    cluster.wait_converged(version)
    _, allowed = http_json(f"{replica}/authorize", {**query, "action": "s3:GetObject"})
    assert allowed["decision"] == "Allow"
    assert "stale" not in allowed  # an Allow with nothing pending carries no verdict
