"""Where one IAM request's time goes inside the control plane, stage by stage.

Each request gets a ``StageTimes`` (held in a context variable, so the writer records its own
stages without threading it through every call). Stages are laps: each one ends where the next
begins, so together they account for the whole time from the request's handler to its reply.
The durations leave in the standard ``Server-Timing`` response header (milliseconds) and feed
a Prometheus histogram per stage; ``make bench`` prints the p50 of each, so a regression names
the stage that grew.

The data plane reports its own part of the authorization (``sigv4``: authenticating the
forwarded signature; ``policy``: evaluating the caller's policies) in the same header of its
``/authorize`` answer; ``hop`` is the rest of that round trip (both HTTP ends, the JSON, the
loopback).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from awswire.server_timing import format_server_timing

__all__ = ["STAGES", "StageTimes", "current_stages", "timed_request"]

#: every stage a request may record, in the order a write passes through them
STAGES = (
    "parse",  # read the body, parse the Query form against the operation's input shape
    "caller",  # read the signature's key, name the presumed caller, build the resource ARN
    "sigv4",  # the data plane verifying the forwarded signature (reported by the data plane)
    "policy",  # the data plane evaluating the caller's policies (reported by the data plane)
    "hop",  # the rest of the round trip to the data plane: HTTP both ways, JSON, the loopback
    "queue",  # waiting for the writer (another write holds it)
    "handler",  # the pure IAM handler against the projection
    "encode",  # the change event built and serialized
    # the compare-and-append call as the writer timed it: redis-py both ways, the script (its
    # append and the push of the entry to every subscribed replica), the AOF write and fsync,
    # and waiting for a core while the replicas woken by the push apply the entry
    "redis",
    "append",  # the rest of the wait until acknowledged: the flusher's turn, the event loop
    "apply",  # the event folded into the projection
    "reply",  # the XML answer serialized
)

_current: ContextVar[StageTimes | None] = ContextVar("stage_times", default=None)


class StageTimes:
    """The stage durations (seconds) of one request, measured as consecutive laps."""

    __slots__ = ("_mark", "durations", "started")

    def __init__(self) -> None:
        self.started = self._mark = time.perf_counter()
        self.durations: dict[str, float] = {}

    def lap(self, stage: str) -> None:
        """Charge the time since the previous lap to ``stage``."""
        now = time.perf_counter()
        self.durations[stage] = self.durations.get(stage, 0.0) + now - self._mark
        self._mark = now

    def lap_reported(self, stage: str, reported: dict[str, float]) -> None:
        """Charge the time since the previous lap to ``stage``, less the parts another
        process ``reported`` (seconds by stage), which are charged to their own stages."""
        now = time.perf_counter()
        elapsed = now - self._mark
        durations = self.durations
        for name, seconds in reported.items():
            durations[name] = durations.get(name, 0.0) + seconds
            elapsed -= seconds
        durations[stage] = durations.get(stage, 0.0) + max(elapsed, 0.0)
        self._mark = now

    def total(self) -> float:
        """Seconds since the request's handler started."""
        return time.perf_counter() - self.started

    def header(self) -> str:
        """The ``Server-Timing`` value: ``stage;dur=MILLISECONDS`` for each recorded stage,
        then ``total``."""
        return format_server_timing([*self.durations.items(), ("total", self.total())])


def current_stages() -> StageTimes | None:
    """The current request's stage times (None outside a timed request)."""
    return _current.get()


@contextmanager
def timed_request() -> Iterator[StageTimes]:
    """Time the block as one request; the writer's laps inside it are charged to it."""
    times = StageTimes()
    token = _current.set(times)
    try:
        yield times
    finally:
        _current.reset(token)
