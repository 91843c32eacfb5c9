"""boto3 clients of AWS services given only a replica's regional endpoint, and their errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from tests.e2e.cluster import Cluster

__all__ = ["client", "outcome", "wait_for"]

_CONFIG = Config(
    retries={"max_attempts": 1, "mode": "standard"},
    connect_timeout=2,
    read_timeout=10,
    signature_version="s3v4",
)


def client(cluster: Cluster, service: str, region: str, **credentials: str) -> Any:
    """A boto3 client whose only endpoint is ``region``'s shared port (root by default)."""
    return boto3.client(
        service,
        endpoint_url=cluster.file.regions[region].endpoint,
        region_name=region,
        config=_CONFIG,
        **(credentials or cluster.root_credentials()),
    )


def outcome(call: Callable[..., Any], **params: Any) -> str:
    """``OK``, or the AWS error code the call failed with."""
    try:
        call(**params)
    except botocore.exceptions.ClientError as error:
        return str(error.response["Error"]["Code"])
    return "OK"


def wait_for(expected: str, call: Callable[..., Any], timeout: float = 60, **params: Any) -> None:
    """Call until it answers ``expected`` (bounded)."""
    deadline = time.monotonic() + timeout
    seen = outcome(call, **params)
    while seen != expected:
        assert time.monotonic() < deadline, f"still {seen}, expected {expected}"
        time.sleep(0.05)
        seen = outcome(call, **params)
