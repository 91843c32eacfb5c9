"""``iam-planes up``: start Redis, the control plane and every replica, and keep them up.

Each plane is its own OS process in a session of its own; the launcher records pids, argv and
endpoints in ``cluster.json`` so that ``status``, ``down`` and ``chaos`` work from any shell.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import sys
import time
from pathlib import Path

import redis

from deploy.accounts import ensure_account
from deploy.aws_profile import write_aws_profile
from deploy.cluster_file import (
    AccountCredentials,
    ClusterFile,
    ProcessRecord,
    RedisRecord,
    RegionRecord,
    RootKey,
    save_cluster,
)
from deploy.processes import spawn, stop_process, wait_healthy
from deploy.redis_server import (
    new_password,
    redis_server_binary,
    start_redis_server,
    wait_for_redis,
    wait_for_replication,
    write_redis_config,
)
from deploy.status import fetch_json
from deploy.topology import CONTROL_PLANE_REGION, Topology
from replication.log import HEAD_KEY

__all__ = ["LaunchError", "launch", "plane_env", "start_process", "stop_cluster"]


class LaunchError(RuntimeError):
    """The cluster could not be brought up."""


TOKEN_KEYS_FILE = "sts-token-keys"


def _token_keys(state_dir: Path) -> str:
    """The STS session-token keys of this state dir: made once, kept (0600) across restarts.

    Every replica of every region gets the same keys, so any of them opens any token.
    """
    path = state_dir / TOKEN_KEYS_FILE
    if not path.exists():
        key = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
        path.touch(mode=0o600)
        path.write_text(f"k{secrets.token_hex(4)}:{key}\n")
    return path.read_text().strip()


def plane_env(
    cluster_redis_url: str, state_dir: Path | None = None, primary_redis_url: str | None = None
) -> dict[str, str]:
    """Environment every plane process gets: the Redis URL and token keys stay out of argv.

    A process reading a regional (read-only) Redis records key usage on the primary.
    """
    env = {"IAM_PLANES_REDIS_URL": cluster_redis_url, "PYTHONUNBUFFERED": "1"}
    if state_dir is not None:
        env["IAM_PLANES_TOKEN_KEYS"] = _token_keys(state_dir)
    if primary_redis_url is not None and primary_redis_url != cluster_redis_url:
        env["IAM_PLANES_KEY_USAGE_REDIS_URL"] = primary_redis_url
    return env


def _controlplane_argv(topology: Topology) -> list[str]:
    authorizer = topology.url(topology.region(CONTROL_PLANE_REGION).regional_port)
    return [
        sys.executable,
        "-m",
        "controlplane",
        "--host",
        topology.host,
        "--port",
        str(topology.controlplane_port),
        "--authorizer",
        authorizer,
    ]


def _replica_argv(topology: Topology, region: str, az: str, port: int) -> list[str]:
    spec = topology.region(region)
    return [
        sys.executable,
        "-m",
        "dataplane",
        "--region",
        region,
        "--az",
        az,
        "--host",
        topology.host,
        "--port",
        str(port),
        "--regional-port",
        str(spec.regional_port),
        "--delays",
        spec.delays.model_dump_json(),
        "--delay-seed",
        str(topology.delay_seed),
    ]


def start_process(record: ProcessRecord, cluster: ClusterFile) -> ProcessRecord:
    """Start (or restart) a plane process from its record; the new pid is in the result."""
    log_file = Path(record.log_file)  # STATE_DIR/logs/NAME.log
    env = plane_env(cluster.redis_url_for(record), log_file.parent.parent, cluster.redis.url)
    process = spawn(record.argv, log_file, env)
    return record.model_copy(update={"pid": process.pid})


def _start_redis(
    data_dir: Path, port: int, password: str, replica_of: int | None = None
) -> RedisRecord:
    config = write_redis_config(data_dir, port, password, replica_of)
    process = start_redis_server(config)
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    try:
        wait_for_redis(url)
        if replica_of is not None:
            wait_for_replication(url)
    except TimeoutError as error:
        process.kill()
        raise LaunchError(f"redis-server on port {port}: {error}") from None
    return RedisRecord(url=url, pid=process.pid, argv=[redis_server_binary(), str(config)])


def _start_regional_redis(
    state_dir: Path, topology: Topology, primary: RedisRecord
) -> dict[str, RedisRecord]:
    """One Redis per region but us-east-1, each a REPLICAOF the primary: the cross-region link."""
    if topology.redis_topology != "replicated":
        return {}
    password = primary.url.split(":", 2)[2].split("@", 1)[0]
    return {
        region.name: _start_redis(
            state_dir / f"redis-{region.name}", region.redis_port, password, topology.redis_port
        )
        for region in topology.regions
        if region.name != CONTROL_PLANE_REGION
    }


def launch(state_dir: Path, topology: Topology, redis_url: str | None = None) -> ClusterFile:
    """Bring the whole cluster up and write ``cluster.json``; raise LaunchError on failure."""
    state_dir.mkdir(parents=True, exist_ok=True)
    state_dir.chmod(0o700)
    logs = state_dir / "logs"
    if redis_url is None:
        redis = _start_redis(state_dir / "redis", topology.redis_port, new_password())
    else:
        if topology.redis_topology == "replicated":
            raise LaunchError("--topology replicated starts its own Redis servers")
        wait_for_redis(redis_url)
        redis = RedisRecord(url=redis_url, embedded=False)
    started_redis = [redis]
    try:
        roots = asyncio.run(ensure_account(redis.url))
        regional_redis = _start_regional_redis(state_dir, topology, redis)
    except BaseException:
        for server in started_redis:
            if server.embedded:
                stop_process(server.pid, "redis-server")
        raise
    controlplane = ProcessRecord(
        endpoint=topology.url(topology.controlplane_port),
        pid=None,
        argv=_controlplane_argv(topology),
        log_file=str(logs / "controlplane.log"),
    )
    regions: dict[str, RegionRecord] = {}
    for region in topology.regions:
        replicas = {
            replica.az: ProcessRecord(
                endpoint=topology.url(replica.port),
                pid=None,
                argv=_replica_argv(topology, region.name, replica.az, replica.port),
                log_file=str(logs / f"{replica.az}.log"),
                redis=region.name if region.name in regional_redis else "primary",
            )
            for replica in region.replicas
        }
        regions[region.name] = RegionRecord(
            endpoint=topology.url(region.regional_port), replicas=replicas
        )
    cluster = ClusterFile(
        redis=redis,
        controlplane=controlplane,
        regions=regions,
        accounts={
            account: AccountCredentials(root=RootKey(access_key_id=key, secret_access_key=secret))
            for account, (key, secret) in roots.items()
        },
        regional_redis=regional_redis,
        delay_seed=topology.delay_seed,
    )
    # replicas first: the control plane authorizes its callers through us-east-1's data plane
    for region_record in cluster.regions.values():
        for az, record in region_record.replicas.items():
            region_record.replicas[az] = start_process(record, cluster)
    cluster.controlplane = start_process(cluster.controlplane, cluster)
    save_cluster(state_dir, cluster)
    write_aws_profile(state_dir, cluster)
    health = [f"{p.endpoint}/health" for p in cluster.processes().values()]
    missing = wait_healthy(health, timeout=90)
    if not missing:
        # the account and its root key must have reached every replica (with the profile's
        # delays) before anyone is handed the key: a cluster is up once its account exists
        missing = _wait_for_accounts(cluster, timeout=_slowest_delay_s(topology) + 60)
    if missing:
        stop_cluster(cluster)
        raise LaunchError(f"these processes never became ready: {', '.join(missing)}")
    return cluster


def _slowest_delay_s(topology: Topology) -> float:
    specs = [s for r in topology.regions for s in (r.delays.default, *r.delays.by_kind.values())]
    return max((s.longest_ms for s in specs), default=0) / 1000


def _wait_for_accounts(cluster: ClusterFile, timeout: float) -> list[str]:
    """Wait until every replica has applied the log as it stood at launch; return the late."""
    client = redis.Redis.from_url(cluster.redis.url)
    try:
        head = int(client.get(HEAD_KEY) or 0)
    finally:
        client.close()
    waiting = [p.endpoint for n, p in cluster.processes().items() if n != "controlplane"]
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        waiting = [
            url for url in waiting if (fetch_json(f"{url}/state") or {}).get("version", 0) < head
        ]
        if waiting:
            time.sleep(0.1)
    return waiting


def stop_cluster(cluster: ClusterFile) -> None:
    """Stop every plane process, then the embedded Redis (SIGTERM, SIGKILL after a grace)."""
    for name, record in cluster.processes().items():
        stop_process(record.pid, "controlplane" if name == "controlplane" else "dataplane")
    for server in cluster.regional_redis.values():
        stop_process(server.pid, "redis-server")
    if cluster.redis.embedded:
        stop_process(cluster.redis.pid, "redis-server")
