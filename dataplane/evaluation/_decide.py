"""AUTHORIZE stage: the decision procedure (docs/evaluation.md §7) as one table over facts.

:func:`evaluate` reduces a request and its policies to :class:`Facts`; :func:`decide` maps
facts to an outcome and the stage that decided it. Rows are tried top to bottom; the first
that matches wins, so precedence reads straight down the table.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from dataplane.evaluation._model import Level, Outcome, ResourceKind, Stage

__all__ = ["CallerKind", "Facts", "Verdict", "decide", "principal_side"]

Verdict = tuple[Outcome, Stage]
_ALLOW, _EXPLICIT, _IMPLICIT = Outcome.ALLOW, Outcome.EXPLICIT_DENY, Outcome.IMPLICIT_DENY
_MANDATORY_RBP = (ResourceKind.ROLE_TRUST, ResourceKind.KMS_KEY)


class CallerKind(StrEnum):
    """What kind of identity is calling, as far as the decision table cares."""

    IDENTITYLESS = "identityless"  # anonymous, service principal, unsigned web identity/SAML
    ROOT = "root"
    USER = "user"
    ROLE_SESSION = "role_session"
    FEDERATED = "federated"


class Facts(NamedTuple):
    """Everything the decision depends on, computed by scanning the applicable policies once."""

    explicit_deny: bool  # some applicable Deny statement matched (incl. R21 NotPrincipal+PB)
    rcp_gate: bool | None  # None: RCPs not in play; else every RCP level allows (R66)
    scp_gate: bool | None  # None: SCPs not in play; else every SCP level allows (R59)
    caller: CallerKind
    kind: ResourceKind
    cross_account: bool  # principal account != resource owner account (R48)
    level: Level  # best level of an applicable resource-policy Allow (R18)
    identity: bool  # some identity-policy Allow applies
    boundary: bool | None  # None: no permissions boundary; else the boundary allows
    session: bool | None  # None: no session policy passed; else some session policy allows


def _limits(facts: Facts, granted_by: Stage) -> Verdict:
    """The limits (docs/evaluation.md §7): boundary, then session policies, may cut (R43, R45)."""
    match facts:
        case Facts(boundary=False):
            return _IMPLICIT, Stage.BOUNDARY  # R45/R47: boundary lacks an Allow
        case Facts(caller=CallerKind.ROLE_SESSION | CallerKind.FEDERATED, session=False):
            return _IMPLICIT, Stage.SESSION  # R46: session policies passed, none allows
        case Facts(caller=CallerKind.FEDERATED, session=None):
            return _IMPLICIT, Stage.SESSION  # R74/§13-A3: federated user without session policy
        case _:
            return _ALLOW, granted_by


def principal_side(facts: Facts) -> Verdict:
    """The identity path (docs/evaluation.md §7): identity Allow, then the limits (R45)."""
    match facts:
        case Facts(caller=CallerKind.ROOT):
            return _ALLOW, Stage.IDENTITY  # R52: root starts from "everything allowed"
        case Facts(identity=False, level=Level.NONE):
            return _IMPLICIT, Stage.NO_ALLOW  # nothing allows at all
        case Facts(identity=False):
            return _IMPLICIT, Stage.IDENTITY  # R44/R48: the RBP grant needs an identity Allow
        case _:
            return _limits(facts, Stage.IDENTITY)


def decide(facts: Facts) -> Verdict:
    """Map facts to (outcome, deciding stage); one row per rule of docs/evaluation.md §7."""
    match facts:
        case Facts(explicit_deny=True):
            return _EXPLICIT, Stage.EXPLICIT_DENY  # R2: a matching Deny anywhere wins
        case Facts(rcp_gate=False):
            return _IMPLICIT, Stage.RCP  # R66: some RCP level has no applicable Allow
        case Facts(scp_gate=False):
            return _IMPLICIT, Stage.SCP  # R59/R62: some SCP level has no applicable Allow
        case Facts(caller=CallerKind.IDENTITYLESS, level=Level.DIRECT):
            return _ALLOW, Stage.RESOURCE  # R49: the resource policy alone names the caller
        case Facts(caller=CallerKind.IDENTITYLESS):
            return _IMPLICIT, Stage.RESOURCE  # R49: no IAM identity, no resource grant
        case Facts(kind=kind, level=Level.NONE) if kind in _MANDATORY_RBP:
            return _IMPLICIT, Stage.RESOURCE  # R54/R57: trust/key policy must itself allow
        case Facts(cross_account=True, level=Level.NONE):
            return _IMPLICIT, Stage.RESOURCE  # R48: the resource account does not allow
        case Facts(cross_account=True):
            return principal_side(facts)  # R48: the caller's account must allow too
        case Facts(caller=CallerKind.ROOT):
            return _ALLOW, Stage.IDENTITY  # R52: root in its own account
        case Facts(kind=ResourceKind.ROLE_TRUST, boundary=False):
            return _IMPLICIT, Stage.BOUNDARY  # R56/§13-A5: boundary must allow sts:AssumeRole
        case Facts(level=Level.DIRECT):
            return _ALLOW, Stage.RESOURCE  # R42: same-account direct grant stands alone
        case Facts(level=Level.PARENT):
            return _limits(facts, Stage.RESOURCE)  # R43: parent grant, still cut by PB/SP
        case _:
            return principal_side(facts)  # R44/R45: account-level or no grant: identity path
