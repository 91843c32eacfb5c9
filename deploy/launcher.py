"""``iam-planes up``: start Redis, the control plane and every replica, and keep them up.

Each plane is its own OS process in a session of its own; the launcher records pids, argv and
endpoints in ``cluster.json`` so that ``status``, ``down`` and ``chaos`` work from any shell.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from deploy.aws_profile import write_aws_profile
from deploy.cluster_file import (
    AccountCredentials,
    ClusterFile,
    ProcessRecord,
    RedisRecord,
    RegionRecord,
    RootKey,
    ServicesRecord,
    load_cluster,
    save_cluster,
)
from deploy.netns import (
    NetnsError,
    NetworkRecord,
    create_network,
    destroy_network,
    in_namespace,
)
from deploy.private_files import make_private_dir, write_private
from deploy.processes import spawn, stop_process, wait_healthy
from deploy.redis_server import (
    new_password,
    redis_server_binary,
    start_redis_server,
    wait_for_redis,
    wait_for_replication,
    write_redis_config,
)
from deploy.topology import CONTROL_PLANE_REGION, Topology

__all__ = [
    "NO_SERVICES",
    "START_MOTO",
    "LaunchError",
    "launch",
    "plane_env",
    "planned_layout",
    "services_argv",
    "start_process",
    "start_services",
    "stop_cluster",
    "take_down",
]


# What only a launch uses (the accounts and the log's modules, redis-py) is imported where it is
# used: `iam-planes down` and `chaos`, which import this module too, start without them.


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
        write_private(path, f"k{secrets.token_hex(4)}:{key}\n")
    return path.read_text().strip()


def plane_env(
    cluster_redis_url: str,
    state_dir: Path | None = None,
    primary_redis_url: str | None = None,
    services_url: str | None = None,
    controlplane_url: str | None = None,
) -> dict[str, str]:
    """Environment every plane process gets: the Redis URL and token keys stay out of argv.

    A process reading a regional (read-only) Redis records key usage on the primary. Replicas
    learn the services backend their gateway forwards to (none: the gateway is off) and the
    control plane, where IAM and Organizations calls sent to them go.
    """
    env = {
        "IAM_PLANES_REDIS_URL": cluster_redis_url,
        "PYTHONUNBUFFERED": "1",
        "IAM_PLANES_SERVICES_BACKEND": services_url or "none",
    }
    if controlplane_url is not None:
        env["IAM_PLANES_CONTROLPLANE_URL"] = controlplane_url
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
        topology.host_of(CONTROL_PLANE_REGION),
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
        topology.host_of(region),
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
    env = plane_env(
        cluster.redis_url_for(record),
        log_file.parent.parent,
        cluster.primary_url_for(record),
        cluster.services.url if cluster.services is not None else None,
        cluster.controlplane.endpoint,
    )
    process = spawn(record.argv, log_file, env)
    return record.model_copy(update={"pid": process.pid})


class _Host:
    """Where a process runs: this machine's loopback, or a region's own host (a namespace)."""

    def __init__(self, network: NetworkRecord | None, region: str) -> None:
        self._host = network.hosts[region] if network is not None else None

    @property
    def address(self) -> str:
        """Where clients in the root namespace reach the host's processes."""
        return self._host.access_address if self._host else "127.0.0.1"

    @property
    def peer_address(self) -> str:
        """Where the other hosts reach this host's processes."""
        return self._host.wan_address if self._host else "127.0.0.1"

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` run on this host."""
        return in_namespace(self._host.namespace, argv) if self._host else argv


def _start_redis(
    data_dir: Path,
    port: int,
    password: str,
    host: _Host,
    replica_of: tuple[str, int] | None = None,
    *,
    durability: str = "fsync",
) -> RedisRecord:
    # the peer address first: a replica connects to its primary from its first bind address
    bind = tuple(dict.fromkeys((host.peer_address, host.address)))
    config = write_redis_config(data_dir, port, password, replica_of, bind, durability=durability)
    process = start_redis_server(config, host.command([]))
    url = f"redis://:{password}@{host.address}:{port}/0"
    peer_url = f"redis://:{password}@{host.peer_address}:{port}/0"
    try:
        wait_for_redis(url)
        if replica_of is not None:
            wait_for_replication(url)
    except TimeoutError as error:
        process.kill()
        raise LaunchError(f"redis-server on port {port}: {error}") from None
    return RedisRecord(
        url=url,
        peer_url=peer_url if peer_url != url else None,
        pid=process.pid,
        argv=host.command([redis_server_binary(), str(config)]),
    )


def _replicates(topology: Topology, region: str) -> str | None:
    """The region whose Redis ``region``'s own Redis is a REPLICAOF (None: it has none of its
    own, or it is the primary)."""
    if topology.redis_topology != "replicated" or region == CONTROL_PLANE_REGION:
        return None
    return CONTROL_PLANE_REGION


def _reads(topology: Topology, region: str) -> str:
    """Which Redis the planes of ``region`` read: ``primary``, or the region's own."""
    return region if _replicates(topology, region) else "primary"


def _start_regional_redis(
    state_dir: Path, topology: Topology, primary: RedisRecord, network: NetworkRecord | None
) -> dict[str, RedisRecord]:
    """One Redis per region but us-east-1, each a REPLICAOF the primary: the cross-region link."""
    password = primary.url.split(":", 2)[2].split("@", 1)[0]
    primary_address = _Host(network, CONTROL_PLANE_REGION).peer_address
    return {
        region.name: _start_redis(
            state_dir / f"redis-{region.name}",
            region.redis_port,
            password,
            _Host(network, region.name),
            (primary_address, topology.redis_port),
        )
        for region in topology.regions
        if _replicates(topology, region.name)
    }


#: ``--services-backend`` values: start a moto server, or no gateway at all
START_MOTO = "moto"
NO_SERVICES = "none"
_MOTO_READY_TIMEOUT = 60.0


def services_argv(topology: Topology) -> list[str]:
    """The moto server the launcher starts, on loopback, on the cluster's services port."""
    return [
        sys.executable,
        "-m",
        "moto.server",
        "-H",
        topology.host,
        "-p",
        str(topology.services_port),
    ]


def start_services(record: ServicesRecord) -> ServicesRecord:
    """Start (or restart) the launcher's moto server from its record; wait until it answers."""
    env = {"PYTHONUNBUFFERED": "1"}
    process = spawn(record.argv, Path(record.log_file), env)
    if wait_healthy([f"{record.url}/moto-api/"], timeout=_MOTO_READY_TIMEOUT):
        process.kill()
        raise LaunchError(f"the services backend (moto) never answered at {record.url}")
    return record.model_copy(update={"pid": process.pid})


def _services(state_dir: Path, topology: Topology, backend: str) -> ServicesRecord | None:
    if backend == NO_SERVICES:
        return None
    if backend != START_MOTO:
        return ServicesRecord(url=backend.rstrip("/"))
    record = ServicesRecord(
        url=topology.url(topology.services_port),
        argv=services_argv(topology),
        log_file=str(state_dir / "logs" / "services.log"),
    )
    return start_services(record)


def _on_hosts(state_dir: Path, topology: Topology) -> tuple[Topology, NetworkRecord | None]:
    """Make a host per region when the topology asks for them; the topology placed on them."""
    if topology.hosts != "netns":
        return topology, None
    try:
        network = create_network(state_dir, topology.region_names())
    except NetnsError as error:
        raise LaunchError(str(error)) from None
    addresses = {region: host.access_address for region, host in network.hosts.items()}
    return topology.model_copy(update={"addresses": addresses}), network


def launch(
    state_dir: Path,
    topology: Topology,
    redis_url: str | None = None,
    services_backend: str = START_MOTO,
) -> ClusterFile:
    """Bring the whole cluster up and write ``cluster.json``; raise LaunchError on failure.

    ``services_backend``: ``moto`` starts a moto server for the replicas' AWS services gateway,
    a URL names one running elsewhere (LocalStack, moto), ``none`` turns the gateway off."""
    make_private_dir(state_dir)
    if redis_url is not None and topology.redis_topology == "replicated":
        raise LaunchError("--topology replicated starts its own Redis servers")
    if redis_url is not None and topology.durability != "fsync":
        raise LaunchError("--durability sets the embedded Redis's AOF; --redis-url keeps its own")
    if topology.hosts == "netns" and services_backend == START_MOTO:
        # the launcher's moto listens on the root namespace's loopback, which the hosts' replicas
        # cannot reach: on netns hosts the gateway needs a backend URL every host can reach
        services_backend = NO_SERVICES
    topology, network = _on_hosts(state_dir, topology)
    try:
        return _launch_planes(state_dir, topology, network, redis_url, services_backend)
    except BaseException:
        destroy_network(state_dir)  # kills whatever was started on the hosts, too
        raise


def _launch_planes(
    state_dir: Path,
    topology: Topology,
    network: NetworkRecord | None,
    redis_url: str | None,
    services_backend: str,
) -> ClusterFile:
    from deploy.accounts import ensure_account

    logs = state_dir / "logs"
    if redis_url is None:
        redis = _start_redis(
            state_dir / "redis",
            topology.redis_port,
            new_password(),
            _Host(network, CONTROL_PLANE_REGION),
            durability=topology.durability,
        )
    else:
        wait_for_redis(redis_url)
        redis = RedisRecord(url=redis_url, embedded=False)
    started_redis = [redis]
    services: ServicesRecord | None = None
    try:
        roots = asyncio.run(ensure_account(redis.url))
        regional_redis = _start_regional_redis(state_dir, topology, redis, network)
        services = _services(state_dir, topology, services_backend)
    except BaseException:
        for server in started_redis:
            if server.embedded:
                stop_process(server.pid, "redis-server")
        raise
    controlplane = ProcessRecord(
        endpoint=topology.url(topology.controlplane_port),
        pid=None,
        argv=_Host(network, CONTROL_PLANE_REGION).command(_controlplane_argv(topology)),
        log_file=str(logs / "controlplane.log"),
    )
    regions: dict[str, RegionRecord] = {}
    for region in topology.regions:
        host = _Host(network, region.name)
        replicas = {
            replica.az: ProcessRecord(
                endpoint=topology.url(replica.port, region.name),
                pid=None,
                argv=host.command(_replica_argv(topology, region.name, replica.az, replica.port)),
                log_file=str(logs / f"{replica.az}.log"),
                redis=_reads(topology, region.name),
            )
            for replica in region.replicas
        }
        regions[region.name] = RegionRecord(
            endpoint=topology.url(region.regional_port, region.name), replicas=replicas
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
        hosts=topology.hosts,
        services=services,
        delay_seed=topology.delay_seed,
    )
    try:
        _start_planes(state_dir, topology, cluster)
    except BaseException:
        # whatever went wrong, nothing this launch started outlives it (no cluster.json may
        # name it yet, so `down` could not find it)
        stop_cluster(cluster)
        raise
    return cluster


def _start_planes(state_dir: Path, topology: Topology, cluster: ClusterFile) -> None:
    """Start the replicas and the control plane, record them, and wait until they serve."""
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
        raise LaunchError(f"these processes never became ready: {', '.join(missing)}")


def planned_layout(topology: Topology) -> dict[str, Any]:
    """What ``launch`` runs on which host, from the very argv and Redis choices it uses, with
    each host named after its region (as the compose file and Kubernetes manifests name theirs):
    which Redis replicates which, the control plane's port and authorizer, and per region its
    AZs, regional port, the Redis its planes read and where they record key usage."""
    on_hosts = topology.model_copy(update={"addresses": {r: r for r in topology.region_names()}})
    control = _flag_values(_controlplane_argv(on_hosts))
    regions: dict[str, Any] = {}
    for region in on_hosts.regions:
        argvs = [
            _flag_values(_replica_argv(on_hosts, region.name, replica.az, replica.port))
            for replica in region.replicas
        ]
        reads = _reads(on_hosts, region.name)
        regions[region.name] = {
            "azs": [flags["--az"] for flags in argvs],
            "regional_ports": sorted({int(flags["--regional-port"]) for flags in argvs}),
            "reads": CONTROL_PLANE_REGION if reads == "primary" else reads,
            "key_usage": None if reads == "primary" else CONTROL_PLANE_REGION,
        }
    return {
        "redis": {r.name: _replicates(on_hosts, r.name) for r in on_hosts.regions},
        "controlplane": {
            "port": int(control["--port"]),
            "authorizer": control["--authorizer"],
            "reads": CONTROL_PLANE_REGION,
        },
        "regions": regions,
    }


def _flag_values(argv: list[str]) -> dict[str, str]:
    return {flag: value for flag, value in itertools.pairwise(argv) if flag[:2] == "--"}


def _slowest_delay_s(topology: Topology) -> float:
    specs = [s for r in topology.regions for s in (r.delays.default, *r.delays.by_kind.values())]
    return max((s.longest_ms for s in specs), default=0) / 1000


def _wait_for_accounts(cluster: ClusterFile, timeout: float) -> list[str]:
    """Wait until every replica has applied the log as it stood at launch; return the late."""
    import redis

    from deploy.status import fetch_json
    from replication.log import HEAD_KEY

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


def take_down(state_dir: Path) -> bool:
    """Stop what ``up`` started in ``state_dir`` and remove the hosts it made, also after a
    crash left the processes gone or ``cluster.json`` unwritten; False when nothing was there."""
    try:
        cluster: ClusterFile | None = load_cluster(state_dir)
    except FileNotFoundError:
        cluster = None
    if cluster is not None:
        stop_cluster(cluster)
    removed_hosts = destroy_network(state_dir)
    return cluster is not None or removed_hosts


def stop_cluster(cluster: ClusterFile) -> None:
    """Stop every plane process, then the embedded Redis (SIGTERM, SIGKILL after a grace)."""
    for name, record in cluster.processes().items():
        stop_process(record.pid, "controlplane" if name == "controlplane" else "dataplane")
    if cluster.services is not None and cluster.services.embedded:
        stop_process(cluster.services.pid, "moto.server")
    for server in cluster.regional_redis.values():
        stop_process(server.pid, "redis-server")
    if cluster.redis.embedded:
        stop_process(cluster.redis.pid, "redis-server")
