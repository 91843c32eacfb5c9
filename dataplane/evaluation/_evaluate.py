"""EVALUATE stage: scan the candidates once, reduce them to facts, decide (docs/evaluation.md §7).

Every candidate statement (its set applies and its action test passed, via the policy-set
index) is tested for resource, principal and conditions (R5). Applicable statements are
recorded as matched; a Deny raises the explicit-deny fact, an Allow sets the bit of its set.
The bits become :class:`Facts` and :func:`decide` gives the verdict.
"""

from __future__ import annotations

from dataplane.evaluation._credentials import credential_verdict
from dataplane.evaluation._decide import CallerKind, Facts, Verdict, decide
from dataplane.evaluation._model import Decision, Level, ResourceKind, StatementMatch
from dataplane.evaluation._policyset import Candidates, PolicySet
from dataplane.evaluation._principal import Principal
from dataplane.evaluation._request import Request
from dataplane.evaluation._sets import BOUNDARY, IDENTITY, RCP, RESOURCE, SCP, SESSION
from dataplane.evaluation._variables import Context

__all__ = ["evaluate", "explain_facts"]

_DIRECT = Level.DIRECT
_NONE = Level.NONE
_RESOURCE = RESOURCE
#: (denied, allow bits, best RBP level, active sets, SCP level bits, caller, kind, cross) ->
#: verdict; decide() of the facts these determine (a pure function of a small finite domain)
_VERDICTS: dict[tuple[object, ...], Verdict] = {}
_VERDICTS_LIMIT = 65536
_Scanned = tuple[bool, int, Level, tuple[StatementMatch, ...], list[str]]


def _facts(  # noqa: PLR0917 - the raw scan result, positionally
    denied: bool,
    bits: int,
    best: Level,
    active: int,
    scp_bits: int,
    caller: CallerKind,
    kind: ResourceKind,
    cross_account: bool,
) -> Facts:
    """The :class:`Facts` a scan result means."""
    return Facts(
        explicit_deny=denied,
        rcp_gate=True if active & RCP else None,  # R66: RCPFullAWSAccess allows at every level
        scp_gate=(bits & scp_bits == scp_bits) if active & SCP else None,  # every level, R59
        caller=caller,
        kind=kind,
        cross_account=cross_account,
        level=best,
        identity=bits & IDENTITY != 0,  # some identity policy allows
        boundary=(bits & BOUNDARY != 0) if active & BOUNDARY else None,  # the boundary allows
        session=(bits & SESSION != 0) if active & SESSION else None,  # some session policy allows
    )


def _verdict(key: tuple[object, ...]) -> Verdict:
    """decide() memoised on the scan result (a pure function of a small finite domain)."""
    verdict = _VERDICTS.get(key)
    if verdict is None:
        if len(_VERDICTS) >= _VERDICTS_LIMIT:
            _VERDICTS.clear()
        verdict = _VERDICTS[key] = decide(_facts(*key))  # type: ignore[arg-type]
    return verdict


def _errors(request: Request, policies: PolicySet) -> tuple[str, ...]:
    principal = request.principal
    notes = []
    if not principal.is_iam_entity and (policies.identity or policies.boundary is not None):
        notes.append(f"identity policies and boundaries do not apply to {principal.type.value}")
    if not principal.is_session and policies.session is not None:
        notes.append(f"session policies do not apply to {principal.type.value}")
    return tuple(notes)


def _scan(
    principal: Principal, resource: str, ctx: Context, candidates: Candidates, active: int
) -> _Scanned:
    """Test every candidate statement once (R5).

    Returns (explicit deny, allow bits, best RBP Allow level, matched statements, missing
    context keys). Hot path: one loop over the flattened candidates with locals only.
    """
    no_boundary = not active & BOUNDARY
    derived = principal.derived
    matched = candidates.matched  # the unconditional ones, folded
    missing: list[str] = []
    denied, bits, best = candidates.denied, candidates.bits, _NONE
    for (
        bit,
        deny,
        match,
        resource_test,
        not_resource,
        statement,
        templates,
        named,
        not_named,
        conditions,
    ) in candidates.conditional:
        if resource_test is not None:  # R16/R17: Resource / NotResource
            hit = resource_test(resource)
            if not hit and templates:
                hit = statement.template_hit(resource, ctx, derived, missing)
            if hit == not_resource:
                continue
        level = _DIRECT
        if named is not None:
            level = named.level(principal)
            if level is _NONE:
                continue
        elif (
            not_named is not None
            and no_boundary  # R21: with a boundary a NotPrincipal Deny always applies
            and not_named.excludes(principal)
        ):
            continue
        for test in conditions:
            if not test(ctx, derived, missing):
                break
        else:
            matched += (match,)  # few statements match: a new tuple beats list + tuple()
            if deny:
                denied = True  # R2
            else:
                bits |= bit
                if bit == _RESOURCE and level > best:
                    best = level  # R18: the best level among applicable RBP Allows
    return denied, bits, best, matched, missing


def evaluate(request: Request, policies: PolicySet) -> Decision:
    """Decide one request against its policies; pure, with the matched statements as reasons."""
    principal, _, resource, _, _, action_key, ctx, owner, cross_account, eligible = request.state
    active = eligible & policies.present  # R40: the policy types that apply
    candidates = policies.index.get((action_key, active)) or policies.candidates(action_key, active)
    if candidates.sts_action or not principal.long_term:
        early = credential_verdict(principal, action_key)
        if early is not None:
            return Decision(early[0], early[1], (), (), ())
    denied, bits, best, matched, missing = _scan(principal, resource, ctx, candidates, active)
    key = (
        denied,
        bits,
        best,
        active,
        policies.scp_bits,
        principal.caller,
        owner.kind,
        cross_account,
    )
    outcome, stage = _VERDICTS.get(key) or _verdict(key)
    errors = (
        () if principal.is_iam_entity and policies.session is None else _errors(request, policies)
    )
    return tuple.__new__(
        Decision,
        (outcome, stage, matched, tuple(dict.fromkeys(missing)) if missing else (), errors),
    )


def explain_facts(request: Request, policies: PolicySet) -> Facts | None:
    """The facts :func:`evaluate` decides on (``None`` when a credential rule decided first)."""
    principal, _, resource, _, _, action_key, ctx, _, cross_account, eligible = request.state
    if credential_verdict(principal, action_key) is not None:
        return None
    active = eligible & policies.present
    candidates = policies.candidates(action_key, active)
    denied, bits, best, _, _ = _scan(principal, resource, ctx, candidates, active)
    return _facts(
        denied,
        bits,
        best,
        active,
        policies.scp_bits,
        principal.caller,
        request.owner_kind,
        cross_account,
    )
