"""The engine's Request for a caller: the environment, the request's context, the caller's keys."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from dataplane.evaluation import Principal, Request, ResourceOwner

__all__ = ["engine_request", "environment_keys"]


def environment_keys(now: float, source_ip: str, region: str) -> dict[str, Any]:
    """The environment keys every request carries (R38)."""
    return {
        "aws:CurrentTime": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(now)),
        "aws:SourceIp": source_ip,
        "aws:SecureTransport": "false",
        "aws:RequestedRegion": region,
    }


def engine_request(  # noqa: PLR0917 - the question, and the three layers of context
    principal: Principal,
    action: str,
    resource: str,
    environment: Mapping[str, Any],
    context: Mapping[str, Any] | None = None,
    caller_keys: Mapping[str, str] | None = None,
    owner: ResourceOwner | None = None,
) -> Request:
    """The engine's request: ``environment`` (:func:`environment_keys`), overlaid by the
    request's own ``context`` (as a simulation's context entries override aws:CurrentTime,
    say), overlaid by ``caller_keys`` that AWS sets for the credentials (an instance's
    ec2:SourceInstanceARN), which nothing a request sends can change. ``owner`` None: the
    engine takes the owner from the resource's ARN, in the caller's organization.
    """
    merged = {**environment, **context} if context else environment
    if caller_keys:
        merged = {**merged, **caller_keys}
    return Request(principal, action, resource, merged, owner)
