"""What the pytest plugin hands a test, usable without pytest too: a cluster (started or
attached), a fresh account per test, waiting on the consistency token, ``eventually``, chaos
as context managers, and what stale answers a test's code met.

An account per test keeps tests apart without restarting anything: each test's users, roles
and policies live in an account nobody else uses, and the replicas' stale answers are kept by
account, so they can be told apart per test too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import boto3
from botocore.config import Config

from deploy.accounts import create_account
from deploy.applied import wait_until_applied
from deploy.chaos import kill_target, partition_target, start_target
from deploy.cluster_file import ClusterFile, load_cluster
from deploy.environment import Credentials, applied_to, environment
from deploy.launcher import LaunchError, launch, stop_cluster
from deploy.ports import free_port_block
from deploy.status import http_json
from deploy.topology import DEFAULT_REGIONS, Topology
from replication.delay import DelaySpec, RegionDelays, load_profile, parse_delay_option

__all__ = [
    "ClusterSession",
    "TestAccount",
    "delay_spec",
    "eventually",
    "replica_delays",
    "summarize",
]

T = TypeVar("T")
_NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=30)


def eventually(
    check: Callable[[], T],
    within: float = 30.0,
    interval: float = 0.1,
    exceptions: tuple[type[BaseException], ...] = (Exception,),
) -> T:
    """Call ``check`` until it returns without raising one of ``exceptions``; its result.

    After ``within`` seconds the last failure is raised as it was: the test then fails with the
    real error (an AccessDenied, an assertion), not a timeout that hides it.
    """
    deadline = time.monotonic() + within
    while True:
        try:
            return check()
        except exceptions:
            if time.monotonic() >= deadline:
                raise
        time.sleep(interval)


def delay_spec(value: str | int | DelaySpec) -> DelaySpec:
    """A delay from ``1500`` (fixed ms), ``"1000+-500"`` (uniform) or ``"800~5000"``
    (log-normal: median~p99), or a DelaySpec as it is."""
    if isinstance(value, DelaySpec):
        return value
    return parse_delay_option(f"any={value}")[1]


@dataclass
class ClusterSession:
    """A cluster for a test session: attached to a running one, or started (and stopped)."""

    state_dir: Path
    started: bool
    #: the seed every replica draws its delays from (None: a cluster from before seeds)
    seed: int | None

    @classmethod
    def attach(cls, state_dir: Path) -> ClusterSession:
        """Use the cluster ``iam-planes up`` runs in ``state_dir``."""
        cluster = load_cluster(state_dir)  # FileNotFoundError when nothing is up there
        return cls(state_dir, started=False, seed=cluster.delay_seed)

    @classmethod
    def start(
        cls,
        profile: str = "instant",
        delays: Iterable[str] = (),
        regions: tuple[str, ...] = DEFAULT_REGIONS,
        seed: int | None = None,
    ) -> ClusterSession:
        """Start a cluster of its own in a temporary state dir, on free ports."""
        state_dir = Path(tempfile.mkdtemp(prefix="iam-planes-pytest-"))
        chosen = dict(parse_delay_option(d) for d in delays)
        for _attempt in range(3):  # another process may take a port between check and start
            topology = Topology.build(
                regions, free_port_block(50), chosen, load_profile(profile), delay_seed=seed
            )
            try:
                launch(state_dir, topology)
            except LaunchError:
                continue
            return cls(state_dir, started=True, seed=topology.delay_seed)
        shutil.rmtree(state_dir, ignore_errors=True)
        raise LaunchError("the cluster did not start (three attempts)")

    @property
    def cluster(self) -> ClusterFile:
        """The cluster file as it is now (pids change under chaos)."""
        return load_cluster(self.state_dir)

    def new_account(self, timeout: float = 120) -> Credentials:
        """A fresh account and its root key, applied by every replica of every region."""
        cluster = self.cluster
        account, key, secret, version = asyncio.run(create_account(cluster.redis.url))
        wait_until_applied(cluster, version, timeout=timeout)
        return Credentials(account, key, secret)

    def stop(self) -> None:
        """Stop what ``start`` started (an attached cluster is left running)."""
        if self.started:
            with contextlib.suppress(FileNotFoundError):
                stop_cluster(self.cluster)
            shutil.rmtree(self.state_dir, ignore_errors=True)


@dataclass
class TestAccount:
    """One test's account on the session's cluster, and what the test can do with it."""

    __test__ = False  # not a test class, whatever pytest thinks of its name

    session: ClusterSession
    root: Credentials
    region: str = "us-east-1"
    started_at: float = field(default_factory=time.time)

    @property
    def account(self) -> str:
        """The account's id."""
        return self.root.account

    @property
    def cluster(self) -> ClusterFile:
        """The cluster file as it is now."""
        return self.session.cluster

    def env(
        self, region: str | None = None, credentials: Credentials | None = None
    ) -> dict[str, str]:
        """The variables that point SDKs at ``region`` as the root (or ``credentials``)."""
        return environment(self.cluster, region or self.region, credentials or self.root)

    def environ(self, current: Mapping[str, str], region: str | None = None) -> dict[str, str]:
        """``current`` (os.environ) pointed at the emulator as this account."""
        return applied_to(current, self.env(region))

    def client(
        self, service: str, region: str | None = None, credentials: Credentials | None = None
    ) -> Any:
        """A boto3 client (no retries) on the emulator as the account's root or ``credentials``."""
        variables = self.env(region, credentials)
        endpoint = variables.get(
            f"AWS_ENDPOINT_URL_{service.upper()}", variables["AWS_ENDPOINT_URL"]
        )
        key = credentials or self.root
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=variables["AWS_REGION"] if service != "iam" else "us-east-1",
            aws_access_key_id=key.access_key_id,
            aws_secret_access_key=key.secret_access_key,
            aws_session_token=key.session_token,
            config=_NO_RETRIES,
        )

    def wait_until_applied(
        self,
        response_or_version: Mapping[str, Any] | int | str,
        regions: Iterable[str] | None = None,
        timeout: float = 120,
    ) -> int:
        """Block until every live replica of ``regions`` (default: all) has applied the
        change a control-plane response (its ``x-iam-planes-version``) or version names."""
        return wait_until_applied(self.cluster, response_or_version, regions, timeout)

    @staticmethod
    def eventually(
        check: Callable[[], T],
        within: float = 30.0,
        interval: float = 0.1,
        exceptions: tuple[type[BaseException], ...] = (Exception,),
    ) -> T:
        """See :func:`eventually`."""
        return eventually(check, within, interval, exceptions)

    @contextlib.contextmanager
    def control_plane_down(self) -> Iterator[None]:
        """The control plane is killed (SIGKILL) for the block, then started again."""
        kill_target(self.session.state_dir, "controlplane")
        try:
            yield
        finally:
            start_target(self.session.state_dir, "controlplane")

    @contextlib.contextmanager
    def partitioned(self, region: str) -> Iterator[None]:
        """The region's replicas read nothing from the log for the block, then catch up."""
        if region not in self.cluster.regions:
            raise ValueError(f"no region {region!r}")
        partition_target(self.session.state_dir, region, True)
        try:
            yield
        finally:
            partition_target(self.session.state_dir, region, False)

    @contextlib.contextmanager
    def delays(
        self,
        every: str | int | DelaySpec | None = None,
        **by_region: str | int | DelaySpec,
    ) -> Iterator[None]:
        """Changes committed in the block reach replicas after these delays: ``every`` for all
        regions, or per region (``eu_west_1="800~5000"``). The old delays come back after."""
        regions = self.cluster.regions
        chosen: dict[str, DelaySpec] = {}
        if every is not None:
            chosen = dict.fromkeys(regions, delay_spec(every))
        for name, value in by_region.items():
            region = name.replace("_", "-")
            if region not in regions:
                raise ValueError(f"no region {region!r}")
            chosen[region] = delay_spec(value)
        with replica_delays(self.cluster, chosen):
            yield

    def stale_answers(self) -> list[dict[str, Any]]:
        """Every stale answer a replica gave this account since the test began."""
        rows: list[dict[str, Any]] = []
        for region in self.cluster.regions.values():
            for record in region.replicas.values():
                url = f"{record.endpoint}/stale?account={self.account}&since={self.started_at}"
                with contextlib.suppress(urllib.error.URLError, OSError, ValueError):
                    status, body = http_json(url, timeout=2)
                    if status == 200:
                        rows += [
                            {**row, "region": body["region"], "az": body["az"]}
                            for row in body["stale"]
                        ]
        return sorted(rows, key=lambda row: row["at"])


@contextlib.contextmanager
def replica_delays(cluster: ClusterFile, chosen: Mapping[str, DelaySpec]) -> Iterator[None]:
    """Within the block, each chosen region's replicas apply changes after its delay (set at
    run time through ``/admin/delays``); every replica's old delays come back after."""
    previous: dict[str, Any] = {}
    try:
        for region, spec in chosen.items():
            for record in cluster.regions[region].replicas.values():
                previous[record.endpoint] = _set_delays(
                    record.endpoint, RegionDelays(default=spec).model_dump()
                )
        yield
    finally:
        for endpoint, delays in previous.items():
            with contextlib.suppress(urllib.error.URLError, OSError):
                _set_delays(endpoint, delays)


def _set_delays(endpoint: str, delays: Mapping[str, Any]) -> Any:
    """Give one replica new propagation delays (``RegionDelays`` as JSON); return its old."""
    request = urllib.request.Request(
        f"{endpoint}/admin/delays", data=json.dumps(delays).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())["previous"]


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One test's stale answers in a few figures: how many denials were only stale, how many
    Allows were (a revocation not yet seen), and how long the code met them (first to last)."""
    denials = [r for r in rows if r["outcome"] != "Allow" and r["outcome"] != "Success"]
    allows = [r for r in rows if r["outcome"] in ("Allow", "Success")]
    waited = round(denials[-1]["at"] - denials[0]["at"], 3) if denials else 0.0
    return {
        "transient_denials": len(denials),
        "stale_allows": len(allows),
        "waited_through_denials_s": waited,
        "denied": sorted({f"{r['action']}: {r['outcome']}" for r in denials}),
    }
