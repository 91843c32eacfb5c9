"""The anchor: the same boto3 calls against iam-planes and against a moto server, in one run.

moto keeps its state in a dict, authorizes nothing and forgets everything when it stops;
iam-planes authenticates and authorizes every call on the us-east-1 data plane and
acknowledges a write only once it is fsynced in the log. Users compare them by how their
test suites feel, so each call is measured on both, sequentially, from one warm boto3 client
each: CreateUser, PutUserPolicy, CreateAccessKey, AttachRolePolicy, GetUser, ListUsers
(a path holding 100 users) and GetCallerIdentity. The targets alternate (which goes first
swaps every repeat) so a noisy neighbour slows both alike. The figure is moto's p50 over
iam-planes' p50 (median over the repeats): above 1 iam-planes is the faster.

Then writes per second from 8 concurrent clients (threads, each with its own boto3 client,
CreateUser with fresh names), on both.

The write calls and the concurrent writes are measured a third time, in the same rounds, on a
cluster started with ``--durability write`` (Redis ``appendfsync no``: an acknowledged write is
written to the AOF, so it survives kill -9 of any process, but not fsynced, so not an OS crash).
Its ratios are reported beside the default's, never instead of them: the targets are the
default's.

The moto server is a subprocess on loopback (``python -m moto.server``), stopped at the end.
It closes the connection after every answer (werkzeug's server does not keep connections
alive), so its clients close their sockets with an immediate reset: otherwise each call would
leave a port in TIME_WAIT, thousands per run, and other processes on the machine would find
no free block of ports for a minute.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import boto3
from botocore.config import Config
from rich.table import Table

from bench.cluster import BenchCluster
from bench.figures import Figure, Target, median, percentile
from bench.harness import Context

__all__ = ["ANCHOR_CALLS", "ANCHOR_FIGURES", "anchor_table", "measure_anchor"]

#: every call measured on both, in the order they run
ANCHOR_CALLS = (
    "CreateUser",
    "PutUserPolicy",
    "CreateAccessKey",
    "AttachRolePolicy",
    "GetUser",
    "ListUsers",
    "GetCallerIdentity",
)
#: the calls measured on the ``--durability write`` cluster too
WRITE_CALLS = ("CreateUser", "PutUserPolicy", "CreateAccessKey", "AttachRolePolicy")
WRITTEN = "iam-planes --durability write"
SPEEDUP_TARGET = 1.2
CONCURRENT_CLIENTS = 8
LISTED_USERS = 100
_LIST_PATH = "/anchor-listed/"
_REGION = "us-east-1"
_MOTO_KEY = "AKIAANCHORANCHOR0001"
# SO_LINGER on, 0 s: close() resets the connection, leaving no TIME_WAIT behind
_LINGER_ZERO = (socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
_CONFIG = Config(
    retries={"max_attempts": 1, "mode": "standard"},
    connect_timeout=2,
    read_timeout=30,
    max_pool_connections=4,
)
_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
)
_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:*"}
        ],
    }
)


def _snake(call: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in call).lstrip("_")


ANCHOR_FIGURES = (
    *(
        Figure(
            f"anchor_{_snake(call)}_speedup",
            f"{call}: moto server p50 / iam-planes p50 (same run; > 1: iam-planes faster)",
            "x",
            Target(">=", SPEEDUP_TARGET),
        )
        for call in ANCHOR_CALLS
    ),
    Figure(
        "anchor_concurrent_writes_per_s",
        f"writes from {CONCURRENT_CLIENTS} concurrent boto3 clients (CreateUser/DeleteUser),"
        " iam-planes",
        "writes/s",
        None,
    ),
    Figure(
        "anchor_concurrent_writes_moto_per_s",
        f"  ... the same {CONCURRENT_CLIENTS} clients on the moto server",
        "writes/s",
        None,
    ),
    *(
        Figure(
            f"anchor_{_snake(call)}_durability_write_speedup",
            f"{call}, --durability write: moto server p50 / iam-planes p50 (same run)",
            "x",
            None,
        )
        for call in WRITE_CALLS
    ),
    Figure(
        "anchor_concurrent_writes_durability_write_per_s",
        f"  ... the same {CONCURRENT_CLIENTS} clients on iam-planes --durability write",
        "writes/s",
        None,
    ),
)


@dataclass
class _Endpoint:
    """One side of the comparison: how to make its IAM and STS clients."""

    name: str
    make_iam: Callable[[], Any]
    make_sts: Callable[[], Any]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def moto_server(timeout: float = 30) -> Iterator[str]:
    """A moto server on a free loopback port for the block; its endpoint URL."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the moto server did not start (exit {process.poll()})")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _client(
    service: str, endpoint: str, key: str, secret: str, *, reset_on_close: bool = False
) -> Any:
    client = boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=_REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=_CONFIG,
    )
    if reset_on_close:  # botocore has no public socket options: its session's own list
        client._endpoint.http_session._socket_options.append(_LINGER_ZERO)
    return client


def _planes(name: str, cluster: BenchCluster) -> _Endpoint:
    root = cluster.file.accounts[cluster.account].root
    key, secret = root.access_key_id, root.secret_access_key
    return _Endpoint(
        name,
        lambda: _client("iam", cluster.file.controlplane.endpoint, key, secret),
        lambda: _client("sts", cluster.file.regions[_REGION].endpoint, key, secret),
    )


def _endpoints(context: Context, moto_url: str) -> tuple[_Endpoint, _Endpoint, _Endpoint]:
    moto = _Endpoint(
        "moto",
        lambda: _client("iam", moto_url, _MOTO_KEY, "anchor-secret", reset_on_close=True),
        lambda: _client("sts", moto_url, _MOTO_KEY, "anchor-secret", reset_on_close=True),
    )
    return (
        _planes("iam-planes", context.cluster),
        moto,
        _planes(WRITTEN, context.written_cluster),
    )


def _timed(calls: list[Callable[[], Any]]) -> list[float]:
    latencies = []
    for call in calls:
        start = time.perf_counter()
        call()
        latencies.append((time.perf_counter() - start) * 1000)
    return latencies


class _Side:
    """One endpoint's clients and the setup its calls need (untimed)."""

    def __init__(self, endpoint: _Endpoint) -> None:
        self.endpoint = endpoint
        self.iam = endpoint.make_iam()
        self.sts = endpoint.make_sts()
        created = self.iam.create_policy(PolicyName="anchor-attached", PolicyDocument=_POLICY)
        self.policy_arn = created["Policy"]["Arn"]
        for index in range(LISTED_USERS):
            self.iam.create_user(UserName=f"anchor-listed-{index}", Path=_LIST_PATH)
        for index in range(5):  # warm the connection and both servers' code paths
            self.iam.get_user(UserName=f"anchor-listed-{index}")
            self.sts.get_caller_identity()

    def calls(self, call: str, names: list[str]) -> list[Callable[[], Any]]:
        """The ``len(names)`` calls of ``call`` one repeat makes (setup done here)."""
        iam = self.iam
        if call == "CreateUser":
            return [partial(iam.create_user, UserName=n) for n in names]
        if call == "PutUserPolicy":
            put = partial(iam.put_user_policy, PolicyName="p", PolicyDocument=_POLICY)
            return [partial(put, UserName=n) for n in names]
        if call == "CreateAccessKey":
            return [partial(iam.create_access_key, UserName=n) for n in names]
        if call == "AttachRolePolicy":
            for name in names:
                iam.create_role(RoleName=name, AssumeRolePolicyDocument=_TRUST)
            attach = partial(iam.attach_role_policy, PolicyArn=self.policy_arn)
            return [partial(attach, RoleName=n) for n in names]
        if call == "GetUser":
            return [partial(iam.get_user, UserName=n) for n in names]
        if call == "ListUsers":
            return [partial(iam.list_users, PathPrefix=_LIST_PATH) for _ in names]
        if call == "GetCallerIdentity":
            return [self.sts.get_caller_identity for _ in names]
        raise ValueError(f"no such anchor call: {call}")


def _stats(latencies: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(latencies, 0.5), 3),
        "p99_ms": round(percentile(latencies, 0.99), 3),
    }


def concurrent_writes(make_iam: Callable[[], Any], prefix: str, seconds: float) -> float:
    """Writes per second from ``CONCURRENT_CLIENTS`` threads, each with its own client, counted
    over ``seconds`` after a warm-up second. Each thread creates a user and deletes it, again
    and again (both calls are writes), so the account never nears its user quota; any failed
    call fails the measurement."""
    clients = [make_iam() for _ in range(CONCURRENT_CLIENTS)]
    done = [0] * CONCURRENT_CLIENTS
    failures: list[str] = []
    stop = threading.Event()

    def write(index: int) -> None:
        client = clients[index]
        while not stop.is_set():
            name = f"{prefix}-{index}-{done[index]}"
            try:
                client.create_user(UserName=name)
                done[index] += 1
                client.delete_user(UserName=name)
                done[index] += 1
            except Exception as error:  # reported, never hidden in a rate
                failures.append(f"{type(error).__name__}: {error}")
                return

    threads = [threading.Thread(target=write, args=(i,)) for i in range(CONCURRENT_CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        before, started = sum(done), time.perf_counter()
        time.sleep(seconds)
        after, elapsed = sum(done), time.perf_counter() - started
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    if failures:
        raise RuntimeError(f"{len(failures)} concurrent writes failed, first: {failures[0]}")
    return (after - before) / elapsed


def measure_anchor(context: Context) -> list[Figure]:
    """Every anchor call on both endpoints, alternating, then the concurrent writes."""
    count = context.sizes.sequential_writes
    with moto_server() as moto_url:
        sides = [_Side(endpoint) for endpoint in _endpoints(context, moto_url)]
        runs: dict[str, dict[str, list[dict[str, float]]]] = {
            call: {side.endpoint.name: [] for side in sides} for call in ANCHOR_CALLS
        }
        for repeat in range(context.sizes.repeats):
            names = [f"anchor-{repeat}-{index}" for index in range(count)]
            order = sides if repeat % 2 == 0 else sides[::-1]
            for call in ANCHOR_CALLS:
                for side in order:
                    if side.endpoint.name == WRITTEN and call not in WRITE_CALLS:
                        continue
                    latencies = _timed(side.calls(call, names))
                    runs[call][side.endpoint.name].append(_stats(latencies))
        rates: dict[str, list[float]] = {side.endpoint.name: [] for side in sides}
        for repeat in range(context.sizes.repeats):
            order = sides if repeat % 2 == 0 else sides[::-1]
            for side in order:
                rates[side.endpoint.name].append(
                    concurrent_writes(
                        side.endpoint.make_iam,
                        f"anchor-concurrent-{repeat}",
                        context.sizes.concurrent_writes_s,
                    )
                )
    figures = [
        _speedup(template, call, runs[call], "iam-planes")
        for template, call in zip(ANCHOR_FIGURES, ANCHOR_CALLS, strict=False)
    ]
    planes_rate, moto_rate = ANCHOR_FIGURES[len(ANCHOR_CALLS) : len(ANCHOR_CALLS) + 2]
    figures.append(
        dataclasses.replace(
            planes_rate,
            value=round(median(rates["iam-planes"])),
            details={"runs": [round(r) for r in rates["iam-planes"]]},
        )
    )
    figures.append(
        dataclasses.replace(
            moto_rate,
            value=round(median(rates["moto"])),
            details={"runs": [round(r) for r in rates["moto"]]},
        )
    )
    written = ANCHOR_FIGURES[len(ANCHOR_CALLS) + 2 :]
    figures += [
        _speedup(template, call, runs[call], WRITTEN)
        for template, call in zip(written, WRITE_CALLS, strict=False)
    ]
    figures.append(
        dataclasses.replace(
            written[-1],
            value=round(median(rates[WRITTEN])),
            details={"runs": [round(r) for r in rates[WRITTEN]]},
        )
    )
    return figures


def _speedup(
    template: Figure, call: str, runs: dict[str, list[dict[str, float]]], ours: str
) -> Figure:
    """moto's p50 over ``ours``' p50 (medians over the repeats), with both sides' figures."""
    summary = {
        name: {
            "p50_ms": median([r["p50_ms"] for r in side_runs]),
            "p99_ms": median([r["p99_ms"] for r in side_runs]),
        }
        for name, side_runs in runs.items()
        if name in (ours, "moto")
    }
    speedup = summary["moto"]["p50_ms"] / summary[ours]["p50_ms"]
    label = call if ours == "iam-planes" else f"{call} ({WRITTEN.removeprefix('iam-planes ')})"
    return dataclasses.replace(
        template,
        value=round(speedup, 2),
        details={
            "call": label,
            "iam-planes": summary[ours],
            "moto": summary["moto"],
            "runs": {"iam-planes": runs[ours], "moto": runs["moto"]},
        },
    )


def anchor_table(figures: list[Figure]) -> Table | None:
    """The side-by-side table (p50, p99 on both, the ratio), or None if the anchor did not run."""
    rows = [f for f in figures if f.key.startswith("anchor_") and "call" in f.details]
    if not rows:
        return None
    table = Table(
        title="iam-planes vs a moto server, same boto3 calls, same run", title_justify="left"
    )
    for column in ("call", "iam-planes p50", "iam-planes p99", "moto p50", "moto p99"):
        table.add_column(column, justify="left" if column == "call" else "right")
    table.add_column(f"moto p50 / ours (target >= {SPEEDUP_TARGET})", justify="right")
    for figure in rows:
        ours, theirs = figure.details["iam-planes"], figure.details["moto"]
        table.add_row(
            figure.details["call"],
            f"{ours['p50_ms']:.2f} ms",
            f"{ours['p99_ms']:.2f} ms",
            f"{theirs['p50_ms']:.2f} ms",
            f"{theirs['p99_ms']:.2f} ms",
            f"{figure.value:.2f}x",
        )
    return table
