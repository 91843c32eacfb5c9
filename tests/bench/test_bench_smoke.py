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
from bench.moto_anchor import ANCHOR_CALLS, WRITE_CALLS

# every benchmark in quick mode, the moto anchor included, on a machine shared with other work
pytestmark = [pytest.mark.e2e, pytest.mark.long, pytest.mark.timeout(600)]

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
# a stage of the control plane can take less than the 0.1 microsecond a figure is rounded to
STAGE_PREFIX = "write_create_user_stage_"
# CPU per write is read in clock ticks (10 ms): a quick run's few writes may not fill one
CPU_PREFIX = "write_create_user_cpu_"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    output = tmp_path_factory.mktemp("bench") / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=480,
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
        if figure["key"] == "idle_cpu_percent" or figure["key"].startswith(
            (STAGE_PREFIX, CPU_PREFIX)
        ):
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
        "write_create_user_stage_append_p50_ms",
        "write_create_user_stage_hop_p50_ms",
        "anchor_create_user_speedup",
        "anchor_get_caller_identity_speedup",
        "anchor_concurrent_writes_per_s",
        "anchor_concurrent_writes_moto_per_s",
        "write_create_user_stage_redis_p50_ms",
        "write_create_user_durability_write_p50_ms",
        "write_create_user_durability_write_stage_redis_p50_ms",
        "anchor_create_user_durability_write_speedup",
        "anchor_concurrent_writes_durability_write_per_s",
        "write_create_user_cpu_client_ms",
        "write_create_user_cpu_controlplane_ms",
    ):
        assert figures[key]["value"] is not None, figures[key]["not_measured"]


def test_the_anchor_compares_every_call_with_moto(results: dict[str, object]) -> None:
    """Each anchor call (and each write call on the ``--durability write`` cluster) has both
    sides' p50 and p99, and its figure is moto's p50 over ours."""
    figures = {f["key"]: f for f in results["figures"]}  # type: ignore[attr-defined]
    written = [f"{call} (--durability write)" for call in WRITE_CALLS]
    for call in (*ANCHOR_CALLS, *written):
        figure = next(f for f in figures.values() if f["details"].get("call") == call)
        ours, moto = figure["details"]["iam-planes"], figure["details"]["moto"]
        for side in (ours, moto):
            assert 0 < side["p50_ms"] <= side["p99_ms"], figure
        assert figure["value"] == round(moto["p50_ms"] / ours["p50_ms"], 2), figure
