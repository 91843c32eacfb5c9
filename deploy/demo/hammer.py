"""Continuous authorizations against replicas, counting every answer and every failure."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

__all__ = ["HammerResult", "hammer"]


@dataclass
class HammerResult:
    """How many authorizations were answered, and what went wrong, per replica."""

    answered: int = 0
    failures: list[str] = field(default_factory=list)
    by_replica: dict[str, int] = field(default_factory=dict)


async def _one(
    session: aiohttp.ClientSession, name: str, url: str, query: dict[str, Any], retry: bool
) -> str | None:
    for attempt in range(2 if retry else 1):
        try:
            async with session.post(f"{url}/authorize", json=query) as response:
                body = await response.json(content_type=None)
                if response.status == 200 and body.get("decision") == "Allow":
                    return None
                return f"{name}: {response.status} {body}"
        except (aiohttp.ClientError, TimeoutError) as error:
            if attempt == 1 or not retry:
                return f"{name}: {type(error).__name__}"
    return f"{name}: no answer"


async def hammer(
    endpoints: dict[str, str], query: dict[str, Any], seconds: float, retry: bool = False
) -> HammerResult:
    """Authorize ``query`` on every endpoint in turn for ``seconds``; expect Allow each time.

    ``retry`` retries a refused connection once, as SDKs do when a regional endpoint's
    connection lands on a replica that just died.
    """
    result = HammerResult(by_replica=dict.fromkeys(endpoints, 0))
    deadline = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(force_close=retry)
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=3), connector=connector
    ) as session:
        while time.monotonic() < deadline:
            outcomes = await asyncio.gather(
                *(_one(session, name, url, query, retry) for name, url in endpoints.items())
            )
            for name, failure in zip(endpoints, outcomes, strict=True):
                result.answered += 1
                result.by_replica[name] += 1
                if failure is not None:
                    result.failures.append(failure)
    return result
