"""Replica bootstrap from a snapshot of N entities (issue 6).

A redis-server of its own (same binary and config as the cluster's) gets an account and N
users, each with an inline policy: appended to the log with ``RedisChangeLog.append_many``
(compare-and-append, a run of events at a time), then a snapshot of the folded state at the
log's head (``replication.snapshot.write_snapshot``, which also trims the log behind it).
Then a fresh replica process starts on it; the figure is the time from process start until
``/health`` answers 200 and ``/state`` reports the snapshot's version (and its digest), and
the replica's resident memory then (VmRSS) and at its peak (VmHWM). The log and snapshot are
written once; the replica is started ``bootstrap_repeats`` times.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.cluster import PROJECT_ROOT
from bench.figures import Figure, Target, median
from bench.harness import Context
from bench.idle import rss_mb
from deploy.ports import free_port_block
from deploy.redis_server import (
    new_password,
    start_redis_server,
    wait_for_redis,
    write_redis_config,
)
from deploy.status import http_json
from replication.entities import Account, Entity, User
from replication.events import ChangeEvent, kind_of
from replication.ids import new_account_id, new_unique_id
from replication.log import RedisChangeLog, connect
from replication.snapshot import SnapshotInfo, write_snapshot
from replication.state import state_from_entities

__all__ = ["BOOTSTRAP_FIGURES", "measure_bootstrap", "write_users_and_snapshot"]

BOOTSTRAP_FIGURES = (
    Figure(
        "bootstrap_ready_s",
        "replica bootstrap from a snapshot of 100,000 entities: ready",
        "s",
        Target("<=", 5),
    ),
    Figure("bootstrap_peak_rss_mb", "  ... peak RSS (VmHWM)", "MB", Target("<=", 500)),
)

_BATCH = 1000
_READY_TIMEOUT_S = 240.0
_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": "arn:aws:s3:::bench-bootstrap/${aws:username}/*",
            }
        ],
    }
)


def _event(version: int, entity: Account | User, action: str) -> ChangeEvent:
    return ChangeEvent(
        version=version,
        committed_at=time.time(),
        kind=kind_of(entity),
        account=entity.id if isinstance(entity, Account) else entity.account,
        action=action,
        payload=entity,
    )


async def write_users_and_snapshot(redis_url: str, count: int) -> SnapshotInfo:
    """Append an account and ``count`` users to the log, then snapshot the state at its head.

    The account goes through ``RedisChangeLog.append``, the users through ``append_many`` in
    runs of ``_BATCH`` (each run compare-and-appended atomically after the head); the snapshot
    is of ``state_from_entities`` over the same entities, the state folding the log gives.
    """
    client = connect(redis_url)
    log = RedisChangeLog(client)
    try:
        now = datetime.now(UTC)
        account = Account(id=new_account_id(), created_at=now)
        entities: list[Entity] = [account]
        version = await log.append(_event(await log.head() + 1, account, "Bootstrap"))
        committed_at = time.time()
        for start in range(0, count, _BATCH):
            run: list[ChangeEvent] = []
            for index in range(start, min(count, start + _BATCH)):
                user = User(
                    account=account.id,
                    name=f"user-{index:06d}",
                    user_id=new_unique_id("AIDA"),
                    created_at=now,
                    inline_policies={"objects": _POLICY},
                )
                entities.append(user)
                run.append(_event(version + len(run) + 1, user, "CreateUser"))
            version = await log.append_many(run)
            committed_at = run[-1].committed_at
        state = state_from_entities(version, entities)
        del entities
        info = await write_snapshot(client, state, committed_at)
        if (info.version, await log.head()) != (version, version):
            raise RuntimeError(f"snapshot at {info.version}, log head {await log.head()}")
        return info
    finally:
        await log.close()


def _start_replica(work_dir: Path, redis_url: str, run: int) -> tuple[subprocess.Popen[bytes], str]:
    base = free_port_block(2)
    argv = [
        sys.executable,
        "-m",
        "dataplane",
        "--region",
        "us-east-1",
        "--az",
        "us-east-1x",
        "--port",
        str(base),
        "--regional-port",
        str(base + 1),
    ]
    with (work_dir / f"bootstrap-replica-{run}.log").open("ab") as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "IAM_PLANES_REDIS_URL": redis_url, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
            cwd=PROJECT_ROOT,
        )
    return process, f"http://127.0.0.1:{base}"


def _ready(url: str, head: int) -> tuple[bool, str]:
    """Whether the replica is healthy at the snapshot's version; what it said, for diagnostics."""
    try:
        status, health = http_json(f"{url}/health", timeout=2)
        if status != 200:
            return False, f"/health {status} {health}"
        _, state = http_json(f"{url}/state", timeout=2)
    except (OSError, ValueError) as error:
        return False, f"{type(error).__name__}: {error}"
    return int(state["version"]) == head, f"/state version {state['version']} of {head}"


def _log_tail(work_dir: Path, run: int) -> str:
    lines = (work_dir / f"bootstrap-replica-{run}.log").read_text(errors="replace").splitlines()
    return " | ".join(lines[-3:])[-600:]


def _time_bootstrap(
    work_dir: Path, redis_url: str, snapshot: SnapshotInfo, run: int
) -> dict[str, Any]:
    head = snapshot.version
    started = time.monotonic()
    process, url = _start_replica(work_dir, redis_url, run)
    try:
        while True:
            ready, seen = _ready(url, head)
            if ready:
                break
            if process.poll() is not None:
                raise RuntimeError(
                    f"the replica exited with {process.returncode} while starting: "
                    + _log_tail(work_dir, run)
                )
            if time.monotonic() - started > _READY_TIMEOUT_S:
                raise TimeoutError(
                    f"the replica was not ready in {_READY_TIMEOUT_S} s (last: {seen}); "
                    + _log_tail(work_dir, run)
                )
            time.sleep(0.01)
        ready_s = time.monotonic() - started
        _, state = http_json(f"{url}/state", timeout=10)
        if state["digest"] != snapshot.digest:
            raise RuntimeError(f"digest {state['digest']} is not the snapshot's {snapshot.digest}")
        if "snapshot_loaded" not in (work_dir / f"bootstrap-replica-{run}.log").read_text():
            raise RuntimeError("the replica did not bootstrap from the snapshot")
        return {
            "ready_s": ready_s,
            "rss_mb": rss_mb(process.pid),
            "peak_rss_mb": rss_mb(process.pid, "VmHWM"),
            "entities": state.get("entities"),
            "version": state["version"],
        }
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def measure_bootstrap(context: Context) -> list[Figure]:
    """Write the log and its snapshot once on a redis-server of its own, then time fresh
    replicas bootstrapping from it."""
    sizes = context.sizes
    data_dir = context.work_dir / "bootstrap-redis"
    port = free_port_block(1)
    password = new_password()
    redis_process = start_redis_server(write_redis_config(data_dir, port, password))
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    try:
        wait_for_redis(url)
        writing = time.monotonic()
        snapshot = asyncio.run(write_users_and_snapshot(url, sizes.bootstrap_entities))
        written_s = time.monotonic() - writing
        runs = [
            _time_bootstrap(context.work_dir, url, snapshot, run)
            for run in range(sizes.bootstrap_repeats)
        ]
    finally:
        redis_process.kill()
        redis_process.wait()
    details = {
        "method": "snapshot (replication.snapshot.write_snapshot), then the log's tail",
        "users": sizes.bootstrap_entities,
        "entities": sizes.bootstrap_entities + 1,
        "snapshot_version": snapshot.version,
        "snapshot_bytes": snapshot.size,
        "log_and_snapshot_written_in_s": round(written_s, 2),
        "runs": [
            {k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()} for r in runs
        ],
    }
    ready, peak = BOOTSTRAP_FIGURES
    return [
        dataclasses.replace(ready, value=median([r["ready_s"] for r in runs]), details=details),
        dataclasses.replace(peak, value=median([r["peak_rss_mb"] for r in runs])),
    ]
