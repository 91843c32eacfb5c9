"""``iam-planes watch`` in a pseudo-terminal shows a replica going down and coming back."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cluster import IAM_PLANES, NO_GATEWAY, Cluster, iam_planes, running_cluster

pytestmark = pytest.mark.e2e

_ANSI = re.compile(rb"\x1b\[[0-9;?]*[a-zA-Z]")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A cluster to watch: two regions, one of them with the AZ that is killed."""
    with running_cluster(
        Path(tmp_path_factory.mktemp("watch")),
        regions=("us-east-1", "eu-west-1"),
        up_options=NO_GATEWAY,
    ) as running:
        yield running


def _read_for(fd: int, seconds: float) -> bytes:
    out = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
    return _ANSI.sub(b"", out)


def _row_of(screen: bytes, az: str) -> list[bytes]:
    return [line for line in screen.splitlines() if az.encode() in line and b"\xe2\x94\x82" in line]


def test_watch_shows_a_kill_and_a_restart(cluster: Cluster) -> None:
    """The dashboard marks the killed AZ DOWN, then OK again after it is restarted."""
    controller, terminal = pty.openpty()
    env = {**os.environ, "COLUMNS": "160", "LINES": "60", "TERM": "xterm-256color"}
    watcher = subprocess.Popen(
        [*IAM_PLANES, "watch", "--state-dir", str(cluster.state_dir), "--interval", "0.3"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=env,
        start_new_session=True,
    )
    os.close(terminal)
    try:
        before = _read_for(controller, 4)
        assert any(b"OK" in row for row in _row_of(before, "eu-west-1c")), before[-2000:]
        iam_planes("chaos", "kill", "eu-west-1c", "--state-dir", str(cluster.state_dir))
        during = _read_for(controller, 4)
        assert any(b"DOWN" in row for row in _row_of(during, "eu-west-1c")), during[-2000:]
        iam_planes("chaos", "start", "eu-west-1c", "--state-dir", str(cluster.state_dir))
        after = _read_for(controller, 4)
        rows = _row_of(after, "eu-west-1c")
        assert rows and b"OK" in rows[-1], after[-2000:]
    finally:
        watcher.terminate()
        watcher.wait(10)
        os.close(controller)
