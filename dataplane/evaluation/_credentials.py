"""Rules that decide before any policy is read (docs/evaluation.md R70, R82, R83)."""

from __future__ import annotations

from dataplane.evaluation._decide import Verdict
from dataplane.evaluation._model import CredentialKind, Outcome, PrincipalType, Stage
from dataplane.evaluation._principal import Principal

__all__ = ["credential_verdict"]

_GET_CALLER_IDENTITY = "sts:getcalleridentity"
_SESSION_ISSUERS = frozenset({"sts:getfederationtoken", "sts:getsessiontoken"})
_AFTER_SESSION_TOKEN = frozenset({"sts:assumerole", _GET_CALLER_IDENTITY})


def _blocked(kind: CredentialKind, mfa: bool, action: str) -> bool:
    """R82: what each kind of temporary credential may never call."""
    service = action.split(":", 1)[0]
    match kind:
        case CredentialKind.ASSUME_ROLE:
            return action in _SESSION_ISSUERS
        case CredentialKind.GET_FEDERATION_TOKEN:
            return service == "iam" or (service == "sts" and action != _GET_CALLER_IDENTITY)
        case CredentialKind.GET_SESSION_TOKEN:
            return (service == "iam" and not mfa) or (
                service == "sts" and action not in _AFTER_SESSION_TOKEN
            )
        case _:
            return False


def credential_verdict(principal: Principal, action_key: str) -> Verdict | None:
    """A verdict reached without policies, or ``None`` when the policies must be read."""
    credential = principal.credential
    if credential.kind is CredentialKind.LONG_TERM and not action_key.startswith("sts:"):
        return None  # fast path: long-term keys are restricted only for STS calls below
    if action_key == _GET_CALLER_IDENTITY and principal.has_iam_identity:
        return Outcome.ALLOW, Stage.CREDENTIAL  # R83: needs no permission, beats any Deny
    if principal.has_iam_identity and _blocked(credential.kind, credential.mfa, action_key):
        return Outcome.IMPLICIT_DENY, Stage.CREDENTIAL  # R82
    if action_key == "sts:assumerole" and principal.type is PrincipalType.ROOT:
        return Outcome.IMPLICIT_DENY, Stage.CREDENTIAL  # R70: root cannot assume roles
    return None
