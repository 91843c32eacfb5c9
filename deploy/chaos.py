"""``iam-planes chaos VERB TARGET``: SIGKILL a process or a whole region's host, start it
again on its ports, or partition a region.

On a cluster whose regions run on hosts of their own (``up --hosts netns``), partitioning a
region unplugs its host from the network between regions: its Redis loses the primary for real
(``master_link_status:down``) and every TCP connection across the cut fails. On one loopback, a
partition freezes the region's replicas instead (they read and apply nothing until healed).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from rich.console import Console

from deploy.cluster_file import ClusterFile, load_cluster, save_cluster
from deploy.launcher import start_process
from deploy.netns import kill_host_processes, load_network, set_wan_link
from deploy.processes import is_running, kill_process, spawn, wait_healthy
from deploy.redis_server import wait_for_redis

__all__ = [
    "CHAOS_VERBS",
    "ScheduledAction",
    "chaos_command",
    "kill_target",
    "partition_target",
    "run_schedule",
    "start_target",
]

_console = Console()

CHAOS_VERBS = ("kill", "start", "partition", "heal", "kill-host", "start-host")


def _marker(target: str) -> str:
    if target.startswith("redis"):
        return "redis-server"
    return "controlplane" if target == "controlplane" else "dataplane"


def _pid(cluster: ClusterFile, target: str) -> int | None:
    if target.startswith("redis"):
        return cluster.redis_servers()[target].pid
    record = cluster.processes().get(target)
    if record is None:
        raise KeyError(target)
    return record.pid


def kill_target(state_dir: Path, target: str) -> bool:
    """SIGKILL the target; False when it was not running."""
    cluster = load_cluster(state_dir)
    return kill_process(_pid(cluster, target), _marker(target))


def start_target(state_dir: Path, target: str) -> int:
    """Start the target again with its recorded argv and ports; return its new pid."""
    return start_targets(state_dir, [target])[target]


def start_targets(state_dir: Path, targets: list[str]) -> dict[str, int]:
    """Start the targets again (those still running are left alone), Redis servers first, the
    planes side by side; return once all answer, with each one's pid."""
    cluster = load_cluster(state_dir)
    pids = {target: _pid(cluster, target) for target in targets}
    started: dict[str, int] = {}
    health = []
    for target in sorted(targets, key=lambda t: not t.startswith("redis")):
        pid = pids[target]
        if is_running(pid, _marker(target)):
            assert pid is not None
            started[target] = pid
        elif target.startswith("redis"):
            server = cluster.redis_servers()[target]
            process = spawn(server.argv, state_dir / "logs" / f"{target}.out", {})
            wait_for_redis(server.url)
            server.pid = started[target] = process.pid
        else:
            if target == "controlplane":
                cluster.controlplane = record = start_process(cluster.controlplane, cluster)
            else:
                region = next(r for r in cluster.regions.values() if target in r.replicas)
                region.replicas[target] = record = start_process(region.replicas[target], cluster)
            assert record.pid is not None
            started[target] = record.pid
            health.append(f"{record.endpoint}/health")
        save_cluster(state_dir, cluster)
    wait_healthy(health, timeout=60)
    return started


def partition_target(state_dir: Path, target: str, partitioned: bool) -> list[str]:
    """Partition (or heal) a region or one AZ; return what was cut off (or reconnected)."""
    cluster = load_cluster(state_dir)
    network = load_network(state_dir) if cluster.hosts == "netns" else None
    if network is not None and target in network.hosts:
        set_wan_link(network, target, up=not partitioned)
        return [f"{target}'s host link"]
    if target in cluster.regions:
        records = cluster.regions[target].replicas
    else:
        region = next((r for r in cluster.regions.values() if target in r.replicas), None)
        if region is None:
            raise KeyError(target)
        records = {target: region.replicas[target]}
    reached = []
    for az, record in records.items():
        request = urllib.request.Request(
            f"{record.endpoint}/admin/partition",
            data=json.dumps({"partitioned": partitioned}).encode(),
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=2):
                reached.append(az)
        except (urllib.error.URLError, OSError):
            continue
    return reached


def kill_host(state_dir: Path, region: str) -> list[str]:
    """SIGKILL every process on ``region``'s host (its Redis, its AZs, and for us-east-1 the
    control plane), as a site losing power; return the names of those that were running."""
    cluster = load_cluster(state_dir)
    if region not in cluster.regions:
        raise KeyError(region)
    names = [*cluster.region_redis(region), *cluster.region_processes(region)]
    killed = [name for name in names if kill_target(state_dir, name)]
    network = load_network(state_dir) if cluster.hosts == "netns" else None
    if network is not None:  # whatever else runs on that host goes down with it
        kill_host_processes(network.hosts[region].namespace)
    return killed


def start_host(state_dir: Path, region: str) -> list[str]:
    """Start every process of ``region``'s host again: its Redis first, then its AZs, then (on
    us-east-1) the control plane, which authorizes through them; return the names started."""
    cluster = load_cluster(state_dir)
    if region not in cluster.regions:
        raise KeyError(region)
    processes = cluster.region_processes(region)
    planes = [name for name in processes if name != "controlplane"]
    started = [*start_targets(state_dir, [*cluster.region_redis(region), *planes])]
    if "controlplane" in processes:
        started += start_targets(state_dir, ["controlplane"])
    return started


class ScheduledAction(BaseModel):
    """One line of a chaos schedule: at ``at`` seconds from the start, do ``verb`` to ``target``."""

    model_config = ConfigDict(extra="forbid")

    at: float
    verb: Literal["kill", "start", "partition", "heal", "kill-host", "start-host"]
    target: str


def run_schedule(state_dir: Path, schedule_file: Path) -> int:
    """Play a JSON schedule (a list of ScheduledAction) against the cluster, in time order."""
    try:
        actions = TypeAdapter(list[ScheduledAction]).validate_json(schedule_file.read_bytes())
    except (OSError, ValidationError) as error:
        _console.print(f"bad schedule {schedule_file}: {error}")
        return 2
    started = time.monotonic()
    for action in sorted(actions, key=lambda a: a.at):
        time.sleep(max(0.0, started + action.at - time.monotonic()))
        _console.print(f"t+{action.at:.1f}s ", end="")
        status = chaos_command(state_dir, action.verb, action.target)
        if status:
            return status
    return 0


def chaos_command(state_dir: Path, verb: str, target: str) -> int:
    """Run ``iam-planes chaos VERB TARGET``."""
    try:
        if verb in ("partition", "heal"):
            reached = partition_target(state_dir, target, verb == "partition")
            _console.print(f"{target}: {verb}ed {', '.join(reached) or 'nothing (all down?)'}")
        elif verb == "kill":
            killed = kill_target(state_dir, target)
            _console.print(f"{target}: {'killed' if killed else 'was not running'}")
        elif verb == "kill-host":
            killed_names = kill_host(state_dir, target)
            _console.print(f"{target}'s host: killed {', '.join(killed_names) or 'nothing'}")
        elif verb == "start-host":
            started = start_host(state_dir, target)
            _console.print(f"{target}'s host: running {', '.join(started)}")
        else:
            _console.print(f"{target}: running as pid {start_target(state_dir, target)}")
    except KeyError:
        _console.print(
            f"unknown target {target!r}: use controlplane, redis, redis-REGION, a region or an AZ"
            " (kill-host and start-host take a region)"
        )
        return 2
    except FileNotFoundError:
        _console.print("no cluster: run `iam-planes up`")
        return 1
    return 0
