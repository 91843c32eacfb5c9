"""The consistency token: how long an answer may wait for the version a caller names.

A caller that has just written passes the version the write created (``min_version`` in an
``/authorize`` query, the ``x-iam-planes-min-version`` header of an STS call); the data plane
answers once its replica has applied that version, waiting at most
:data:`MIN_VERSION_WAIT_SECONDS`, and otherwise fails with :class:`StaleReplicaError`
(``StaleReplica``, 503, saying how far behind the replica is). Both edges resolve the token
here, so they wait alike and fail alike.
"""

from __future__ import annotations

from typing import Protocol

from awswire.errors import AwsError
from replication.headers import MIN_VERSION_HEADER
from replication.state import IamState

__all__ = [
    "MIN_VERSION_WAIT_SECONDS",
    "StaleReplicaError",
    "VersionedStates",
    "min_version_of_header",
    "state_at_least",
]

#: the longest an answer waits for the version its consistency token names
MIN_VERSION_WAIT_SECONDS = 5.0


class StaleReplicaError(AwsError):
    """The replica did not reach a requested version in time (the server's fault: 503)."""

    def __init__(self, wanted: int, have: int) -> None:
        super().__init__(
            "StaleReplica",
            f"replica is at version {have}, {wanted - have} behind the requested {wanted}",
            503,
            sender_fault=False,
        )
        self.wanted = wanted
        self.have = have


class VersionedStates(Protocol):
    """A replica as the token sees it: its current state, and a wait for a later one."""

    @property
    def state(self) -> IamState:
        """The state answers come from now."""
        ...

    async def wait_for_version(self, version: int, timeout: float) -> IamState:
        """The state once it reaches ``version``; StaleReplicaError after ``timeout``."""
        ...


async def state_at_least(replica: VersionedStates, min_version: int | None) -> IamState:
    """The state to answer from: the current one when no token is given, else the first
    state at ``min_version`` or later, waited for at most :data:`MIN_VERSION_WAIT_SECONDS`
    (:class:`StaleReplicaError` after that)."""
    if min_version is None:
        return replica.state
    return await replica.wait_for_version(min_version, MIN_VERSION_WAIT_SECONDS)


def min_version_of_header(value: str | None) -> int | None:
    """The consistency token an ``x-iam-planes-min-version`` header carries (None: absent)."""
    if value is None:
        return None
    if not value.isdigit():
        raise AwsError("ValidationError", f"{MIN_VERSION_HEADER} must be a version number.", 400)
    return int(value)
