"""The policies of one request (R40) and their action index.

A :class:`PolicySet` tags every statement with the bit of the set it belongs to (identity,
boundary, session, resource, each SCP level, each RCP level). For a lower-cased action and a
mask of the sets that apply to the caller it memoises the candidate statements, so a request
only visits statements whose action test already passed. Keep a PolicySet per principal (or
per policy-version tuple) to reuse the index; the memo is a pure function of its inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from dataplane.evaluation._compile import CompiledPolicy, CompiledStatement
from dataplane.evaluation._conditions import ConditionTest
from dataplane.evaluation._glob import Matcher
from dataplane.evaluation._model import StatementMatch
from dataplane.evaluation._principals import CompiledPrincipal
from dataplane.evaluation._sets import BOUNDARY, IDENTITY, RCP, RESOURCE, SCP, SESSION

__all__ = [
    "BOUNDARY",
    "IDENTITY",
    "RCP",
    "RESOURCE",
    "SCP",
    "SESSION",
    "Candidate",
    "Candidates",
    "PolicySet",
    "Scan",
]

#: a statement with the bit of its set (identity/boundary/session/resource or one org level)
Candidate = tuple[int, CompiledStatement]


#: One conditional candidate, flattened for the evaluation loop: (bit, deny, match,
#: resource test or ``None`` for any resource, not_resource, the statement (for resource
#: entries with variables), has templates, principal, not_principal, conditions). A plain
#: tuple, not a NamedTuple: only an exact tuple unpacks on the interpreter's fast path.
Scan = tuple[
    int,
    bool,
    StatementMatch,
    Matcher | None,
    bool,
    CompiledStatement,
    bool,
    CompiledPrincipal | None,
    CompiledPrincipal | None,
    tuple[ConditionTest, ...],
]


def _scan(bit: int, statement: CompiledStatement) -> Scan:
    return (
        bit,
        statement.deny,
        statement.match,
        None if statement.resource_any else statement.resource_static,
        statement.not_resource,
        statement,
        bool(statement.resource_templates),
        statement.principal,
        statement.not_principal,
        statement.conditions,
    )


class Candidates(NamedTuple):
    """The statements to visit for one (action, applicable sets) pair.

    Unconditional statements (any resource, no principal, no condition) apply to every such
    request, so their effect is folded in once: their matches, Allow bits and Deny flag.
    """

    matched: tuple[StatementMatch, ...]
    bits: int
    denied: bool
    conditional: tuple[Scan, ...]
    sts_action: bool  # the action is an STS one (credential rules R70/R82/R83 may decide)


def _fold(candidates: list[Candidate], sts_action: bool) -> Candidates:
    always = [(bit, s) for bit, s in candidates if s.unconditional]
    bits = 0
    for bit, statement in always:
        if not statement.deny:
            bits |= bit
    return Candidates(
        matched=tuple(statement.match for _, statement in always),
        bits=bits,
        denied=any(statement.deny for _, statement in always),
        conditional=tuple(_scan(bit, s) for bit, s in candidates if not s.unconditional),
        sts_action=sts_action,
    )


_MEMO_LIMIT = 4096
#: allow bits 0-3 are the type bits IDENTITY, BOUNDARY, SESSION, RESOURCE; then one per org level
_FIRST_LEVEL_BIT = 4


def _tagged(
    policies: Sequence[CompiledPolicy], bit: int, kind: int
) -> list[tuple[int, int, CompiledPolicy]]:
    return [(kind, bit, policy) for policy in policies]


@dataclass(frozen=True, slots=True)
class PolicySet:
    """Every policy that may apply to one request (R40), compiled.

    ``session=None`` means no session policy was passed, unlike ``()``. ``scps``/``rcps`` list
    the levels from the organization root down to the account; ``None`` = not in play.
    """

    identity: Sequence[CompiledPolicy] = ()
    resource: CompiledPolicy | None = None
    boundary: CompiledPolicy | None = None
    session: Sequence[CompiledPolicy] | None = None
    scps: Sequence[Sequence[CompiledPolicy]] | None = None
    rcps: Sequence[Sequence[CompiledPolicy]] | None = None
    scp_bits: int = field(init=False, repr=False, compare=False)
    rcp_bits: int = field(init=False, repr=False, compare=False)
    present: int = field(init=False, repr=False, compare=False)
    _tagged: tuple[tuple[int, int, CompiledPolicy], ...] = field(
        init=False, repr=False, compare=False
    )
    #: the memo of :meth:`candidates`, keyed (action_key, active); read directly on the hot path
    index: dict[tuple[str, int], Candidates] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tagged = _tagged(self.identity, IDENTITY, IDENTITY)
        if self.boundary is not None:
            tagged += _tagged((self.boundary,), BOUNDARY, BOUNDARY)
        tagged += _tagged(self.session or (), SESSION, SESSION)
        if self.resource is not None:
            tagged += _tagged((self.resource,), RESOURCE, RESOURCE)
        bit = _FIRST_LEVEL_BIT
        scp_bits = rcp_bits = 0
        for kind, levels in ((SCP, self.scps or ()), (RCP, self.rcps or ())):
            for level in levels:
                tagged += _tagged(level, 1 << bit, kind)
                if kind == SCP:
                    scp_bits |= 1 << bit
                else:
                    rcp_bits |= 1 << bit
                bit += 1
        object.__setattr__(self, "scp_bits", scp_bits)
        object.__setattr__(self, "rcp_bits", rcp_bits)
        object.__setattr__(self, "_tagged", tuple(tagged))
        object.__setattr__(self, "index", {})
        present = IDENTITY if self.identity else 0
        for bit, value in (
            (BOUNDARY, self.boundary),
            (SESSION, self.session),
            (RESOURCE, self.resource),
            (SCP, self.scps),
            (RCP, self.rcps),
        ):
            if value is not None:
                present |= bit
        object.__setattr__(self, "present", present)

    def candidates(self, action_key: str, active: int) -> Candidates:
        """Statements of the active sets whose action test passes for ``action_key``."""
        key = (action_key, active)
        found = self.index.get(key)
        if found is None:
            if len(self.index) >= _MEMO_LIMIT:
                self.index.clear()
            found = self.index[key] = _fold(
                [
                    (bit, statement)
                    for kind, bit, policy in self._tagged
                    if kind & active
                    for statement in policy.candidates(action_key)
                ],
                action_key.startswith("sts:"),
            )
        return found
