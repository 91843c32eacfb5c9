"""The IAM policy evaluation engine: pure, staged (parse -> compile -> evaluate -> decide).

Parse with :func:`replication.policy.parse_policy`, compile each document once with
:func:`compile_policy` (or let :func:`build_policy_set` do both), build a :class:`Request`,
then call :func:`evaluate`. :func:`evaluate_document` is the JSON edge of docs/evaluate-input.md::

    alice = Principal.iam_user("arn:aws:iam::111122223333:user/alice",
                               unique_id="AIDA...", tags={"team": "eng"}, org=Org("o-1"))
    policies = build_policy_set(identity=[doc_json, group_doc_json], boundary=boundary_json)
    decision = evaluate(Request(alice, "s3:GetObject", "arn:aws:s3:::bucket/key",
                                {"aws:SourceIp": "10.0.0.1"}), policies)
    decision.decision, decision.decided_by, decision.matched

Keep Principal objects (derived context keys) and PolicySets (action index) across requests;
both memoise only pure functions of their own immutable content. A context reused across
requests (the environment keys of one second) can be normalised once as a
:class:`NormalisedContext` (``env.merged(extra)`` adds per-request keys); ``Request`` then only
copies it.
"""

from dataplane.evaluation._accounts import AccountDecisions, account_decisions
from dataplane.evaluation._compile import CompiledPolicy, CompiledStatement, compile_policy
from dataplane.evaluation._context import NormalisedContext
from dataplane.evaluation._decide import CallerKind, Facts, decide
from dataplane.evaluation._document import (
    InvalidInput,
    build_policy_set,
    evaluate_document,
    explain_document,
)
from dataplane.evaluation._evaluate import evaluate, explain_facts
from dataplane.evaluation._model import (
    Credential,
    CredentialKind,
    Decision,
    Level,
    Org,
    Outcome,
    PrincipalType,
    ResourceKind,
    ResourceOwner,
    Stage,
    StatementMatch,
)
from dataplane.evaluation._policyset import PolicySet
from dataplane.evaluation._principal import Principal
from dataplane.evaluation._request import Request

__all__ = [
    "AccountDecisions",
    "CallerKind",
    "CompiledPolicy",
    "CompiledStatement",
    "Credential",
    "CredentialKind",
    "Decision",
    "Facts",
    "InvalidInput",
    "Level",
    "NormalisedContext",
    "Org",
    "Outcome",
    "PolicySet",
    "Principal",
    "PrincipalType",
    "Request",
    "ResourceKind",
    "ResourceOwner",
    "Stage",
    "StatementMatch",
    "account_decisions",
    "build_policy_set",
    "compile_policy",
    "decide",
    "evaluate",
    "evaluate_document",
    "explain_document",
    "explain_facts",
]
