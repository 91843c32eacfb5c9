"""``iam-planes watch``: a live dashboard of the cluster, refreshed twice a second.

Regions x AZs with applied version, lag, status and the last change's arrival; the control
plane and Redis; each regional Redis's replication link (up or down, and how far behind); the
newest changes with a mark for each replica that has applied them. It rereads ``cluster.json``
on every frame, so processes restarted by chaos show up again. A process halted at a bad log
entry shows HALTED with the entry's version and reason, and the entry itself shows in the
newest changes as bad (or repaired).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import redis
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from deploy.cluster_file import ClusterFile, load_cluster
from deploy.processes import is_running
from deploy.replication_links import primary_state, region_links
from deploy.status import fetch_json, halted_text
from replication.entries import BadEntry, classify_entry
from replication.log import STREAM_KEY
from replication.repairs import REPAIRS_KEY

__all__ = ["render_frame", "watch"]

_NEWEST = 8


def _status_text(up: bool, status: str | None, halted: dict[str, Any] | None = None) -> Text:
    if not up:
        return Text("DOWN", style="bold red")
    if status == "OK":
        return Text("OK", style="green")
    if status == "HALTED":
        return Text(f"HALTED {halted_text(halted) or ''}".rstrip(), style="bold red")
    return Text(status or "?", style="yellow")


def _replica_rows(cluster: ClusterFile) -> list[dict[str, Any]]:
    rows = []
    for region_name, region in cluster.regions.items():
        for az, record in region.replicas.items():
            up = is_running(record.pid, "dataplane")
            state = fetch_json(f"{record.endpoint}/state", timeout=0.3) if up else None
            last = None
            if state:
                since = max(0, state.get("version", 0) - 1)
                last = fetch_json(f"{record.endpoint}/applied?since={since}", timeout=0.3)
            arrival = (last or {}).get("applied") or [{}]
            rows.append(
                {
                    "region": region_name,
                    "az": az,
                    "up": up and state is not None,
                    "state": state or {},
                    "last": arrival[-1],
                }
            )
    return rows


def _newest_changes(cluster: ClusterFile) -> list[dict[str, Any]] | None:
    """The newest entries as ``{version, action}``; a bad entry's action says why it is bad."""
    try:
        client = redis.Redis.from_url(cluster.redis.url, socket_timeout=0.3)
        entries: list[tuple[bytes, dict[bytes, bytes]]]
        entries = client.xrevrange(STREAM_KEY, count=_NEWEST)  # type: ignore[assignment]
        changes = []
        for entry_id, fields in entries:
            entry = classify_entry(entry_id, fields)
            if isinstance(entry, BadEntry):
                repaired = client.hexists(REPAIRS_KEY, str(entry.version))
                state = "repaired" if repaired else "BAD ENTRY"
                changes.append({"version": entry.version, "action": f"{state}: {entry.reason}"})
            else:
                changes.append({"version": entry.version, "action": entry.action})
        client.close()
    except redis.RedisError:
        return None
    return changes


def _short(region: str, az: str) -> str:
    """A column-sized AZ name: ``eu-west-1b`` -> ``euw1b``, ``ap-northeast-1a`` -> ``apne1a``."""
    parts = region.split("-")
    return parts[0] + "".join(p[0] for p in parts[1:-1]) + parts[-1] + az[len(region) :]


def render_frame(cluster: ClusterFile) -> Group:
    """One frame of the dashboard."""
    now = time.time()
    planes = Table(title="planes", expand=False)
    for column in ("process", "pid", "status", "version"):
        planes.add_column(column)
    cp_up = is_running(cluster.controlplane.pid, "controlplane")
    health = fetch_json(f"{cluster.controlplane.endpoint}/health", timeout=0.3) if cp_up else None
    planes.add_row(
        "controlplane (us-east-1)",
        str(cluster.controlplane.pid),
        _status_text(
            health is not None, (health or {}).get("status"), (health or {}).get("halted")
        ),
        str((health or {}).get("version", "")),
    )
    changes = _newest_changes(cluster)
    planes.add_row(
        "redis", str(cluster.redis.pid or "external"), _status_text(changes is not None, "OK"), ""
    )
    links = _links_table(cluster)
    rows = _replica_rows(cluster)
    replicas = Table(title="replicas")
    for column in ("region", "az", "status", "version", "lag ms", "last change", "arrived"):
        replicas.add_column(column)
    for row in rows:
        state, last = row["state"], row["last"]
        arrived = f"{now - last['applied_at']:.1f} s ago" if last.get("applied_at") else ""
        replicas.add_row(
            row["region"],
            row["az"],
            _status_text(row["up"], state.get("status"), state.get("halted")),
            str(state.get("version", "")),
            str(state.get("lag_ms", "")),
            f"v{last['version']} {last['action']}" if last.get("version") else "",
            arrived,
        )
    newest = Table(title="newest changes (✓ = applied on that replica)")
    newest.add_column("version")
    newest.add_column("action")
    for row in rows:
        newest.add_column(_short(row["region"], row["az"]))
    for change in changes or []:
        marks = [
            "✓" if row["up"] and row["state"].get("version", 0) >= change["version"] else "·"
            for row in rows
        ]
        newest.add_row(str(change["version"]), change["action"], *marks)
    return Group(planes, *links, replicas, newest)


def _links_table(cluster: ClusterFile) -> list[Table]:
    """Each regional Redis's link to the primary (topology replicated), or nothing."""
    if not cluster.regional_redis:
        return []
    primary = primary_state(cluster)
    table = Table(title="regional Redis: replication from us-east-1's")
    for column in ("region", "link", "silent", "versions behind", "bytes behind"):
        table.add_column(column)
    for link in region_links(cluster, primary):
        style = {"up": "green", "down": "bold red"}.get(link.link, "yellow")
        table.add_row(
            link.region,
            Text(link.link, style=style),
            "" if link.silent_s is None else f"{link.silent_s} s",
            "" if link.behind_versions is None else str(link.behind_versions),
            "" if link.behind_bytes is None else str(link.behind_bytes),
        )
    if primary is not None:
        table.caption = (
            f"primary: head v{primary.head}, {primary.partial_syncs} partial resyncs, "
            f"{primary.full_syncs} full copies"
        )
    return [table]


def watch(state_dir: Path, interval: float = 0.5, frames: int | None = None) -> int:
    """Show the dashboard until Ctrl-C (or for ``frames`` frames)."""
    shown = 0
    with Live(refresh_per_second=4, screen=False) as live:
        try:
            while frames is None or shown < frames:
                try:
                    live.update(render_frame(load_cluster(state_dir)))
                except FileNotFoundError:
                    live.update(Text("no cluster: run `iam-planes up`"))
                shown += 1
                time.sleep(interval)
        except KeyboardInterrupt:
            pass
    return 0
