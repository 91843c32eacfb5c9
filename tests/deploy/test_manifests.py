"""The compose file and Kubernetes manifests describe the same cluster the launcher runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.kubernetes import render_manifests
from deploy.topology import DEFAULT_REGIONS

MANIFESTS = Path(__file__).resolve().parents[2] / "deploy" / "manifests"


def _flags(module: str) -> set[str]:
    """The options ``python -m MODULE`` accepts, read from its --help."""
    help_text = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, check=True
    ).stdout
    return set(re.findall(r"(--[a-z][a-z-]+)", help_text))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The parsed compose file."""
    loaded: dict[str, Any] = yaml.safe_load((MANIFESTS / "compose.yaml").read_text())
    return loaded["services"]


def test_compose_has_a_redis_per_region_replicating_us_east_1(compose: dict[str, Any]) -> None:
    """One Redis per region; every one but us-east-1's is a REPLICAOF it, with AOF always."""
    for region in DEFAULT_REGIONS:
        command = compose[f"redis-{region}"]["command"]
        assert "always" in command
        if region == "us-east-1":
            assert "--replicaof" not in command
        else:
            assert command[command.index("--replicaof") + 1] == "redis-us-east-1"


def test_compose_runs_three_replicas_per_region_behind_its_alias(compose: dict[str, Any]) -> None:
    """Each region has AZs a, b, c sharing the region's alias and reading the region's Redis,
    with only flags that ``python -m dataplane`` accepts."""
    accepted = _flags("dataplane")
    for region in DEFAULT_REGIONS:
        for suffix in "abc":
            service = compose[f"{region}{suffix}"]
            command = service["command"]
            assert command[:3] == ["python", "-m", "dataplane"]
            assert {a for a in command if a.startswith("--")} <= accepted
            assert command[command.index("--az") + 1] == f"{region}{suffix}"
            assert region in service["networks"]["default"]["aliases"]
            assert f"@redis-{region}:" in service["environment"]["IAM_PLANES_REDIS_URL"]


def test_compose_control_plane_asks_us_east_1(compose: dict[str, Any]) -> None:
    """One control plane, authorizing through us-east-1's data plane, on the primary Redis."""
    control = compose["controlplane"]
    command = control["command"]
    assert {a for a in command if a.startswith("--")} <= _flags("controlplane")
    assert command[command.index("--authorizer") + 1].startswith("http://us-east-1:")
    assert "@redis-us-east-1:" in control["environment"]["IAM_PLANES_REDIS_URL"]


def test_kubernetes_manifests_are_rendered_from_the_code() -> None:
    """The committed manifests are exactly what ``python -m deploy.kubernetes`` writes."""
    for name, text in render_manifests().items():
        assert (MANIFESTS / "kubernetes" / name).read_text() == text, name


def test_kubernetes_spreads_each_region_over_three_zones() -> None:
    """Per region: a 3-replica StatefulSet spread by zone, its Service, and its Redis."""
    for index, region in enumerate(DEFAULT_REGIONS):
        docs = list(yaml.safe_load_all(render_manifests()[f"region-{region}.yaml"]))
        kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
        assert ("Service", region) in kinds and ("StatefulSet", f"redis-{region}") in kinds
        plane = next(
            d
            for d in docs
            if d["metadata"]["name"] == f"dataplane-{region}" and d["kind"] == "StatefulSet"
        )
        spec = plane["spec"]
        assert spec["replicas"] == 3
        spread = spec["template"]["spec"]["topologySpreadConstraints"][0]
        assert spread["topologyKey"] == "topology.kubernetes.io/zone" and spread["maxSkew"] == 1
        env = {e["name"]: e for e in spec["template"]["spec"]["containers"][0]["env"]}
        assert f"@redis-{region}:" in env["IAM_PLANES_REDIS_URL"]["value"]
        assert env["IAM_PLANES_REGIONAL_PORT"]["value"] == str(4610 + 10 * index)
        redis = next(
            d
            for d in docs
            if d["metadata"]["name"] == f"redis-{region}" and d["kind"] == "StatefulSet"
        )
        command = redis["spec"]["template"]["spec"]["containers"][0]["command"]
        assert ("--replicaof" in command) == (region != "us-east-1")


def test_kubernetes_has_one_writer() -> None:
    """Exactly one control plane replica: the log has one writer."""
    docs = list(yaml.safe_load_all(render_manifests()["controlplane.yaml"]))
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == 1


@pytest.mark.parametrize(
    ("pod", "az"), [("dataplane-eu-west-1-0", "a"), ("dataplane-eu-west-1-2", "c"), (None, "a")]
)
def test_a_statefulset_pod_knows_its_az(pod: str | None, az: str) -> None:
    """The pod ordinal names the AZ letter."""
    from dataplane.__main__ import _az_suffix

    assert _az_suffix(pod) == az
