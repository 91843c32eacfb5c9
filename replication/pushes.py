"""A subscription to one pub/sub channel, read as bytes arrive rather than message by message.

Every replica receives every entry the log pushes, and nine replicas share a small machine
with the control plane, so what one message costs a follower is paid nine times per write.
redis-py's ``PubSub`` reads one message per call, each through its own timeout, lock and retry
layers, and wakes its reader for each. Here the connection is an asyncio protocol: the bytes
that arrive are parsed by hiredis at once, every message in them is kept, and the waiting
reader is woken once for all of them (a run of entries appended together costs one wake-up).

The connection goes where the log's client goes (TCP, TLS or a Unix socket, with the same
credentials). While nothing arrives for ``HEALTH_CHECK_SECONDS`` the subscription sends a
``PING``; a connection that does not answer by the next check is reported lost, so a follower
never waits forever on a connection that died silently (a partition that dropped the reset).
Messages not yet taken are bounded: past ``max_buffered`` the protocol stops reading, and Redis
holds the rest (or drops the subscriber past its own output limit, and the follower reads the
stream instead, as for any lost message).
"""

from __future__ import annotations

import asyncio
from typing import Any

import hiredis
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

__all__ = ["HEALTH_CHECK_SECONDS", "PushSubscription"]

#: how long a subscription may hear nothing before it asks Redis whether it is still there
HEALTH_CHECK_SECONDS = 10.0
_CONNECT_SECONDS = 5.0


def _packed(*parts: bytes | str) -> bytes:
    """``parts`` as one RESP command."""
    # hiredis's stub types the argument as a one-element tuple (it takes any number of parts)
    # and leaves the result untyped
    packed: bytes = hiredis.pack_command(parts)  # type: ignore[arg-type]
    return packed


class PushSubscription(asyncio.Protocol):
    """The messages of one channel, kept as they arrive until ``messages`` takes them."""

    def __init__(self, channel: bytes, max_buffered: int, health_check_seconds: float) -> None:
        self._channel = channel
        self._max_buffered = max_buffered
        self._health_check_seconds = health_check_seconds
        self._parser = hiredis.Reader()
        self._buffered: list[bytes] = []
        self._transport: asyncio.Transport | None = None
        self._paused = False
        self._lost: Exception | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._subscribed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._quiet_since = 0.0
        self._ping_unanswered = False

    @classmethod
    async def open(
        cls,
        pool: aioredis.ConnectionPool,
        channel: str,
        max_buffered: int,
        health_check_seconds: float = HEALTH_CHECK_SECONDS,
    ) -> PushSubscription:
        """Subscribe to ``channel`` on the server ``pool`` connects to; return once Redis has
        confirmed, so nothing published after this returns is missed."""
        loop = asyncio.get_running_loop()
        subscription = cls(channel.encode(), max_buffered, health_check_seconds)
        # a connection object only to learn where and how to connect: it is never opened
        template = pool.connection_class(**pool.connection_kwargs)
        async with asyncio.timeout(_CONNECT_SECONDS):
            try:
                if isinstance(template, aioredis.UnixDomainSocketConnection):
                    await loop.create_unix_connection(lambda: subscription, template.path)
                elif isinstance(template, aioredis.Connection):
                    tls = (
                        template.ssl_context.get()
                        if isinstance(template, aioredis.SSLConnection)
                        else None
                    )
                    await loop.create_connection(
                        lambda: subscription, template.host, template.port, ssl=tls
                    )
                else:
                    raise RedisConnectionError(f"cannot subscribe over {type(template).__name__}")
            except OSError as error:
                raise RedisConnectionError(f"cannot reach Redis: {error.strerror}") from error
            subscription._send_hello(template.username, template.password)
            try:
                await subscription._subscribed
            except BaseException:
                subscription.close()
                raise
        subscription._quiet_since = loop.time()
        return subscription

    def _send_hello(self, username: str | None, password: str | None) -> None:
        assert self._transport is not None
        hello = b""
        if password is not None:
            credentials = (username, password) if username else (password,)
            hello += _packed(b"AUTH", *credentials)
        self._transport.write(hello + _packed(b"SUBSCRIBE", self._channel))

    async def messages(self, timeout: float) -> list[bytes]:
        """Every message kept so far; if none, the first ones within ``timeout`` seconds (an
        empty list when none came). Raises ConnectionError once the connection is lost."""
        if not self._buffered and self._lost is None:
            loop = asyncio.get_running_loop()
            waiter = self._waiter = loop.create_future()
            timer = loop.call_later(timeout, _wake, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
            if not self._buffered and self._lost is None:
                self._check_health(loop.time())
        if self._lost is not None and not self._buffered:
            raise self._lost
        taken, self._buffered = self._buffered, []
        if self._paused and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()
        return taken

    def _check_health(self, now: float) -> None:
        if self._ping_unanswered:
            self._lose(RedisConnectionError("the pushes' connection stopped answering"))
        elif now - self._quiet_since >= self._health_check_seconds and self._transport is not None:
            self._transport.write(_packed(b"PING"))
            self._ping_unanswered = True
            self._quiet_since = now

    def close(self) -> None:
        """Close the connection (what was kept is dropped)."""
        if self._transport is not None:
            self._transport.close()
        self._lose(RedisConnectionError("the subscription was closed"))

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._parser.feed(data)
        try:
            while (reply := self._parser.gets()) is not False:
                self._take(reply)
        except hiredis.ProtocolError:
            self._lose(RedisConnectionError("Redis sent something that is not RESP"))
            if self._transport is not None:
                self._transport.close()
            return
        self._quiet_since = asyncio.get_running_loop().time()
        if len(self._buffered) >= self._max_buffered and self._transport is not None:
            self._paused = True
            self._transport.pause_reading()
        if self._buffered and self._waiter is not None:
            _wake(self._waiter)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._lose(RedisConnectionError("Redis closed the pushes' connection"))

    def _take(self, reply: Any) -> None:
        if isinstance(reply, hiredis.ReplyError):
            # only AUTH and SUBSCRIBE are ever sent before the confirmation; afterwards an
            # error answers nothing this side asked, so the connection is not to be trusted
            first_word = str(reply).split(" ", 1)[0]
            self._lose(ResponseError(f"subscribing to the log's pushes failed: {first_word}"))
        elif isinstance(reply, list) and reply:
            kind = reply[0]
            if kind == b"message" and len(reply) == 3:
                self._buffered.append(reply[2])
            elif kind == b"subscribe" and not self._subscribed.done():
                self._subscribed.set_result(None)
            elif kind == b"pong":
                self._ping_unanswered = False

    def _lose(self, error: Exception) -> None:
        if self._lost is None:
            self._lost = error
        if not self._subscribed.done():
            self._subscribed.set_exception(error)
        if self._waiter is not None:
            _wake(self._waiter)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
