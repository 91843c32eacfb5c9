"""``iam-planes demo --fast`` runs to completion, its report shows the story, nothing is left."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from deploy.cluster_file import load_cluster
from deploy.ports import free_port_block
from deploy.processes import is_running
from tests.e2e.cluster import iam_planes

pytestmark = pytest.mark.e2e


def test_demo_tells_the_whole_story_and_cleans_up(tmp_path: Path) -> None:
    """Every replica flips in order, revocation lag is observed, the outage costs no
    authorization, digests end equal, and no process of the demo survives it."""
    state_dir = tmp_path / "demo"
    run = iam_planes(
        "demo",
        "--fast",
        "--state-dir",
        str(state_dir),
        "--base-port",
        str(free_port_block(50)),
        timeout=300,
    )
    print(run.stdout[-3000:])
    cluster = load_cluster(state_dir)
    pids = [r.pid for r in cluster.processes().values()] + [cluster.redis.pid]
    assert not any(is_running(pid) for pid in pids)
    assert run.returncode == 0, run.stdout + run.stderr

    report = json.loads((state_dir / "demo-report.json").read_text())
    steps = report["steps"]
    assert all(step["passed"] for step in steps.values()), steps
    replicas = steps["1-propagation"]["replicas"]
    assert len(replicas) == 9
    for az, seen in replicas.items():
        assert seen["in_order"] and seen["answers"][-1] == "Allow", (az, seen)
        assert seen["answers"][0] in ("InvalidClientTokenId", "ImplicitDeny"), (az, seen)
    s3 = steps["1-propagation"]["s3_get_object"]
    assert set(s3) == {"us-east-1", "eu-west-1", "ap-northeast-1"}
    for region, seen in s3.items():  # alice's real GetObject through each region's gateway
        assert seen["in_order"] and seen["answers"][-1] == "OK", (region, seen)
    assert max(steps["2-revocation"]["stale_allow_window_s"].values()) > 0
    assert set(steps["2-revocation"]["s3_stale_ok_window_s"]) == set(s3)
    outage = steps["3-outage"]
    assert outage["failures"] == [] and outage["authorizations"] > 0
    assert outage["iam_write"] == "EndpointConnectionError"
    assert outage["sts"] == "issued and honoured session credentials in 3 regions"
    assert steps["5-az-loss"]["digests_equal"] is True
    assert steps["5-az-loss"]["snapshot_version"] > 0

    svg = ElementTree.parse(state_dir / "timeline.svg").getroot()
    dots = [e for e in svg.iter() if e.tag.endswith("circle")]
    assert len(dots) >= 9 * 3  # every replica received at least the first three changes
