"""EVALUATE stage: scan the candidate statements once, reduce them to facts, decide (spec §7).

Every candidate statement (its set applies and its action test passed, via the policy-set
index) is tested for resource, principal and conditions (R5). Applicable statements are
recorded as matched; a Deny raises the explicit-deny fact, an Allow sets the bit of its set.
The bits become :class:`Facts` and :func:`decide` gives the verdict.
"""

from __future__ import annotations

from dataplane.evaluation._credentials import credential_verdict
from dataplane.evaluation._decide import Facts, Verdict, decide
from dataplane.evaluation._model import Decision, Level, MatchedStatement
from dataplane.evaluation._policyset import PolicySet
from dataplane.evaluation._request import Request
from dataplane.evaluation._sets import BOUNDARY, IDENTITY, RCP, RESOURCE, SCP, SESSION

__all__ = ["evaluate", "explain_facts"]

_DIRECT = Level.DIRECT
_NONE = Level.NONE
_VERDICTS: dict[tuple[object, ...], Verdict] = {}


def _verdict(key: tuple[object, ...]) -> Verdict:
    """decide() memoised on the fact tuple (a pure function of a small finite domain)."""
    verdict = _VERDICTS.get(key)
    if verdict is None:
        verdict = _VERDICTS[key] = decide(Facts(*key))  # type: ignore[arg-type]
    return verdict


def _errors(request: Request, policies: PolicySet) -> tuple[str, ...]:
    principal = request.principal
    notes = []
    if not principal.is_iam_entity and (policies.identity or policies.boundary is not None):
        notes.append(f"identity policies and boundaries do not apply to {principal.type.value}")
    if not principal.is_session and policies.session is not None:
        notes.append(f"session policies do not apply to {principal.type.value}")
    return tuple(notes)


def _facts_key(
    request: Request, policies: PolicySet
) -> tuple[tuple[object, ...], list[MatchedStatement], list[str]]:
    """Test every candidate statement once (R5) and reduce the result to the fact tuple.

    Returns (facts in :class:`Facts` field order, matched statements, missing context keys).
    Hot path: written as one loop over the candidates with locals only.
    """
    active = request.eligible & policies.present  # R40: the policy types that apply
    has_boundary = active & BOUNDARY
    principal, resource = request.principal, request.resource
    ctx, derived = request.ctx, principal.derived
    candidates = policies.candidates(request.action_key, active)
    matched: list[MatchedStatement] = list(candidates.matched)  # unconditional ones, folded
    missing: list[str] = []
    denied, bits, best = candidates.denied, candidates.bits, _NONE
    for bit, statement in candidates.conditional:
        if not statement.resource_any:
            hit = statement.resource_static(resource)
            if not hit and statement.resource_templates:
                hit = statement.template_hit(resource, ctx, derived, missing)
            if hit == statement.not_resource:
                continue
        level = _DIRECT
        if statement.principal is not None:
            level = statement.principal.level(principal)
            if level is _NONE:
                continue
        elif (
            statement.not_principal is not None
            and not has_boundary  # R21: with a boundary a NotPrincipal Deny always applies
            and statement.not_principal.excludes(principal)
        ):
            continue
        for test in statement.conditions:
            if not test(ctx, derived, missing):
                break
        else:
            matched.append(statement.match)
            if statement.deny:
                denied = True  # R2
            else:
                bits |= bit
                if bit == RESOURCE and level > best:
                    best = level  # R18: the best level among applicable RBP Allows
    scp_bits = policies.scp_bits
    key = (
        denied,
        True if active & RCP else None,  # R66: RCPFullAWSAccess allows at every level
        (bits & scp_bits == scp_bits) if active & SCP else None,  # every SCP level allows, R59
        request.caller,
        request.owner_kind,
        request.cross_account,
        best,
        bits & IDENTITY != 0,  # some identity policy allows
        (bits & BOUNDARY != 0) if has_boundary else None,  # the boundary allows
        (bits & SESSION != 0) if active & SESSION else None,  # some session policy allows
    )
    return key, matched, missing


def evaluate(request: Request, policies: PolicySet) -> Decision:
    """Decide one request against its policies; pure, with the matched statements as reasons."""
    principal = request.principal
    if not principal.long_term or request.action_key.startswith("sts:"):
        early = credential_verdict(principal, request.action_key)
        if early is not None:
            return Decision(early[0], early[1], (), (), ())
    key, matched, missing = _facts_key(request, policies)
    outcome, stage = _VERDICTS.get(key) or _verdict(key)
    errors = (
        () if principal.is_iam_entity and policies.session is None else _errors(request, policies)
    )
    return tuple.__new__(
        Decision,
        (outcome, stage, tuple(matched), tuple(dict.fromkeys(missing)) if missing else (), errors),
    )


def explain_facts(request: Request, policies: PolicySet) -> Facts | None:
    """The facts :func:`evaluate` decides on (``None`` when a credential rule decided first)."""
    if credential_verdict(request.principal, request.action_key) is not None:
        return None
    return Facts(*_facts_key(request, policies)[0])  # type: ignore[arg-type]
