"""The AWS CLI, given only AWS_ENDPOINT_URL (a region's port) and a new user's key, meets the
propagation sequence on S3: InvalidAccessKeyId, then AccessDenied, then the object."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cluster import Cluster, account_of_its_own, region_delays
from tests.e2e.gateway_helpers import client
from tests.e2e.sts_helpers import allow, policy

pytestmark = pytest.mark.e2e

REGION = "eu-west-1"
#: long enough that a CLI process started right after CreateAccessKey runs inside it
DELAY_MS = 8000
BUCKET = "cli-reports"


@pytest.fixture(scope="module")
def cluster(shared_cluster: Cluster) -> Iterator[Cluster]:
    """The shared cluster, in an account of the module's own; eu-west-1 applies every change
    8 s late."""
    running = account_of_its_own(shared_cluster)
    s3 = client(running, "s3", REGION)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=BUCKET, Key="q3.csv", Body=b"revenue,42\n")
    with region_delays(running, f"{REGION}={DELAY_MS}"):
        yield running


def _cli_get(cluster: Cluster, key: dict[str, str]) -> str:
    """``aws s3 cp s3://BUCKET/q3.csv -``: the object, or the error code the CLI printed."""
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": cluster.file.regions[REGION].endpoint,
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_MAX_ATTEMPTS": "1",
    }
    aws = str(Path(sys.executable).parent / "aws")
    done = subprocess.run(
        [aws, "s3api", "get-object", "--bucket", BUCKET, "--key", "q3.csv", os.devnull],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    if done.returncode == 0:
        return "OK"
    marker = "An error occurred ("
    assert marker in done.stderr, done.stderr
    return done.stderr.split(marker, 1)[1].split(")", 1)[0]


def test_the_cli_sees_an_unknown_key_then_access_denied_then_the_object(cluster: Cluster) -> None:
    iam = cluster.iam()
    iam.create_user(UserName="cli-reader")
    key = iam.create_access_key(UserName="cli-reader")["AccessKey"]
    seen = [_cli_get(cluster, key)]
    deadline = time.monotonic() + 60
    while seen[-1] == "InvalidAccessKeyId":
        assert time.monotonic() < deadline, seen
        seen.append(_cli_get(cluster, key))
    iam.put_user_policy(
        UserName="cli-reader",
        PolicyName="read",
        PolicyDocument=policy(allow("s3:GetObject", f"arn:aws:s3:::{BUCKET}/*")),
    )
    while seen[-1] != "OK":
        assert time.monotonic() < deadline + 60, seen
        seen.append(_cli_get(cluster, key))
    distinct = [answer for i, answer in enumerate(seen) if i == 0 or seen[i - 1] != answer]
    assert distinct == ["InvalidAccessKeyId", "AccessDenied", "OK"], seen
