"""``make bench``: every benchmark, one table (figure | measured | target | met?), one JSON file.

    .venv/bin/python -m bench                  # everything; writes bench/results/latest.json
    .venv/bin/python -m bench --only http      # some benchmarks (repeat --only for more)
    .venv/bin/python -m bench --quick          # small sizes: a smoke run, numbers meaningless

A full run writes ``bench/results/latest.json`` and the same table in Markdown (``latest.md``,
for the README); a ``--quick`` or ``--only`` run writes ``bench/results/partial.json`` (and
``.md``) unless ``--output`` says otherwise, so the published figures are only ever those of a
complete run. Every process a benchmark starts is stopped before exit.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import signal
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.bootstrap import BOOTSTRAP_FIGURES, measure_bootstrap
from bench.controlplane_writes import WRITE_FIGURES, measure_writes
from bench.engine_figure import ENGINE_FIGURES, measure_engine
from bench.figures import Figure
from bench.gateway import GATEWAY_FIGURES, measure_gateway
from bench.harness import Benchmark, Context, Sizes, run_benchmark
from bench.http_authorize import BATCH_FIGURES, SINGLE_FIGURES, measure_batch, measure_single
from bench.idle import IDLE_FIGURES, measure_idle
from bench.machine import load_average, machine_info
from bench.moto_anchor import ANCHOR_FIGURES, anchor_table, measure_anchor
from bench.propagation import PROPAGATION_FIGURES, measure_propagation
from bench.sts import STS_FIGURES, measure_sts

# In the order they run: those without a cluster first, then those sharing one cluster.
BENCHMARKS = (
    Benchmark("engine", ENGINE_FIGURES, measure_engine),
    Benchmark("bootstrap", BOOTSTRAP_FIGURES, measure_bootstrap),
    Benchmark("sts", STS_FIGURES, measure_sts),
    Benchmark("writes", WRITE_FIGURES, measure_writes),
    Benchmark("anchor", ANCHOR_FIGURES, measure_anchor),
    Benchmark("propagation", PROPAGATION_FIGURES, measure_propagation),
    Benchmark("http", SINGLE_FIGURES, measure_single),
    Benchmark("batch", BATCH_FIGURES, measure_batch),
    Benchmark("gateway", GATEWAY_FIGURES, measure_gateway),
    Benchmark("idle", IDLE_FIGURES, measure_idle),
)
RESULTS = Path(__file__).resolve().parent / "results"


def _arguments() -> argparse.Namespace:
    names = [b.name for b in BENCHMARKS]
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--only", action="append", choices=names, metavar="NAME", help=f"one of {names}"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--output", type=Path, help="where to write the JSON results")
    return parser.parse_args()


def _met_cell(figure: Figure) -> str:
    met = figure.met
    if figure.value is None:
        return "[yellow]not measured[/yellow]"
    if met is None:
        return "[dim]-[/dim]"
    return "[green]yes[/green]" if met else "[bold red]MISSED[/bold red]"


def render_table(figures: list[Figure], title: str) -> Table:
    """The one table ``make bench`` prints."""
    table = Table(title=title, title_justify="left")
    table.add_column("figure")
    table.add_column("measured", justify="right")
    table.add_column("target", justify="right")
    table.add_column("met?")
    for figure in figures:
        table.add_row(figure.label, figure.measured_text(), figure.target_text(), _met_cell(figure))
    return table


def render_markdown(figures: list[Figure], document: dict[str, Any]) -> str:
    """The same table in Markdown, with its date and machine, for the README."""
    machine = document["machine"]
    lines = [
        f"Measured {machine['date']} on {machine['cores']} cores ({machine['cpu_model']}),"
        f" Python {machine['python']}, load average at start {machine['load_average_at_start']}"
        f" (`make bench`, {document['total_s']} s).",
        "",
        "| figure | measured | target | met? |",
        "|---|---|---|---|",
    ]
    for figure in figures:
        met = {True: "yes", False: "**missed**", None: "-"}[figure.met]
        if figure.value is None:
            met = "not measured"
        label = figure.label.replace("|", "\\|")
        lines.append(f"| {label} | {figure.measured_text()} | {figure.target_text()} | {met} |")
    return "\n".join(lines) + "\n"


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run(
    selected: list[Benchmark], sizes: Sizes, console: Console
) -> tuple[dict[str, Any], list[Figure]]:
    """Run ``selected`` benchmarks; the results document and the figures."""
    figures: list[Figure] = []
    durations: dict[str, float] = {}
    machine = machine_info()
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="iam-planes-bench-") as work,
        contextlib.ExitStack() as stack,
    ):
        context = Context(Path(work), sizes, stack)
        for benchmark in selected:
            console.print(f"[dim]running {benchmark.name} ...[/dim]")
            measured, duration = run_benchmark(benchmark, context)
            figures += measured
            durations[benchmark.name] = round(duration, 1)
    document = {
        "machine": machine,
        "sizes": dataclasses.asdict(sizes),
        "benchmarks": [b.name for b in selected],
        "durations_s": durations,
        "total_s": round(time.monotonic() - started, 1),
        "load_average_at_end": load_average(),
        "figures": [f.as_json() for f in figures],
    }
    return document, figures


def main() -> None:
    """Entry point of ``python -m bench``."""
    args = _arguments()
    signal.signal(signal.SIGTERM, _terminate)
    console = Console(width=max(Console().width, 132))
    sizes = Sizes.quick() if args.quick else Sizes.full()
    selected = [b for b in BENCHMARKS if not args.only or b.name in args.only]
    partial = args.quick or bool(args.only)
    output: Path = args.output or RESULTS / ("partial.json" if partial else "latest.json")
    document, figures = run(selected, sizes, console)
    document["quick"] = args.quick
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2) + "\n")
    output.with_suffix(".md").write_text(render_markdown(figures, document))
    machine = document["machine"]
    title = (
        f"iam-planes benchmarks{' (QUICK: sizes too small to mean anything)' if args.quick else ''}"
        f" — {machine['date']}, {machine['cores']} cores {machine['cpu_model']},"
        f" Python {machine['python']}, {document['total_s']} s, load average"
        f" {machine['load_average_at_start'][0]} -> {document['load_average_at_end'][0]}"
    )
    console.print(render_table(figures, title))
    side_by_side = anchor_table(figures)
    if side_by_side is not None:
        console.print(side_by_side)
    console.print(f"results written to {output}")


if __name__ == "__main__":
    main()
