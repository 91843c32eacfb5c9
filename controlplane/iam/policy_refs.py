"""References to managed policies from other entities: attachable ARNs and boundaries."""

from __future__ import annotations

from typing import Any

from controlplane.iam.errors import no_such_entity
from replication.entities import ManagedPolicy
from replication.state import IamState

__all__ = ["boundary_shape", "require_attachable"]


def require_attachable(state: IamState, arn: str) -> ManagedPolicy:
    """The managed policy ``arn`` names, or NoSuchEntity as AWS words it for attachment."""
    policy = state.managed_policy(arn)
    if policy is None:
        raise no_such_entity(f"Policy {arn} does not exist or is not attachable.")
    return policy


def boundary_shape(arn: str | None) -> dict[str, Any]:
    """The ``PermissionsBoundary`` member of a User or Role structure (empty when unset)."""
    if arn is None:
        return {}
    return {
        "PermissionsBoundary": {
            "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
            "PermissionsBoundaryArn": arn,
        }
    }
