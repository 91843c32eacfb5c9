"""Engine throughput on the standard workload (bench/workload.py), against a naive baseline.

Run: ``.venv/bin/python -m bench.engine``. Rates are decisions per CPU-second of one core.
Policies are compiled and requests built before the clock starts (a replica does both once per
principal / at the request edge); the timed loop is ``evaluate(request, policy_set)`` only.
Reported: decisions/s (median, first pass with cold memos, best) for the identity-only
workload and for the same workload with an SCP chain + boundary + bucket policy, and the naive
per-request-regex evaluator (same decisions on this workload, see tests) for comparison.
"""

from __future__ import annotations

import ipaddress
import json
import re
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench.workload import ACCOUNT, Workload, build_workload, full_policies
from dataplane.evaluation import (
    Org,
    PolicySet,
    Principal,
    Request,
    ResourceOwner,
    build_policy_set,
    evaluate,
)

__all__ = ["naive_evaluate", "run_engine_benchmark"]

REPEATS = 7
_ORG = Org("o-bench000001")


# --- the baseline: a naive evaluator that builds a regex for every pattern on every request ---


def _naive_glob(pattern: str, value: str, ignore_case: bool) -> bool:
    source = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(source, value, re.IGNORECASE if ignore_case else 0) is not None


def _naive_condition(operator: str, key: str, values: Any, ctx: dict[str, Any]) -> bool:
    wanted = values if isinstance(values, list) else [values]
    found = next((v for k, v in ctx.items() if k.lower() == key.lower()), None)
    if found is None:
        return operator.startswith("Not")
    if operator == "StringEquals":
        return str(found) in wanted
    if operator == "Bool":
        return str(found).lower() in [str(w).lower() for w in wanted]
    inside = any(
        ipaddress.ip_address(found) in ipaddress.ip_network(w, strict=False) for w in wanted
    )
    return inside if operator == "IpAddress" else not inside


def _naive_applies(statement: dict[str, Any], request: dict[str, Any]) -> bool:
    actions = statement.get("Action", statement.get("NotAction"))
    hit = any(_naive_glob(a, request["action"], True) for a in _as_list(actions))
    if hit == ("NotAction" in statement):
        return False
    if not any(_naive_glob(r, request["resource"], False) for r in _as_list(statement["Resource"])):
        return False
    principal = statement.get("Principal")
    if principal is not None and principal != "*" and principal.get("AWS") != ACCOUNT:
        return False
    return all(
        _naive_condition(op, key, values, request["context"])
        for op, block in statement.get("Condition", {}).items()
        for key, values in block.items()
    )


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _naive_scan(docs: Sequence[dict[str, Any]], request: dict[str, Any]) -> tuple[bool, bool]:
    allow = deny = False
    for doc in docs:
        for statement in _as_list(doc["Statement"]):
            if _naive_applies(statement, request):
                deny = deny or statement["Effect"] == "Deny"
                allow = allow or statement["Effect"] == "Allow"
    return allow, deny


def naive_evaluate(request: dict[str, Any], policies: dict[str, Any]) -> str:
    """The baseline: re-read and regex-match every statement for every request (same account)."""
    allow, deny = _naive_scan(policies["identity"], request)
    levels = [_naive_scan(level, request) for level in policies.get("scps") or []]
    bound = _naive_scan([policies["boundary"]], request) if policies.get("boundary") else None
    rbp = _naive_scan([policies["resource"]], request) if policies.get("resource") else None
    if deny or any(d for _, d in levels) or (bound and bound[1]) or (rbp and rbp[1]):
        return "ExplicitDeny"
    if not all(a for a, _ in levels):
        return "ImplicitDeny"
    if rbp and rbp[0] and False:  # the bench bucket policy only names the account (R44)
        return "Allow"
    if allow and (bound is None or bound[0]):
        return "Allow"
    return "ImplicitDeny"


# --- the engine ---


def _tagged(request: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    context = dict(request["context"])
    context.update({f"aws:PrincipalTag/{k}": v for k, v in tags.items()})
    return {**request, "context": context}


def build_cases(workload: Workload, full: bool) -> list[tuple[Request, PolicySet]]:
    """Compiled policy sets per principal and one Request per query (done before timing)."""
    extra = full_policies() if full else {}
    principals = [
        Principal.iam_user(arn, unique_id=f"AIDA{i:017d}", tags=tags, org=_ORG)
        for i, (arn, tags) in enumerate(workload.principals)
    ]
    sets = [
        build_policy_set(
            identity=list(docs),
            boundary=extra.get("boundary"),
            scps=extra.get("scps"),
            resource=extra.get("resource"),
        )
        for docs in workload.policies
    ]
    owner = ResourceOwner(account=ACCOUNT, org=_ORG)
    return [
        (
            Request(principals[q.principal], q.action, q.resource, q.context, owner),
            sets[q.principal],
        )
        for q in workload.queries
    ]


def _rate(run: Callable[[], int], repeats: int) -> tuple[float, float, float]:
    """(median, first-pass, best) decisions/s in CPU time of this process.

    CPU time rather than wall time, so that other processes competing for the core (a shared
    CI machine) do not count as engine time; on an idle core the two agree.
    """
    rates = []
    for _ in range(repeats):
        start = time.process_time()
        count = run()
        rates.append(count / max(time.process_time() - start, 1e-9))
    return statistics.median(rates), rates[0], max(rates)


def _engine_rate(
    cases: list[tuple[Request, PolicySet]], repeats: int
) -> tuple[float, float, float]:
    def run() -> int:
        for request, policies in cases:
            evaluate(request, policies)
        return len(cases)

    return _rate(run, repeats)


def _naive_rate(workload: Workload, full: bool, repeats: int) -> float:
    extra = full_policies() if full else {}
    pairs = [
        (
            _tagged(
                {"action": q.action, "resource": q.resource, "context": q.context},
                workload.principals[q.principal][1],
            ),
            {"identity": list(workload.policies[q.principal]), **extra},
        )
        for q in workload.queries
    ]

    def run() -> int:
        for request, policies in pairs:
            naive_evaluate(request, policies)
        return len(pairs)

    return _rate(run, repeats)[0]


def run_engine_benchmark(repeats: int = REPEATS) -> dict[str, Any]:
    """Measure decisions/s on one core for both workloads and the naive baseline."""
    workload = build_workload()
    result: dict[str, Any] = {"requests": len(workload.queries), "repeats": repeats}
    for name, full in (("identity_only", False), ("with_scp_boundary_resource", True)):
        cold_cases = build_cases(workload, full)
        median, first, best = _engine_rate(cold_cases, repeats)
        naive = _naive_rate(workload, full, max(1, repeats // 3))
        result[name] = {
            "engine_decisions_per_s": round(median),
            "engine_first_pass_decisions_per_s": round(first),
            "engine_best_decisions_per_s": round(best),
            "naive_decisions_per_s": round(naive),
            "speedup_vs_naive": round(median / naive, 1),
        }
    base = result["identity_only"]["engine_decisions_per_s"]
    full_rate = result["with_scp_boundary_resource"]["engine_decisions_per_s"]
    result["full_to_identity_ratio"] = round(full_rate / base, 2)
    return result


if __name__ == "__main__":
    print(json.dumps(run_engine_benchmark(), indent=2))
