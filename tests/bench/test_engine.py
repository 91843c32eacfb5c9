"""The benchmark workload: deterministic, and the engine agrees with the naive baseline."""

from __future__ import annotations

from bench.engine import build_cases, naive_evaluate
from bench.workload import build_workload, full_policies
from dataplane.evaluation import evaluate


def test_workload_is_deterministic() -> None:
    """The same seed gives the same 10,000 requests."""
    first, second = build_workload(), build_workload()
    assert len(first.queries) == 10_000 and len(first.principals) == 200
    assert first.queries[:50] == second.queries[:50]


def test_engine_agrees_with_naive_baseline() -> None:
    """On the first 2,000 requests of both workloads the two evaluators decide alike."""
    workload = build_workload()
    for full in (False, True):
        extra = full_policies() if full else {}
        cases = build_cases(workload, full)[:2000]
        outcomes = set()
        for (request, policies), query in zip(cases, workload.queries, strict=False):
            tags = workload.principals[query.principal][1]
            context = {**query.context, **{f"aws:PrincipalTag/{k}": v for k, v in tags.items()}}
            naive = naive_evaluate(
                {"action": query.action, "resource": query.resource, "context": context},
                {"identity": list(workload.policies[query.principal]), **extra},
            )
            decision = evaluate(request, policies).decision.value
            assert decision == naive, (query, decision, naive)
            outcomes.add(decision)
        assert outcomes == {"Allow", "ExplicitDeny", "ImplicitDeny"}
