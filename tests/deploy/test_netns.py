"""The hosts of ``up --hosts netns``: what is made, that ``down`` removes it after a crash, that
two clusters side by side never collide, and the refusal where namespaces cannot be made."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy import netns
from deploy.cli import main
from deploy.netns import (
    NetworkRecord,
    create_network,
    destroy_network,
    host_pids,
    in_namespace,
    load_network,
    unsupported_reason,
)
from tests.e2e.cluster import iam_planes

_UNSUPPORTED = unsupported_reason()
needs_netns = pytest.mark.skipif(_UNSUPPORTED is not None, reason=_UNSUPPORTED or "")
# it makes namespaces and starts processes in them: scheduled with the e2e modules
pytestmark = pytest.mark.e2e

_TCP_ECHO = (
    "import socket,sys\n"
    "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind((sys.argv[1], 7000)); s.listen()\n"
    "while True: s.accept()[0].close()\n"
)
_TCP_CONNECT = (
    "import socket,sys\n"
    "try: socket.create_connection((sys.argv[1], 7000), timeout=1).close(); print('connected')\n"
    "except OSError as error: print(type(error).__name__)\n"
)


@contextlib.contextmanager
def _network(state_dir: Path, *regions: str) -> Iterator[NetworkRecord]:
    try:
        yield create_network(state_dir, regions)
    finally:
        destroy_network(state_dir)


def _namespaces() -> set[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return {line.split()[0] for line in listed.stdout.splitlines() if line.strip()}


def _root_links() -> set[str]:
    listed = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True)
    return {line.split(":")[1].strip().split("@")[0] for line in listed.stdout.splitlines()}


def _connect(namespace: str | None, address: str) -> str:
    argv = ["python3", "-c", _TCP_CONNECT, address]
    command = in_namespace(namespace, argv) if namespace else argv
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


@needs_netns
def test_hosts_reach_each_other_over_the_wan_and_clients_over_access(tmp_path: Path) -> None:
    """Each host has loopback up, reaches the others on the WAN, and is reached from the root
    namespace on its access address; unplugging a host cuts the WAN both ways, not access."""
    with _network(tmp_path / "state", "us-east-1", "eu-west-1") as network:
        east, west = network.hosts["us-east-1"], network.hosts["eu-west-1"]
        for host in (east, west):
            assert len(host.root_link) <= 15
        server = subprocess.Popen(in_namespace(east.namespace, ["python3", "-c", _TCP_ECHO, ""]))
        try:
            deadline = time.monotonic() + 20
            while _connect(east.namespace, "127.0.0.1") != "connected":
                assert time.monotonic() < deadline
                time.sleep(0.1)
            assert _connect(west.namespace, east.wan_address) == "connected"
            assert _connect(None, east.access_address) == "connected"
            netns.set_wan_link(network, "eu-west-1", up=False)
            assert netns.wan_link_up(network, "eu-west-1") is False
            assert _connect(west.namespace, east.wan_address) != "connected"
            assert _connect(None, east.access_address) == "connected"
            netns.set_wan_link(network, "eu-west-1", up=True)
            deadline = time.monotonic() + 20
            while _connect(west.namespace, east.wan_address) != "connected":
                assert time.monotonic() < deadline
                time.sleep(0.1)
        finally:
            server.kill()
            server.wait()


@needs_netns
def test_two_clusters_side_by_side_never_collide(tmp_path: Path) -> None:
    """Different state dirs: different names and different access addresses."""
    with (
        _network(tmp_path / "one", "us-east-1", "eu-west-1") as one,
        _network(tmp_path / "two", "us-east-1", "eu-west-1") as two,
    ):
        assert one.prefix != two.prefix
        assert not set(one.namespaces()) & set(two.namespaces())
        addresses = [
            {h.access_address for h in n.hosts.values()}
            | {h.root_address for h in n.hosts.values()}
            for n in (one, two)
        ]
        assert not addresses[0] & addresses[1]


@needs_netns
def test_down_cleans_up_after_a_crash(tmp_path: Path) -> None:
    """A launcher that died after making its hosts, with a process still running on one and no
    cluster.json: `down` kills that process and removes every namespace and link."""
    state_dir = tmp_path / "state"
    network = create_network(state_dir, ("us-east-1", "eu-west-1"))
    try:
        namespace = network.hosts["eu-west-1"].namespace
        stray = subprocess.Popen(in_namespace(namespace, ["sleep", "300"]), start_new_session=True)
        deadline = time.monotonic() + 10
        while stray.pid not in host_pids(namespace):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        down = iam_planes("down", "--state-dir", str(state_dir), timeout=60)
        assert down.returncode == 0 and "cluster stopped" in down.stdout, down.stdout
        assert stray.wait(timeout=10) == -signal.SIGKILL
        assert not set(network.namespaces()) & _namespaces()
        assert not {h.root_link for h in network.hosts.values()} & _root_links()
        assert load_network(state_dir) is None
    finally:
        destroy_network(state_dir)


def test_netns_refuses_without_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not root: `up --hosts netns` says why and starts nothing."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert unsupported_reason() == (
        "--hosts netns needs root (to create network namespaces and links)"
    )
    with pytest.raises(SystemExit) as exited:
        main(["up", "--hosts", "netns", "--detach", "--state-dir", str(tmp_path / "state")])
    assert exited.value.code == 2
    assert "needs root" in capsys.readouterr().out
    assert not (tmp_path / "state").exists()


def test_netns_needs_its_own_redis_per_region(tmp_path: Path) -> None:
    """--hosts netns with --topology single is refused: each host keeps its region's Redis."""
    shown = iam_planes(
        *("up", "--hosts", "netns", "--topology", "single", "--detach"),
        *("--state-dir", str(tmp_path / "state")),
    )
    assert shown.returncode == 2
    assert "--topology replicated" in shown.stdout
