"""Create a role and assume it at once: AssumeRole answers AccessDenied until the role (and
its trust policy) has propagated to the region that serves the call."""

from __future__ import annotations

import json
from typing import Any

import boto3

from examples.backoff import retry_on


def create_role(role: str, trusted_account: str) -> str:
    """A role the account's principals may assume; returns its ARN."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{trusted_account}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    created = boto3.client("iam").create_role(
        RoleName=role, AssumeRolePolicyDocument=json.dumps(trust)
    )
    arn: str = created["Role"]["Arn"]
    return arn


def assume(role_arn: str, caller: dict[str, str]) -> dict[str, Any]:
    """AssumeRole as ``caller`` (an access key: root may not assume roles)."""
    sts = boto3.client(
        "sts",
        aws_access_key_id=caller["AccessKeyId"],
        aws_secret_access_key=caller["SecretAccessKey"],
    )
    credentials: dict[str, Any] = sts.assume_role(RoleArn=role_arn, RoleSessionName="example")[
        "Credentials"
    ]
    return credentials


def naive(role: str, account: str, caller: dict[str, str]) -> dict[str, Any]:
    """Create the role and assume it straight away."""
    return assume(create_role(role, account), caller)


def with_retry(
    role: str, account: str, caller: dict[str, str], budget_s: float = 60.0
) -> dict[str, Any]:
    """Create the role, then assume it, retrying while AssumeRole is denied."""
    arn = create_role(role, account)
    return retry_on({"AccessDenied"}, lambda: assume(arn, caller), budget_s)
