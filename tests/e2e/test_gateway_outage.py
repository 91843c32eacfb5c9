"""With the control plane killed (SIGKILL), every region keeps serving S3, SQS and DynamoDB
calls through its gateway; IAM calls sent to a replica fail with a connection error."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import botocore.exceptions
import pytest

from deploy.chaos import kill_target
from tests.e2e.cluster import Cluster, running_cluster
from tests.e2e.gateway_helpers import client

pytestmark = [pytest.mark.e2e, pytest.mark.long]

REGIONS = ("us-east-1", "eu-west-1", "ap-northeast-1")
OUTAGE_SECONDS = 30


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One cluster for the module."""
    with running_cluster(Path(tmp_path_factory.mktemp("gateway-outage"))) as running:
        yield running


def test_every_region_serves_s3_sqs_and_dynamodb_for_30s_without_the_control_plane(
    cluster: Cluster,
) -> None:
    """Resources made before the outage are read and written in every region, every call
    succeeds for 30 s after SIGKILL; an IAM call sent to a replica meanwhile cannot connect."""
    queues = {}
    for region in REGIONS:
        s3 = client(cluster, "s3", region)
        bucket = f"outage-{region}"
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
            )
        queues[region] = client(cluster, "sqs", region).create_queue(QueueName="work")["QueueUrl"]
        client(cluster, "dynamodb", region).create_table(
            TableName="state",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    assert kill_target(cluster.state_dir, "controlplane")
    # the replica drops the connection, as an unreachable IAM endpoint would
    with pytest.raises(botocore.exceptions.ConnectionClosedError):
        client(cluster, "iam", "eu-west-1").list_users()

    calls = 0
    deadline = time.monotonic() + OUTAGE_SECONDS
    step = 0
    while time.monotonic() < deadline:
        for region in REGIONS:
            key = f"k{step}"
            s3 = client(cluster, "s3", region)
            s3.put_object(Bucket=f"outage-{region}", Key=key, Body=key.encode())
            assert s3.get_object(Bucket=f"outage-{region}", Key=key)["Body"].read() == key.encode()
            client(cluster, "sqs", region).send_message(QueueUrl=queues[region], MessageBody=key)
            dynamodb = client(cluster, "dynamodb", region)
            dynamodb.put_item(TableName="state", Item={"pk": {"S": key}})
            assert dynamodb.get_item(TableName="state", Key={"pk": {"S": key}})["Item"]
            calls += 5
        step += 1
        time.sleep(0.2)
    assert calls >= 5 * len(REGIONS)
