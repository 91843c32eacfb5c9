"""The demo's real AWS call: an S3 GetObject signed with the demo user's key, sent to each
region's endpoint (its services gateway), answered as S3 answers: ``OK`` or the error code."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from deploy.demo.probes import Flip, watch_answers

__all__ = ["S3_ORDER", "S3GetObject", "watch_s3_until"]

#: what a new key's GetObject answers over time in one region
S3_ORDER = ("InvalidAccessKeyId", "AccessDenied", "OK")
_CODE = re.compile(rb"<Code>([^<]+)</Code>")
_TIMEOUT = aiohttp.ClientTimeout(total=3)


@dataclass(frozen=True)
class S3GetObject:
    """GetObject of ``bucket/key`` with an access key."""

    access_key_id: str
    secret_access_key: str
    bucket: str
    key: str

    def signed(self, endpoint: str, region: str) -> tuple[str, dict[str, str]]:
        """The URL and SigV4 headers of the call, signed now for ``region``."""
        url = f"{endpoint}/{self.bucket}/{self.key}"
        request = AWSRequest(
            method="GET", url=url, headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
        )
        credentials = Credentials(self.access_key_id, self.secret_access_key)
        S3SigV4Auth(credentials, "s3", region).add_auth(request)
        return url, {name: str(value) for name, value in request.headers.items()}


async def _get(
    session: aiohttp.ClientSession, endpoint: str, region: str, call: S3GetObject
) -> str:
    url, headers = call.signed(endpoint, region)
    try:
        async with session.get(url, headers=headers) as response:
            body = await response.read()
    except (aiohttp.ClientError, TimeoutError):
        return "unreachable"
    if response.status == 200:
        return "OK"
    found = _CODE.search(body)
    return found.group(1).decode() if found else f"HTTP {response.status}"


async def watch_s3_until(
    regions: dict[str, str],
    call: S3GetObject,
    done: Callable[[dict[str, str]], bool],
    *,
    started: float,
    timeout: float,
    interval: float = 0.05,
) -> dict[str, Flip]:
    """Send the call to every region (name -> endpoint) until ``done(answers)`` or
    ``timeout``; record each region's answers as they change."""
    return await watch_answers(
        regions,
        lambda session, region, url: _get(session, url, region, call),
        done,
        started=started,
        timeout=timeout,
        interval=interval,
    )
