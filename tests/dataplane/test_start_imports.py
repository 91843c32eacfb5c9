"""A replica's start imports only what serving needs: every cluster starts nine of them, so what
they import on the way up is paid nine times per cluster (and per test module that starts one).
botocore (service models, S3 signing), lxml and signxml (SAML) and PyJWT (OIDC) are imported by
the code that uses them, on a replica's first request of that kind."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: imported on first use only; each costs a replica's start tens of milliseconds of CPU
_ON_FIRST_USE = ("botocore", "boto3", "lxml", "signxml", "jwt", "moto")


def _modules_after(statement: str) -> set[str]:
    """The top-level packages a fresh interpreter holds after running ``statement``."""
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
    return {name.split(".")[0] for name in json.loads(shown.stdout.splitlines()[-1])}


@pytest.mark.parametrize("program", ["dataplane.__main__", "controlplane.__main__"])
def test_a_plane_starts_without_the_packages_it_needs_only_for_some_requests(
    program: str,
) -> None:
    loaded = _modules_after(f"import {program}")
    assert {"aiohttp", "redis", "pydantic"} <= loaded  # the probe sees what was imported
    assert loaded.isdisjoint(_ON_FIRST_USE), sorted(loaded & set(_ON_FIRST_USE))
