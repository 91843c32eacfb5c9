"""Killing us-east-1's whole netns host stops only IAM writes: the other regions keep
authorizing and issuing sessions, and the restarted host loses nothing."""

from __future__ import annotations

import time
from pathlib import Path

import botocore.exceptions
import pytest

from tests.e2e.cluster import iam_planes
from tests.e2e.netns_helpers import (
    HOST_OUTAGE_SECONDS,
    UNSUPPORTED,
    RegionProbe,
    link_status,
    netns_cluster,
    traveller,
)
from tests.e2e.sts_helpers import version_of

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.long,
    pytest.mark.skipif(UNSUPPORTED is not None, reason=UNSUPPORTED or ""),
]


def test_losing_us_east_1s_host_stops_only_iam_writes(tmp_path: Path) -> None:
    """SIGKILL every process on us-east-1's host (the control plane, the primary Redis and its
    AZs): for 60 s the other regions authorize and issue STS sessions with no error while IAM
    writes fail; the host started again takes writes, and nothing acknowledged is lost."""
    with netns_cluster(tmp_path, "us-east-1", "eu-west-1", "ap-northeast-1") as cluster:
        key, made = traveller(cluster, "survivor")
        iam = cluster.iam()
        before = [f"before-{i}" for i in range(5)]
        for name in before:
            made = version_of(iam.create_user(UserName=name))
        cluster.wait_converged(made)
        probes = [
            RegionProbe(cluster, region, "survivor", key)
            for region in ("eu-west-1", "ap-northeast-1")
        ]

        killed = iam_planes(
            "chaos", "kill-host", "us-east-1", "--state-dir", str(cluster.state_dir)
        )
        assert killed.returncode == 0, killed.stdout + killed.stderr
        assert "controlplane" in killed.stdout and "redis" in killed.stdout
        with pytest.raises(botocore.exceptions.EndpointConnectionError):
            iam.create_user(UserName="during-outage")

        started = time.monotonic()
        while time.monotonic() < started + HOST_OUTAGE_SECONDS:
            for probe in probes:
                probe.ask_once(issue_session=True)
            time.sleep(0.1)
        assert link_status(cluster, "eu-west-1") == "down"
        for probe in probes:
            print(f"\n{probe.answered} answers from {probe.region} without us-east-1's host")
            assert probe.errors == []
            assert probe.answered >= 100

        restarted = iam_planes(
            "chaos", "start-host", "us-east-1", "--state-dir", str(cluster.state_dir)
        )
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        iam = cluster.iam_when_up(timeout=60)
        head = version_of(iam.create_user(UserName="after-restart"))
        names = {
            u["UserName"]
            for page in iam.get_paginator("list_users").paginate()
            for u in page["Users"]
        }
        assert {*before, "survivor", "after-restart"} <= names
        assert "during-outage" not in names
        states = cluster.wait_converged(head)
        assert len({s["digest"] for s in states.values()}) == 1, states
