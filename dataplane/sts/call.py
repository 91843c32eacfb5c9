"""One STS call as the handlers see it, and the policy check they share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from awswire.errors import AwsError, access_denied
from dataplane.evaluation import CompiledPolicy, Decision, Outcome, ResourceOwner, evaluate
from dataplane.identity.callers import Caller, policy_set_for
from dataplane.identity.policy_index import PolicyIndex, resource_account
from dataplane.identity.requests import engine_request
from dataplane.identity.sessions import Session
from dataplane.identity.tokens import TokenKeys
from replication.state import IamState

__all__ = ["StsCall", "denied"]


def denied(caller_arn: str, action: str, resource: str, decision: Decision) -> AwsError:
    """AWS's AccessDenied for an STS action, naming the caller, action and resource."""
    message = f"User: {caller_arn} is not authorized to perform: {action} on resource: {resource}"
    if decision.decision is Outcome.EXPLICIT_DENY:
        message += " with an explicit deny"
    return access_denied(message)


@dataclass(frozen=True, slots=True)
class StsCall:
    """The state, caller, parameters, clock reading and keys of one STS request."""

    state: IamState
    caller: Caller | None
    params: Mapping[str, Any]
    now: float
    region: str
    environment: Mapping[str, Any]
    keys: TokenKeys
    index: PolicyIndex

    @property
    def signed_caller(self) -> Caller:
        """The authenticated caller (every signed action has one)."""
        if self.caller is None:
            raise AwsError(
                "MissingAuthenticationToken", "Request is missing Authentication Token", 403
            )
        return self.caller

    @property
    def session(self) -> Session | None:
        """The caller's session, when it signed with temporary credentials."""
        return self.caller if isinstance(self.caller, Session) else None

    def evaluate(
        self,
        action: str,
        resource: str,
        context: Mapping[str, Any] | None = None,
        resource_policy: CompiledPolicy | None = None,
        owner: ResourceOwner | None = None,
    ) -> Decision:
        """The engine's decision for the caller doing ``action`` on ``resource``."""
        caller = self.signed_caller
        request = engine_request(
            caller.principal(self.state, self.index, self.now),
            action,
            resource,
            self.environment,
            context,
            caller.request_context,
            owner,
        )
        # RCPs are the resource owner's (e.g. the role's account in a cross-account AssumeRole)
        owner_account = (owner.account if owner else None) or resource_account(
            resource, caller.account
        )
        policies = policy_set_for(self.state, self.index, caller, resource_policy, owner_account)
        return evaluate(request, policies)

    def require(
        self,
        action: str,
        resource: str,
        context: Mapping[str, Any] | None = None,
        resource_policy: CompiledPolicy | None = None,
        owner: ResourceOwner | None = None,
    ) -> None:
        """Raise AccessDenied unless the engine allows ``action`` on ``resource``."""
        decision = self.evaluate(action, resource, context, resource_policy, owner)
        if not decision.allowed:
            raise denied(self.signed_caller.arn, action, resource, decision)
