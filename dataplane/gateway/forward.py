"""Forwarding an authorized call to the services backend (moto, LocalStack) and its answer back.

The request goes on unchanged in meaning: method, raw path and query, headers (but the
hop-by-hop ones) and body; the backend is told which account the resource lives in
(``x-moto-account-id``), since it cannot verify our callers' keys itself. Small answers come
back whole, large ones streamed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

__all__ = ["ACCOUNT_HEADER", "Backend", "BackendAnswer", "BackendUnavailable"]

ACCOUNT_HEADER = "x-moto-account-id"
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        ACCOUNT_HEADER,
    }
)
#: answers up to this size are read whole (one write back); larger ones are streamed
_WHOLE_ANSWER_BYTES = 1024 * 1024
_CHUNK = 64 * 1024


class BackendUnavailable(Exception):
    """The services backend did not answer (down, refused, timed out)."""


class BackendAnswer:
    """The backend's status, headers and body, for the gateway's own reads (policies)."""

    def __init__(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


def _request_headers(headers: Iterable[tuple[str, str]], account: str) -> CIMultiDict[str]:
    forwarded: CIMultiDict[str] = CIMultiDict(
        (name, value) for name, value in headers if name.lower() not in _HOP_BY_HOP
    )
    forwarded[ACCOUNT_HEADER] = account
    return forwarded


class Backend:
    """One connection pool to the services backend at ``url``."""

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=5)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                auto_decompress=False,
                connector=aiohttp.TCPConnector(limit=256, keepalive_timeout=30),
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
            )
        return self._session

    async def close(self) -> None:
        """Close the connection pool."""
        if self._session is not None:
            await self._session.close()

    async def forward(
        self,
        request: web.Request,
        body: bytes,
        account: str,
        raw_path_and_query: str,
        sent_headers: Iterable[tuple[str, str]] | None = None,
    ) -> web.StreamResponse:
        """Send the call on and return (or stream) the backend's answer to ``request``
        (with ``sent_headers`` instead of the request's, when given)."""
        headers = _request_headers(
            request.headers.items() if sent_headers is None else sent_headers, account
        )
        try:
            upstream = await self._client().request(
                request.method,
                self.url + raw_path_and_query,
                headers=headers,
                # an empty body sent as b"" costs a second write (and a delayed ACK) per call
                data=body or None,
                allow_redirects=False,
            )
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise BackendUnavailable(str(error) or type(error).__name__) from None
        async with upstream:
            answer_headers = CIMultiDict(
                (n, v) for n, v in upstream.headers.items() if n.lower() not in _HOP_BY_HOP
            )
            length = upstream.content_length
            try:
                if request.method == "HEAD":
                    if length is not None:
                        answer_headers["Content-Length"] = str(length)
                    return web.Response(status=upstream.status, headers=answer_headers)
                if length is not None and length <= _WHOLE_ANSWER_BYTES:
                    payload = await upstream.read()
                    return web.Response(
                        status=upstream.status, headers=answer_headers, body=payload
                    )
                streamed = web.StreamResponse(status=upstream.status, headers=answer_headers)
                if length is not None:
                    streamed.content_length = length
                await streamed.prepare(request)
                async for chunk in upstream.content.iter_chunked(_CHUNK):
                    await streamed.write(chunk)
                await streamed.write_eof()
                return streamed
            except (aiohttp.ClientError, TimeoutError) as error:
                raise BackendUnavailable(str(error) or type(error).__name__) from None

    async def call(
        self,
        method: str,
        path: str,
        account: str,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> BackendAnswer:
        """A request of the gateway's own (a resource's policy); BackendUnavailable if none."""
        sent = {ACCOUNT_HEADER: account, **(headers or {})}
        try:
            async with self._client().request(
                method, self.url + path, headers=sent, data=body or None, allow_redirects=False
            ) as answer:
                return BackendAnswer(answer.status, dict(answer.headers), await answer.read())
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise BackendUnavailable(str(error) or type(error).__name__) from None
