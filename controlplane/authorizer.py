"""The control plane's client of the us-east-1 data plane: authenticate and authorize callers.

Real IAM authorizes its own API calls with its data plane; so does this one. The control plane
forwards the caller's signature (the body by its hash) and the action and resource; the data
plane verifies SigV4 against its replicated keys and evaluates the caller's policies. A key
created a moment ago may not have reached us-east-1 yet, and is refused: that is faithful.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from awswire.errors import AwsError
from awswire.server_timing import SERVER_TIMING, parse_server_timing

__all__ = ["AuthorizationAnswer", "DataPlaneAuthorizer"]

_TIMEOUT = aiohttp.ClientTimeout(total=10, connect=2)


@dataclass(frozen=True, slots=True)
class AuthorizationAnswer:
    """Who the caller is and whether the data plane allowed the action."""

    principal: str
    decision: str
    decided_by: str
    version: int
    #: the data plane's own stages (seconds by name: ``sigv4``, ``policy``) of this answer
    reported: dict[str, float] = field(default_factory=dict)


def _unavailable() -> AwsError:
    return AwsError(
        "ServiceUnavailable", "Service is unable to handle request.", 503, sender_fault=False
    )


class DataPlaneAuthorizer:
    """Asks one data-plane endpoint (us-east-1's regional port) to authorize each call."""

    def __init__(self, endpoint: str) -> None:
        self._url = endpoint.rstrip("/") + "/authorize"
        self._evaluate_url = endpoint.rstrip("/") + "/evaluate"
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        """Close the keep-alive connections."""
        if self._session is not None:
            await self._session.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=_TIMEOUT)
        return self._session

    async def evaluate(self, queries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Answer a batch of principal-ARN queries (policy simulation), one answer each."""
        try:
            async with self._client().post(self._url, data=orjson.dumps(queries)) as response:
                answer: Any = orjson.loads(await response.read())
        except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError):
            raise _unavailable() from None
        if isinstance(answer, dict) and "error" in answer:
            error = answer["error"]
            raise AwsError(error["code"], error["message"], response.status)
        return list(answer)

    async def evaluate_inline(self, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Evaluate evaluate-input.md objects (policies inline) with the data plane's engine;
        each answer carries the version, region and AZ of the replica that made it."""
        try:
            async with self._client().post(self._evaluate_url, data=orjson.dumps(documents)) as (
                response
            ):
                answer: Any = orjson.loads(await response.read())
        except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError):
            raise _unavailable() from None
        if isinstance(answer, dict) and "error" in answer:
            error = answer["error"]
            raise AwsError(error["code"], error["message"], response.status)
        return list(answer)

    async def authorize(
        self, request: web.Request, body: bytes, action: str, resource: str, service: str = "iam"
    ) -> AuthorizationAnswer:
        """Authenticate the signed ``request`` and evaluate ``action`` on ``resource``."""
        query = {
            "signed_request": {
                "method": request.method,
                "path": request.rel_url.raw_path,
                "query": request.rel_url.raw_query_string,
                "headers": [[k, v] for k, v in request.headers.items()],
                "body_sha256": hashlib.sha256(body).hexdigest(),
                "service": service,
                "region": "us-east-1",
            },
            "action": action,
            "resource": resource,
            "context": {
                "aws:SourceIp": request.remote or "127.0.0.1",
                "aws:SecureTransport": request.secure,
                "aws:RequestedRegion": "us-east-1",
            },
        }
        try:
            async with self._client().post(self._url, data=orjson.dumps(query)) as response:
                answer: dict[str, Any] = orjson.loads(await response.read())
                timing = response.headers.get(SERVER_TIMING)
        except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError):
            raise _unavailable() from None
        if "error" in answer:
            error = answer["error"]
            raise AwsError(error["code"], error["message"], response.status)
        return AuthorizationAnswer(
            principal=answer["principal"],
            decision=answer["decision"],
            decided_by=answer["decided_by"],
            version=answer["version"],
            reported=parse_server_timing(timing) if timing else {},
        )
