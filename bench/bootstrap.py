"""Replica bootstrap with a large state: by replaying a log of N users (snapshots: issue 6).

A redis-server of its own (same binary and config as the cluster's) gets an account and N
``user.put`` events, each user with an inline policy. Then a fresh replica process starts on
it; the figure is the time from process start until ``/health`` answers 200 and ``/state``
reports the log's head version, and the replica's resident memory then (VmRSS) and at its peak
(VmHWM). The log is written once; the replica is started ``bootstrap_repeats`` times.
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

from bench.cluster import PROJECT_ROOT, free_port_block, http_json
from bench.figures import Figure, Target, median
from bench.harness import Context
from bench.idle import rss_mb
from deploy.redis_server import (
    new_password,
    start_redis_server,
    wait_for_redis,
    write_redis_config,
)
from replication.entities import Account, User
from replication.events import ChangeEvent, encode_event
from replication.ids import new_account_id, new_unique_id
from replication.log import HEAD_KEY, STREAM_KEY, RedisChangeLog, connect

__all__ = ["BOOTSTRAP_FIGURES", "measure_bootstrap", "write_users"]

BOOTSTRAP_FIGURES = (
    Figure(
        "bootstrap_ready_s",
        "replica bootstrap by log replay (snapshots: issue 6): ready",
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


async def write_users(redis_url: str, count: int) -> int:
    """Append an account and ``count`` users to the log; return the head version.

    The account goes through ``RedisChangeLog.append`` (compare-and-append); the users are
    appended in pipelined batches of the same stream entries, at consecutive versions.
    """
    client = connect(redis_url)
    log = RedisChangeLog(client)
    try:
        now = datetime.now(UTC)
        account = Account(id=new_account_id(), created_at=now)
        head = await log.head()
        version = await log.append(
            ChangeEvent(
                version=head + 1,
                committed_at=time.time(),
                kind="account.put",
                account=account.id,
                action="Bootstrap",
                payload=account.model_dump(mode="json"),
            )
        )
        for start in range(0, count, _BATCH):
            pipeline = client.pipeline(transaction=False)
            for index in range(start, min(count, start + _BATCH)):
                user = User(
                    account=account.id,
                    name=f"user-{index:06d}",
                    user_id=new_unique_id("AIDA"),
                    created_at=now,
                    inline_policies={"objects": _POLICY},
                )
                version += 1
                event = ChangeEvent(
                    version=version,
                    committed_at=time.time(),
                    kind="user.put",
                    account=account.id,
                    action="CreateUser",
                    payload=user.model_dump(mode="json"),
                )
                pipeline.xadd(STREAM_KEY, {"e": encode_event(event)}, id=f"{version}-0")
            pipeline.set(HEAD_KEY, version)
            await pipeline.execute()
        stored = await log.head()
        if stored != version:
            raise RuntimeError(f"log head is {stored} after writing up to {version}")
        last = await log.read_after(version - 1, 1)
        if [e.version for e in last] != [version]:
            raise RuntimeError("the last written event does not read back")
        return version
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
    """Whether the replica is healthy at the head version; what it said, for diagnostics."""
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


def _time_bootstrap(work_dir: Path, redis_url: str, head: int, run: int) -> dict[str, Any]:
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
        _, state = http_json(f"{url}/state")
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
    """Write the log once on a redis-server of its own, then time fresh replicas on it."""
    sizes = context.sizes
    data_dir = context.work_dir / "bootstrap-redis"
    port = free_port_block(1)
    password = new_password()
    redis_process = start_redis_server(write_redis_config(data_dir, port, password))
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    try:
        wait_for_redis(url)
        writing = time.monotonic()
        head = asyncio.run(write_users(url, sizes.bootstrap_entities))
        written_s = time.monotonic() - writing
        runs = [
            _time_bootstrap(context.work_dir, url, head, run)
            for run in range(sizes.bootstrap_repeats)
        ]
    finally:
        redis_process.kill()
        redis_process.wait()
    details = {
        "method": "log replay from Redis (no snapshot yet: issue 6)",
        "users": sizes.bootstrap_entities,
        "log_version": head,
        "log_written_in_s": round(written_s, 2),
        "runs": [
            {k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()} for r in runs
        ],
    }
    ready, peak = BOOTSTRAP_FIGURES
    return [
        dataclasses.replace(ready, value=median([r["ready_s"] for r in runs]), details=details),
        dataclasses.replace(peak, value=median([r["peak_rss_mb"] for r in runs])),
    ]
