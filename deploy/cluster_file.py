"""``cluster.json``: what ``iam-planes up`` started and how to reach and restart each part.

The file holds the root credentials and the Redis password, so it is written with mode 0600.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AccountCredentials",
    "ClusterFile",
    "ProcessRecord",
    "RegionRecord",
    "RootKey",
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
    pid: int | None = None
    argv: list[str] = Field(default_factory=list)
    embedded: bool = True


class ClusterFile(_Record):
    """Everything ``iam-planes status``, ``down`` and ``chaos`` need."""

    redis: RedisRecord
    controlplane: ProcessRecord
    regions: dict[str, RegionRecord]
    accounts: dict[str, AccountCredentials]
    launcher_pid: int | None = None
    # topology "replicated": each region's own Redis, a REPLICAOF the primary (us-east-1)
    regional_redis: dict[str, RedisRecord] = Field(default_factory=dict)
    #: the seed of every replica's delay draws (None: a cluster from before seeds)
    delay_seed: int | None = None

    def redis_url_for(self, record: ProcessRecord) -> str:
        """The Redis URL a process reads from."""
        if record.redis in self.regional_redis:
            return self.regional_redis[record.redis].url
        return self.redis.url

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
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(cluster.model_dump_json(indent=2))
    os.replace(temporary, path)
    return path


def load_cluster(state_dir: Path) -> ClusterFile:
    """Read the cluster file of a state dir (FileNotFoundError when nothing is up)."""
    return ClusterFile.model_validate_json(cluster_path(state_dir).read_text())
