"""Create-then-assume a role: lost without a retry, won with one."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from deploy.harness import TestAccount
from examples import new_role
from examples.conftest import RACE_DELAY_MS, allow_policy, error_of

pytestmark = [pytest.mark.e2e, pytest.mark.iam_planes(delays=RACE_DELAY_MS)]


@pytest.fixture
def caller(iam_planes: TestAccount, aws_env: dict[str, str]) -> dict[str, Any]:
    """A user allowed to assume roles, with a key already known everywhere (not the race)."""
    iam = boto3.client("iam")
    iam.create_user(UserName="app")
    iam.put_user_policy(
        UserName="app", PolicyName="assume", PolicyDocument=allow_policy("sts:AssumeRole")
    )
    created = iam.create_access_key(UserName="app")
    iam_planes.wait_until_applied(created)
    key: dict[str, Any] = created["AccessKey"]
    return key


def test_without_a_retry_assuming_the_new_role_is_denied(
    aws_env: dict[str, str], caller: dict[str, Any]
) -> None:
    with pytest.raises(ClientError) as denied:
        new_role.naive("deployer", aws_env["IAM_PLANES_ACCOUNT"], caller)
    code, verdict = error_of(denied.value)
    assert code == "AccessDenied"
    assert verdict.stale
    assert verdict.head_outcome == "Success"


def test_with_a_retry_the_new_role_is_assumed(
    aws_env: dict[str, str], caller: dict[str, Any]
) -> None:
    credentials = new_role.with_retry("deployer", aws_env["IAM_PLANES_ACCOUNT"], caller)
    assert credentials["AccessKeyId"].startswith("ASIA")
