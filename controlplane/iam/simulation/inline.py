"""Simulation with policies given inline: SimulateCustomPolicy, and SimulatePrincipalPolicy
with ``PolicyInputList`` / ``PermissionsBoundaryPolicyInputList``.

The control plane never evaluates: it writes each (action, resource) pair as one
docs/evaluate-input.md object carrying every policy that applies, the us-east-1 data plane's
``/evaluate`` answers with the replicas' engine, and this module turns the answers back into
IAM's ``EvaluationResult`` structures, naming each matched statement by the policy it came
from and its row and column in the text the caller sent. Both halves are pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from awswire.errors import AwsError
from controlplane.iam.operation import Params, Requester
from controlplane.iam.policies.documents import validated
from controlplane.iam.simulation.authorize_queries import (
    DECISIONS,
    context_of,
    eval_decision_details,
    page_of,
    resource_owner_of,
    simulated_pairs,
)
from controlplane.iam.simulation.statement_positions import statement_spans
from controlplane.iam.support.errors import invalid_input
from replication.policy import PolicyKind

__all__ = ["InlineSimulation", "SourcePolicy", "custom_simulation", "inline_results"]

INPUT_POLICY_TYPE = "IAM Policy"  # what IAM reports for a policy passed in PolicyInputList
_SCP_LEVEL = "ServiceControlPolicyInputList"
SIMULATED_ORGANIZATION = "o-simulated0"  # the organization an SCP hierarchy given inline is of


@dataclass(frozen=True, slots=True)
class SourcePolicy:
    """One policy of a simulation: how IAM names it, its type, and its text."""

    policy_id: str
    policy_type: str
    text: str
    holder: str | None = None  # ``kind/name`` of the user, group or role an inline policy is on

    @property
    def document(self) -> Any:
        """The policy as a JSON value (the text is validated before it gets here)."""
        return orjson.loads(self.text)


@dataclass(frozen=True, slots=True)
class InlineSimulation:
    """The /evaluate queries of one simulation (action-major) and the policies they carry."""

    queries: list[dict[str, Any]]
    pairs: list[tuple[str, str]]  # (action, resource) of each query
    identity: tuple[SourcePolicy, ...]
    boundary: SourcePolicy | None
    resource: SourcePolicy | None
    per_resource: bool  # ResourceArns were given: each result names its resource's result
    organizations: bool  # SCPs were in play (SimulatePrincipalPolicy)
    more: dict[str, Any]  # IsTruncated and Marker of the page these queries are


def input_policies(params: Params) -> tuple[tuple[SourcePolicy, ...], SourcePolicy | None]:
    """``PolicyInputList`` and ``PermissionsBoundaryPolicyInputList``, validated as AWS does."""
    identity = tuple(
        SourcePolicy(f"PolicyInputList.{n}", INPUT_POLICY_TYPE, _valid(text, PolicyKind.IDENTITY))
        for n, text in enumerate(params.get("PolicyInputList", []), start=1)
    )
    boundaries = list(params.get("PermissionsBoundaryPolicyInputList", []))
    if len(boundaries) > 1:
        raise invalid_input("Only one permissions boundary policy may be simulated.")
    boundary = None
    if boundaries:
        text = _valid(boundaries[0], PolicyKind.BOUNDARY)
        boundary = SourcePolicy("PermissionsBoundaryPolicyInputList.1", "none", text)
    return identity, boundary


def _valid(text: str, kind: PolicyKind) -> str:
    validated(text, kind)
    return text


def resource_policy(params: Params) -> SourcePolicy | None:
    """``ResourcePolicy``, validated as a resource-based policy."""
    text = params.get("ResourcePolicy")
    if text is None:
        return None
    return SourcePolicy("ResourcePolicy", "resource", _valid(text, PolicyKind.RESOURCE))


def build_simulation(
    params: Params,
    principal: dict[str, Any],
    identity: tuple[SourcePolicy, ...],
    boundary: SourcePolicy | None,
    scps: list[list[Any]] | None = None,
) -> InlineSimulation:
    """The /evaluate queries for every (action, resource) pair of the call."""
    resource = resource_policy(params)
    arns = list(params.get("ResourceArns") or [])
    context = context_of(params)
    owner_account = resource_owner_of(params)
    owner = {"account": owner_account} if owner_account else {}
    policies: dict[str, Any] = {
        "identity": [p.document for p in identity],
        "resource": None if resource is None else resource.document,
        "boundary": None if boundary is None else boundary.document,
        "scps": scps,
    }
    pairs, more = page_of(simulated_pairs(params), params)
    queries = [
        {
            "request": {
                "principal": principal,
                "action": action,
                "resource": arn,
                "context": context,
                **({"resource_owner": owner} if owner else {}),
            },
            "policies": policies,
        }
        for action, arn in pairs
    ]
    return InlineSimulation(
        queries,
        pairs,
        identity,
        boundary,
        resource,
        bool(arns),
        organizations=scps is not None,
        more=more,
    )


def _user_principal(arn: str) -> dict[str, Any]:
    parts = arn.split(":", 5)
    if len(parts) != 6 or not parts[5].startswith("user/"):
        raise invalid_input(f"Invalid CallerArn {arn}: only the ARN of an IAM user may be given.")
    return {"type": "IAMUser", "arn": arn, "account": parts[4], "name": parts[5].rsplit("/")[-1]}


def custom_simulation(params: Params, caller: Requester) -> InlineSimulation:
    """SimulateCustomPolicy: only the policies given, for ``CallerArn`` (or the caller)."""
    caller_arn = params.get("CallerArn")
    if caller_arn is None and params.get("ResourcePolicy") is not None:
        raise invalid_input("CallerArn must be specified when a ResourcePolicy is specified.")
    if caller_arn is None:
        name = caller.user_name or "iam-planes-simulated-user"
        caller_arn = (
            caller.arn if caller.user_name else f"arn:aws:iam::{caller.account}:user/{name}"
        )
    identity, boundary = input_policies(params)
    levels = params.get("OrderedOrganizationPolicyInputList")
    scps = None
    if levels is not None:  # root first, then OUs, then the account, as Organizations applies
        scps = [
            [orjson.loads(_valid(text, PolicyKind.SCP)) for text in level.get(_SCP_LEVEL, [])]
            for level in levels
        ]
    principal = _user_principal(caller_arn)
    if scps is not None:  # the caller's account is then a member account of an organization
        principal["org"] = {"id": SIMULATED_ORGANIZATION, "is_management_account": False}
    return build_simulation(params, principal, identity, boundary, scps)


def _statements(
    simulation: InlineSimulation, matched: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    found = []
    for match in matched:
        label = str(match["policy"])
        source: SourcePolicy | None = None
        if label.startswith("identity[") and label.endswith("]"):
            source = simulation.identity[int(label[9:-1])]
        elif label == "boundary":
            source = simulation.boundary
        elif label == "resource":
            source = simulation.resource
        if source is None:
            continue
        statement: dict[str, Any] = {
            "SourcePolicyId": source.policy_id,
            "SourcePolicyType": source.policy_type,
        }
        spans = statement_spans(source.text)
        index = int(match.get("statement_index", -1))
        if 0 <= index < len(spans):
            (line, column), (end_line, end_column) = spans[index]
            statement["StartPosition"] = {"Line": line, "Column": column}
            statement["EndPosition"] = {"Line": end_line, "Column": end_column}
        found.append(statement)
    return found


def _boundary_allows(matched: list[dict[str, Any]]) -> bool:
    """Whether the boundary alone allows: one of its statements allows and none denies."""
    effects = {m["effect"] for m in matched if m["policy"] == "boundary"}
    return "Allow" in effects and "Deny" not in effects


def _result(
    simulation: InlineSimulation, pair: tuple[str, str], answer: dict[str, Any]
) -> dict[str, Any]:
    if "error" in answer:
        error = answer["error"]
        code = error["code"] if error["code"] == "MalformedPolicyDocument" else "InvalidInput"
        raise AwsError(code, str(error["message"]), 400)
    decided_by = answer["decided_by"]
    decision = DECISIONS[answer["decision"]]
    matched = _statements(simulation, answer["matched"])
    missing = list(answer["missing_context_keys"])
    boundary = {"AllowedByPermissionsBoundary": _boundary_allows(answer["matched"])}
    result: dict[str, Any] = {
        "EvalActionName": pair[0],
        "EvalResourceName": pair[1],
        "EvalDecision": decision,
        "MatchedStatements": matched,
        "MissingContextValues": missing,
    }
    if simulation.organizations:
        result["OrganizationsDecisionDetail"] = {"AllowedByOrganizations": decided_by != "scp"}
    if simulation.boundary is not None:
        result["PermissionsBoundaryDecisionDetail"] = boundary
    details = eval_decision_details(answer, pair[1])
    if details is not None:
        result["EvalDecisionDetails"] = details
    if simulation.per_resource:
        specific: dict[str, Any] = {
            "EvalResourceName": pair[1],
            "EvalResourceDecision": decision,
            "MatchedStatements": matched,
            "MissingContextValues": missing,
        }
        if simulation.boundary is not None:
            specific["PermissionsBoundaryDecisionDetail"] = boundary
        if details is not None:
            specific["EvalDecisionDetails"] = details
        result["ResourceSpecificResults"] = [specific]
    return result


def inline_results(
    simulation: InlineSimulation, answers: list[dict[str, Any]]
) -> tuple[dict[str, Any], int]:
    """IAM's simulation result, and the version of the replica that computed it."""
    results = [
        _result(simulation, pair, answer)
        for pair, answer in zip(simulation.pairs, answers, strict=True)
    ]
    version = max((int(a.get("version", 0)) for a in answers), default=0)
    return {"EvaluationResults": results, **simulation.more}, version
