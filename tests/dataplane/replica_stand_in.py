"""A stand-in for a replica over a test's ``World``: what the authorizer and IMDS read of one."""

from __future__ import annotations

from typing import Any

from dataplane.replica import ReplicaIdentity
from tests.controlplane.organizations.test_organizations_evaluation import World

__all__ = ["ReplicaStandIn"]


class ReplicaStandIn:
    """A replica's state, identity, lag and pending changes, with nothing pending: every
    answer is at the head, which is the world's current state."""

    def __init__(self, world: World, identity: ReplicaIdentity) -> None:
        self.world = world
        self.identity = identity

    @property
    def state(self) -> Any:
        return self.world.state

    def lag_ms(self) -> float:
        return 0.0

    def pending(self) -> tuple[Any, ...]:
        return ()  # nothing read but not applied: every answer is at the head

    def pending_for(self, account: str | None) -> bool:
        return False

    def head_state(self) -> Any:
        return self.world.state
