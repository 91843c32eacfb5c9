"""What a service call acts on: each resource, the account that owns it, and its own policy.

Owners and resource policies come from the bucket-owner registry and the services backend,
which no IAM version changes, so a call's subjects are looked up once and judged at any state.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from awswire.errors import AwsError
from dataplane.evaluation import CompiledPolicy
from dataplane.gateway.errors import backend_unavailable
from dataplane.gateway.forward import BackendUnavailable
from dataplane.gateway.incoming import copy_source
from dataplane.gateway.owners import BucketOwners
from dataplane.gateway.resource_policies import ResourcePolicies
from dataplane.gateway.resources import named_account
from dataplane.gateway.routing import ServiceCall
from dataplane.identity.callers import Caller
from dataplane.identity.policy_index import PolicyIndex
from replication.policy import PolicyKind

__all__ = ["Subject", "Subjects"]

_log = structlog.get_logger("dataplane.gateway")


@dataclass(frozen=True, slots=True)
class Subject:
    """A resource the call acts on, with its owner and its own policy."""

    call: ServiceCall
    actions: tuple[str, ...]
    owner: str
    policy: CompiledPolicy | None


class Subjects:
    """Finds what calls act on: owners from the call, the registry or the caller; policies
    from the backend, compiled in the replica's index."""

    def __init__(
        self, owners: BucketOwners | None, policies: ResourcePolicies, index: PolicyIndex
    ) -> None:
        self._owners = owners
        self._policies = policies
        self._index = index

    async def prepare(
        self, call: ServiceCall, caller: Caller | None, actions: tuple[str, ...]
    ) -> list[Subject]:
        """What the call acts on, each with its owner and own policy (from the backend, which
        no IAM version changes); a copy also reads its source, in the source's own account."""
        owner = await self.owner(call, caller, actions)
        subjects = [Subject(call, actions, owner, await self.resource_policy(call, owner))]
        source = copy_source(call)
        if source is not None:
            source_actions = ("s3:GetObject",)
            source_owner = await self.owner(source, caller, source_actions)
            compiled = await self.resource_policy(source, source_owner)
            subjects.append(Subject(source, source_actions, source_owner, compiled))
        return subjects

    async def owner(
        self, call: ServiceCall, caller: Caller | None, actions: tuple[str, ...]
    ) -> str:
        """The account that owns the resource the call acts on."""
        named = named_account(call, actions)
        if named is not None:
            return named
        bucket = call.params.get("Bucket")
        if (
            call.service == "s3"
            and isinstance(bucket, str)
            and call.operation != "CreateBucket"
            and self._owners is not None
        ):
            found = await self._owners.owner(bucket)
            if found is not None:
                return found
        if caller is not None:
            return caller.account
        raise AwsError("AccessDenied", "Access Denied", 403)

    async def resource_policy(self, call: ServiceCall, owner: str) -> CompiledPolicy | None:
        """The resource's own policy, compiled; None when it has none (or none readable)."""
        try:
            document = await self._policies.policy(call, owner)
        except BackendUnavailable:
            raise backend_unavailable() from None
        if document is None:
            return None
        try:
            return self._index.document(document, PolicyKind.RESOURCE, "resource")
        except AwsError:
            _log.warning("resource_policy_unreadable", service=call.service)
            return None
