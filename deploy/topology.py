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
    #: where the moto server the launcher starts (the AWS services backend) listens
    services_port: int = 0
    regions: tuple[RegionSpec, ...]
    # "single": one Redis for everything; "replicated": one per region, REPLICAOF us-east-1's
    redis_topology: str = "single"
    # "local": every process on this machine's loopback; "netns": each region on a host (a
    # network namespace) of its own, us-east-1's holding the control plane and the primary
    hosts: str = "local"
    # hosts "netns": each region's host address, as clients in the root namespace reach it
    addresses: dict[str, str] = {}
    #: every replica draws its delays from this seed: the same seed replays the same delays
    delay_seed: int = Field(default=0, ge=0)
    #: what an acknowledged write survives (``deploy.redis_server.DURABILITY_GUARANTEES``)
    durability: str = "fsync"

    @classmethod
    def build(
        cls,
        regions: tuple[str, ...] = DEFAULT_REGIONS,
        base_port: int = DEFAULT_BASE_PORT,
        delays: dict[str, DelaySpec] | None = None,
        profile: DelayProfile = PROFILES["instant"],
        redis_topology: str = "single",
        *,
        hosts: str = "local",
        delay_seed: int | None = None,
        durability: str = "fsync",
    ) -> Topology:
        """Lay out ports from ``base_port``: Redis, control plane, the services backend, then
        ten ports per region.

        Each region's delays come from ``profile``; a region named in ``delays`` takes that
        delay for every change kind instead. Regions on hosts of their own (``netns``) each
        keep their own Redis: that topology is always ``replicated``.
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
        if hosts not in ("local", "netns"):
            raise ValueError(f"hosts must be local or netns, not {hosts!r}")
        if durability not in ("fsync", "write"):
            raise ValueError(f"durability must be fsync or write, not {durability!r}")
        if hosts == "netns" and redis_topology != "replicated":
            raise ValueError("--hosts netns gives each region its own Redis: --topology replicated")
        return cls(
            redis_port=base_port,
            controlplane_port=base_port + 1,
            services_port=base_port + 2,
            regions=tuple(specs),
            redis_topology=redis_topology,
            hosts=hosts,
            delay_seed=new_seed() if delay_seed is None else delay_seed,
            durability=durability,
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

    def region_names(self) -> tuple[str, ...]:
        """The regions, in order."""
        return tuple(region.name for region in self.regions)

    def host_of(self, region: str) -> str:
        """The address the processes of ``region`` listen on."""
        return self.addresses.get(region, self.host)

    def url(self, port: int, region: str = CONTROL_PLANE_REGION) -> str:
        """The HTTP endpoint on ``port`` of ``region``'s host."""
        return f"http://{self.host_of(region)}:{port}"
