"""Principals for the data-plane benchmarks, created through boto3 like a user would.

A few users, each with two inline policies (an Allow with a condition, a Deny) and an access
key; then a fixed mix of queries over them: by ARN and by access key, allowed, explicitly
denied, implicitly denied, with and without context.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bench.cluster import BenchCluster, write_version

__all__ = ["Principals", "create_principals"]

_BUCKET = "bench-data"


def _reader_policy(index: int) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadOwnPrefix",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket", "dynamodb:Get*"],
                "Resource": [
                    f"arn:aws:s3:::{_BUCKET}/team-{index}/*",
                    f"arn:aws:dynamodb:us-east-1:*:table/team-{index}-*",
                ],
            },
            {
                "Sid": "WriteWithTag",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{_BUCKET}/team-{index}/*",
                "Condition": {"StringEquals": {"aws:RequestTag/team": f"team-{index}"}},
            },
        ],
    }


_DENY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "NeverDelete",
            "Effect": "Deny",
            "Action": ["s3:DeleteObject", "s3:DeleteBucket"],
            "Resource": "*",
        }
    ],
}


@dataclass(frozen=True)
class Principals:
    """The users created for the benchmark and the version that holds them all."""

    account: str
    users: list[str]
    access_keys: list[str]
    version: int

    def queries(self) -> list[dict[str, Any]]:
        """A fixed mix of authorize queries over these principals."""
        queries: list[dict[str, Any]] = []
        for index, (user, key) in enumerate(zip(self.users, self.access_keys, strict=True)):
            arn = f"arn:aws:iam::{self.account}:user/{user}"
            prefix = f"arn:aws:s3:::{_BUCKET}/team-{index}"
            queries += [
                {"principal": arn, "action": "s3:GetObject", "resource": f"{prefix}/a/b.txt"},
                {"principal": {"access_key_id": key}, "action": "s3:GetObject",
                 "resource": f"{prefix}/c.txt"},
                {"principal": arn, "action": "s3:PutObject", "resource": f"{prefix}/d.txt",
                 "context": {"aws:RequestTag/team": f"team-{index}"}},
                {"principal": arn, "action": "s3:PutObject", "resource": f"{prefix}/e.txt",
                 "context": {"aws:RequestTag/team": "other"}},
                {"principal": arn, "action": "s3:DeleteObject", "resource": f"{prefix}/f.txt"},
                {"principal": {"access_key_id": key}, "action": "dynamodb:GetItem",
                 "resource": f"arn:aws:dynamodb:us-east-1:{self.account}:table/team-{index}-x"},
                {"principal": arn, "action": "ec2:RunInstances", "resource": "*"},
                {"principal": arn, "action": "s3:GetObject",
                 "resource": f"arn:aws:s3:::{_BUCKET}/team-{index + 1}/g.txt"},
            ]  # fmt: skip
        return queries


def create_principals(cluster: BenchCluster, count: int = 4, prefix: str = "bench") -> Principals:
    """Create ``count`` users with inline policies and access keys through boto3."""
    iam = cluster.iam()
    users: list[str] = []
    keys: list[str] = []
    version = 0
    for index in range(count):
        name = f"{prefix}-user-{index}"
        iam.create_user(UserName=name)
        iam.put_user_policy(
            UserName=name, PolicyName="read", PolicyDocument=json.dumps(_reader_policy(index))
        )
        iam.put_user_policy(
            UserName=name, PolicyName="deny", PolicyDocument=json.dumps(_DENY_POLICY)
        )
        created = iam.create_access_key(UserName=name)
        keys.append(created["AccessKey"]["AccessKeyId"])
        version = max(version, write_version(created))
        users.append(name)
    return Principals(cluster.account, users, keys, version)
