"""Revoke a key and verify the refusal: a check made once is fooled; waiting measures the
window during which the revoked key still works."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from deploy.harness import TestAccount
from examples import revoke_key
from examples.conftest import RACE_DELAY_MS

pytestmark = [pytest.mark.e2e, pytest.mark.iam_planes(delays=RACE_DELAY_MS)]


@pytest.fixture
def key(iam_planes: TestAccount, aws_env: dict[str, str]) -> dict[str, Any]:
    """A user's key that every replica knows (the race is the revocation, not the creation)."""
    iam = boto3.client("iam")
    iam.create_user(UserName="leaver")
    created = iam.create_access_key(UserName="leaver")
    iam_planes.wait_until_applied(created)
    found: dict[str, Any] = created["AccessKey"]
    return found


def test_a_single_check_finds_the_revoked_key_still_working(
    iam_planes: TestAccount, key: dict[str, Any]
) -> None:
    with pytest.raises(revoke_key.KeyStillWorksError):
        revoke_key.naive("leaver", key)
    still = [row for row in iam_planes.stale_answers() if row["outcome"] == "Success"]
    assert still  # the replica knew its Allow was stale: the deletion was pending
    assert all(row["head_outcome"] == "InvalidClientTokenId" for row in still)


def test_waiting_measures_the_window_the_revoked_key_still_works(key: dict[str, Any]) -> None:
    window = revoke_key.with_wait("leaver", key)
    # the key kept working for about the propagation delay, never for the whole budget
    assert 0 < window < 60
    print(f"the revoked key kept working for {window:.2f} s")  # shown with -s / in reports
