"""The two accounts of a cross-account request, decided separately (IAM's EvalDecisionDetails).

A cross-account request is allowed only when both the caller's account (its identity
policies, boundary and session policies) and the resource's account (its resource policy)
allow it (R48). Simulation reports each side's decision; this module derives them from the
same facts and matched statements :func:`evaluate` decided on, so they can never disagree
with the decision itself.
"""

from __future__ import annotations

from typing import NamedTuple

from dataplane.evaluation._decide import principal_side
from dataplane.evaluation._evaluate import explain_facts
from dataplane.evaluation._model import Decision, Level, Outcome
from dataplane.evaluation._policyset import PolicySet
from dataplane.evaluation._request import Request

__all__ = ["AccountDecisions", "account_decisions"]


class AccountDecisions(NamedTuple):
    """What the caller's account and the resource's account each decided."""

    identity: Outcome  # the caller's account: identity policies, boundary, session policies
    resource: Outcome  # the resource's account: its resource-based policy


def account_decisions(
    request: Request, policies: PolicySet, decision: Decision
) -> AccountDecisions | None:
    """Each account's decision on a cross-account request ``decision`` answered.

    ``None`` when the request is not cross-account, when a credential rule decided before any
    policy, and when an SCP or RCP refused it: then, as in IAM's simulator, evaluation ends
    at the organization and neither account's policies are reported.
    """
    facts = explain_facts(request, policies)
    if facts is None or not facts.cross_account:
        return None
    if facts.scp_gate is False or facts.rcp_gate is False:
        return None
    organization = {
        p.label for level in (*(policies.scps or ()), *(policies.rcps or ())) for p in level
    }
    resource_label = None if policies.resource is None else policies.resource.label
    denied_by = {m.policy for m in decision.matched if m.effect == "Deny"}
    if denied_by & organization:
        return None
    if resource_label in denied_by:
        resource = Outcome.EXPLICIT_DENY
    elif facts.level is not Level.NONE:
        resource = Outcome.ALLOW
    else:
        resource = Outcome.IMPLICIT_DENY
    by_caller_account = denied_by - {resource_label}
    identity = Outcome.EXPLICIT_DENY if by_caller_account else principal_side(facts)[0]
    return AccountDecisions(identity, resource)
