"""The one retry the examples share: retry while AWS answers one of a few error codes."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from botocore.exceptions import ClientError

T = TypeVar("T")


def retry_on(
    codes: set[str], call: Callable[[], T], budget_s: float = 60.0, first_wait_s: float = 0.1
) -> T:
    """``call()``, retried with exponential backoff (capped at 2 s) while it fails with one of
    ``codes``, for at most ``budget_s`` seconds; then the last error is raised as it was.

    IAM gives no signal of when a change has propagated, so the budget must cover its worst
    case; anything else (a typo, a real denial) fails at once instead of being waited on.
    """
    deadline = time.monotonic() + budget_s
    wait = first_wait_s
    while True:
        try:
            return call()
        except ClientError as error:
            if error.response["Error"]["Code"] not in codes or time.monotonic() >= deadline:
                raise
        time.sleep(min(wait, max(0.0, deadline - time.monotonic())))
        wait = min(wait * 2, 2.0)
