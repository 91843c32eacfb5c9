"""References to policies from other entities: attachable ARNs, boundaries, and the policies
that keep a principal from being deleted."""

from __future__ import annotations

from typing import Any

from controlplane.iam.support.errors import delete_conflict, no_such_entity
from replication.entities import Group, ManagedPolicy, Role, User
from replication.state import IamState

#: the account field of AWS managed policies (their ARNs read ``arn:aws:iam::aws:policy/...``)
AWS_MANAGED_ACCOUNT = "aws"

__all__ = ["boundary_shape", "refuse_while_policies_held", "require_attachable"]


def require_attachable(state: IamState, arn: str, account: str) -> ManagedPolicy:
    """The managed policy ``arn`` names, or NoSuchEntity as AWS words it for attachment.

    Only AWS managed policies and ``account``'s own customer managed policies are attachable
    there: another account's policy is refused exactly like a missing one, so attaching
    cannot hand its owner control of this account's principals (nor reveal that it exists).
    """
    policy = state.managed_policy(arn)
    if policy is None or policy.account not in (AWS_MANAGED_ACCOUNT, account):
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


def refuse_while_policies_held(principal: User | Group | Role) -> None:
    """DeleteConflict, as AWS words it, while the principal still has inline policies (checked
    first) or attached managed policies."""
    if principal.inline_policies:
        raise delete_conflict("Cannot delete entity, must delete policies first.")
    if principal.attached_policies:
        raise delete_conflict("Cannot delete entity, must detach all policies first.")
