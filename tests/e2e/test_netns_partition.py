"""A partition on netns hosts is a real network fault: eu-west-1's Redis loses the primary for
real, yet eu-west-1 keeps answering from what it holds, and catches up by Redis's own partial
resync once plugged back."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.cluster import iam_planes
from tests.e2e.netns_helpers import (
    PARTITION_SECONDS,
    UNSUPPORTED,
    RegionProbe,
    WriteLoad,
    link_status,
    netns_cluster,
    status_row,
    sync_counts,
    traveller,
    wait_for,
    watch_frame,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.long,
    pytest.mark.skipif(UNSUPPORTED is not None, reason=UNSUPPORTED or ""),
]


def test_a_partitioned_region_keeps_answering_and_resyncs_partially(tmp_path: Path) -> None:
    """Unplug eu-west-1 for 30 s under a steady write load: eu-west-1 answers /authorize and
    STS at the version it had, with no error, while its Redis reports the link down and falls
    further behind; plugged back, Redis resyncs partially (no full copy), every replica reaches
    the same digest and no acknowledged write is lost."""
    with netns_cluster(tmp_path, "us-east-1", "eu-west-1") as cluster:
        key, made = traveller(cluster, "traveller")
        cluster.wait_converged(made)
        probe = RegionProbe(cluster, "eu-west-1", "traveller", key)
        with WriteLoad(cluster) as load:
            wait_for("the first writes", lambda: len(load.acknowledged) >= 3)
            cluster.wait_converged(load.head)
            full_before, partial_before = sync_counts(cluster)

            cut = iam_planes(
                "chaos", "partition", "eu-west-1", "--state-dir", str(cluster.state_dir)
            )
            assert cut.returncode == 0, cut.stdout + cut.stderr
            cut_at = time.monotonic()
            wait_for(
                "eu-west-1's Redis to see its link down",
                lambda: link_status(cluster, "eu-west-1") == "down",
                timeout=20,
            )
            early = status_row(cluster, "redis-eu-west-1")
            while time.monotonic() < cut_at + PARTITION_SECONDS:
                probe.ask_once()
                time.sleep(0.1)
            late = status_row(cluster, "redis-eu-west-1")
            watched = watch_frame(cluster)
            head_at_heal = load.head

            healed = iam_planes("chaos", "heal", "eu-west-1", "--state-dir", str(cluster.state_dir))
            assert healed.returncode == 0, healed.stdout + healed.stderr
            wait_for(
                "eu-west-1's Redis to resync", lambda: link_status(cluster, "eu-west-1") == "up"
            )
            time.sleep(1)  # a few writes after the heal, which must flow again too
        assert load.errors == []

        print(
            f"\n{probe.answered} answers from eu-west-1 during a {PARTITION_SECONDS} s partition;"
            f" {len(load.acknowledged)} writes acknowledged; status when cut {early}, later {late}"
        )
        assert probe.errors == []
        assert probe.answered >= 100
        # the region answered from what it held when cut off: one version, well behind
        frozen = {version for at, version in probe.versions if at > cut_at + 5}
        assert len(frozen) == 1, frozen
        assert max(frozen) < head_at_heal - 20
        # and status reported the cut link, growing lag and a growing gap, while it lasted
        assert early["link"] == late["link"] == "down"
        assert late["lag_ms"] > early["lag_ms"]
        assert late["behind"] > early["behind"] > 0
        assert any(" down " in line for line in watched if line.startswith("│ eu-west-1 ")), watched

        states = cluster.wait_converged(load.head)
        assert len({s["digest"] for s in states.values()}) == 1, states
        full_after, partial_after = sync_counts(cluster)
        assert full_after == full_before  # no full copy of the data set
        assert partial_after > partial_before

        iam = cluster.iam()
        names = {
            u["UserName"]
            for page in iam.get_paginator("list_users").paginate()
            for u in page["Users"]
        }
        assert set(load.acknowledged) <= names
        for name in load.acknowledged:
            iam.get_user(UserName=name)
