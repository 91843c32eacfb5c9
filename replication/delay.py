"""Propagation-delay emulation: how long a replica holds an event before applying it.

A replica applies the event at ``committed_at + delay``; the delay is its region's base delay
plus a jitter drawn per event and per replica (so the AZs of one region disagree for a moment,
as they do in AWS). Delays and polling intervals are different knobs with different types.
"""

from __future__ import annotations

import random
import re
from typing import NewType

from pydantic import BaseModel, ConfigDict

__all__ = ["DelayMs", "DelaySpec", "parse_delay_option"]

DelayMs = NewType("DelayMs", int)
"""A propagation delay, in milliseconds."""

_OPTION = re.compile(r"^(?P<region>[a-z0-9-]+)=(?P<base>\d+)(?:\+-(?P<jitter>\d+))?$")


class DelaySpec(BaseModel):
    """A region's propagation delay: ``base_ms`` plus or minus up to ``jitter_ms``."""

    model_config = ConfigDict(frozen=True)

    base_ms: int = 0
    jitter_ms: int = 0

    def draw(self, rng: random.Random) -> DelayMs:
        """One delay for one event on one replica, never negative."""
        if self.jitter_ms == 0:
            return DelayMs(self.base_ms)
        offset = rng.randint(-self.jitter_ms, self.jitter_ms)
        return DelayMs(max(0, self.base_ms + offset))

    def render(self) -> str:
        """The ``MS[+-JITTER]`` form the command line takes."""
        return f"{self.base_ms}+-{self.jitter_ms}" if self.jitter_ms else str(self.base_ms)


def parse_delay_option(text: str) -> tuple[str, DelaySpec]:
    """Parse ``REGION=MS[+-JITTER]`` (e.g. ``eu-west-1=1000+-200``)."""
    match = _OPTION.match(text.strip())
    if match is None:
        raise ValueError(f"delay must look like REGION=MS or REGION=MS+-JITTER, got {text!r}")
    jitter = int(match["jitter"]) if match["jitter"] else 0
    return match["region"], DelaySpec(base_ms=int(match["base"]), jitter_ms=jitter)
