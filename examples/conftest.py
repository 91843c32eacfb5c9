"""The examples' tests: each race is run under 2 s propagation delays (the plugin's
``iam_planes`` marker), small enough to keep the suite fast and large enough to lose."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from dataplane.staleness import StaleVerdict, parse_stale_header
from replication.headers import STALE_HEADER

#: the delay every change takes to reach the replicas in these tests
RACE_DELAY_MS = 2000


def verdict_of(response: dict[str, Any]) -> StaleVerdict:
    """The emulator's stale verdict on an answer (a boto3 response or a ClientError's)."""
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    return parse_stale_header(headers[STALE_HEADER])


def error_of(error: ClientError) -> tuple[str, StaleVerdict]:
    """The AWS error code and the verdict on it."""
    return error.response["Error"]["Code"], verdict_of(error.response)


def allow_policy(action: str) -> str:
    """A policy document granting ``action`` on everything."""
    statement = {"Effect": "Allow", "Action": action, "Resource": "*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})
