"""``POST /authorize`` over HTTP to one region's shared endpoint: single queries and batches.

The load comes from ``bench.loadgen`` in a process of its own (keep-alive connections, closed
loop), so the client's work does not run in the servers' processes. The region's endpoint is
the port its three AZ replicas share (SO_REUSEPORT): the kernel spreads the connections.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from typing import Any

from bench.cluster import PROJECT_ROOT
from bench.figures import Figure, Target, median
from bench.harness import Context

__all__ = [
    "BATCH_FIGURES",
    "SINGLE_FIGURES",
    "measure_batch",
    "measure_single",
    "run_loadgen",
]

REGION = "us-east-1"
CLIENTS = 32
BATCH_CLIENTS = 4

SINGLE_FIGURES = (
    Figure(
        "http_authorize_rps",
        f"/authorize over HTTP, one region, {CLIENTS} keep-alive clients",
        "req/s",
        Target(">=", 3000),
    ),
    Figure("http_authorize_p99_ms", "  ... p99 latency", "ms", Target("<=", 10)),
    Figure("http_authorize_p50_ms", "  ... p50 latency", "ms", None),
)
BATCH_FIGURES = (
    Figure(
        "batch_authorize_decisions_per_s",
        "batch /authorize (list of queries), one region",
        "decisions/s",
        Target(">=", 100_000),
    ),
)


def run_loadgen(
    context: Context,
    url: str,
    bodies: list[Any],
    concurrency: int,
    items_per_request: int,
) -> dict[str, Any]:
    """Run ``bench.loadgen`` in its own process and return its summary."""
    sizes = context.sizes
    bodies_file = context.work_dir / "loadgen-bodies.json"
    bodies_file.write_text(json.dumps(bodies))
    command = [
        sys.executable,
        "-m",
        "bench.loadgen",
        "--url",
        url,
        "--bodies",
        str(bodies_file),
        "--concurrency",
        str(concurrency),
        "--duration",
        str(sizes.http_duration_s),
        "--warmup",
        str(sizes.http_warmup_s),
        "--items-per-request",
        str(items_per_request),
    ]
    timeout = sizes.http_duration_s + sizes.http_warmup_s + 60
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, check=False, cwd=PROJECT_ROOT
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr.strip()[-500:]}")
    summary: dict[str, Any] = json.loads(done.stdout)
    if summary["error_count"] or set(summary["statuses"]) != {"200"}:
        raise RuntimeError(
            f"errors under load: statuses {summary['statuses']}, {summary['errors'][:3]}"
        )
    return summary


def _region_url(context: Context) -> str:
    return context.cluster.file.regions[REGION].endpoint + "/authorize"


def _check_answers(summary: dict[str, Any]) -> None:
    for answer in summary["first_answers"]:
        decisions = answer if isinstance(answer, list) else [answer]
        if not all("decision" in d for d in decisions):
            raise RuntimeError(f"not an authorize answer: {str(answer)[:300]}")


def measure_single(context: Context) -> list[Figure]:
    """Single queries, 32 concurrent keep-alive clients; median of the repeated runs."""
    queries = context.principals.queries()
    url = _region_url(context)
    runs = []
    for _ in range(context.sizes.repeats):
        summary = run_loadgen(context, url, queries, CLIENTS, 1)
        _check_answers(summary)
        runs.append(summary)
    details = {
        "endpoint": "region shared port (3 replicas, SO_REUSEPORT)",
        "clients": CLIENTS,
        "duration_s": context.sizes.http_duration_s,
        "runs": [_brief(r) for r in runs],
    }
    rps, p99, p50 = SINGLE_FIGURES
    return [
        dataclasses.replace(
            rps, value=median([r["requests_per_s"] for r in runs]), details=details
        ),
        dataclasses.replace(p99, value=median([r["p99_ms"] for r in runs])),
        dataclasses.replace(p50, value=median([r["p50_ms"] for r in runs])),
    ]


def measure_batch(context: Context) -> list[Figure]:
    """Batches of ``batch_size`` queries, a few concurrent clients; median of the runs."""
    queries = context.principals.queries()
    size = context.sizes.batch_size
    batch = [queries[i % len(queries)] for i in range(size)]
    url = _region_url(context)
    runs = []
    for _ in range(context.sizes.repeats):
        summary = run_loadgen(context, url, [batch], BATCH_CLIENTS, size)
        _check_answers(summary)
        runs.append(summary)
    details = {
        "batch_size": size,
        "clients": BATCH_CLIENTS,
        "duration_s": context.sizes.http_duration_s,
        "runs": [_brief(r) | {"decisions_per_s": round(r["items_per_s"])} for r in runs],
    }
    (figure,) = BATCH_FIGURES
    rate = median([r["items_per_s"] for r in runs])
    return [dataclasses.replace(figure, value=rate, details=details)]


def _brief(summary: dict[str, Any]) -> dict[str, Any]:
    return {
        "requests_per_s": round(summary["requests_per_s"], 1),
        "p50_ms": round(summary.get("p50_ms", 0.0), 3),
        "p99_ms": round(summary.get("p99_ms", 0.0), 3),
        "max_ms": round(summary.get("max_ms", 0.0), 3),
        "requests": summary["requests"],
    }
