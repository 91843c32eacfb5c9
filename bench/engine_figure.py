"""Decisions/s of the evaluation engine in-process, from ``bench.engine.run_engine_benchmark``.

The engine benchmark runs in a child process pinned to one core: an import error, a crash or a
hang of that module becomes a "not measured" row with the reason instead of stopping the run.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from typing import Any

from bench.cluster import PROJECT_ROOT
from bench.figures import Figure, Target
from bench.harness import Context

__all__ = ["ENGINE_FIGURES", "measure_engine"]

ENGINE_FIGURES = (
    Figure(
        "engine_decisions_per_s",
        "decisions/s in-process, standard workload, one core",
        "decisions/s",
        Target(">=", 300_000),
    ),
    Figure("engine_speedup_vs_naive", "  ... speed-up vs naive regex evaluator", "x", None),
    Figure(
        "engine_full_to_identity_ratio",
        "  ... full workload (SCP+boundary+resource) / identity-only",
        "x",
        None,
    ),
)

_CHILD = """
import json, os, sys
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
from bench.engine import run_engine_benchmark
repeats = json.loads(sys.argv[1])
result = run_engine_benchmark() if repeats is None else run_engine_benchmark(repeats=repeats)
print(json.dumps(result))
"""


def _run_child(repeats: int | None) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(repeats)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT_ROOT,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"bench.engine.run_engine_benchmark failed: {last}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure_engine(context: Context) -> list[Figure]:
    """Run the engine benchmark (it reports the median of its own repeats)."""
    result = _run_child(context.sizes.engine_repeats)
    identity = result["identity_only"]
    rate, speedup, ratio = ENGINE_FIGURES
    return [
        dataclasses.replace(rate, value=float(identity["engine_decisions_per_s"]), details=result),
        dataclasses.replace(speedup, value=float(identity["speedup_vs_naive"])),
        dataclasses.replace(ratio, value=float(result["full_to_identity_ratio"])),
    ]
