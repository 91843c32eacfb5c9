"""The pytest plugin (entry point ``pytest11``): put your own code through IAM's races.

Inert unless a test uses its fixtures: nothing starts, nothing is printed otherwise.

- ``iam_planes``: the test's own account (a :class:`deploy.harness.TestAccount`) on a cluster
  started once per session (``--iam-planes-profile``, ``--iam-planes-delay``,
  ``--iam-planes-seed``, ``--iam-planes-regions`` or the ``iam_planes_*`` ini settings), or on
  the running cluster of ``--iam-planes-state-dir``. It has ``wait_until_applied``,
  ``eventually``, ``client``, and the chaos context managers ``control_plane_down()``,
  ``partitioned(region)`` and ``delays(...)``.
- ``aws_env``: the process environment pointed at the emulator as that account for the test
  (and restored after), so boto3 clients made by the code under test reach it.
- ``@pytest.mark.iam_planes(delays="1500", region="eu-west-1")``: delays for that test (fixed
  ms, ``MS+-JITTER`` uniform, ``P50~P99`` log-normal; a dict gives them per region), and the
  region ``aws_env`` points at.

At the end: per test, the denials the code met that were only stale (a pending change would
have flipped them) and how long it kept meeting them; ``--iam-planes-report FILE.json`` too.
The delay seed is in the report header when an option sets it up, and in the summary.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from deploy.harness import ClusterSession, TestAccount, summarize
from deploy.topology import DEFAULT_REGIONS
from replication.delay import new_seed

__all__ = ["IamPlanesSession"]

_STASH = pytest.StashKey["IamPlanesSession"]()
_MARKER = "iam_planes"


class IamPlanesSession:
    """The plugin's per-session state: settings, the cluster once used, what tests met."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        option = config.getoption
        state_dir = option("iam_planes_state_dir")
        self.state_dir = Path(state_dir) if state_dir else None
        self.profile = option("iam_planes_profile") or config.getini("iam_planes_profile")
        self.delays = option("iam_planes_delay") or config.getini("iam_planes_delays")
        regions = option("iam_planes_regions") or config.getini("iam_planes_regions")
        self.regions = tuple(r for text in regions for r in text.split(",") if r) or DEFAULT_REGIONS
        seed = option("iam_planes_seed")
        if seed is None and config.getini("iam_planes_seed"):
            seed = int(config.getini("iam_planes_seed"))
        self.seed: int = new_seed() if seed is None else seed
        self.report_file = option("iam_planes_report")
        self.cluster: ClusterSession | None = None
        self.results: dict[str, dict[str, Any]] = {}

    @property
    def configured(self) -> bool:
        """Whether the run asked for the plugin by an option or ini setting."""
        config = self.config
        return bool(
            self.state_dir
            or config.getoption("iam_planes_profile")
            or config.getoption("iam_planes_delay")
            or config.getoption("iam_planes_seed") is not None
            or config.getoption("iam_planes_report")
            or config.getini("iam_planes_profile")
            or config.getini("iam_planes_delays")
            or config.getini("iam_planes_seed")
        )

    def cluster_session(self) -> ClusterSession:
        """The session's cluster, started (or attached) on first use."""
        if self.cluster is None:
            if self.state_dir is not None:
                self.cluster = ClusterSession.attach(self.state_dir)
            else:
                self.cluster = ClusterSession.start(
                    self.profile or "instant", self.delays, self.regions, self.seed
                )
        return self.cluster

    @property
    def cluster_seed(self) -> int:
        """The seed the cluster's replicas draw delays from (an attached one has its own)."""
        if self.cluster is not None and self.cluster.seed is not None:
            return self.cluster.seed
        return self.seed

    def report(self) -> dict[str, Any]:
        """The session's report: the seed and, per test, its stale answers summarized."""
        return {
            "seed": self.cluster_seed,
            "profile": self.profile or "instant",
            "tests": self.results,
        }


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("iam-planes", "iam-planes: IAM's eventual consistency, emulated")
    group.addoption(
        "--iam-planes-state-dir",
        help="attach to the cluster `iam-planes up` runs there instead of starting one",
    )
    group.addoption("--iam-planes-profile", help="delay profile: instant, aws-like or FILE.json")
    group.addoption(
        "--iam-planes-delay",
        action="append",
        metavar="REGION=MS|MS+-JITTER|P50~P99",
        help="a region's delay for every change kind (repeatable)",
    )
    group.addoption("--iam-planes-seed", type=int, help="seed of the delay draws (replays them)")
    group.addoption("--iam-planes-regions", action="append", help="regions, comma-separated")
    group.addoption("--iam-planes-report", metavar="FILE.json", help="write the report here")
    parser.addini("iam_planes_profile", "delay profile of the session's cluster", default="")
    parser.addini("iam_planes_delays", "REGION=SPEC delays, one a line", type="linelist")
    parser.addini("iam_planes_seed", "seed of the delay draws", default="")
    parser.addini("iam_planes_regions", "regions of the session's cluster", type="args")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(delays=None, region=None): iam-planes delays for this test (MS, MS+-JITTER, "
        "P50~P99, or a dict by region) and the region aws_env points at",
    )
    config.stash[_STASH] = IamPlanesSession(config)


def pytest_report_header(config: pytest.Config) -> str | None:
    session = config.stash[_STASH]
    if not session.configured:
        return None
    where = f"attached to {session.state_dir}" if session.state_dir else "a cluster per session"
    return f"iam-planes: {where}, delay seed {session.seed} (--iam-planes-seed replays it)"


@pytest.fixture(scope="session")
def iam_planes_cluster(pytestconfig: pytest.Config) -> Iterator[ClusterSession]:
    """The session's cluster (started or attached once)."""
    session = pytestconfig.stash[_STASH]
    cluster = session.cluster_session()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def iam_planes(
    request: pytest.FixtureRequest, iam_planes_cluster: ClusterSession
) -> Iterator[TestAccount]:
    """This test's own account on the session's cluster (with the marker's delays)."""
    marker = request.node.get_closest_marker(_MARKER)
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    account = TestAccount(iam_planes_cluster, iam_planes_cluster.new_account())
    if options.get("region"):
        account.region = str(options["region"])
    delays = options.get("delays")
    session = request.config.stash[_STASH]
    if delays is None:
        scope = account.delays(None)
    elif isinstance(delays, dict):
        scope = account.delays(**{r.replace("-", "_"): v for r, v in delays.items()})
    else:
        scope = account.delays(delays)
    with scope:
        yield account
    rows = account.stale_answers()
    session.results[request.node.nodeid] = {
        "account": account.account,
        **summarize(rows),
        "stale_answers": rows[:50],
    }


@pytest.fixture
def aws_env(iam_planes: TestAccount, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment, for this test, of its account on the emulator; restored after."""
    wanted = iam_planes.environ(os.environ)
    for name in list(os.environ):
        if name not in wanted:
            monkeypatch.delenv(name)
    for name, value in wanted.items():
        monkeypatch.setenv(name, value)
    # boto3's default session keeps the credentials it found first: start it over, both ways
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    return iam_planes.env()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    session = config.stash[_STASH]
    if session.report_file:
        Path(session.report_file).write_text(json.dumps(session.report(), indent=2))
    if session.cluster is None:
        return
    write = terminalreporter.write_line
    terminalreporter.section("iam-planes")
    write(
        f"delay seed {session.cluster_seed} (--iam-planes-seed {session.cluster_seed} replays it)"
    )
    for nodeid, result in session.results.items():
        write(
            f"{nodeid}: {result['transient_denials']} transient denials over "
            f"{result['waited_through_denials_s']:.3f}s, {result['stale_allows']} stale allows"
            + (f" ({'; '.join(result['denied'])})" if result["denied"] else "")
        )
    if session.report_file:
        write(f"report written to {session.report_file}")
