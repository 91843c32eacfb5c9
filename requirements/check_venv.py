"""Fails unless the running environment holds exactly the packages the lock names, at its pins.

Run by `make` right after building .venv, so a venv that drifted from the lock (a package
installed by hand, a pin the resolver overrode) is caught before any test runs.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
# installed with the interpreter's venv: no lock pins it
TOOLING = {"pip"}
THIS_PROJECT = "iam-planes"


def canonical(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(lock: Path) -> dict[str, str]:
    """Name -> version for every pin in the lock file."""
    pins: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        match = PIN.match(line)
        if match:
            pins[canonical(match.group(1))] = match.group(2)
    return pins


def installed() -> dict[str, str]:
    """Name -> version of every distribution in this environment, bar tooling and the project."""
    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = canonical(dist.metadata["Name"])
        if name not in TOOLING and name != THIS_PROJECT:
            found[name] = dist.version
    return found


def main() -> int:
    """Print every difference between the locks and the environment; exit 1 if there is one."""
    pins: dict[str, str] = {}
    for lock in sys.argv[1:]:  # the lock, and the bootstrap file that pins the installer
        pins |= locked(Path(lock))
    present = installed()
    problems = [
        f"{name}: locked {pins.get(name, '-')}, installed {present.get(name, '-')}"
        for name in sorted(pins.keys() | present.keys())
        if pins.get(name) != present.get(name)
    ]
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print("the venv does not match the lock: run `make clean` and build again", file=sys.stderr)
        return 1
    print(f"venv matches the lock: {len(pins)} packages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
