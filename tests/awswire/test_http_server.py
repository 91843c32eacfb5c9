"""GuardedAppRunner in-process: quiet refusals of unparsable requests, a deadline for heads."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import structlog.testing
from aiohttp import web

from awswire.http_server import (
    BODY_TIMEOUT_ENV,
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    HEADER_TIMEOUT_ENV,
    GuardedAppRunner,
    seconds_from_env,
)
from tests.awswire.raw_http import exchange

MARKER = b"SECRETMARKER"


async def _hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


async def _echo_length(request: web.Request) -> web.Response:
    return web.Response(text=str(len(await request.read())))


@pytest.fixture
async def port() -> AsyncIterator[int]:
    """A guarded server answering ``GET /`` and ``POST /`` (the body's length), with a header
    timeout of half a second and a body timeout of one second."""
    app = web.Application()
    app.router.add_get("/", _hello)
    app.router.add_post("/", _echo_length)
    runner = GuardedAppRunner(
        app, service="sts", header_timeout=0.5, body_timeout=1.0, access_log=None
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert isinstance(server, asyncio.Server)
    yield server.sockets[0].getsockname()[1]
    await runner.cleanup()


def _exchange(port: int, request: bytes, pause: float = 0.0) -> tuple[bytes, float]:
    """``raw_http.exchange`` with the in-process server on ``port``."""
    return exchange(f"http://127.0.0.1:{port}", request, pause)


async def test_an_oversized_header_gets_an_aws_error_that_quotes_nothing(
    port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """A 9,000-byte token header: a 400 Query error naming the problem, none of the header in
    the answer, in the structured log or in aiohttp's own logger (where it used to go)."""
    request = b"GET / HTTP/1.1\r\nHost: x\r\nX-Amz-Security-Token: " + MARKER * 750 + b"\r\n\r\n"
    with structlog.testing.capture_logs() as events:
        answer, _ = await asyncio.to_thread(_exchange, port, request)
    assert answer.startswith((b"HTTP/1.1 400", b"HTTP/1.0 400"))
    assert b"<Code>RequestHeaderSectionTooLarge</Code>" in answer
    assert b"sts.amazonaws.com" in answer
    assert MARKER not in answer
    assert [e["event"] for e in events] == ["http_request_refused"]
    assert MARKER.decode() not in repr(events) + caplog.text


async def test_too_many_headers_get_the_same_aws_error(port: int) -> None:
    """300 headers (aiohttp takes 128): RequestHeaderSectionTooLarge, no header echoed."""
    headers = b"".join(b"X-H%d: " % i + MARKER + b"\r\n" for i in range(300))
    answer, _ = await asyncio.to_thread(
        _exchange, port, b"GET / HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n"
    )
    assert b"<Code>RequestHeaderSectionTooLarge</Code>" in answer
    assert MARKER not in answer


async def test_a_malformed_request_line_gets_an_aws_error(port: int) -> None:
    """Garbage instead of a request line: InvalidRequest, the garbage not echoed."""
    answer, _ = await asyncio.to_thread(
        _exchange, port, b"G\x01T /" + MARKER + b" HTTP/1.1\r\n\r\n"
    )
    assert b" 400 " in answer.split(b"\r\n", 1)[0]
    assert b"<Code>InvalidRequest</Code>" in answer
    assert MARKER not in answer


@pytest.mark.parametrize("pause", [0.0, 0.1])
async def test_a_request_head_that_never_completes_is_disconnected(port: int, pause: float) -> None:
    """Half a request line sent at once, or a whole head trickled a byte every 100 ms: the
    connection is closed (generously bounded: the deadline is 0.5 s), nothing answered."""
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"
    request = b"GET / HT" if pause == 0.0 else head
    answer, took = await asyncio.to_thread(_exchange, port, request, pause)
    assert answer == b""
    assert took < 10


async def test_a_prompt_request_is_answered_and_kept_alive(port: int) -> None:
    """An ordinary request is served, and the connection outlives the head deadline while idle
    between requests no longer than aiohttp's keep-alive."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for _ in range(2):
            await asyncio.to_thread(sock.sendall, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = await asyncio.to_thread(sock.recv, 65536)
            assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"hello")


async def test_a_body_that_never_completes_is_disconnected(port: int) -> None:
    """A head promising 100 bytes, then 10: the connection is closed once the body deadline
    (1 s) passes, nothing answered; a body sent whole is read and answered."""
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
    answer, took = await asyncio.to_thread(_exchange, port, head + b"x" * 10)
    assert answer == b""
    assert took < 10
    answer, _ = await asyncio.to_thread(
        _exchange, port, head.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n") + b"y" * 100
    )
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"100")


@pytest.mark.parametrize(
    ("name", "default"),
    [(HEADER_TIMEOUT_ENV, DEFAULT_HEADER_TIMEOUT), (BODY_TIMEOUT_ENV, DEFAULT_BODY_TIMEOUT)],
)
def test_the_deadlines_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, name: str, default: float
) -> None:
    """A positive number of seconds is taken; anything else keeps the default."""
    app = web.Application()
    monkeypatch.setenv(name, "2.5")
    assert seconds_from_env(name, default) == 2.5
    runner = GuardedAppRunner.from_env(app, service="iam")
    assert 2.5 in (runner._header_timeout, runner._body_timeout)
    for bad in ("", "soon", "-1", "0"):
        monkeypatch.setenv(name, bad)
        assert seconds_from_env(name, default) == default
