"""The compose file and Kubernetes manifests describe the same cluster the launcher runs."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dataplane.__main__ import _az_suffix
from deploy.kubernetes import render_manifests
from deploy.launcher import planned_layout
from deploy.topology import DEFAULT_REGIONS, Topology

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


def _launched_layout() -> dict[str, Any]:
    """What ``up --hosts netns`` runs where, for the regions the manifests describe."""
    topology = Topology.build(DEFAULT_REGIONS, redis_topology="replicated", hosts="netns")
    return planned_layout(topology)


def _redis_region(url: str) -> str:
    """``redis://:PASSWORD@redis-eu-west-1:6379/0`` -> ``eu-west-1``."""
    return url.rsplit("@", 1)[1].split(":", 1)[0].removeprefix("redis-")


def _flag_values(command: list[str]) -> dict[str, str]:
    return {flag: value for flag, value in itertools.pairwise(command) if flag.startswith("--")}


def _replicaof(command: list[str]) -> str | None:
    if "--replicaof" not in command:
        return None
    return command[command.index("--replicaof") + 1].removeprefix("redis-")


def _region_layout(
    azs: list[str], ports: set[int], reads: set[str], key_usage: set[str | None]
) -> dict[str, Any]:
    """One region as ``planned_layout`` describes it; mixed answers stay visible as sets."""
    return {
        "azs": sorted(azs),
        "regional_ports": sorted(ports),
        "reads": reads.pop() if len(reads) == 1 else reads,
        "key_usage": key_usage.pop() if len(key_usage) == 1 else key_usage,
    }


def _compose_layout(services: dict[str, Any]) -> dict[str, Any]:
    redis: dict[str, str | None] = {}
    planes: dict[str, list[tuple[dict[str, str], dict[str, str]]]] = {}
    control: dict[str, Any] = {}
    for name, service in services.items():
        command, env = service.get("command", []), service.get("environment", {})
        if command[:1] == ["redis-server"]:
            redis[name.removeprefix("redis-")] = _replicaof(command)
        elif command[:3] == ["python", "-m", "dataplane"]:
            flags = _flag_values(command)
            planes.setdefault(flags["--region"], []).append((flags, env))
        elif command[:3] == ["python", "-m", "controlplane"]:
            flags = _flag_values(command)
            control = {
                "port": int(flags["--port"]),
                "authorizer": flags["--authorizer"],
                "reads": _redis_region(env["IAM_PLANES_REDIS_URL"]),
            }
    regions = {
        region: _region_layout(
            [flags["--az"] for flags, _ in azs],
            {int(flags["--regional-port"]) for flags, _ in azs},
            {_redis_region(env["IAM_PLANES_REDIS_URL"]) for _, env in azs},
            {
                _redis_region(env["IAM_PLANES_KEY_USAGE_REDIS_URL"])
                if "IAM_PLANES_KEY_USAGE_REDIS_URL" in env
                else None
                for _, env in azs
            },
        )
        for region, azs in planes.items()
    }
    return {"redis": redis, "controlplane": control, "regions": regions}


def _kubernetes_layout(documents: list[dict[str, Any]]) -> dict[str, Any]:
    redis: dict[str, str | None] = {}
    regions: dict[str, Any] = {}
    control: dict[str, Any] = {}
    for document in documents:
        if document["kind"] not in ("StatefulSet", "Deployment"):
            continue
        spec = document["spec"]
        labels = spec["template"]["metadata"]["labels"]
        container = spec["template"]["spec"]["containers"][0]
        env = {e["name"]: e.get("value") for e in container.get("env", [])}
        if labels["component"] == "redis":
            redis[labels["region"]] = _replicaof(container["command"])
        elif labels["component"] == "dataplane":
            region = labels["region"]
            pods = [f"{document['metadata']['name']}-{i}" for i in range(spec["replicas"])]
            usage = env.get("IAM_PLANES_KEY_USAGE_REDIS_URL")
            regions[region] = _region_layout(
                [region + _az_suffix(pod) for pod in pods],
                {int(env["IAM_PLANES_REGIONAL_PORT"])},
                {_redis_region(env["IAM_PLANES_REDIS_URL"])},
                {None if usage is None else _redis_region(usage)},
            )
        else:
            control = {
                "port": int(env["IAM_PLANES_PORT"]),
                "authorizer": env["IAM_PLANES_AUTHORIZER"],
                "reads": _redis_region(env["IAM_PLANES_REDIS_URL"]),
            }
    return {"redis": redis, "controlplane": control, "regions": regions}


def test_compose_describes_what_the_launcher_runs(compose: dict[str, Any]) -> None:
    """Host for host, the compose file runs what ``up --hosts netns`` runs: which Redis
    replicates which, the control plane's port, authorizer and Redis, and per region its AZs,
    regional port, the Redis its planes read and where key usage goes."""
    assert _compose_layout(compose) == _launched_layout()


def test_kubernetes_describes_what_the_launcher_runs() -> None:
    """The committed Kubernetes manifests describe the same hosts as the launcher too."""
    documents = [
        document
        for path in sorted((MANIFESTS / "kubernetes").glob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text())
    ]
    assert _kubernetes_layout(documents) == _launched_layout()


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
