"""The standard evaluation workload: 200 principals, 3 identity policies each, 10,000 requests.

Every policy has 5 statements (wildcard actions and resources, StringEquals on principal tags,
IpAddress, Bool on aws:SecureTransport, one explicit Deny per principal). Everything comes from
a fixed seed, so every run measures the same questions. :func:`full_policies` adds an SCP
chain, a permissions boundary and a bucket policy to the same principals.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ACCOUNT",
    "Query",
    "Workload",
    "build_workload",
    "full_policies",
]

ACCOUNT = "111122223333"
SEED = 20240601
PRINCIPALS = 200
REQUESTS = 10_000
TEAMS = ("eng", "ops", "data", "sales")
BUCKETS = tuple(f"bucket-{n}" for n in range(12))
TABLES = tuple(f"table-{n}" for n in range(8))
ACTIONS = (
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:ListBucket",
    "s3:DeleteBucket",
    "ec2:DescribeInstances",
    "ec2:StartInstances",
    "ec2:TerminateInstances",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:DeleteTable",
    "iam:GetUser",
    "iam:ListUsers",
    "iam:CreateUser",
    "sqs:SendMessage",
    "secretsmanager:GetSecretValue",
)
Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Query:
    """One request of the workload, as plain data (principal index, action, resource, context)."""

    principal: int
    action: str
    resource: str
    context: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Workload:
    """Principals (ARN, tags), their three identity policies, and the requests."""

    principals: tuple[tuple[str, dict[str, str]], ...]
    policies: tuple[tuple[Document, Document, Document], ...]
    queries: tuple[Query, ...]


def _policy(*statements: Document) -> Document:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _storage_policy(rng: random.Random, team: str) -> Document:
    mine = rng.sample(BUCKETS, 3)
    return _policy(
        {
            "Sid": "ReadOwn",
            "Effect": "Allow",
            "Action": ["s3:Get*", "s3:List*"],
            "Resource": [f"arn:aws:s3:::{b}" for b in mine] + [f"arn:aws:s3:::{b}/*" for b in mine],
        },
        {
            "Sid": "WriteTeam",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{mine[0]}/{team}/*",
            "Condition": {
                "StringEquals": {"aws:PrincipalTag/team": team},
                "Bool": {"aws:SecureTransport": "true"},
            },
        },
        {
            "Sid": "DeleteFromOffice",
            "Effect": "Allow",
            "Action": "s3:Delete*",
            "Resource": f"arn:aws:s3:::{mine[1]}/*",
            "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}},
        },
        {"Sid": "ListAll", "Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"},
        {
            "Sid": "DenyBucketDelete",
            "Effect": "Deny",
            "Action": "s3:DeleteBucket",
            "Resource": "arn:aws:s3:::*",
        },
    )


def _compute_policy(rng: random.Random, team: str) -> Document:
    tables = rng.sample(TABLES, 2)
    return _policy(
        {"Sid": "Describe", "Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"},
        {
            "Sid": "StartOwn",
            "Effect": "Allow",
            "Action": ["ec2:StartInstances", "ec2:StopInstances"],
            "Resource": f"arn:aws:ec2:*:{ACCOUNT}:instance/*",
            "Condition": {"StringEquals": {"aws:PrincipalTag/team": team}},
        },
        {
            "Sid": "Tables",
            "Effect": "Allow",
            "Action": "dynamodb:*Item",
            "Resource": [f"arn:aws:dynamodb:*:{ACCOUNT}:table/{t}" for t in tables],
        },
        {
            "Sid": "Queues",
            "Effect": "Allow",
            "Action": "sqs:*",
            "Resource": f"arn:aws:sqs:us-east-1:{ACCOUNT}:{team}-*",
            "Condition": {"Bool": {"aws:SecureTransport": "true"}},
        },
        {
            "Sid": "NoTerminateOffsite",
            "Effect": "Deny",
            "Action": "ec2:TerminateInstances",
            "Resource": "*",
            "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        },
    )


def _admin_policy(rng: random.Random, name: str) -> Document:
    return _policy(
        {"Sid": "ReadIam", "Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"},
        {
            "Sid": "SelfService",
            "Effect": "Allow",
            "Action": "iam:*AccessKey*",
            "Resource": f"arn:aws:iam::{ACCOUNT}:user/{name}",
        },
        {
            "Sid": "Secrets",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:app/*",
            "Condition": {
                "Bool": {"aws:SecureTransport": "true"},
                "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
            },
        },
        {
            "Sid": "Tables",
            "Effect": "Allow",
            "NotAction": "dynamodb:Delete*",
            "Resource": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{rng.choice(TABLES)}",
        },
        {
            "Sid": "DenyUserAdmin",
            "Effect": "Deny",
            "Action": ["iam:Create*", "iam:Delete*"],
            "Resource": "*",
        },
    )


def _resource(rng: random.Random, action: str) -> str:
    service = action.split(":", maxsplit=1)[0]
    if service == "s3":
        bucket = rng.choice(BUCKETS)
        if action in ("s3:ListBucket", "s3:DeleteBucket"):
            return f"arn:aws:s3:::{bucket}"
        return f"arn:aws:s3:::{bucket}/{rng.choice(TEAMS)}/obj-{rng.randrange(50)}"
    if service == "ec2":
        return f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-{rng.randrange(16**8):08x}"
    if service == "dynamodb":
        return f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{rng.choice(TABLES)}"
    if service == "iam":
        return f"arn:aws:iam::{ACCOUNT}:user/user-{rng.randrange(PRINCIPALS)}"
    if service == "sqs":
        return f"arn:aws:sqs:us-east-1:{ACCOUNT}:{rng.choice(TEAMS)}-queue"
    return f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:app/db-{rng.randrange(1000):04d}"


def _context(rng: random.Random) -> dict[str, Any]:
    ip = rng.choice(
        (
            f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
            f"192.168.{rng.randrange(256)}.{rng.randrange(256)}",
            f"203.0.113.{rng.randrange(256)}",
        )
    )
    return {"aws:SourceIp": ip, "aws:SecureTransport": rng.random() < 0.9}


def build_workload(seed: int = SEED) -> Workload:
    """The standard workload, identical for a given seed."""
    rng = random.Random(seed)
    principals = []
    policies = []
    for index in range(PRINCIPALS):
        name = f"user-{index}"
        team = rng.choice(TEAMS)
        principals.append((f"arn:aws:iam::{ACCOUNT}:user/{name}", {"team": team}))
        policies.append(
            (_storage_policy(rng, team), _compute_policy(rng, team), _admin_policy(rng, name))
        )
    queries = []
    for _ in range(REQUESTS):
        action = rng.choice(ACTIONS)
        queries.append(
            Query(rng.randrange(PRINCIPALS), action, _resource(rng, action), _context(rng))
        )
    return Workload(tuple(principals), tuple(policies), tuple(queries))


def full_policies() -> dict[str, Any]:
    """An SCP chain (root, OU, account), a boundary and a bucket policy for every principal."""
    scps = [
        [
            {
                "Version": "2012-10-17",
                "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"},
            }
        ],
        [
            _policy(
                {"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"},
                {
                    "Sid": "NoSecretsOffsite",
                    "Effect": "Deny",
                    "Action": "secretsmanager:*",
                    "Resource": "*",
                    "Condition": {
                        "NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}
                    },
                },
            )
        ],
        [
            _policy(
                {
                    "Sid": "Services",
                    "Effect": "Allow",
                    "Action": ["s3:*", "ec2:*", "dynamodb:*", "iam:*", "sqs:*", "secretsmanager:*"],
                    "Resource": "*",
                }
            )
        ],
    ]
    boundary = _policy(
        {
            "Sid": "Bound",
            "Effect": "Allow",
            "Action": ["s3:*", "ec2:*", "dynamodb:*", "sqs:*"],
            "Resource": "*",
        },
        {
            "Sid": "BoundIam",
            "Effect": "Allow",
            "Action": ["iam:Get*", "iam:List*", "secretsmanager:*"],
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "true"}},
        },
    )
    bucket = _policy(
        {
            "Sid": "TeamRead",
            "Effect": "Allow",
            "Principal": {"AWS": ACCOUNT},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::bucket-1/*",
            "Condition": {"StringEquals": {"aws:PrincipalTag/team": "data"}},
        },
        {
            "Sid": "DenyInsecure",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::bucket-1", "arn:aws:s3:::bucket-1/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    )
    return {"scps": scps, "boundary": boundary, "resource": bucket}
