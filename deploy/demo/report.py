"""What the demo showed: the checks of each step, the summary table, report.json + timeline."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from deploy.demo.hammer import HammerResult
from deploy.demo.probes import Flip
from deploy.demo.timeline import Arrival, Commit, render_timeline

__all__ = ["DemoReport", "write_report"]


def _in_order(answers: list[str], order: tuple[str, ...]) -> bool:
    """Whether the answers only ever moved forward along ``order`` and ended at its end."""
    ranks = [order.index(a) for a in answers if a in order]
    return (
        len(ranks) == len(answers)
        and ranks == sorted(ranks)
        and bool(answers)
        and answers[-1] == order[-1]
    )


@dataclass
class DemoReport:
    """Every figure and check the demo produced, step by step."""

    alice_key: str = ""
    bob: tuple[str, str] = ("", "")
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)

    def record_propagation(
        self, flips: dict[str, Flip], written_at: float, order: tuple[str, ...]
    ) -> None:
        """Step 1: when each replica started allowing, and whether it flipped in order."""
        replicas = {
            az: {
                "answers": flip.answers,
                "allowed_after_s": None
                if flip.first("Allow") is None
                else round(flip.first("Allow") - written_at, 3),  # type: ignore[operator]
                "in_order": _in_order(flip.answers, order),
            }
            for az, flip in flips.items()
        }
        passed = all(r["in_order"] for r in replicas.values())
        self.steps["1-propagation"] = {"passed": passed, "replicas": replicas}

    def record_s3_propagation(
        self, flips: dict[str, Flip], written_at: float, order: tuple[str, ...]
    ) -> None:
        """Step 1, the real call: each region's S3 GetObject answers, in order, and when it
        first succeeded after the policy was written."""
        regions = {
            region: {
                "answers": flip.answers,
                "ok_after_s": None
                if flip.first("OK") is None
                else round(flip.first("OK") - written_at, 3),  # type: ignore[operator]
                "in_order": _in_order(flip.answers, order),
            }
            for region, flip in flips.items()
        }
        step = self.steps["1-propagation"]
        step["s3_get_object"] = regions
        step["passed"] = (
            step["passed"] and bool(regions) and all(r["in_order"] for r in regions.values())
        )

    def record_s3_revocation(self, flips: dict[str, Flip], acknowledged_at: float) -> None:
        """Step 2, the real call: how long each region's GetObject kept succeeding after the
        revoke was acknowledged; it must stop everywhere."""
        windows: dict[str, float] = {}
        for region, flip in flips.items():
            stopped = next((at for at, answer in flip.changes if answer != "OK"), None)
            windows[region] = round((stopped or acknowledged_at) - acknowledged_at, 3)
        step = self.steps["2-revocation"]
        step["s3_stale_ok_window_s"] = windows
        step["passed"] = (
            step["passed"]
            and bool(flips)
            and all(f.changes and f.changes[-1][1] != "OK" for f in flips.values())
        )

    def record_revocation(
        self, flips: dict[str, Flip], revoked_at: float, acknowledged_at: float
    ) -> None:
        """Step 2: how long each replica kept allowing after the revocation was acknowledged."""
        windows: dict[str, float] = {}
        for az, flip in flips.items():
            stopped = next((at for at, answer in flip.changes if answer != "Allow"), None)
            windows[az] = round((stopped or acknowledged_at) - acknowledged_at, 3)
        self.steps["2-revocation"] = {
            "passed": all(not f.changes or f.changes[-1][1] != "Allow" for f in flips.values())
            and max(windows.values(), default=0) > 0,
            "stale_allow_window_s": windows,
            "revoke_sent_at_s": round(revoked_at, 3),
        }

    def record_outage(
        self, write_error: str, result: HammerResult, seconds: float, sts: str
    ) -> None:
        """Step 3: IAM writes failed while every replica kept authorizing and STS kept
        issuing credentials in every region."""
        self.steps["3-outage"] = {
            "passed": write_error != "the write succeeded"
            and not result.failures
            and result.answered > 0
            and sts.startswith("issued"),
            "iam_write": write_error,
            "outage_seconds": seconds,
            "authorizations": result.answered,
            "failures": result.failures[:20],
            "by_replica": result.by_replica,
            "sts": sts,
        }

    def record_recovery(self, lost: list[str], version: int, converged: bool) -> None:
        """Step 4: nothing lost across the restart, and a new write propagated."""
        self.steps["4-recovery"] = {
            "passed": not lost and converged,
            "lost": lost,
            "new_write_version": version,
            "propagated": converged,
        }

    def record_az_loss(
        self, az: str, result: HammerResult, snapshot: int, converged: bool, digests_equal: bool
    ) -> None:
        """Step 5: the region kept answering and the AZ rejoined from a snapshot."""
        self.steps["5-az-loss"] = {
            "passed": not result.failures and converged and digests_equal,
            "az": az,
            "regional_answers": result.answered,
            "failures": result.failures[:20],
            "snapshot_version": snapshot,
            "converged": converged,
            "digests_equal": digests_equal,
        }

    def all_passed(self, steps: tuple[int, ...]) -> bool:
        """Whether every step asked for ran and passed."""
        ran = {int(name.split("-", 1)[0]): body["passed"] for name, body in self.steps.items()}
        return all(ran.get(step, False) for step in steps)

    def summary_table(self) -> Table:
        """One line per step."""
        table = Table(title="iam-planes demo — summary")
        table.add_column("step")
        table.add_column("passed")
        table.add_column("what it showed")
        for name, body in self.steps.items():
            table.add_row(name, "yes" if body["passed"] else "NO", _headline(name, body))
        return table


def _headline(name: str, body: dict[str, Any]) -> str:
    if name.startswith("1"):
        times = [r["allowed_after_s"] for r in body["replicas"].values() if r["allowed_after_s"]]
        return (
            f"replicas allowed {min(times):.2f}-{max(times):.2f} s after the policy"
            if times
            else ""
        )
    if name.startswith("2"):
        windows = body["stale_allow_window_s"].values()
        return f"stale replicas allowed up to {max(windows):.2f} s after the revoke"
    if name.startswith("3"):
        return (
            f"{body['authorizations']} authorizations, {len(body['failures'])} failures; "
            f"IAM write: {body['iam_write']}; STS: {body['sts']}"
        )
    if name.startswith("4"):
        return f"lost: {body['lost'] or 'nothing'}; new write propagated: {body['propagated']}"
    return (
        f"region answered {body['regional_answers']}x; rejoined from snapshot "
        f"v{body['snapshot_version']}; digests equal: {body['digests_equal']}"
    )


def write_report(
    state_dir: Path,
    report: DemoReport,
    commits: list[Commit],
    arrivals: dict[str, list[dict[str, Any]]],
    started: float,
) -> Path:
    """Write ``demo-report.json`` and ``timeline.svg`` into the state dir."""
    state_dir.mkdir(parents=True, exist_ok=True)
    versions = {c.version for c in commits}
    points = [
        Arrival(az, row["version"], row["applied_at"] - started)
        for az, rows in arrivals.items()
        for row in rows
        if row["version"] in versions
    ]
    svg = render_timeline(list(arrivals), commits, points, "iam-planes: when each change arrived")
    (state_dir / "timeline.svg").write_text(svg)
    body = {
        "steps": report.steps,
        "commits": [asdict(c) for c in commits],
        "arrivals": [asdict(p) for p in points],
    }
    path = state_dir / "demo-report.json"
    path.write_text(json.dumps(body, indent=2))
    return path
