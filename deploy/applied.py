"""Waiting on the consistency token: until a region's replicas have applied a log version.

Every control-plane write answers with the version it created (``x-iam-planes-version``);
each replica's ``/state`` names the version it has applied. A change is usable in a region once
every live replica there has applied it, since the region's shared port may send the next call
to any of them.
"""

from __future__ import annotations

import time
import urllib.error
from collections.abc import Iterable, Mapping
from typing import Any

from deploy.cluster_file import ClusterFile
from deploy.status import http_json
from replication.headers import VERSION_HEADER

__all__ = ["NotAppliedError", "version_of", "wait_until_applied"]

_POLL_SECONDS = 0.05


class NotAppliedError(TimeoutError):
    """Some replica did not apply the version in time."""


def version_of(response_or_version: Mapping[str, Any] | int | str) -> int:
    """The log version a boto3 response (its ``x-iam-planes-version`` header) or a number names."""
    if isinstance(response_or_version, int):
        return response_or_version
    if isinstance(response_or_version, str):
        return int(response_or_version)
    headers = response_or_version.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    found = headers.get(VERSION_HEADER)
    if found is None:
        raise ValueError(f"the response carries no {VERSION_HEADER} header")
    return int(found)


def _replica_versions(cluster: ClusterFile, regions: Iterable[str]) -> dict[str, int | None]:
    """Each replica's applied version; None for a replica that does not answer (it is not
    serving its region's port either, so it cannot answer a stale decision)."""
    versions: dict[str, int | None] = {}
    for region in regions:
        for az, record in cluster.regions[region].replicas.items():
            try:
                status, body = http_json(f"{record.endpoint}/state", timeout=1)
            except (urllib.error.URLError, OSError, ValueError):
                versions[az] = None
                continue
            versions[az] = int(body["version"]) if status == 200 else None
    return versions


def wait_until_applied(
    cluster: ClusterFile,
    response_or_version: Mapping[str, Any] | int | str,
    regions: Iterable[str] | None = None,
    timeout: float = 120,
) -> int:
    """Block until every live replica of ``regions`` (default: all) has applied the version;
    return the version. NotAppliedError names the replicas still behind at ``timeout``."""
    version = version_of(response_or_version)
    chosen = list(regions) if regions is not None else list(cluster.regions)
    unknown = [r for r in chosen if r not in cluster.regions]
    if unknown:
        raise ValueError(f"no such region in the cluster: {', '.join(unknown)}")
    deadline = time.monotonic() + timeout
    while True:
        versions = _replica_versions(cluster, chosen)
        behind = {az: v for az, v in versions.items() if v is not None and v < version}
        if not behind and any(v is not None for v in versions.values()):
            return version
        if time.monotonic() > deadline:
            raise NotAppliedError(f"not at version {version} after {timeout}s: {versions}")
        time.sleep(_POLL_SECONDS)
