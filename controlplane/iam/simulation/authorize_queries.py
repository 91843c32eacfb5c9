"""IAM simulation: the us-east-1 data plane evaluates, this module shapes.

Simulation is the one IAM action the control plane cannot answer from its projection alone:
it turns the call into a batch of data-plane authorization queries (one per action and
resource, at least as fresh as the control plane's own version) and turns the decisions
back into IAM's ``EvaluationResult`` structures. Both halves are pure; the API edge does the
HTTP call in between.
"""

from __future__ import annotations

from typing import Any

from awswire.errors import AwsError
from controlplane.iam.operation import (
    Operation,
    OperationKind,
    Params,
    Requester,
    answered_at_the_edge,
    any_resource,
)
from controlplane.iam.support.errors import invalid_input
from controlplane.iam.support.pagination import paginate
from replication.queries import AuthorizeAnswer, AuthorizeQuery, ErrorAnswer
from replication.state import IamState

__all__ = [
    "DECISIONS",
    "OPERATIONS",
    "context_of",
    "eval_decision_details",
    "evaluation_results",
    "has_inline_policies",
    "page_of",
    "resource_owner_of",
    "simulated_pairs",
    "simulation_queries",
]


DECISIONS = {"Allow": "allowed", "ExplicitDeny": "explicitDeny", "ImplicitDeny": "implicitDeny"}
# the policy types EvalDecisionDetails reports for the two accounts of a cross-account request
IAM_POLICY, RESOURCE_POLICY = "IAM Policy", "Resource Policy"


def context_of(params: Params) -> dict[str, Any]:
    """The request context ``ContextEntries`` describe (a list for the ``*List`` types)."""
    context: dict[str, Any] = {}
    for entry in params.get("ContextEntries", []):
        values = list(entry.get("ContextKeyValues", []))
        plural = str(entry.get("ContextKeyType", "string")).endswith("List")
        context[entry["ContextKeyName"]] = values if plural or len(values) != 1 else values[0]
    return context


def resource_owner_of(params: Params) -> str | None:
    """The account ``ResourceOwner`` names (an account's ARN), validated as IAM does."""
    owner = params.get("ResourceOwner")
    if owner is None:
        return None
    fields = str(owner).split(":")
    if len(fields) < 6 or not (fields[4].isdigit() and len(fields[4]) == 12):
        raise invalid_input(f"Invalid ResourceOwner {owner}.")
    return fields[4]


def simulated_pairs(params: Params) -> list[tuple[str, str]]:
    """Every (action, resource) pair of a simulation, action-major, as IAM orders results."""
    resources = params.get("ResourceArns") or ["*"]
    return [(action, resource) for action in params["ActionNames"] for resource in resources]


def page_of(
    pairs: list[tuple[str, str]], params: Params
) -> tuple[list[tuple[str, str]], dict[str, Any]]:
    """The pairs of the page ``MaxItems``/``Marker`` ask for, and IsTruncated/Marker."""
    numbered = [(f"{n:010d}", pair) for n, pair in enumerate(pairs)]
    page, more = paginate(numbered, params, key=lambda item: item[0])
    return [pair for _, pair in page], more


def simulation_queries(
    params: Params, pairs: list[tuple[str, str]], min_version: int
) -> list[AuthorizeQuery]:
    """The data-plane queries of one SimulatePrincipalPolicy call, one per pair."""
    context = context_of(params)
    owner = resource_owner_of(params)
    return [
        AuthorizeQuery(
            principal=params["PolicySourceArn"],
            action=action,
            resource=resource,
            context=context,
            resource_policy=params.get("ResourcePolicy"),
            min_version=min_version,
            account_details=True,
            resource_owner=owner,
        )
        for action, resource in pairs
    ]


def has_inline_policies(params: Params) -> bool:
    """Whether a SimulatePrincipalPolicy call adds policies inline (answered by /evaluate)."""
    return bool(
        params.get("PolicyInputList")
        or params.get("PermissionsBoundaryPolicyInputList")
        or params.get("PolicyExclusionList")
    )


def _source_type(label: str) -> str:
    if label.startswith("arn:aws:iam::aws:policy/"):
        return "aws-managed"
    if label.startswith("arn:aws:iam::"):
        return "user-managed"
    if label.startswith("group/"):
        return "group"
    if label == "resource":
        return "resource"
    return "user" if label.startswith("inline:") else "none"


def _result(query: AuthorizeQuery, answer: AuthorizeAnswer | ErrorAnswer) -> dict[str, Any]:
    if isinstance(answer, ErrorAnswer):
        error = answer.error
        raise AwsError(error.code, error.message, 404 if error.code == "NoSuchEntity" else 400)
    decided_by = answer.decided_by
    decision = DECISIONS[answer.decision]
    matched = [
        {"SourcePolicyId": m.policy, "SourcePolicyType": _source_type(m.policy)}
        for m in answer.matched
    ]
    missing = list(answer.missing_context_keys)
    boundary = {"AllowedByPermissionsBoundary": decided_by != "boundary"}
    result: dict[str, Any] = {
        "EvalActionName": query.action,
        "EvalResourceName": query.resource,
        "EvalDecision": decision,
        "MatchedStatements": matched,
        "MissingContextValues": missing,
        "OrganizationsDecisionDetail": {"AllowedByOrganizations": decided_by != "scp"},
        "PermissionsBoundaryDecisionDetail": boundary,
    }
    details = eval_decision_details(answer.model_dump(exclude_none=True), query.resource)
    if details is not None:
        result["EvalDecisionDetails"] = details
    if query.resource != "*":
        specific: dict[str, Any] = {
            "EvalResourceName": query.resource,
            "EvalResourceDecision": decision,
            "MatchedStatements": matched,
            "MissingContextValues": missing,
            "PermissionsBoundaryDecisionDetail": boundary,
        }
        if details is not None:
            specific["EvalDecisionDetails"] = details
        result["ResourceSpecificResults"] = [specific]
    return result


def eval_decision_details(answer: dict[str, Any], resource: str) -> dict[str, str] | None:
    """IAM's ``EvalDecisionDetails``: each account's decision on a cross-account request.

    Present but empty for a same-account simulation of a named resource, absent for ``*`` and
    when an SCP or RCP ended the evaluation, as IAM documents.
    """
    sides = answer.get("account_decisions")
    if sides is not None:
        return {
            IAM_POLICY: DECISIONS[sides["identity"]],
            RESOURCE_POLICY: DECISIONS[sides["resource"]],
        }
    if resource == "*" or answer.get("decided_by") in {"scp", "rcp"}:
        return None
    return {}


def evaluation_results(
    queries: list[AuthorizeQuery],
    answers: list[AuthorizeAnswer | ErrorAnswer],
    more: dict[str, Any],
) -> tuple[dict[str, Any], int]:
    """IAM's SimulatePrincipalPolicy result (one page), and the replica version it was
    computed at."""
    results = [_result(q, a) for q, a in zip(queries, answers, strict=True)]
    version = max((a.version for a in answers if isinstance(a, AuthorizeAnswer)), default=0)
    return {"EvaluationResults": results, **more}, version


def _source(state: IamState, params: Params, caller: Requester) -> str:
    return str(params["PolicySourceArn"])


OPERATIONS = (
    Operation("SimulatePrincipalPolicy", answered_at_the_edge, _source, OperationKind.SIMULATION),
    Operation("SimulateCustomPolicy", answered_at_the_edge, any_resource, OperationKind.SIMULATION),
)
