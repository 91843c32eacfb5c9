"""The cluster's shape as settings: regions, AZs, ports and propagation delays."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from replication.delay import PROFILES, DelayProfile, DelaySpec, RegionDelays, new_seed

__all__ = ["DEFAULT_BASE_PORT", "DEFAULT_REGIONS", "RegionSpec", "ReplicaSpec", "Topology"]

DEFAULT_REGIONS = ("us-east-1", "eu-west-1", "ap-northeast-1")
DEFAULT_BASE_PORT = 4600
CONTROL_PLANE_REGION = "us-east-1"
_AZ_SUFFIXES = ("a", "b", "c")


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReplicaSpec(_Settings):
    """One data-plane replica: a region's AZ, on its own port."""

    region: str
    az: str
    port: int

    @property
    def name(self) -> str:
        """The process name, which is the AZ name (``eu-west-1b``)."""
        return self.az


class RegionSpec(_Settings):
    """A region: its shared endpoint port, its delays and its three AZ replicas."""

    name: str
    regional_port: int
    delays: RegionDelays
    replicas: tuple[ReplicaSpec, ...]

    @property
    def redis_port(self) -> int:
        """The port of the region's own Redis (topology ``replicated``)."""
        return self.regional_port + 9


class Topology(_Settings):
    """Every process of a local cluster and where it listens."""

    host: str = "127.0.0.1"
    redis_port: int
    controlplane_port: int
    regions: tuple[RegionSpec, ...]
    # "single": one Redis for everything; "replicated": one per region, REPLICAOF us-east-1's
    redis_topology: str = "single"
    #: every replica draws its delays from this seed: the same seed replays the same delays
    delay_seed: int = Field(default=0, ge=0)

    @classmethod
    def build(
        cls,
        regions: tuple[str, ...] = DEFAULT_REGIONS,
        base_port: int = DEFAULT_BASE_PORT,
        delays: dict[str, DelaySpec] | None = None,
        profile: DelayProfile = PROFILES["instant"],
        redis_topology: str = "single",
        *,
        delay_seed: int | None = None,
    ) -> Topology:
        """Lay out ports from ``base_port``: Redis, control plane, then ten ports per region.

        Each region's delays come from ``profile``; a region named in ``delays`` takes that
        delay for every change kind instead.
        """
        if CONTROL_PLANE_REGION not in regions:
            raise ValueError("the control plane lives in us-east-1, which must be a region")
        unknown = set(delays or {}) - set(regions)
        if unknown:
            raise ValueError(f"--delay names regions that are not up: {', '.join(sorted(unknown))}")
        chosen = delays or {}
        specs = []
        for index, region in enumerate(regions):
            regional = base_port + 10 * (index + 1)
            replicas = tuple(
                ReplicaSpec(region=region, az=region + suffix, port=regional + 1 + offset)
                for offset, suffix in enumerate(_AZ_SUFFIXES)
            )
            specs.append(
                RegionSpec(
                    name=region,
                    regional_port=regional,
                    delays=profile.for_region(region, chosen.get(region)),
                    replicas=replicas,
                )
            )
        if redis_topology not in ("single", "replicated"):
            raise ValueError(f"topology must be single or replicated, not {redis_topology!r}")
        return cls(
            redis_port=base_port,
            controlplane_port=base_port + 1,
            regions=tuple(specs),
            redis_topology=redis_topology,
            delay_seed=new_seed() if delay_seed is None else delay_seed,
        )

    def region(self, name: str) -> RegionSpec:
        """The region called ``name``."""
        for region in self.regions:
            if region.name == name:
                return region
        raise KeyError(name)

    def replicas(self) -> list[ReplicaSpec]:
        """Every replica of every region."""
        return [replica for region in self.regions for replica in region.replicas]

    def url(self, port: int) -> str:
        """The HTTP endpoint on ``port``."""
        return f"http://{self.host}:{port}"
