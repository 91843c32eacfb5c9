"""Every replica exports Prometheus metrics and, on request, a decision log naming versions."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cluster import NO_GATEWAY, Cluster, http_json, running_cluster

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A cluster whose replicas keep a decision log: us-east-1, where the control plane is
    authorized, and the eu-west-1 replica observed."""
    with running_cluster(
        Path(tmp_path_factory.mktemp("observability")),
        regions=("us-east-1", "eu-west-1"),
        env={"IAM_PLANES_DECISION_LOG": "1"},
        up_options=NO_GATEWAY,
    ) as running:
        yield running


def _metrics(url: str) -> dict[str, float]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def test_metrics_and_decision_log_name_the_version(cluster: Cluster) -> None:
    """An authorization is counted in /metrics and logged with its version, region, AZ and
    request id; propagation is observed per change kind."""
    response = cluster.iam().create_user(UserName="observed")
    head = int(response["ResponseMetadata"]["HTTPHeaders"]["x-iam-planes-version"])
    cluster.wait_converged(head)
    url = cluster.replicas()["eu-west-1a"]
    status, answer = http_json(
        f"{url}/authorize",
        {
            "principal": f"arn:aws:iam::{cluster.account}:user/observed",
            "action": "s3:GetObject",
            "resource": "arn:aws:s3:::b/k",
        },
    )
    assert status == 200 and answer["decision"] == "ImplicitDeny"

    metrics = _metrics(url)
    assert metrics['iam_planes_decisions_total{decision="ImplicitDeny"}'] >= 1
    assert metrics["iam_planes_applied_version"] == head
    assert metrics['iam_planes_propagation_seconds_count{kind="user.put"}'] >= 1
    assert any(name.startswith("iam_planes_request_seconds_count") for name in metrics)

    log = Path(cluster.state_dir / "logs" / "eu-west-1a.log").read_text().splitlines()
    decisions = [json.loads(line) for line in log if '"event": "decision"' in line]
    assert decisions, log[-5:]
    last = decisions[-1]
    assert last["version"] == head and last["decision"] == "ImplicitDeny"
    assert last["region"] == "eu-west-1" and last["az"] == "eu-west-1a" and last["request_id"]


def test_the_control_plane_exports_its_own_metrics(cluster: Cluster) -> None:
    """The control plane's /metrics names its version, the stream length and append latency."""
    response = cluster.iam().create_user(UserName="metered")
    head = int(response["ResponseMetadata"]["HTTPHeaders"]["x-iam-planes-version"])
    metrics = _metrics(cluster.file.controlplane.endpoint)
    assert metrics["iam_planes_controlplane_version"] == head
    assert metrics["iam_planes_stream_length"] >= 1
    assert metrics['iam_planes_append_seconds_count{kind="user.put"}'] >= 1
    assert metrics["iam_planes_redis_up"] == 1
    assert any(name.startswith("iam_planes_controlplane_request_seconds_count") for name in metrics)
