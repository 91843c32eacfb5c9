"""Files and directories only their owner may read: everything that holds a secret.

A file is created 0600 from the start (never written first and narrowed after, which leaves a
window) and an existing one is narrowed before it is rewritten; directories are 0700.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PRIVATE_UMASK", "make_private_dir", "narrow_tree", "write_private"]

#: the umask a process writing secrets runs with (redis-server: its AOF and RDB files)
PRIVATE_UMASK = 0o077


def make_private_dir(path: Path) -> Path:
    """Create ``path`` (and its missing parents) as a 0700 directory; narrow it if it exists."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write_private(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` with mode 0600, whatever mode an older file had."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    return path


def narrow_tree(root: Path) -> None:
    """Make every file under ``root`` 0600 and every directory 0700 (files an earlier run,
    or an older version, left readable to others)."""
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        path.chmod(0o700 if path.is_dir() else 0o600)
