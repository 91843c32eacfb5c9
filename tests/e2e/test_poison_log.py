"""A bad entry in the change stream, against a real cluster: every replica halts loudly at the
version before it and keeps answering there, IAM writes fail with ServiceFailure naming it,
and after ``iam-planes log repair`` every replica converges with no acknowledged write lost.

One cluster takes the four kinds of bad entry in turn (a cluster start costs seconds): each is
appended with redis-py at the next version, as a buggy or hostile writer would.
"""

from __future__ import annotations

import io
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore.exceptions
import orjson
import pytest
import redis
from rich.console import Console

from deploy.status import http_json
from deploy.watch import render_frame
from replication.log import HEAD_KEY, STREAM_KEY
from tests.e2e.cluster import NO_GATEWAY, Cluster, iam_planes, running_cluster

pytestmark = pytest.mark.e2e

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
_TIMEOUT = 60  # generous: the machine is shared; the planes notice within a second or two


def _event(version: int, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "schema_version": 1,
        "version": version,
        "committed_at": time.time(),
        "kind": "access_key.put",
        "account": "111122223333",
        "action": "CreateAccessKey",
        "payload": {
            "entity": "access_key",
            "account": "111122223333",
            "access_key_id": "AKIA0000000000000099",
            "secret_access_key": SECRET,
            "user_name": None,
            "status": "Active",
            "created_at": "2026-12-07T00:00:00Z",
        },
    }
    record.update(changes)
    return record


# name -> (the stream entry's fields at a version, the reason the planes must give)
BAD_ENTRIES: dict[str, tuple[Callable[[int], dict[bytes, bytes]], str]] = {
    "not json": (
        lambda v: {b"e": b'{"version": ' + str(v).encode() + b", oops"},
        "undecodable payload",
    ),
    "unknown kind": (
        lambda v: {b"e": orjson.dumps(_event(v, kind="access_key.rotate"))},
        "unknown kind",
    ),
    "no event field": (lambda v: {b"x": orjson.dumps(_event(v))}, "missing field"),
    "schema 99": (
        lambda v: {b"e": orjson.dumps(_event(v, schema_version=99))},
        "schema newer than known",
    ),
}


def _wait(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + _TIMEOUT
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.1)


def _all_halted_at(cluster: Cluster, bad: int) -> bool:
    states = cluster.states()
    return all(
        s["status"] == "HALTED"
        and s["version"] == bad - 1
        and (s["halted"] or {}).get("bad_version") == bad
        for s in states.values()
    )


def _all_ok_at_least(cluster: Cluster, version: int) -> bool:
    states = cluster.states()
    return all(s["status"] == "OK" and s["version"] >= version for s in states.values())


def _metrics(url: str) -> str:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        return str(response.read().decode())


def _dashboard(cluster: Cluster) -> str:
    screen = io.StringIO()
    Console(file=screen, width=220, color_system=None).print(render_frame(cluster.file))
    return screen.getvalue()


def _write_error(call: Callable[[], object]) -> dict[str, Any]:
    with pytest.raises(botocore.exceptions.ClientError) as failed:
        call()
    response: dict[str, Any] = failed.value.response
    return response


def _halt_and_repair(cluster: Cluster, iam: Any, client: redis.Redis, name: str) -> str:
    """Append the bad entry ``name`` at the next version, check every plane halts loudly there
    and keeps answering, repair it with the CLI; return the user written after the repair."""
    fields_at, reason = BAD_ENTRIES[name]
    state_dir = str(cluster.state_dir)
    if name == "schema 99":  # a replica restarted below bootstraps from this snapshot
        assert iam_planes("snapshot", "--state-dir", state_dir).returncode == 0
    bad = int(client.get(HEAD_KEY) or 0) + 1  # type: ignore[arg-type]
    client.xadd(STREAM_KEY, fields_at(bad), id=f"{bad}-0")  # type: ignore[arg-type]
    client.set(HEAD_KEY, bad)

    _wait(f"{name}: every replica HALTED at {bad - 1}", lambda: _all_halted_at(cluster, bad))
    for url in cluster.replicas().values():
        status, health = http_json(f"{url}/health")
        assert (status, health["status"]) == (200, "HALTED"), (name, health)
        assert health["halted"]["bad_version"] == bad
        assert health["halted"]["reason"] == reason
        # still answering, at the version before the bad entry
        status, answer = http_json(
            f"{url}/authorize",
            {
                "principal": f"arn:aws:iam::{cluster.account}:user/acknowledged-before",
                "action": "iam:GetUser",
                "resource": "*",
            },
        )
        assert status == 200, answer
        assert answer["version"] == bad - 1

    error = _write_error(lambda: iam.create_user(UserName="refused"))
    assert error["Error"]["Code"] == "ServiceFailure", error
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert f"version {bad}" in error["Error"]["Message"]
    assert "Traceback" not in error["Error"]["Message"]
    assert iam.get_user(UserName="acknowledged-before")["User"]["UserName"]  # reads still work
    _, health = http_json(f"{cluster.file.controlplane.endpoint}/health")
    assert health["status"] == "HALTED"
    assert health["halted"]["bad_version"] == bad
    metrics = _metrics(cluster.file.controlplane.endpoint)
    assert f"iam_planes_controlplane_halted_bad_version {float(bad)}" in metrics

    if name == "unknown kind":  # the other places a person looks, once
        _check_status_watch_metrics_and_logs(cluster, bad)
    if name == "schema 99":  # a replica (re)started on the poisoned log halts, not STARTING
        az = next(iter(cluster.replicas()))
        assert iam_planes("chaos", "kill", az, "--state-dir", state_dir).returncode == 0
        started = iam_planes("chaos", "start", az, "--state-dir", state_dir)
        assert started.returncode == 0, started.stdout + started.stderr
        _wait(f"{az} HALTED after its restart", lambda: _all_halted_at(cluster, bad))
        restarted = _metrics(cluster.replicas()[az])
        assert f"iam_planes_bootstrap_snapshot_version {float(bad - 1)}" in restarted

    repaired = iam_planes(
        "log", "repair", str(bad), "--reason", f"e2e: {name}", "--state-dir", state_dir
    )
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    _wait(f"{name}: every replica OK past {bad}", lambda: _all_ok_at_least(cluster, bad))
    user = f"acknowledged-after-{name.replace(' ', '-')}"
    iam.create_user(UserName=user)  # writes resume by themselves
    cluster.wait_converged(bad + 1, timeout=_TIMEOUT)
    return user


def _check_status_watch_metrics_and_logs(cluster: Cluster, bad: int) -> None:
    """``status``, ``watch``, ``/metrics``, ``log show`` and the replicas' logs all tell of
    the entry at ``bad`` (an unknown kind carrying a secret access key), never the secret."""
    metrics = _metrics(next(iter(cluster.replicas().values())))
    assert "iam_planes_replica_halted 1.0" in metrics
    assert f"iam_planes_replica_halted_bad_version {float(bad)}" in metrics
    listed = iam_planes("status", "--json", "--state-dir", str(cluster.state_dir))
    rows = {row["process"]: row for row in orjson.loads(listed.stdout)}
    for az in cluster.replicas():
        assert rows[az]["status"] == "HALTED", rows[az]
        assert f"v{bad} unknown kind" in rows[az]["halted"]
    assert f"v{bad} unknown kind" in _dashboard(cluster)
    shown = iam_planes("log", "show", str(bad), "--state-dir", str(cluster.state_dir))
    assert shown.returncode == 0, shown.stderr
    assert "access_key.rotate" in shown.stdout
    assert "unknown kind" in shown.stdout
    assert SECRET not in shown.stdout
    assert "[redacted]" in shown.stdout
    logs = "".join(p.read_text() for p in (cluster.state_dir / "logs").glob("*.log"))
    assert "log_entry_unusable" in logs
    assert SECRET not in logs


def test_each_kind_of_bad_entry_halts_the_planes_until_it_is_repaired(tmp_path: Path) -> None:
    with running_cluster(
        tmp_path, regions=("us-east-1", "eu-west-1"), up_options=NO_GATEWAY
    ) as cluster:
        iam = cluster.iam()
        iam.create_user(UserName="acknowledged-before")  # must survive everything below
        acknowledged = ["acknowledged-before"]
        client = redis.Redis.from_url(cluster.file.redis.url)
        try:
            for name in BAD_ENTRIES:
                acknowledged.append(_halt_and_repair(cluster, iam, client, name))
            head = int(client.get(HEAD_KEY) or 0)  # type: ignore[arg-type]
        finally:
            client.close()
        states = cluster.wait_converged(head, timeout=_TIMEOUT)
        assert len({s["digest"] for s in states.values()}) == 1  # every replica the same state
        listed = {u["UserName"] for u in iam.list_users()["Users"]}
        assert set(acknowledged) <= listed
        assert "refused" not in listed
