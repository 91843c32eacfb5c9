"""Create-then-use an access key: lost without a retry, won with one."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from examples import new_access_key
from examples.conftest import RACE_DELAY_MS, error_of

pytestmark = [pytest.mark.e2e, pytest.mark.iam_planes(delays=RACE_DELAY_MS)]


def test_without_a_retry_the_new_key_is_refused(aws_env: dict[str, str]) -> None:
    with pytest.raises(ClientError) as refused:
        new_access_key.naive("alice")
    code, verdict = error_of(refused.value)
    assert code == "InvalidClientTokenId"
    assert verdict.stale  # only stale: the key is on its way
    assert verdict.head_outcome == "Success"


def test_with_a_retry_the_new_key_works(aws_env: dict[str, str]) -> None:
    identity = new_access_key.with_retry("alice")
    assert identity["Arn"] == f"arn:aws:iam::{aws_env['IAM_PLANES_ACCOUNT']}:user/alice"
