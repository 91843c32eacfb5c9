"""Starting, watching and stopping the cluster's OS processes, with real signals."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from deploy.private_files import make_private_dir

__all__ = ["is_running", "kill_process", "probe", "spawn", "stop_process", "wait_healthy"]


def spawn(argv: list[str], log_file: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a session of its own, its output appended to ``log_file``."""
    make_private_dir(log_file.parent)
    # logs never hold secrets by design; 0600 keeps a slip of that design from leaking them
    descriptor = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "ab") as log:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
            start_new_session=True,
        )


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _is_zombie(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return status.rsplit(")", 1)[1].split()[0] == "Z"


def is_running(pid: int | None, expect: str = "") -> bool:
    """Whether ``pid`` is alive (not a zombie) and its command line contains ``expect``."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if _is_zombie(pid):
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return expect in _cmdline(pid)


def stop_process(pid: int | None, expect: str = "", grace: float = 5.0) -> None:
    """SIGTERM the process, then SIGKILL it if it has not exited within ``grace`` seconds."""
    if not is_running(pid, expect):
        return
    assert pid is not None
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
        if not is_running(pid, expect):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, 0)


def kill_process(pid: int | None, expect: str = "") -> bool:
    """SIGKILL the process at once (chaos); False when it was not running."""
    if not is_running(pid, expect):
        return False
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, 0)
    return True


def probe(url: str, timeout: float = 1.0) -> bool:
    """Whether GET ``url`` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError):
        return False


def wait_healthy(urls: list[str], timeout: float = 60.0) -> list[str]:
    """Wait until every ``url`` answers 200; return those that never did."""
    deadline = time.monotonic() + timeout
    waiting = list(urls)
    while waiting and time.monotonic() < deadline:
        waiting = [url for url in waiting if not probe(url)]
        if waiting:
            time.sleep(0.1)
    return waiting
