"""Propagation-delay emulation: how long a replica holds an event before applying it.

Profiles (``instant``, ``aws-like``, or a JSON file) give a delay per region and per change
kind; ``--delay REGION=MS[+-JITTER]`` overrides one region's delay for every kind.

A replica applies the event at ``committed_at + delay``; the delay is its region's base delay
plus a jitter drawn per event and per replica (so the AZs of one region disagree for a moment,
as they do in AWS). Delays and polling intervals are different knobs with different types.
"""

from __future__ import annotations

import random
import re
from typing import NewType

from pydantic import BaseModel, ConfigDict

__all__ = [
    "PROFILES",
    "DelayMs",
    "DelayProfile",
    "DelaySpec",
    "RegionDelays",
    "load_profile",
    "parse_delay_option",
]

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


class DelayProfile(BaseModel):
    """How long changes take to reach a region: a default, per-change-kind overrides, and an
    extra per region (farther from us-east-1, slower). Each replica draws its own jitter, so
    the AZs of one region disagree for a moment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "instant"
    default: DelaySpec = DelaySpec()
    # keys: an event kind ("access_key.put"), or "*.delete" for every deletion
    by_kind: dict[str, DelaySpec] = {}
    region_extra_ms: dict[str, int] = {}

    def for_region(self, region: str, override: DelaySpec | None = None) -> RegionDelays:
        """The delays one region's replicas apply; ``override`` replaces the default."""
        extra = self.region_extra_ms.get(region, 0)

        def shifted(spec: DelaySpec) -> DelaySpec:
            return DelaySpec(base_ms=spec.base_ms + extra, jitter_ms=spec.jitter_ms)

        if override is not None:
            return RegionDelays(default=override, by_kind={})
        return RegionDelays(
            default=shifted(self.default),
            by_kind={kind: shifted(spec) for kind, spec in self.by_kind.items()},
        )

    def scaled(self, factor: float) -> DelayProfile:
        """The same profile with every delay multiplied by ``factor`` (``--fast`` demos)."""

        def scale(spec: DelaySpec) -> DelaySpec:
            return DelaySpec(
                base_ms=int(spec.base_ms * factor), jitter_ms=int(spec.jitter_ms * factor)
            )

        return self.model_copy(
            update={
                "default": scale(self.default),
                "by_kind": {k: scale(v) for k, v in self.by_kind.items()},
                "region_extra_ms": {r: int(ms * factor) for r, ms in self.region_extra_ms.items()},
            }
        )


class RegionDelays(BaseModel):
    """The delays of one region, resolved from a profile: what a replica process is given."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default: DelaySpec = DelaySpec()
    by_kind: dict[str, DelaySpec] = {}

    @property
    def shortest_s(self) -> float:
        """The shortest delay any event kind can draw, in seconds."""
        specs = [self.default, *self.by_kind.values()]
        return max(0, min(s.base_ms - s.jitter_ms for s in specs)) / 1000

    def spec_for(self, kind: str) -> DelaySpec:
        """The delay spec of one event kind."""
        found = self.by_kind.get(kind)
        if found is None and kind.endswith(".delete"):
            found = self.by_kind.get("*.delete")
        return found or self.default


PROFILES: dict[str, DelayProfile] = {
    "instant": DelayProfile(name="instant"),
    # what users report of real IAM: a few seconds, new access keys and instance profiles
    # slower than the rest, deletions taking a while, far regions a little later
    "aws-like": DelayProfile(
        name="aws-like",
        default=DelaySpec(base_ms=2000, jitter_ms=1000),
        by_kind={
            "access_key.put": DelaySpec(base_ms=5000, jitter_ms=2000),
            "instance_profile.put": DelaySpec(base_ms=8000, jitter_ms=3000),
            "user.put": DelaySpec(base_ms=3000, jitter_ms=1000),
            "role.put": DelaySpec(base_ms=3000, jitter_ms=1000),
            "*.delete": DelaySpec(base_ms=4000, jitter_ms=2000),
        },
        region_extra_ms={"eu-west-1": 500, "ap-northeast-1": 1500},
    ),
}


def load_profile(name_or_path: str) -> DelayProfile:
    """A named profile (``instant``, ``aws-like``) or a custom one from a JSON file."""
    if name_or_path in PROFILES:
        return PROFILES[name_or_path]
    with open(name_or_path, encoding="utf-8") as handle:
        return DelayProfile.model_validate_json(handle.read())
