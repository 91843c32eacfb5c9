"""Smoke test of the benchmark harness: every piece runs on a real cluster in quick mode.

Checks the structure of the JSON results and that every figure is a positive number or an
explicit not-measured reason. Never asserts on times or throughput: benchmarks print numbers,
tests do not judge them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
# figures whose value may legitimately be zero or negative (a difference of two clocks)
SIGNED = {
    "propagation_ack_to_all_p50_ms",
    "propagation_ack_to_all_p99_ms",
    "gateway_s3_get_object_overhead_p50_ms",
    "gateway_s3_get_object_overhead_p99_ms",
    "gateway_dynamodb_get_item_overhead_p50_ms",
    "gateway_dynamodb_get_item_overhead_p99_ms",
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    output = tmp_path_factory.mktemp("bench") / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "figure" in done.stdout and "met?" in done.stdout
    loaded: dict[str, object] = json.loads(output.read_text())
    return loaded


def test_the_document_says_where_and_when(results: dict[str, object]) -> None:
    machine = results["machine"]
    assert isinstance(machine, dict)
    assert machine["cores"] >= 1
    assert machine["cpu_model"] and machine["python"] and machine["date"]
    assert results["quick"] is True
    assert results["benchmarks"] == [b.name for b in BENCHMARKS]


def test_every_figure_is_a_number_or_an_honest_reason(results: dict[str, object]) -> None:
    figures = results["figures"]
    assert isinstance(figures, list)
    expected = {f.key for b in BENCHMARKS for f in b.figures}
    assert {f["key"] for f in figures} == expected
    for figure in figures:
        assert set(figure) >= {"key", "label", "value", "unit", "target", "met", "not_measured"}
        if figure["value"] is None:
            assert figure["not_measured"], figure
            assert figure["met"] is None
            continue
        assert isinstance(figure["value"], int | float), figure
        if figure["key"] == "idle_cpu_percent":
            assert figure["value"] >= 0, figure  # an idle cluster may measure 0.0 % in 1.5 s
        elif figure["key"] not in SIGNED:
            assert figure["value"] > 0, figure
        if figure["target"] is not None:
            assert figure["target"]["comparison"] in (">=", "<=")
            assert isinstance(figure["met"], bool)


def test_the_cluster_measurements_ran(results: dict[str, object]) -> None:
    """The benchmarks that need a live cluster measured something (structure only)."""
    figures = {f["key"]: f for f in results["figures"]}  # type: ignore[attr-defined]
    for key in (
        "http_authorize_rps",
        "batch_authorize_decisions_per_s",
        "propagation_ack_to_all_p50_ms",
        "write_create_user_p50_ms",
        "bootstrap_ready_s",
        "idle_rss_mb",
        "sts_get_caller_identity_p50_ms",
        "sts_assume_role_p50_ms",
    ):
        assert figures[key]["value"] is not None, figures[key]["not_measured"]
