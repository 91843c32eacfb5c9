"""The HTTP server under both planes: what aiohttp answers before any handler runs, made safe.

aiohttp answers a request it cannot parse (a header over 8,190 bytes, a bad request line, too
many headers) itself, with a plain-text 400 quoting the offending bytes, and logs the same
bytes with a traceback: a session token sent in an oversized header ended up in the process's
log. It also waits forever for a request's head. ``GuardedAppRunner`` serves an application
like ``web.AppRunner`` but

- answers those requests with an AWS Query error document that quotes nothing, and logs only
  the status and the kind of error;
- closes a connection whose request head is not complete within ``header_timeout`` seconds
  of its first byte (or of the connection opening), whether it trickles or stalls, and one
  whose body has not all arrived ``body_timeout`` seconds after its head.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

import structlog
from aiohttp import web
from aiohttp.http_exceptions import LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from awswire.errors import AwsError
from awswire.xml import query_error_response

__all__ = [
    "BODY_TIMEOUT_ENV",
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_HEADER_TIMEOUT",
    "HEADER_TIMEOUT_ENV",
    "IDLE_TIMEOUT",
    "GuardedAppRunner",
    "seconds_from_env",
]

HEADER_TIMEOUT_ENV = "IAM_PLANES_HEADER_TIMEOUT_SECONDS"
DEFAULT_HEADER_TIMEOUT = 10.0
BODY_TIMEOUT_ENV = "IAM_PLANES_BODY_TIMEOUT_SECONDS"
#: bodies are at most a few MB: a minute is ample on any link that is not stalling on purpose
DEFAULT_BODY_TIMEOUT = 60.0
#: how long an idle keep-alive connection is kept: longer than the 15 s client pools
#: (aiohttp's, the control plane's) keep theirs, so the server never closes one first
IDLE_TIMEOUT = 75.0

_log = structlog.get_logger("awswire.http_server")

_HEADERS_TOO_LARGE = AwsError(
    "RequestHeaderSectionTooLarge", "Your request header section exceeds the maximum allowed size."
)
_MALFORMED = AwsError("InvalidRequest", "The HTTP request could not be parsed.")
_FAILED = AwsError("InternalFailure", "The request processing has failed.", 500, False)
_TIMED_OUT = AwsError("ServiceUnavailable", "Service is unable to handle request.", 503, False)


def seconds_from_env(name: str, default: float) -> float:
    """A positive number of seconds from the environment variable ``name``, else ``default``."""
    raw = os.environ.get(name, "")
    try:
        value = float(raw) if raw else default
    except ValueError:
        return default
    return value if value > 0 else default


def _error_for(status: int, exc: BaseException | None) -> AwsError:
    if status == 500:
        return _FAILED
    if status == 504:  # a handler timed out
        return _TIMED_OUT
    if isinstance(exc, LineTooLong) or "too many headers" in str(exc).lower():
        return _HEADERS_TOO_LARGE
    return _MALFORMED


class _GuardedHandler(RequestHandler):
    """One connection: aiohttp's handler with quiet errors and deadlines for request heads
    and bodies."""

    service = "iam"
    header_timeout = DEFAULT_HEADER_TIMEOUT
    body_timeout = DEFAULT_BODY_TIMEOUT
    _head_deadline: asyncio.TimerHandle | None = None
    _body_deadline: asyncio.TimerHandle | None = None
    _timed_body: object = None

    def _arm(self) -> None:
        if self._head_deadline is None:
            self._head_deadline = self._loop.call_later(self.header_timeout, self._head_too_slow)

    def _disarm(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        _log.info("slow_request_head_disconnected", timeout_s=self.header_timeout)
        self.force_close()
        if self.transport is not None:
            self.transport.close()

    def _time_body(self, payload: Any) -> None:
        """Start the body deadline of the request whose head just arrived (once per body)."""
        if payload is self._timed_body or payload.is_eof():
            return
        self._timed_body = payload
        if self._body_deadline is not None:
            self._body_deadline.cancel()
        self._body_deadline = self._loop.call_later(self.body_timeout, self._body_too_slow, payload)

    def _body_too_slow(self, payload: Any) -> None:
        self._body_deadline = None
        if payload.is_eof():
            return
        _log.info("slow_request_body_disconnected", timeout_s=self.body_timeout)
        self.force_close()
        if self.transport is not None:
            self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm()  # a connection that never sends a request is a slow head too

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._messages:
            self._time_body(self._messages[-1][1])
        if self._messages or self._request_in_progress:
            self._disarm()  # a head is complete (or being answered): its body has its own
        elif data:
            self._arm()  # the first bytes of a new request head

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm()
        if self._body_deadline is not None:
            self._body_deadline.cancel()
            self._body_deadline = None
        super().connection_lost(exc)

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """An AWS error document that quotes nothing of the request (nor does the log)."""
        error = _error_for(status, exc)
        _log.warning(
            "http_request_refused",
            status=error.http_status,
            code=error.code,
            error_kind=type(exc).__name__ if exc is not None else None,
        )
        if request.writer.output_size > 0:  # as aiohttp: a response has begun, none can follow
            raise ConnectionError("a response was already started")
        wire = query_error_response(error, str(uuid.uuid4()), self.service)
        headers = dict(wire.headers)
        content_type = headers.pop("Content-Type", "text/xml").split(";")[0]
        response = web.Response(
            status=wire.status, body=wire.body, headers=headers, content_type=content_type
        )
        response.force_close()
        return response


class _GuardedServer(web.Server):
    """aiohttp's server, making a ``_GuardedHandler`` for every connection."""

    def __init__(
        self, plain: web.Server, service: str, header_timeout: float, body_timeout: float
    ) -> None:
        # the settings the application gave its plain server (aiohttp keeps them private)
        kwargs: dict[str, Any] = dict(plain._kwargs)
        super().__init__(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            **kwargs,
        )
        self._service = service
        self._header_timeout = header_timeout
        self._body_timeout = body_timeout

    def __call__(self) -> RequestHandler:
        handler = _GuardedHandler(self, loop=self._loop, **self._kwargs)
        handler.service = self._service
        handler.header_timeout = self._header_timeout
        handler.body_timeout = self._body_timeout
        return handler


class GuardedAppRunner(web.AppRunner):
    """``web.AppRunner`` whose connections refuse unparsable requests as ``service``'s Query
    errors and drop request heads slower than ``header_timeout`` seconds and bodies slower
    than ``body_timeout``."""

    def __init__(
        self,
        app: web.Application,
        *,
        service: str,
        header_timeout: float = DEFAULT_HEADER_TIMEOUT,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("keepalive_timeout", IDLE_TIMEOUT)
        super().__init__(app, **kwargs)
        self._service = service
        self._header_timeout = header_timeout
        self._body_timeout = body_timeout

    @classmethod
    def from_env(cls, app: web.Application, *, service: str, **kwargs: Any) -> GuardedAppRunner:
        """A runner whose deadlines come from ``IAM_PLANES_HEADER_TIMEOUT_SECONDS`` (10 s) and
        ``IAM_PLANES_BODY_TIMEOUT_SECONDS`` (60 s)."""
        return cls(
            app,
            service=service,
            header_timeout=seconds_from_env(HEADER_TIMEOUT_ENV, DEFAULT_HEADER_TIMEOUT),
            body_timeout=seconds_from_env(BODY_TIMEOUT_ENV, DEFAULT_BODY_TIMEOUT),
            **kwargs,
        )

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()
        return _GuardedServer(plain, self._service, self._header_timeout, self._body_timeout)
