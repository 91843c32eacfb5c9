"""``iam-planes status``: every process, whether it is up, and where its replica stands."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from rich.table import Table

from deploy.cluster_file import ClusterFile
from deploy.processes import is_running

__all__ = ["StatusReport", "cluster_status", "fetch_json", "http_json"]


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


@dataclass(frozen=True)
class StatusReport:
    """The rows of the status table, as data and as a rich table."""

    rows: list[dict[str, Any]]

    @property
    def table(self) -> Table:
        """The rows rendered for the terminal."""
        table = Table(title="iam-planes cluster")
        for column in ("process", "pid", "endpoint", "up", "status", "version", "lag_ms"):
            table.add_column(column)
        for row in self.rows:
            table.add_row(*("" if row.get(c) is None else str(row[c]) for c in row))
        return table


def cluster_status(cluster: ClusterFile) -> StatusReport:
    """Probe every process of the cluster."""
    rows: list[dict[str, Any]] = []
    for name, server in cluster.redis_servers().items():
        redis_up = is_running(server.pid, "redis-server") if server.embedded else None
        rows.append(_row(name, server.pid, server.url.rsplit("@", 1)[-1], redis_up, None))
    services = cluster.services
    if services is not None:
        services_up = is_running(services.pid, "moto.server") if services.embedded else None
        rows.append(_row("services", services.pid, services.url, services_up, None))
    cp = cluster.controlplane
    rows.append(
        _row(
            "controlplane",
            cp.pid,
            cp.endpoint,
            is_running(cp.pid, "controlplane"),
            fetch_json(f"{cp.endpoint}/health"),
        )
    )
    for region in cluster.regions.values():
        for az, record in region.replicas.items():
            alive = is_running(record.pid, "dataplane")
            state = fetch_json(f"{record.endpoint}/state") if alive else None
            rows.append(_row(az, record.pid, record.endpoint, alive, state))
    return StatusReport(rows)


def _row(
    name: str, pid: int | None, endpoint: str, up: bool | None, state: dict[str, Any] | None
) -> dict[str, Any]:
    state = state or {}
    return {
        "process": name,
        "pid": pid,
        "endpoint": endpoint,
        "up": {True: "up", False: "down", None: "external"}[up],
        "status": state.get("status"),
        "version": state.get("version"),
        "lag_ms": state.get("lag_ms"),
    }
