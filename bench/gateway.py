"""The services gateway's overhead: S3 GetObject and DynamoDB GetItem through a region's
data plane, minus the same calls straight to the services backend, in the same run.

A user whose inline policy allows the two actions (so every call is authenticated, mapped,
authorized with the bucket's policy looked up, and forwarded) calls through us-east-1's shared
port; the same boto3 calls go straight to the moto server (told the account by
``x-moto-account-id``, as the gateway tells it). Blocks of the two alternate, so both see the
same machine; the figures are the differences of their p50 and p99.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any

import boto3
from botocore.config import Config

from bench.cluster import BenchCluster, write_version
from bench.figures import Figure, Target, latencies_ms, percentile
from bench.harness import Context

__all__ = ["GATEWAY_FIGURES", "measure_gateway"]

GATEWAY_FIGURES = (
    Figure(
        "gateway_s3_get_object_overhead_p50_ms",
        "gateway overhead, S3 GetObject, p50",
        "ms",
        Target("<=", 1),
    ),
    Figure(
        "gateway_s3_get_object_overhead_p99_ms", "gateway overhead, S3 GetObject, p99", "ms", None
    ),
    Figure(
        "gateway_dynamodb_get_item_overhead_p50_ms",
        "gateway overhead, DynamoDB GetItem, p50",
        "ms",
        Target("<=", 1),
    ),
    Figure(
        "gateway_dynamodb_get_item_overhead_p99_ms",
        "gateway overhead, DynamoDB GetItem, p99",
        "ms",
        None,
    ),
)

REGION = "us-east-1"
_USER = "bench-gateway-user"
_BUCKET = "bench-gateway"
_TABLE = "bench-gateway"
_BLOCKS = 10
_WARMUP = 20
_CONFIG = Config(
    retries={"max_attempts": 1, "mode": "standard"}, read_timeout=10, signature_version="s3v4"
)


def _clients(
    cluster: BenchCluster, endpoint: str, keys: dict[str, str], account: str | None
) -> Any:
    made = {}
    for service in ("s3", "dynamodb"):
        client = boto3.client(
            service, endpoint_url=endpoint, region_name=REGION, config=_CONFIG, **keys
        )
        if account is not None:  # straight to moto: name the account as the gateway does

            def add_account(request: Any, **_: Any) -> None:
                request.headers["x-moto-account-id"] = account

            client.meta.events.register("before-send.*", add_account)
        made[service] = client
    return made


def _setup(cluster: BenchCluster) -> dict[str, str]:
    root = cluster.file.accounts[cluster.account].root
    root_keys = {
        "aws_access_key_id": root.access_key_id,
        "aws_secret_access_key": root.secret_access_key,
    }
    endpoint = cluster.file.regions[REGION].endpoint
    admin = _clients(cluster, endpoint, root_keys, None)
    admin["s3"].create_bucket(Bucket=_BUCKET)
    admin["s3"].put_object(Bucket=_BUCKET, Key="object", Body=b"x" * 1024)
    admin["dynamodb"].create_table(
        TableName=_TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    admin["dynamodb"].put_item(TableName=_TABLE, Item={"pk": {"S": "item"}, "v": {"N": "1"}})
    iam = cluster.iam()
    iam.create_user(UserName=_USER)
    iam.put_user_policy(
        UserName=_USER,
        PolicyName="read",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["s3:GetObject", "dynamodb:GetItem"],
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    created = iam.create_access_key(UserName=_USER)
    cluster.wait_converged(write_version(created))
    key = created["AccessKey"]
    return {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }


def measure_gateway(context: Context) -> list[Figure]:
    """Sequential calls through the gateway and straight to the backend, alternating."""
    cluster = context.cluster
    services = cluster.file.services
    if services is None:
        raise RuntimeError("the cluster has no services backend")
    keys = _setup(cluster)
    through = _clients(cluster, cluster.file.regions[REGION].endpoint, keys, None)
    direct = _clients(cluster, services.url, keys, cluster.account)
    calls: dict[str, Callable[[Any], object]] = {
        "s3": lambda c: c["s3"].get_object(Bucket=_BUCKET, Key="object")["Body"].read(),
        "dynamodb": lambda c: c["dynamodb"].get_item(TableName=_TABLE, Key={"pk": {"S": "item"}}),
    }
    count = max(context.sizes.sequential_writes // 2, 5)
    samples: dict[tuple[str, str], list[float]] = {}
    for name, call in calls.items():
        for clients in (through, direct):
            latencies_ms(partial(call, clients), _WARMUP)
        for _ in range(_BLOCKS):
            for way, clients in (("gateway", through), ("direct", direct)):
                samples.setdefault((name, way), []).extend(
                    latencies_ms(partial(call, clients), count)
                )
    figures = []
    for figure in GATEWAY_FIGURES:
        name = "s3" if "_s3_" in figure.key else "dynamodb"
        fraction = 0.5 if figure.key.endswith("p50_ms") else 0.99
        gateway = percentile(samples[name, "gateway"], fraction)
        straight = percentile(samples[name, "direct"], fraction)
        figures.append(
            Figure(
                figure.key,
                figure.label,
                figure.unit,
                figure.target,
                value=round(gateway - straight, 3),
                details={
                    "through_gateway_ms": round(gateway, 3),
                    "straight_to_backend_ms": round(straight, 3),
                    "calls_each": len(samples[name, "gateway"]),
                    "endpoint": f"{REGION} shared port vs the moto server, boto3, sequential",
                },
            )
        )
    return figures
