"""The package's public surface is pinned, and it imports neither plane nor the launcher."""

from __future__ import annotations

import subprocess
import sys

import awswire


def test_public_surface_is_exactly_all() -> None:
    """Every name in __all__ exists, and the list is the documented public surface."""
    assert all(hasattr(awswire, name) for name in awswire.__all__)
    assert sorted(awswire.__all__) == awswire.__all__
    assert {
        "parse_query_request",
        "serialize_query_result",
        "serialize_error",
        "verify_signature",
    } <= set(awswire.__all__)


def test_importing_awswire_loads_no_plane() -> None:
    """Importing awswire pulls in no controlplane, dataplane, replication or deploy module."""
    code = (
        "import sys, awswire; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'controlplane', 'dataplane', 'replication', 'deploy'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
