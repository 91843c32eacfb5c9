"""IAM simulation: the us-east-1 data plane evaluates, this module shapes.

Simulation is the one IAM action the control plane cannot answer from its projection alone:
it turns the call into a batch of data-plane authorization queries (one per action and
resource, at least as fresh as the control plane's own version) and turns the decisions
back into IAM's ``EvaluationResult`` structures. Both halves are pure; the API edge does the
HTTP call in between.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from awswire.errors import AwsError
from controlplane.iam.operation import Caller, Operation, Outcome, Params
from replication.state import IamState

__all__ = [
    "DECISIONS",
    "OPERATIONS",
    "SIMULATIONS",
    "context_of",
    "evaluation_results",
    "has_inline_policies",
    "simulation_queries",
]

SIMULATIONS = frozenset({"SimulatePrincipalPolicy", "SimulateCustomPolicy"})

DECISIONS = {"Allow": "allowed", "ExplicitDeny": "explicitDeny", "ImplicitDeny": "implicitDeny"}


def context_of(params: Params) -> dict[str, Any]:
    """The request context ``ContextEntries`` describe (a list for the ``*List`` types)."""
    context: dict[str, Any] = {}
    for entry in params.get("ContextEntries", []):
        values = list(entry.get("ContextKeyValues", []))
        plural = str(entry.get("ContextKeyType", "string")).endswith("List")
        context[entry["ContextKeyName"]] = values if plural or len(values) != 1 else values[0]
    return context


def simulation_queries(params: Params, min_version: int) -> list[dict[str, Any]]:
    """The data-plane queries of one SimulatePrincipalPolicy call, action-major."""
    resources = params.get("ResourceArns") or ["*"]
    context = context_of(params)
    return [
        {
            "principal": params["PolicySourceArn"],
            "action": action,
            "resource": resource,
            "context": context,
            "resource_policy": params.get("ResourcePolicy"),
            "min_version": min_version,
        }
        for action in params["ActionNames"]
        for resource in resources
    ]


def has_inline_policies(params: Params) -> bool:
    """Whether a SimulatePrincipalPolicy call adds policies inline (answered by /evaluate)."""
    return bool(params.get("PolicyInputList") or params.get("PermissionsBoundaryPolicyInputList"))


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


def _result(query: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    if "error" in answer:
        error = answer["error"]
        raise AwsError(
            error["code"], error["message"], 404 if error["code"] == "NoSuchEntity" else 400
        )
    decided_by = answer["decided_by"]
    return {
        "EvalActionName": query["action"],
        "EvalResourceName": query["resource"],
        "EvalDecision": DECISIONS[answer["decision"]],
        "MatchedStatements": [
            {"SourcePolicyId": m["policy"], "SourcePolicyType": _source_type(m["policy"])}
            for m in answer["matched"]
        ],
        "MissingContextValues": list(answer["missing_context_keys"]),
        "OrganizationsDecisionDetail": {"AllowedByOrganizations": decided_by != "scp"},
        "PermissionsBoundaryDecisionDetail": {
            "AllowedByPermissionsBoundary": decided_by != "boundary"
        },
    }


def evaluation_results(
    queries: list[dict[str, Any]], answers: list[dict[str, Any]]
) -> tuple[dict[str, Any], int]:
    """IAM's SimulatePrincipalPolicy result, and the replica version it was computed at."""
    results = [_result(q, a) for q, a in zip(queries, answers, strict=True)]
    version = max((int(a.get("version", 0)) for a in answers), default=0)
    return {"EvaluationResults": results, "IsTruncated": False}, version


def _answered_at_the_edge(
    state: IamState, params: Params, caller: Caller, now: datetime
) -> Outcome:
    raise AssertionError("simulations are answered by the API edge, not the writer")


def _source(state: IamState, params: Params, caller: Caller) -> str:
    return str(params["PolicySourceArn"])


def _anything(state: IamState, params: Params, caller: Caller) -> str:
    return "*"


OPERATIONS = (
    Operation("SimulatePrincipalPolicy", _answered_at_the_edge, _source, writes=False),
    Operation("SimulateCustomPolicy", _answered_at_the_edge, _anything, writes=False),
)
