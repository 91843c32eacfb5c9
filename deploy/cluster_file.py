"""``cluster.json``: what ``iam-planes up`` started and how to reach and restart each part.

The file holds the root credentials and the Redis password, so it is written with mode 0600.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from deploy.private_files import write_private
from deploy.topology import CONTROL_PLANE_REGION

__all__ = [
    "AccountCredentials",
    "ClusterFile",
    "ProcessRecord",
    "RegionRecord",
    "RootKey",
    "ServicesRecord",
    "load_cluster",
    "save_cluster",
]

CLUSTER_FILE = "cluster.json"


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProcessRecord(_Record):
    """A process of the cluster: where it answers, its pid, and how to start it again."""

    endpoint: str
    pid: int | None
    argv: list[str] = Field(default_factory=list)
    log_file: str = ""
    redis: str = "primary"  # which Redis it reads: "primary" or a region's name


class RegionRecord(_Record):
    """A region: its shared endpoint and its AZ replicas."""

    endpoint: str
    replicas: dict[str, ProcessRecord]


class RootKey(_Record):
    """An account root user's access key."""

    access_key_id: str
    secret_access_key: str


class AccountCredentials(_Record):
    """The credentials the launcher created for an account."""

    root: RootKey


class RedisRecord(_Record):
    """The Redis server (embedded or external)."""

    url: str
    # hosts "netns": where the other regions' hosts reach it (``url`` is the root namespace's)
    peer_url: str | None = None
    pid: int | None = None
    argv: list[str] = Field(default_factory=list)
    embedded: bool = True


class ServicesRecord(_Record):
    """The AWS services backend the gateways forward to: a moto server the launcher started
    (``pid`` and ``argv`` set), or an external one (LocalStack, a moto elsewhere)."""

    url: str
    pid: int | None = None
    argv: list[str] = Field(default_factory=list)
    log_file: str = ""

    @property
    def embedded(self) -> bool:
        """Whether the launcher started (and stops) it."""
        return bool(self.argv)


class ClusterFile(_Record):
    """Everything ``iam-planes status``, ``down`` and ``chaos`` need."""

    redis: RedisRecord
    controlplane: ProcessRecord
    regions: dict[str, RegionRecord]
    accounts: dict[str, AccountCredentials]
    launcher_pid: int | None = None
    # topology "replicated": each region's own Redis, a REPLICAOF the primary (us-east-1)
    regional_redis: dict[str, RedisRecord] = Field(default_factory=dict)
    # "local" (one loopback) or "netns" (each region on a host of its own; see deploy.netns)
    hosts: str = "local"
    # the AWS services backend of the replicas' gateways (None: the gateway is off)
    services: ServicesRecord | None = None
    #: the seed of every replica's delay draws (None: a cluster from before seeds)
    delay_seed: int | None = None

    def redis_url_for(self, record: ProcessRecord) -> str:
        """The Redis URL a process reads from."""
        if record.redis in self.regional_redis:
            return self.regional_redis[record.redis].url
        return self.redis.url

    def primary_url_for(self, record: ProcessRecord) -> str:
        """The URL at which a process reaches the primary Redis from its own host."""
        if record.redis == "primary":
            return self.redis.url
        return self.redis.peer_url or self.redis.url

    def region_processes(self, region: str) -> dict[str, ProcessRecord]:
        """The plane processes on ``region``'s host: its AZs, and us-east-1's control plane."""
        found = dict(self.regions[region].replicas)
        if region == CONTROL_PLANE_REGION:
            found["controlplane"] = self.controlplane
        return found

    def region_redis(self, region: str) -> dict[str, RedisRecord]:
        """The Redis servers on ``region``'s host, by chaos name (``redis``, ``redis-REGION``)."""
        servers = self.redis_servers()
        name = "redis" if region == CONTROL_PLANE_REGION else f"redis-{region}"
        return {name: servers[name]} if name in servers else {}

    def redis_servers(self) -> dict[str, RedisRecord]:
        """Every Redis server by chaos name: ``redis`` (primary) and ``redis-REGION``."""
        servers = {"redis": self.redis}
        servers.update({f"redis-{r}": record for r, record in self.regional_redis.items()})
        return servers

    def processes(self) -> dict[str, ProcessRecord]:
        """Every plane process by name: ``controlplane`` and each AZ."""
        found = {"controlplane": self.controlplane}
        for region in self.regions.values():
            found.update(region.replicas)
        return found


def cluster_path(state_dir: Path) -> Path:
    """Where the cluster file of a state dir lives."""
    return state_dir / CLUSTER_FILE


def save_cluster(state_dir: Path, cluster: ClusterFile) -> Path:
    """Write the cluster file atomically with mode 0600."""
    path = cluster_path(state_dir)
    temporary = path.with_suffix(".tmp")
    write_private(temporary, cluster.model_dump_json(indent=2))
    os.replace(temporary, path)
    return path


def load_cluster(state_dir: Path) -> ClusterFile:
    """Read the cluster file of a state dir (FileNotFoundError when nothing is up)."""
    return ClusterFile.model_validate_json(cluster_path(state_dir).read_text())
