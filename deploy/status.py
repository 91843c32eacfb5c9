"""``iam-planes status``: every process, whether it is up, and where its replica stands.

A process halted at a log entry it cannot apply shows HALTED, and the ``halted`` column names
the entry's version and why (``iam-planes log show VERSION`` prints the entry).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from deploy.cluster_file import ClusterFile
from deploy.processes import is_running
from deploy.replication_links import primary_state, region_links

__all__ = ["StatusReport", "cluster_status", "fetch_json", "halted_text", "http_json"]


def fetch_json(url: str, timeout: float = 1.0) -> dict[str, Any] | None:
    """GET ``url`` and decode its JSON body; None when it does not answer with a 2xx."""
    try:
        status, body = http_json(url, timeout=timeout)
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return body if 200 <= status < 300 and isinstance(body, dict) else None


def http_json(url: str, body: Any = None, timeout: float = 5) -> tuple[int, Any]:
    """POST ``body`` as JSON (GET when None); the status and the decoded answer, error bodies
    included (a connection failure raises)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="GET" if body is None else "POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


_COLUMNS = (
    "process",
    "pid",
    "endpoint",
    "up",
    "status",
    "version",
    "behind",
    "lag_ms",
    "halted",
    "link",
)


@dataclass(frozen=True)
class StatusReport:
    """The rows of the status table, as data and as a rich table."""

    rows: list[dict[str, Any]]

    @property
    def table(self) -> Table:
        """The rows rendered for the terminal."""
        table = Table(title="iam-planes cluster")
        for column in _COLUMNS:
            table.add_column(column)
        for row in self.rows:
            table.add_row(*("" if row.get(c) is None else str(row[c]) for c in _COLUMNS))
        return table


def cluster_status(cluster: ClusterFile) -> StatusReport:
    """Probe every process of the cluster; a regional Redis's row says whether its link to the
    primary is up, how long the region has not heard from it (``lag_ms``) and how many versions
    it is behind (``behind``, for every plane too)."""
    primary = primary_state(cluster)
    head = primary.head if primary is not None else None
    links = {link.region: link for link in region_links(cluster, primary)}
    rows: list[dict[str, Any]] = []
    for name, server in cluster.redis_servers().items():
        redis_up = is_running(server.pid, "redis-server") if server.embedded else None
        row = _row(name, server.pid, server.url.rsplit("@", 1)[-1], redis_up, None, head=head)
        link = links.get(name.removeprefix("redis-")) if name != "redis" else None
        if name == "redis" and primary is not None:
            row.update(status="primary", version=primary.head, behind=0)
        elif link is not None:
            silent_ms = None if link.silent_s is None else link.silent_s * 1000
            row.update(
                status=f"replica, link {link.link}",
                version=link.head,
                behind=link.behind_versions,
                lag_ms=silent_ms,
                link=link.link,
            )
        rows.append(row)
    services = cluster.services
    if services is not None:
        services_up = is_running(services.pid, "moto.server") if services.embedded else None
        rows.append(_row("services", services.pid, services.url, services_up, None, head=None))
    cp = cluster.controlplane
    rows.append(
        _row(
            "controlplane",
            cp.pid,
            cp.endpoint,
            is_running(cp.pid, "controlplane"),
            fetch_json(f"{cp.endpoint}/health"),
            head=None,
        )
    )
    for region in cluster.regions.values():
        for az, record in region.replicas.items():
            alive = is_running(record.pid, "dataplane")
            state = fetch_json(f"{record.endpoint}/state") if alive else None
            rows.append(_row(az, record.pid, record.endpoint, alive, state, head=head))
    return StatusReport(rows)


def _row(
    name: str,
    pid: int | None,
    endpoint: str,
    up: bool | None,
    state: dict[str, Any] | None,
    *,
    head: int | None,
) -> dict[str, Any]:
    state = state or {}
    version = state.get("version")
    return {
        "process": name,
        "pid": pid,
        "endpoint": endpoint,
        "up": {True: "up", False: "down", None: "external"}[up],
        "status": state.get("status"),
        "version": version,
        "behind": None if head is None or version is None else max(0, head - version),
        "lag_ms": state.get("lag_ms"),
        "halted": halted_text(state.get("halted")),
        "link": None,
    }


def halted_text(halted: dict[str, Any] | None) -> str | None:
    """``at v6: v7 unknown kind`` for a halted process (from its ``halted`` record)."""
    if not halted:
        return None
    return f"at v{halted['version']}: v{halted['bad_version']} {halted['reason']}"
