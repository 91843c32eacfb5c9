"""Organizations actions of the control plane: pure handlers over the organization aggregate."""

from __future__ import annotations

from controlplane.iam.operation import Operation
from controlplane.organizations import policies, tree

__all__ = ["OPERATIONS"]

OPERATIONS: dict[str, Operation] = {
    op.name: op for module in (tree, policies) for op in module.OPERATIONS
}
