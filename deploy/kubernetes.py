"""Kubernetes manifests for running iam-planes across machines, rendered from the topology.

``python -m deploy.kubernetes OUT_DIR`` writes one file per region plus the shared pieces:
a Redis per region (each a REPLICAOF us-east-1's), one control plane, and per region a
StatefulSet of three replicas spread over three zones behind the region's Service.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from deploy.topology import CONTROL_PLANE_REGION, DEFAULT_REGIONS, RegionSpec, Topology

__all__ = ["render_manifests"]

IMAGE = "iam-planes:latest"
REDIS_IMAGE = "redis:7"
REDIS_PORT = 6379
SECRET = "iam-planes"


def _secret_env(name: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": SECRET, "key": key}}}


def _redis_url(region: str) -> list[dict[str, Any]]:
    password = _secret_env("REDIS_PASSWORD", "redis-password")
    url = f"redis://:$(REDIS_PASSWORD)@redis-{region}:{REDIS_PORT}/0"
    env = [password, {"name": "IAM_PLANES_REDIS_URL", "value": url}]
    if region != CONTROL_PLANE_REGION:  # a read-only replica: key usage goes to the primary
        primary = f"redis://:$(REDIS_PASSWORD)@redis-{CONTROL_PLANE_REGION}:{REDIS_PORT}/0"
        env.append({"name": "IAM_PLANES_KEY_USAGE_REDIS_URL", "value": primary})
    return env


def _service(
    name: str, port: int, selector: dict[str, str], headless: bool = False
) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": selector, "ports": [{"port": port, "targetPort": port}]}
    if headless:
        spec["clusterIP"] = "None"
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def _redis(region: str) -> list[dict[str, Any]]:
    command = [
        "redis-server",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--requirepass",
        "$(REDIS_PASSWORD)",
    ]
    if region != CONTROL_PLANE_REGION:
        command += [
            "--replicaof",
            f"redis-{CONTROL_PLANE_REGION}",
            str(REDIS_PORT),
            "--masterauth",
            "$(REDIS_PASSWORD)",
        ]
    labels = {"app": "iam-planes", "component": "redis", "region": region}
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": f"redis-{region}"},
        "spec": {
            "serviceName": f"redis-{region}",
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "redis",
                            "image": REDIS_IMAGE,
                            "command": command,
                            "env": [_secret_env("REDIS_PASSWORD", "redis-password")],
                            "ports": [{"containerPort": REDIS_PORT}],
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                        }
                    ]
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}},
                    },
                }
            ],
        },
    }
    return [statefulset, _service(f"redis-{region}", REDIS_PORT, labels)]


def _data_plane(spec: RegionSpec) -> list[dict[str, Any]]:
    region, regional_port = spec.name, spec.regional_port
    labels = {"app": "iam-planes", "component": "dataplane", "region": region}
    env = [
        *_redis_url(region),
        _secret_env("IAM_PLANES_TOKEN_KEYS", "token-keys"),
        {"name": "IAM_PLANES_REGION", "value": region},
        {"name": "IAM_PLANES_HOST", "value": "0.0.0.0"},
        {"name": "IAM_PLANES_PORT", "value": str(regional_port + 1)},
        {"name": "IAM_PLANES_REGIONAL_PORT", "value": str(regional_port)},
        {"name": "IAM_PLANES_POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": f"dataplane-{region}"},
        "spec": {
            "serviceName": f"dataplane-{region}",
            "replicas": 3,
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    # one replica per zone: losing a zone never loses the region
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "topology.kubernetes.io/zone",
                            "whenUnsatisfiable": "DoNotSchedule",
                            "labelSelector": {"matchLabels": labels},
                        }
                    ],
                    "containers": [
                        {
                            "name": "dataplane",
                            "image": IMAGE,
                            "command": ["python", "-m", "dataplane"],
                            "env": env,
                            "ports": [{"containerPort": regional_port}],
                            "readinessProbe": {
                                "httpGet": {"path": "/health", "port": regional_port}
                            },
                        }
                    ],
                },
            },
        },
    }
    return [
        statefulset,
        _service(f"dataplane-{region}", regional_port, labels, headless=True),
        _service(region, regional_port, labels),
    ]


def _control_plane(topology: Topology) -> list[dict[str, Any]]:
    labels = {"app": "iam-planes", "component": "controlplane"}
    port = topology.controlplane_port
    authorizer = (
        f"http://{CONTROL_PLANE_REGION}:{topology.region(CONTROL_PLANE_REGION).regional_port}"
    )
    env = [
        *_redis_url(CONTROL_PLANE_REGION),
        {"name": "IAM_PLANES_HOST", "value": "0.0.0.0"},
        {"name": "IAM_PLANES_PORT", "value": str(port)},
        {"name": "IAM_PLANES_AUTHORIZER", "value": authorizer},
    ]
    container = {
        "name": "controlplane",
        "image": IMAGE,
        "command": ["python", "-m", "controlplane"],
        "env": env,
        "ports": [{"containerPort": port}],
        "readinessProbe": {"httpGet": {"path": "/health", "port": port}},
    }
    init = {"name": "init", "image": IMAGE, "command": ["iam-planes", "init"], "env": env}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "controlplane"},
        "spec": {
            "replicas": 1,  # the log has exactly one writer
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"initContainers": [init], "containers": [container]},
            },
        },
    }
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": SECRET},
        "stringData": {"redis-password": "CHANGE-ME", "token-keys": "k1:CHANGE-ME-base64-32-bytes"},
    }
    return [secret, deployment, _service("controlplane", port, labels)]


def render_manifests(regions: tuple[str, ...] = DEFAULT_REGIONS) -> dict[str, str]:
    """File name -> multi-document YAML, for the topology ``up --hosts netns`` runs: a host
    (here, a set of pods) per region, each region's Redis a REPLICAOF us-east-1's."""
    topology = Topology.build(regions, redis_topology="replicated", hosts="netns")
    files = {"controlplane.yaml": _control_plane(topology)}
    for spec in topology.regions:
        files[f"region-{spec.name}.yaml"] = _redis(spec.name) + _data_plane(spec)
    return {name: yaml.safe_dump_all(docs, sort_keys=False) for name, docs in files.items()}


def main() -> None:
    """Write the manifests into the directory named on the command line."""
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "deploy/manifests/kubernetes")
    target.mkdir(parents=True, exist_ok=True)
    for name, text in render_manifests().items():
        (target / name).write_text(text)


if __name__ == "__main__":
    main()
