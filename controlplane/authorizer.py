"""The control plane's client of the us-east-1 data plane: authenticate and authorize callers.

Real IAM authorizes its own API calls with its data plane; so does this one. The control plane
forwards the caller's signature (the body by its hash) and the action and resource; the data
plane verifies SigV4 against its replicated keys and evaluates the caller's policies. A key
created a moment ago may not have reached us-east-1 yet, and is refused: that is faithful.

Every IAM call makes this hop, so it goes over ``/authorize-stream``: kept-open WebSockets to
the region's port, one query in flight on each, no HTTP request per query. A stream that broke
while idle (its replica restarted) is replaced and the query asked again on the new one: an
authorization changes nothing, so asking twice is harmless. A data plane without the stream
is asked with a POST to ``/authorize``, as before.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from typing import Annotated, Any

import aiohttp
import orjson
from aiohttp import WSMsgType, web
from pydantic import Field, TypeAdapter, ValidationError

from awswire.errors import AwsError
from awswire.server_timing import SERVER_TIMING, parse_server_timing
from replication.queries import (
    AuthorizeAnswer,
    AuthorizeQuery,
    ErrorAnswer,
    StreamedAnswer,
    StreamedError,
)

__all__ = ["AuthorizationAnswer", "DataPlaneAuthorizer", "signed_query_json"]

_TIMEOUT = aiohttp.ClientTimeout(total=10, connect=2)
_ANSWER_SECONDS = 10.0
#: idle streams kept open (as many as authorizations were in flight at once, up to this)
_IDLE_STREAMS = 32
_MAX_ANSWER_BYTES = 4 * 1024 * 1024
_ANSWER = TypeAdapter(AuthorizeAnswer | ErrorAnswer)
_ANSWERS = TypeAdapter(list[AuthorizeAnswer | ErrorAnswer] | ErrorAnswer)
# left to right: an answer is tried as an answer first, and only then as an error (the two
# forbid each other's fields, so no message is both); the default (smart) union tried both
# every time, three times the cost
_STREAMED = TypeAdapter(
    Annotated[StreamedAnswer | StreamedError, Field(union_mode="left_to_right")]
)


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


def signed_query_json(
    signed_request: dict[str, Any], action: str, resource: str, context: dict[str, Any]
) -> bytes:
    """The bytes ``AuthorizeQuery(signed_request=SignedRequest(**signed_request), action=...,
    resource=..., context=...).to_json()`` gives, without building the two models: every IAM
    call asks one such query, and the models cost twenty times the JSON. The data plane still
    validates every query with them."""
    return orjson.dumps(
        {
            "signed_request": signed_request,
            "action": action,
            "resource": resource,
            "context": context,
        }
    )


#: an answer, the HTTP status it came with, and the data plane's stages (seconds by name)
_Answered = tuple[AuthorizeAnswer | ErrorAnswer, int, dict[str, float]]


class _StreamBrokenError(Exception):
    """The stream closed or failed before answering (its replica went away)."""


class DataPlaneAuthorizer:
    """Asks one data-plane endpoint (us-east-1's regional port) to authorize each call."""

    def __init__(self, endpoint: str) -> None:
        self._url = endpoint.rstrip("/") + "/authorize"
        self._stream_url = endpoint.rstrip("/") + "/authorize-stream"
        self._evaluate_url = endpoint.rstrip("/") + "/evaluate"
        self._session: aiohttp.ClientSession | None = None
        self._idle: list[aiohttp.ClientWebSocketResponse] = []
        self._streams_refused = False
        self._closing: set[asyncio.Task[bool]] = set()

    async def close(self) -> None:
        """Close the streams and the keep-alive connections."""
        idle, self._idle = self._idle, []
        for stream in idle:
            await stream.close()
        if self._session is not None:
            await self._session.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=_TIMEOUT)
        return self._session

    async def evaluate(self, queries: list[AuthorizeQuery]) -> list[AuthorizeAnswer | ErrorAnswer]:
        """Answer a batch of principal-ARN queries (policy simulation), one answer each."""
        payload = b"[" + b",".join(query.to_json() for query in queries) + b"]"
        try:
            async with self._client().post(self._url, data=payload) as response:
                answer = _ANSWERS.validate_json(await response.read())
        except (aiohttp.ClientError, TimeoutError, ValidationError):
            raise _unavailable() from None
        if isinstance(answer, ErrorAnswer):  # the whole batch failed (a stale replica, say)
            raise AwsError(answer.error.code, answer.error.message, response.status)
        return answer

    async def evaluate_inline(self, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Evaluate docs/evaluate-input.md objects (policies inline) with the data plane's engine;
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

    async def authorize(  # noqa: PLR0917 - the request, then what is asked of it
        self,
        request: web.Request,
        body: bytes,
        action: str,
        resource: str,
        service: str = "iam",
        context: dict[str, str] | None = None,
    ) -> AuthorizationAnswer:
        """Authenticate the signed ``request`` and evaluate ``action`` on ``resource``, with
        the request's own context keys and ``context`` (keys the action sets, e.g.
        ``iam:PassedToService``)."""
        payload = signed_query_json(
            {
                "method": request.method,
                "path": request.rel_url.raw_path,
                "query": request.rel_url.raw_query_string,
                "headers": list(request.headers.items()),
                "body_sha256": hashlib.sha256(body).hexdigest(),
                "service": service,
                "region": "us-east-1",
            },
            action,
            resource,
            {
                "aws:SourceIp": request.remote or "127.0.0.1",
                "aws:SecureTransport": request.secure,
                "aws:RequestedRegion": "us-east-1",
                **(context or {}),
            },
        )
        answer, status, reported = (
            await self._post(payload) if self._streams_refused else await self._ask(payload)
        )
        if isinstance(answer, ErrorAnswer):
            raise AwsError(answer.error.code, answer.error.message, status)
        return AuthorizationAnswer(
            principal=answer.principal,
            decision=answer.decision,
            decided_by=answer.decided_by,
            version=answer.version,
            reported=reported,
        )

    async def _post(self, payload: bytes) -> _Answered:
        """Ask ``/authorize`` with a POST: the answer, its HTTP status, the reported stages."""
        try:
            async with self._client().post(self._url, data=payload) as response:
                answer = _ANSWER.validate_json(await response.read())
                timing = response.headers.get(SERVER_TIMING)
        except (aiohttp.ClientError, TimeoutError, ValidationError):
            raise _unavailable() from None
        return answer, response.status, parse_server_timing(timing) if timing else {}

    async def _ask(self, payload: bytes) -> _Answered:
        """Ask over a stream: an idle one (asked again on a new one if it turns out broken),
        or a new one."""
        while self._idle:
            stream = self._idle.pop()
            if stream.closed:
                continue
            try:
                return await self._ask_on(stream, payload)
            except _StreamBrokenError:
                continue  # it died while idle: ask again, on another or a new stream
        try:
            stream = await self._client().ws_connect(
                self._stream_url, autoping=True, max_msg_size=_MAX_ANSWER_BYTES
            )
        except aiohttp.WSServerHandshakeError as refused:
            if refused.status == 404:  # a data plane without streams: POST from now on
                self._streams_refused = True
                return await self._post(payload)
            raise _unavailable() from None
        except (aiohttp.ClientError, TimeoutError):
            raise _unavailable() from None
        try:
            return await self._ask_on(stream, payload)
        except _StreamBrokenError:
            raise _unavailable() from None

    async def _ask_on(self, stream: aiohttp.ClientWebSocketResponse, payload: bytes) -> _Answered:
        """One query on ``stream``; the stream goes back to the idle ones once answered."""
        try:
            await stream.send_bytes(payload)
            message = await stream.receive(timeout=_ANSWER_SECONDS)
        except (aiohttp.ClientError, ConnectionError, RuntimeError) as broken:
            await stream.close()
            raise _StreamBrokenError from broken
        except TimeoutError:  # the answer may still come: this stream is out of step now
            await stream.close()
            raise _unavailable() from None
        except asyncio.CancelledError:  # likewise: close it, never hand it to the next query
            closing = asyncio.get_running_loop().create_task(stream.close())
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)
            raise
        if message.type != WSMsgType.BINARY:
            await stream.close()
            raise _StreamBrokenError
        try:
            answer = _STREAMED.validate_json(message.data)
        except ValidationError:
            await stream.close()
            raise _unavailable() from None
        if len(self._idle) < _IDLE_STREAMS:
            self._idle.append(stream)
        else:
            await stream.close()
        if isinstance(answer, StreamedError):
            return answer, answer.status, {}
        return answer, 200, answer.server_timing or {}
