"""Hosts of their own: each region in a Linux network namespace (``up --hosts netns``).

Every host has two links. ``wan`` joins the shared bridge of the cluster, which lives in a
namespace of its own (the "switch") so that no firewall of the machine sees the traffic between
regions; all cross-region traffic (a regional Redis replicating the primary, key usage sent to
the primary) goes over it, and a partition unplugs a host's cable from that switch. ``access``
is a point-to-point link from the root namespace, where clients and the operator's tools sit:
every endpoint in ``cluster.json`` is on an access address, so a partitioned region still
answers its own clients, as a region cut off from us-east-1 does.

Addresses come from 198.18.0.0/15, the block reserved for benchmarking networks (RFC 2544),
which nothing on a real network uses. The WAN is 198.18.0.0/24 in every cluster: it exists only
inside the cluster's own namespaces. Access links are /30s of 198.19.0.0/16 in the root
namespace, so each cluster takes a block of its own, chosen under a lock. Names carry a prefix
derived from the state dir, so clusters started side by side never collide; what is about to be
created is written to ``network.json`` first, so ``down`` removes it even after a crash.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import ipaddress
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict

__all__ = [
    "HostRecord",
    "NetnsError",
    "NetworkRecord",
    "cluster_prefix",
    "create_network",
    "destroy_network",
    "host_pids",
    "in_namespace",
    "kill_host_processes",
    "load_network",
    "set_wan_link",
    "unsupported_reason",
    "wan_link_up",
]

NETWORK_FILE = "network.json"
WAN_NETWORK = ipaddress.IPv4Network("198.18.0.0/24")
ACCESS_NETWORK = ipaddress.IPv4Network("198.19.0.0/16")
_BLOCK_PREFIX = 26  # a cluster's access links: 16 /30s, one per host
_LOCK_FILE = Path("/run/lock/iam-planes-netns.lock")
_BRIDGE = "br0"


class NetnsError(RuntimeError):
    """A namespace, link or address could not be made (or the machine cannot make them)."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HostRecord(_Record):
    """One region's host: its namespace, its two addresses and the names of its links."""

    region: str
    namespace: str
    access_address: str  # in the host, reachable from the root namespace
    root_address: str  # the root namespace's end of the access link
    root_link: str  # the access link's name in the root namespace
    wan_address: str  # on the shared bridge, reachable from the other hosts
    wan_port: str  # the host's port on the bridge, in the switch namespace


class NetworkRecord(_Record):
    """Everything ``up --hosts netns`` creates, written before it is created."""

    prefix: str
    switch_namespace: str
    hosts: dict[str, HostRecord]

    def namespaces(self) -> list[str]:
        """Every namespace of the cluster: the hosts', then the switch's."""
        return [h.namespace for h in self.hosts.values()] + [self.switch_namespace]


def _ip_binary() -> str | None:
    return shutil.which("ip") or next(
        (p for p in ("/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip") if Path(p).exists()), None
    )


def unsupported_reason() -> str | None:
    """Why this machine cannot run ``--hosts netns`` (None when it can)."""
    if not sys.platform.startswith("linux"):
        return "--hosts netns needs Linux network namespaces"
    if os.geteuid() != 0:
        return "--hosts netns needs root (to create network namespaces and links)"
    if _ip_binary() is None:
        return "--hosts netns needs iproute2's `ip` command"
    if not Path("/proc/self/ns/net").exists():
        return "--hosts netns needs a kernel with network namespaces"
    return _probe()


def _probe() -> str | None:
    """Make (and remove) a namespace holding a bridge and a veth pair: root is not always
    enough (a container without CAP_NET_ADMIN, a kernel without the bridge or veth driver)."""
    namespace = f"ipp-probe-{os.getpid()}"
    try:
        _ip("netns", "add", namespace)
        _ip("-n", namespace, "link", "add", _BRIDGE, "type", "bridge")
        _ip("-n", namespace, "link", "add", "probe0", "type", "veth", "peer", "name", "probe1")
    except NetnsError as error:
        return f"--hosts netns cannot make network namespaces and links here: {error}"
    finally:
        _ip("netns", "del", namespace, check=False)
    return None


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    binary = _ip_binary()
    if binary is None:
        raise NetnsError("iproute2's `ip` command is not installed")
    done = subprocess.run([binary, *args], capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done


def in_namespace(namespace: str, argv: list[str]) -> list[str]:
    """``argv`` run inside ``namespace`` (``ip netns exec`` execs it: the pid is the command's)."""
    binary = _ip_binary() or "ip"
    return [binary, "netns", "exec", namespace, *argv]


def cluster_prefix(state_dir: Path) -> str:
    """The name prefix of a state dir's namespaces and links: short, for 15-character names."""
    return "ipp" + hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:5]


def network_path(state_dir: Path) -> Path:
    """Where a state dir records its network."""
    return state_dir / NETWORK_FILE


def load_network(state_dir: Path) -> NetworkRecord | None:
    """The network a state dir made (None when it made none)."""
    try:
        return NetworkRecord.model_validate_json(network_path(state_dir).read_text())
    except FileNotFoundError:
        return None


def _save_network(state_dir: Path, network: NetworkRecord) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = network_path(state_dir)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(network.model_dump_json(indent=2))
    os.replace(temporary, path)


@contextlib.contextmanager
def _allocation_lock() -> Iterator[None]:
    """Serialise choosing and taking access addresses between clusters started at once."""
    _LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
    with _LOCK_FILE.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _addresses_in_use() -> set[ipaddress.IPv4Address]:
    listed = _ip("-4", "-o", "addr", "show").stdout.splitlines()
    found = set()
    for line in listed:
        fields = line.split()
        if "inet" in fields:
            found.add(ipaddress.IPv4Interface(fields[fields.index("inet") + 1]).ip)
    return found


def _free_block(prefix: str) -> ipaddress.IPv4Network:
    """The first access block, from one the prefix hashes to, with no address in use."""
    blocks = list(ACCESS_NETWORK.subnets(new_prefix=_BLOCK_PREFIX))
    used = _addresses_in_use()
    start = int(prefix[3:], 16) % len(blocks)
    for offset in range(len(blocks)):
        block = blocks[(start + offset) % len(blocks)]
        if not any(address in block for address in used):
            return block
    raise NetnsError(f"every access block of {ACCESS_NETWORK} is in use")


def _plan(prefix: str, regions: tuple[str, ...], block: ipaddress.IPv4Network) -> NetworkRecord:
    links = list(block.subnets(new_prefix=30))
    if len(regions) > len(links) or len(regions) > WAN_NETWORK.num_addresses - 2:
        raise NetnsError(f"--hosts netns runs at most {len(links)} regions")
    hosts = {}
    for index, region in enumerate(regions):
        root_end, host_end = list(links[index].hosts())
        hosts[region] = HostRecord(
            region=region,
            namespace=f"{prefix}-{region}",
            access_address=str(host_end),
            root_address=str(root_end),
            root_link=f"{prefix}a{index}",
            wan_address=str(WAN_NETWORK.network_address + index + 1),
            wan_port=f"wan{index}",
        )
    return NetworkRecord(prefix=prefix, switch_namespace=f"{prefix}-switch", hosts=hosts)


def _build(network: NetworkRecord) -> None:
    switch = network.switch_namespace
    _ip("netns", "add", switch)
    _ip("-n", switch, "link", "set", "lo", "up")
    _ip("-n", switch, "link", "add", _BRIDGE, "type", "bridge")
    _ip("-n", switch, "link", "set", _BRIDGE, "up")
    for host in network.hosts.values():
        namespace = host.namespace
        _ip("netns", "add", namespace)
        _ip("-n", namespace, "link", "set", "lo", "up")
        _ip(
            *("-n", switch, "link", "add", host.wan_port, "type", "veth"),
            *("peer", "name", "wan", "netns", namespace),
        )
        _ip("-n", switch, "link", "set", host.wan_port, "master", _BRIDGE, "up")
        wan = f"{host.wan_address}/{WAN_NETWORK.prefixlen}"
        _ip("-n", namespace, "addr", "add", wan, "dev", "wan")
        _ip("-n", namespace, "link", "set", "wan", "up")
        _ip(
            *("link", "add", host.root_link, "type", "veth"),
            *("peer", "name", "access", "netns", namespace),
        )
        _ip("addr", "add", f"{host.root_address}/30", "dev", host.root_link)
        _ip("link", "set", host.root_link, "up")
        _ip("-n", namespace, "addr", "add", f"{host.access_address}/30", "dev", "access")
        _ip("-n", namespace, "link", "set", "access", "up")


def create_network(state_dir: Path, regions: tuple[str, ...]) -> NetworkRecord:
    """Make a host per region and the switch between them; recorded before it is made."""
    reason = unsupported_reason()
    if reason is not None:
        raise NetnsError(reason)
    destroy_network(state_dir)  # what a crashed run of this state dir left behind
    prefix = cluster_prefix(state_dir)
    with _allocation_lock():
        network = _plan(prefix, regions, _free_block(prefix))
        _save_network(state_dir, network)
        try:
            _build(network)
        except NetnsError:
            destroy_network(state_dir)
            raise
    return network


def host_pids(namespace: str) -> list[int]:
    """Every process inside ``namespace`` (none when it does not exist)."""
    listed = _ip("netns", "pids", namespace, check=False)
    return [int(pid) for pid in listed.stdout.split() if pid.isdigit()]


def kill_host_processes(namespace: str) -> list[int]:
    """SIGKILL every process inside ``namespace``, as a host losing power; the pids killed."""
    killed = []
    for pid in host_pids(namespace):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    for pid in killed:  # reap our own children; others are init's
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
    return killed


def set_wan_link(network: NetworkRecord, region: str, up: bool) -> None:
    """Plug (``up``) or unplug a host's cable at the switch: every cross-region packet of that
    host is lost both ways while it is down; its access link stays up."""
    host = network.hosts[region]
    _ip("-n", network.switch_namespace, "link", "set", host.wan_port, "up" if up else "down")


def wan_link_up(network: NetworkRecord, region: str) -> bool | None:
    """Whether a host's cable is plugged in (None when the switch is gone)."""
    host = network.hosts[region]
    shown = _ip("-n", network.switch_namespace, "-o", "link", "show", host.wan_port, check=False)
    if shown.returncode != 0:
        return None
    flags = shown.stdout.split("<", 1)[-1].split(">", 1)[0].split(",")
    return "UP" in flags


def destroy_network(state_dir: Path) -> bool:
    """Remove every namespace and link a state dir recorded, killing what still runs inside;
    False when it recorded none. Safe to repeat, and after a crash."""
    network = load_network(state_dir)
    if network is None:
        return False
    for namespace in network.namespaces():
        kill_host_processes(namespace)
        _ip("netns", "del", namespace, check=False)
    for host in network.hosts.values():
        # a namespace goes (and its veth pairs with it) once its last process has gone
        _ip("link", "del", host.root_link, check=False)
    network_path(state_dir).unlink(missing_ok=True)
    return True
