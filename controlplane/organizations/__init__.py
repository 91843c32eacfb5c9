"""Organizations actions of the control plane: pure handlers over the organization aggregate."""

from __future__ import annotations

from controlplane.iam.operation import Operation
from controlplane.organizations import (
    delegation,
    handshakes,
    membership,
    policies,
    tagging,
    tree,
)

__all__ = ["OPERATIONS"]

OPERATIONS: dict[str, Operation] = {
    op.name: op
    for module in (tree, policies, membership, handshakes, tagging, delegation)
    for op in module.OPERATIONS
}
