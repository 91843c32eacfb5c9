"""STS through boto3: GetCallerIdentity and AssumeRole latency on a region's endpoint.

A user (with an inline policy allowing ``sts:AssumeRole`` on one role) and the role (trusting
the account's root, so the user's identity policy decides) are created on the control plane
through boto3; once every replica has them, one warm ``boto3.client("sts")`` on the region's
shared endpoint calls each action sequentially. The figures are the p50 of each run, median
of ``context.sizes.repeats`` runs.
"""

from __future__ import annotations

import dataclasses
import json
from functools import partial
from typing import Any

import boto3
from botocore.config import Config

from bench.cluster import BenchCluster, write_version
from bench.figures import Figure, Target, latencies_ms, median, percentile
from bench.harness import Context

__all__ = ["STS_FIGURES", "measure_sts"]

STS_FIGURES = (
    Figure(
        "sts_get_caller_identity_p50_ms",
        "GetCallerIdentity through boto3, p50",
        "ms",
        Target("<=", 5),
    ),
    Figure("sts_assume_role_p50_ms", "AssumeRole through boto3, p50", "ms", Target("<=", 5)),
)

REGION = "us-east-1"
_USER = "bench-sts-caller"
_ROLE = "bench-sts-role"
_WARMUP = 20
_NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=10)


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _sts_client(cluster: BenchCluster) -> tuple[Any, str]:
    """A boto3 STS client with a new user's key, and the ARN of a role it may assume."""
    iam = cluster.iam()
    account = cluster.account
    role = iam.create_role(
        RoleName=_ROLE,
        AssumeRolePolicyDocument=_policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "sts:AssumeRole",
            }
        ),
    )
    role_arn = role["Role"]["Arn"]
    iam.create_user(UserName=_USER)
    iam.put_user_policy(
        UserName=_USER,
        PolicyName="assume",
        PolicyDocument=_policy(
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}
        ),
    )
    created = iam.create_access_key(UserName=_USER)
    cluster.wait_converged(max(write_version(role), write_version(created)))
    key = created["AccessKey"]
    client = boto3.client(
        "sts",
        endpoint_url=cluster.file.regions[REGION].endpoint,
        region_name=REGION,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        config=_NO_RETRIES,
    )
    return client, role_arn


def measure_sts(context: Context) -> list[Figure]:
    """Sequential GetCallerIdentity and AssumeRole through one warm boto3 client."""
    client, role_arn = _sts_client(context.cluster)
    count = context.sizes.sequential_writes
    identity_runs: list[list[float]] = []
    assume_runs: list[list[float]] = []
    for run in range(context.sizes.repeats):
        identity_runs.append(latencies_ms(client.get_caller_identity, count, _WARMUP))
        assume_runs.append(
            latencies_ms(
                partial(
                    client.assume_role,
                    RoleArn=role_arn,
                    RoleSessionName=f"bench-{run}",
                    DurationSeconds=900,
                ),
                count,
                _WARMUP,
            )
        )
    details = {
        "endpoint": f"{REGION} shared port, boto3 sts client, sequential, warm",
        "calls_per_run": count,
        "runs": [
            {
                "get_caller_identity_p50_ms": round(percentile(i, 0.5), 3),
                "get_caller_identity_p99_ms": round(percentile(i, 0.99), 3),
                "assume_role_p50_ms": round(percentile(a, 0.5), 3),
                "assume_role_p99_ms": round(percentile(a, 0.99), 3),
            }
            for i, a in zip(identity_runs, assume_runs, strict=True)
        ],
    }
    identity, assume = STS_FIGURES
    return [
        dataclasses.replace(
            identity,
            value=median([percentile(r, 0.5) for r in identity_runs]),
            details=details,
        ),
        dataclasses.replace(assume, value=median([percentile(r, 0.5) for r in assume_runs])),
    ]
