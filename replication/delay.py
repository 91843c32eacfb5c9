"""Propagation-delay emulation: how long a replica holds an event before applying it.

Profiles (``instant``, ``aws-like``, or a JSON file) give a delay per region and per change
kind; ``--delay REGION=MS[+-JITTER]`` overrides one region's delay for every kind.

A replica applies the event at ``committed_at + delay``; the delay is drawn per event and per
replica from its kind's distribution (so the AZs of one region disagree for a moment, as they
do in AWS): fixed, uniform (``base +- jitter``) or log-normal (a median and a 99th percentile,
the long tail users report). The draw is a pure function of (seed, version, region, AZ): the
same seed replays the same delays, whichever process draws them and in whatever order.
Delays and polling intervals are different knobs with different types.
"""

from __future__ import annotations

import hashlib
import math
import re
from statistics import NormalDist
from time import time_ns
from typing import Literal, NewType

from pydantic import BaseModel, ConfigDict

__all__ = [
    "PROFILES",
    "DelayMs",
    "DelayProfile",
    "DelaySpec",
    "RegionDelays",
    "load_profile",
    "new_seed",
    "parse_delay_option",
]

DelayMs = NewType("DelayMs", int)
"""A propagation delay, in milliseconds."""

_OPTION = re.compile(r"^(?P<region>[a-z0-9-]+)=(?P<base>\d+)(?:\+-(?P<jitter>\d+)|~(?P<p99>\d+))?$")
#: the standard normal's 99th percentile: a log-normal's sigma is ln(p99 / p50) / this
_Z99 = NormalDist().inv_cdf(0.99)


def new_seed() -> int:
    """A fresh seed, for a run that did not ask for one (it is reported, so it can be replayed)."""
    return int.from_bytes(hashlib.sha256(str(time_ns()).encode()).digest()[:4], "big")


def _unit(seed: int, version: int, region: str, az: str) -> float:
    """A number in (0, 1), uniform over seeds, fixed for the same four inputs."""
    digest = hashlib.blake2b(f"{seed}:{version}:{region}:{az}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") + 0.5) / 2**64


class DelaySpec(BaseModel):
    """A delay distribution: fixed (``base_ms``), uniform (``base_ms`` plus or minus up to
    ``jitter_ms``), or log-normal (median ``base_ms``, 99th percentile ``p99_ms``)."""

    model_config = ConfigDict(frozen=True)

    base_ms: int = 0
    jitter_ms: int = 0
    distribution: Literal["uniform", "lognormal"] = "uniform"
    p99_ms: int | None = None

    def model_post_init(self, _context: object) -> None:
        if self.distribution == "lognormal" and (self.p99_ms is None or self.p99_ms < self.base_ms):
            raise ValueError("a log-normal delay needs p99_ms >= base_ms (its median)")

    def draw(self, seed: int, version: int, region: str, az: str) -> DelayMs:
        """The delay of one event (by version) on one replica: never negative, and the same
        for the same seed, version, region and AZ."""
        if self.distribution == "lognormal" and self.p99_ms and self.base_ms > 0:
            sigma = math.log(self.p99_ms / self.base_ms) / _Z99
            z = NormalDist().inv_cdf(_unit(seed, version, region, az))
            return DelayMs(round(self.base_ms * math.exp(sigma * z)))
        if self.jitter_ms == 0:
            return DelayMs(self.base_ms)
        span = 2 * self.jitter_ms + 1
        offset = min(span - 1, int(_unit(seed, version, region, az) * span)) - self.jitter_ms
        return DelayMs(max(0, self.base_ms + offset))

    @property
    def shortest_ms(self) -> int:
        """The shortest delay this spec can draw (a log-normal's is unbounded below: 0)."""
        if self.distribution == "lognormal":
            return 0
        return max(0, self.base_ms - self.jitter_ms)

    @property
    def longest_ms(self) -> int:
        """A delay it rarely exceeds: the maximum, or a log-normal's 99th percentile."""
        if self.distribution == "lognormal" and self.p99_ms is not None:
            return self.p99_ms
        return self.base_ms + self.jitter_ms

    def shifted(self, extra_ms: int) -> DelaySpec:
        """The same distribution ``extra_ms`` later."""
        p99 = None if self.p99_ms is None else self.p99_ms + extra_ms
        return self.model_copy(update={"base_ms": self.base_ms + extra_ms, "p99_ms": p99})

    def scaled(self, factor: float) -> DelaySpec:
        """Every figure multiplied by ``factor``."""
        p99 = None if self.p99_ms is None else int(self.p99_ms * factor)
        return self.model_copy(
            update={
                "base_ms": int(self.base_ms * factor),
                "jitter_ms": int(self.jitter_ms * factor),
                "p99_ms": p99,
            }
        )

    def render(self) -> str:
        """The ``MS``, ``MS+-JITTER`` or ``MS~P99`` form the command line takes."""
        if self.distribution == "lognormal":
            return f"{self.base_ms}~{self.p99_ms}"
        return f"{self.base_ms}+-{self.jitter_ms}" if self.jitter_ms else str(self.base_ms)


def parse_delay_option(text: str) -> tuple[str, DelaySpec]:
    """Parse ``REGION=MS`` (fixed), ``REGION=MS+-JITTER`` (uniform) or ``REGION=P50~P99``
    (log-normal), e.g. ``eu-west-1=1000+-200`` or ``eu-west-1=800~5000``."""
    match = _OPTION.match(text.strip())
    if match is None:
        raise ValueError(
            f"delay must look like REGION=MS, REGION=MS+-JITTER or REGION=P50~P99, got {text!r}"
        )
    if match["p99"]:
        spec = DelaySpec(
            base_ms=int(match["base"]), distribution="lognormal", p99_ms=int(match["p99"])
        )
        return match["region"], spec
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
        if override is not None:
            return RegionDelays(default=override, by_kind={})
        return RegionDelays(
            default=self.default.shifted(extra),
            by_kind={kind: spec.shifted(extra) for kind, spec in self.by_kind.items()},
        )

    def scaled(self, factor: float) -> DelayProfile:
        """The same profile with every delay multiplied by ``factor`` (``--fast`` demos)."""
        return self.model_copy(
            update={
                "default": self.default.scaled(factor),
                "by_kind": {k: v.scaled(factor) for k, v in self.by_kind.items()},
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
        return min(s.shortest_ms for s in specs) / 1000

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
