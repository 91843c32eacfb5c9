"""The demo's story, step by step, against a real cluster with boto3.

1. propagation: a new user, key and policy reach each replica after its region's delay, while
   the control plane already answers GetUser (the read-your-writes trap); beside /authorize,
   the user's real S3 GetObject in each region answers InvalidAccessKeyId, AccessDenied, OK;
2. revocation: after the policy and key are deleted, stale replicas still allow for a while
   (and the real GetObject still succeeds there);
3. static stability: with the control plane killed, IAM writes fail but every region keeps
   authorizing (and STS keeps issuing credentials);
4. recovery: the restarted control plane has lost nothing and propagation resumes;
5. AZ loss: a killed replica's region keeps answering; it rejoins from a snapshot.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config
from rich.console import Console
from rich.table import Table

from deploy.chaos import kill_target, start_target
from deploy.cluster_file import ClusterFile, load_cluster
from deploy.demo.hammer import hammer
from deploy.demo.probes import Flip, Probe, watch_until
from deploy.demo.report import DemoReport, write_report
from deploy.demo.s3_probe import S3_ORDER, S3GetObject, watch_s3_until
from deploy.demo.timeline import Commit
from deploy.launcher import LaunchError, launch, stop_cluster
from deploy.topology import Topology
from replication.delay import PROFILES
from replication.log import RedisChangeLog, connect
from replication.snapshotter import snapshot_now

__all__ = ["DemoOptions", "run_demo"]

_CLIENT_CONFIG = Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10)
BUCKET_OBJECT = "arn:aws:s3:::demo-bucket/report.csv"
ALLOW_READ = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadReports",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::demo-bucket/*",
            }
        ],
    }
)
ORDER = ("InvalidClientTokenId", "ImplicitDeny", "Allow")
DEMO_BUCKET = "demo-bucket"
DEMO_KEY = "report.csv"


@dataclass(frozen=True)
class DemoOptions:
    """How to run the demo."""

    state_dir: Path
    base_port: int = 4700
    fast: bool = False
    keep: bool = False
    steps: tuple[int, ...] = (1, 2, 3, 4, 5)


@dataclass
class _Context:
    cluster: ClusterFile
    started: float
    commits: list[Commit] = field(default_factory=list)
    report: DemoReport = field(default_factory=DemoReport)
    alice_s3: S3GetObject | None = None

    @property
    def replicas(self) -> dict[str, str]:
        return {
            az: record.endpoint
            for region in self.cluster.regions.values()
            for az, record in region.replicas.items()
        }

    def since(self) -> float:
        return time.time() - self.started


class Story:
    """Runs the steps and keeps what they showed."""

    def __init__(self, options: DemoOptions, console: Console) -> None:
        self.options = options
        self.console = console
        self.scale = 0.1 if options.fast else 1.0
        self.ctx: _Context | None = None

    # -- plumbing -----------------------------------------------------------------------

    @property
    def c(self) -> _Context:
        assert self.ctx is not None
        return self.ctx

    def _iam(self, key_id: str | None = None, secret: str | None = None) -> Any:
        root = next(iter(self.c.cluster.accounts.values())).root
        return boto3.client(
            "iam",
            endpoint_url=load_cluster(self.options.state_dir).controlplane.endpoint,
            region_name="us-east-1",
            aws_access_key_id=key_id or root.access_key_id,
            aws_secret_access_key=secret or root.secret_access_key,
            config=_CLIENT_CONFIG,
        )

    def _commit(self, response: dict[str, Any], action: str) -> int:
        version = int(response["ResponseMetadata"]["HTTPHeaders"]["x-iam-planes-version"])
        self.c.commits.append(Commit(version, action, self.c.since()))
        return version

    def _say(self, text: str) -> None:
        self.console.print(f"[bold cyan]»[/] {text}")

    def _watch(self, probe: Probe, until: str, timeout: float) -> dict[str, Flip]:
        def done(answers: dict[str, str]) -> bool:
            if until == "not-Allow":
                return all(a != "Allow" for a in answers.values())
            return all(a == until for a in answers.values())

        return asyncio.run(
            watch_until(self.c.replicas, probe, done, started=self.c.started, timeout=timeout)
        )

    # -- the steps ------------------------------------------------------------------------

    def start(self) -> None:
        """Bring the cluster up with the aws-like profile (scaled down with --fast)."""
        profile = PROFILES["aws-like"].scaled(self.scale)
        topology = Topology.build(base_port=self.options.base_port, profile=profile)
        self._say(
            f"starting the cluster (profile aws-like{', --fast' if self.options.fast else ''})"
        )
        cluster = launch(self.options.state_dir, topology)
        self.ctx = _Context(cluster=cluster, started=time.time())
        s3 = self._root_s3()
        s3.create_bucket(Bucket=DEMO_BUCKET)
        s3.put_object(Bucket=DEMO_BUCKET, Key=DEMO_KEY, Body=b"quarter,revenue\nq3,42\n")

    def _root_s3(self) -> Any:
        root = next(iter(self.c.cluster.accounts.values())).root
        return boto3.client(
            "s3",
            endpoint_url=self.c.cluster.regions["us-east-1"].endpoint,
            region_name="us-east-1",
            aws_access_key_id=root.access_key_id,
            aws_secret_access_key=root.secret_access_key,
            config=_CLIENT_CONFIG,
        )

    @property
    def _regions(self) -> dict[str, str]:
        return {name: region.endpoint for name, region in self.c.cluster.regions.items()}

    def _watch_s3(
        self, call: S3GetObject, done: Callable[[dict[str, str]], bool], timeout: float
    ) -> tuple[threading.Thread, dict[str, Flip]]:
        """Watch the real GetObject in every region on a thread of its own, beside the
        /authorize probes; the flips fill in as it runs."""
        flips: dict[str, Flip] = {}

        def run() -> None:
            flips.update(
                asyncio.run(
                    watch_s3_until(
                        self._regions, call, done, started=self.c.started, timeout=timeout
                    )
                )
            )

        watcher = threading.Thread(target=run, name="s3-probe", daemon=True)
        watcher.start()
        return watcher, flips

    def propagation(self) -> None:
        """Step 1: create a user, a key and a policy; watch every replica flip."""
        self._say("step 1: create user alice, an access key and a policy allowing s3:GetObject")
        iam = self._iam()
        self._commit(iam.create_user(UserName="demo-alice"), "CreateUser")
        got = iam.get_user(UserName="demo-alice")["User"]["Arn"]
        self._say(f"GetUser on the control plane already works: {got}")
        created = iam.create_access_key(UserName="demo-alice")
        self._commit(created, "CreateAccessKey")
        key = created["AccessKey"]
        probe = Probe.of_key(key["AccessKeyId"], "s3:GetObject", BUCKET_OBJECT)
        s3_call = S3GetObject(key["AccessKeyId"], key["SecretAccessKey"], DEMO_BUCKET, DEMO_KEY)
        s3_watcher, s3_flips = self._watch_s3(
            s3_call, lambda answers: all(a == "OK" for a in answers.values()), 90 * self.scale + 20
        )
        # the policy follows once the key has reached a first replica, so the in-between
        # state (a known key without permissions: ImplicitDeny) shows up somewhere
        before = asyncio.run(
            watch_until(
                self.c.replicas,
                probe,
                lambda answers: any(a != "InvalidClientTokenId" for a in answers.values()),
                started=self.c.started,
                timeout=60 * self.scale + 15,
            )
        )
        written_at = self.c.since()
        self._commit(
            iam.put_user_policy(
                UserName="demo-alice", PolicyName="read-reports", PolicyDocument=ALLOW_READ
            ),
            "PutUserPolicy",
        )
        self.c.report.alice_key = key["AccessKeyId"]
        self.c.alice_s3 = s3_call
        after = self._watch(probe, until="Allow", timeout=60 * self.scale + 15)
        flips = {az: before[az].then(after[az]) for az in after}
        s3_watcher.join()
        self.c.report.record_propagation(flips, written_at, ORDER)
        self.c.report.record_s3_propagation(s3_flips, written_at, S3_ORDER)
        self.console.print(_flip_table("step 1 — who allows alice, and since when", flips))
        self.console.print(
            _flip_table("step 1 — alice's real S3 GetObject, region by region", s3_flips)
        )

    def revocation(self) -> None:
        """Step 2: delete the policy and the key; stale replicas keep allowing for a while."""
        self._say("step 2: revoke — delete alice's policy, then her access key")
        iam = self._iam()
        key_id = self.c.report.alice_key
        revoked_at = self.c.since()
        self._commit(
            iam.delete_user_policy(UserName="demo-alice", PolicyName="read-reports"),
            "DeleteUserPolicy",
        )
        self._commit(
            iam.delete_access_key(UserName="demo-alice", AccessKeyId=key_id), "DeleteAccessKey"
        )
        acknowledged_at = self.c.since()
        if self.c.alice_s3 is None:
            raise RuntimeError("step 2 revokes what step 1 created")
        s3_watcher, s3_flips = self._watch_s3(
            self.c.alice_s3,
            lambda answers: all(a != "OK" for a in answers.values()),
            60 * self.scale + 15,
        )
        flips = self._watch(
            Probe.of_key(key_id, "s3:GetObject", BUCKET_OBJECT),
            until="not-Allow",
            timeout=60 * self.scale + 15,
        )
        s3_watcher.join()
        self.c.report.record_revocation(flips, revoked_at, acknowledged_at)
        self.c.report.record_s3_revocation(s3_flips, acknowledged_at)
        self.console.print(
            _flip_table("step 2 — stale replicas still allow after the revoke", flips)
        )
        self.console.print(
            _flip_table("step 2 — alice's real S3 GetObject after the revoke", s3_flips)
        )

    def outage(self) -> None:
        """Step 3: kill -9 the control plane; writes fail, authorizations never do."""
        iam = self._iam()
        self._say("step 3: create bob (a key and a policy), wait until every region allows him")
        self._commit(iam.create_user(UserName="demo-bob"), "CreateUser")
        created = iam.create_access_key(UserName="demo-bob")
        self._commit(created, "CreateAccessKey")
        key = created["AccessKey"]
        self._commit(
            iam.put_user_policy(UserName="demo-bob", PolicyName="read", PolicyDocument=ALLOW_READ),
            "PutUserPolicy",
        )
        probe = Probe.of_key(key["AccessKeyId"], "s3:GetObject", BUCKET_OBJECT)
        self._watch(probe, until="Allow", timeout=60 * self.scale + 15)
        self.c.report.bob = (key["AccessKeyId"], key["SecretAccessKey"])
        self._say("kill -9 the control plane")
        kill_target(self.options.state_dir, "controlplane")
        try:
            iam.create_user(UserName="demo-during-outage")
            write_error = "the write succeeded"
        except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ClientError) as e:
            write_error = type(e).__name__
        seconds = 10 * self.scale if self.options.fast else 10.0
        seconds = max(seconds, 3.0)
        result = asyncio.run(hammer(self.c.replicas, probe.query, seconds))
        sts = self._sts_during_outage(key["AccessKeyId"], key["SecretAccessKey"])
        self.c.report.record_outage(write_error, result, seconds, sts)
        self._say(
            f"IAM write during the outage: {write_error}; {result.answered} authorizations in "
            f"{seconds:.0f} s across 9 replicas, {len(result.failures)} failures; STS: {sts}"
        )

    def _sts_during_outage(self, key_id: str, secret: str) -> str:
        """In every region, STS issues bob a session (GetSessionToken) whose credentials the
        same region then recognises (GetCallerIdentity), with the control plane dead."""
        issued = 0
        for name, region in self.c.cluster.regions.items():
            try:
                token = self._sts(region.endpoint, name, key_id, secret).get_session_token(
                    DurationSeconds=900
                )["Credentials"]
                session = self._sts(
                    region.endpoint,
                    name,
                    token["AccessKeyId"],
                    token["SecretAccessKey"],
                    token["SessionToken"],
                )
                session.get_caller_identity()
            except botocore.exceptions.ClientError as error:
                return f"refused: {error.response['Error']['Code']}"
            except botocore.exceptions.BotoCoreError as error:
                return f"failed: {type(error).__name__}"
            issued += 1
        return f"issued and honoured session credentials in {issued} regions"

    @staticmethod
    def _sts(endpoint: str, region: str, key: str, secret: str, token: str | None = None) -> Any:
        return boto3.client(
            "sts",
            endpoint_url=endpoint,
            region_name=region,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=token,
            config=_CLIENT_CONFIG,
        )

    def recovery(self) -> None:
        """Step 4: restart the control plane: nothing was lost, propagation resumes."""
        self._say("step 4: restart the control plane")
        start_target(self.options.state_dir, "controlplane")
        iam = self._iam()
        names = {u["UserName"] for u in iam.list_users(MaxItems=1000)["Users"]}
        lost = [n for n in ("demo-alice", "demo-bob") if n not in names]
        version = self._commit(iam.create_user(UserName="demo-carol"), "CreateUser")
        converged = asyncio.run(self._converged(version, 60 * self.scale + 15))
        self.c.report.record_recovery(lost, version, converged)
        self._say(f"users lost: {lost or 'none'}; demo-carol reached every replica: {converged}")

    async def _converged(self, version: int, timeout: float) -> bool:
        from deploy.status import fetch_json

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = [fetch_json(f"{url}/state") for url in self.c.replicas.values()]
            if all(s and s["version"] >= version for s in states):
                return True
            await asyncio.sleep(0.05)
        return False

    def az_loss(self) -> None:
        """Step 5: kill one AZ; its region answers; it rejoins from a snapshot."""
        az = "eu-west-1b"
        self._say(f"step 5: kill -9 {az}; the region's endpoint keeps answering")
        kill_target(self.options.state_dir, az)
        key_id, _ = self.c.report.bob
        query = Probe.of_key(key_id, "s3:GetObject", BUCKET_OBJECT).query
        region = {"eu-west-1": self.c.cluster.regions["eu-west-1"].endpoint}
        result = asyncio.run(hammer(region, query, 2.0, retry=True))
        snapshot = asyncio.run(self._snapshot())
        iam = self._iam()
        version = self._commit(iam.create_user(UserName="demo-dave"), "CreateUser")
        start_target(self.options.state_dir, az)
        converged = asyncio.run(self._converged(version, 60 * self.scale + 15))
        from deploy.status import fetch_json

        states = {a: fetch_json(f"{url}/state") for a, url in self.c.replicas.items()}
        digests = {s["digest"] for s in states.values() if s}
        self.c.report.record_az_loss(az, result, snapshot, converged, len(digests) == 1)
        self._say(
            f"region answered {result.answered} times with {len(result.failures)} failures; "
            f"snapshot at v{snapshot}; {az} rejoined and converged: {converged}; "
            f"digests equal: {len(digests) == 1}"
        )

    async def _snapshot(self) -> int:
        log = RedisChangeLog(connect(self.c.cluster.redis.url))
        try:
            return (await snapshot_now(log, time.time)).version
        finally:
            await log.close()

    def finish(self) -> Path:
        """Summarise, write the report and the timeline, and stop the cluster unless kept."""
        from deploy.status import fetch_json

        arrivals: dict[str, list[dict[str, Any]]] = {}
        for az, url in self.c.replicas.items():
            body = fetch_json(f"{url}/applied?since=2")
            arrivals[az] = body["applied"] if body else []
        path = write_report(
            self.options.state_dir, self.c.report, self.c.commits, arrivals, self.c.started
        )
        self.console.print(self.c.report.summary_table())
        self.console.print(f"report: {path} (and timeline.svg beside it)")
        if not self.options.keep:
            stop_cluster(load_cluster(self.options.state_dir))
        return path


def _flip_table(title: str, flips: dict[str, Flip]) -> Table:
    table = Table(title=title)
    table.add_column("replica")
    table.add_column("answers over time (s since the story began)")
    for az, flip in flips.items():
        table.add_row(az, "  →  ".join(f"{answer} @{at:.2f}" for at, answer in flip.changes))
    return table


def run_demo(options: DemoOptions, console: Console | None = None) -> int:
    """Run the demo; 0 when every step showed what it should."""
    console = console or Console()
    story = Story(options, console)
    steps = {
        1: story.propagation,
        2: story.revocation,
        3: story.outage,
        4: story.recovery,
        5: story.az_loss,
    }
    try:
        story.start()
    except LaunchError as error:
        console.print(f"[red]the cluster did not come up:[/] {error}")
        return 1
    try:
        for number in sorted(set(options.steps) | _prerequisites(options.steps)):
            steps[number]()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError, OSError) as error:
        # the report says which steps ran; the user gets the reason, not a traceback
        console.print(f"[red]the demo stopped:[/] {type(error).__name__}: {error}")
    finally:
        story.finish()
    return 0 if story.c.report.all_passed(options.steps) else 1


def _prerequisites(steps: tuple[int, ...]) -> set[int]:
    """Steps an asked-for step builds on (revocation needs alice; later steps need bob)."""
    needed: set[int] = set()
    if 2 in steps:
        needed.add(1)
    if {4, 5} & set(steps):
        needed.add(3)
    return needed
