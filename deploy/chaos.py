"""``iam-planes chaos kill|start TARGET``: SIGKILL a process, or start it again on its ports."""

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
from deploy.processes import is_running, kill_process, spawn, wait_healthy
from deploy.redis_server import wait_for_redis

__all__ = [
    "ScheduledAction",
    "chaos_command",
    "kill_target",
    "partition_target",
    "run_schedule",
    "start_target",
]

_console = Console()


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
    cluster = load_cluster(state_dir)
    pid = _pid(cluster, target)
    if is_running(pid, _marker(target)):
        assert pid is not None
        return pid
    if target.startswith("redis"):
        server = cluster.redis_servers()[target]
        process = spawn(server.argv, state_dir / "logs" / f"{target}.out", {})
        wait_for_redis(server.url)
        server.pid = process.pid
        save_cluster(state_dir, cluster)
        return process.pid
    if target == "controlplane":
        record = start_process(cluster.controlplane, cluster)
        cluster.controlplane = record
    else:
        region = next(r for r in cluster.regions.values() if target in r.replicas)
        old = region.replicas[target]
        region.replicas[target] = record = start_process(old, cluster)
    save_cluster(state_dir, cluster)
    wait_healthy([f"{record.endpoint}/health"], timeout=60)
    assert record.pid is not None
    return record.pid


def partition_target(state_dir: Path, target: str, partitioned: bool) -> list[str]:
    """Partition (or heal) a region's replicas or one AZ's; return the AZs reached."""
    cluster = load_cluster(state_dir)
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


class ScheduledAction(BaseModel):
    """One line of a chaos schedule: at ``at`` seconds from the start, do ``verb`` to ``target``."""

    model_config = ConfigDict(extra="forbid")

    at: float
    verb: Literal["kill", "start", "partition", "heal"]
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
        else:
            _console.print(f"{target}: running as pid {start_target(state_dir, target)}")
    except KeyError:
        _console.print(
            f"unknown target {target!r}: use controlplane, redis, redis-REGION, a region or an AZ"
        )
        return 2
    except FileNotFoundError:
        _console.print("no cluster: run `iam-planes up`")
        return 1
    return 0
