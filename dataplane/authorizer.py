"""``/authorize``: resolve the caller, gather its policies, run the engine, name the version.

The consistency token is resolved here, once, at the edge: ``min_version`` waits (bounded)
for the replica to catch up or fails with StaleReplica; otherwise the answer comes from
whatever state the replica has now, as in AWS.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from awswire.errors import AwsError
from dataplane.authentication import authenticate
from dataplane.evaluation import Decision, Request, evaluate
from dataplane.policy_index import PolicyIndex
from dataplane.principals import ResolvedPrincipal, principal_by_access_key, principal_by_arn
from dataplane.queries import AccessKeyPrincipal, AuthorizeAnswer, AuthorizeQuery
from dataplane.replica import Replica
from replication.state import IamState

__all__ = ["Authorizer"]

DEFAULT_MIN_VERSION_WAIT = 5.0


class Authorizer:
    """Answers authorization queries from the replica's current state."""

    def __init__(
        self,
        replica: Replica,
        clock: Callable[[], float],
        min_version_wait: float = DEFAULT_MIN_VERSION_WAIT,
    ) -> None:
        self._replica = replica
        self._clock = clock
        self._min_version_wait = min_version_wait
        self._policies = PolicyIndex()

    async def _state_for(self, query: AuthorizeQuery) -> IamState:
        if query.min_version is None:
            return self._replica.state
        return await self._replica.wait_for_version(query.min_version, self._min_version_wait)

    def _principal(self, state: IamState, query: AuthorizeQuery) -> ResolvedPrincipal:
        if query.signed_request is not None:
            return authenticate(state, query.signed_request, self._clock)
        if isinstance(query.principal, AccessKeyPrincipal):
            return principal_by_access_key(state, query.principal.access_key_id)[0]
        if isinstance(query.principal, str):
            return principal_by_arn(state, query.principal)
        raise AwsError("ValidationError", "principal or signed_request is required.", 400)

    def _context(self, query: AuthorizeQuery, source_ip: str) -> dict[str, Any]:
        now = self._clock()
        environment: dict[str, Any] = {
            "aws:CurrentTime": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "aws:EpochTime": str(int(now)),
            "aws:SourceIp": source_ip,
            "aws:SecureTransport": "false",
            "aws:RequestedRegion": self._replica.identity.region,
        }
        return {**environment, **query.context}

    async def answer(self, query: AuthorizeQuery, source_ip: str) -> dict[str, Any]:
        """The decision for one query, with the version, region, AZ and lag it was made at."""
        state = await self._state_for(query)
        principal = self._principal(state, query)
        decision = self._decide(state, principal, query, source_ip)
        identity = self._replica.identity
        return AuthorizeAnswer(
            decision=decision.decision.value,
            decided_by=decision.decided_by.value,
            matched=[m.to_dict() for m in decision.matched],
            missing_context_keys=list(decision.missing_context_keys),
            errors=list(decision.errors),
            principal=principal.arn,
            version=state.version,
            region=identity.region,
            az=identity.az,
            lag_ms=round(self._replica.lag_ms(), 3),
        ).model_dump()

    async def answer_or_error(self, query: AuthorizeQuery, source_ip: str) -> dict[str, Any]:
        """Like ``answer``, but an AWS error becomes an ``{"error": ...}`` item of the batch."""
        try:
            return await self.answer(query, source_ip)
        except AwsError as error:
            return {"error": {"code": error.code, "message": error.message}}

    def _decide(
        self, state: IamState, principal: ResolvedPrincipal, query: AuthorizeQuery, source_ip: str
    ) -> Decision:
        request = Request(
            self._policies.principal(principal),
            query.action,
            query.resource,
            self._context(query, source_ip),
        )
        return evaluate(request, self._policies.policy_set(state, principal, query.resource_policy))
