"""Value types of the engine: outcomes, stages, organizations, credentials, owners, decisions."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Any, Literal, NamedTuple

__all__ = [
    "Credential",
    "CredentialKind",
    "Decision",
    "Level",
    "Org",
    "Outcome",
    "PrincipalType",
    "ResourceKind",
    "ResourceOwner",
    "Stage",
    "StatementMatch",
]


class Outcome(StrEnum):
    """The three outcomes of an authorization query (R1)."""

    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


class Stage(StrEnum):
    """The stage that decided (R89; names as in docs/evaluate-input.md)."""

    EXPLICIT_DENY = "explicit_deny"
    RCP = "rcp"
    SCP = "scp"
    RESOURCE = "resource"
    IDENTITY = "identity"
    BOUNDARY = "boundary"
    SESSION = "session"
    NO_ALLOW = "no_allow"
    CREDENTIAL = "credential"


class Level(IntEnum):
    """How closely a resource-policy principal names the caller (R18); higher is closer."""

    NONE = 0
    ACCOUNT = 1
    PARENT = 2
    DIRECT = 3


class PrincipalType(StrEnum):
    """The principal types of docs/evaluate-input.md."""

    IAM_USER = "IAMUser"
    ASSUMED_ROLE = "AssumedRole"
    FEDERATED_USER = "FederatedUser"
    ROOT = "Root"
    ANONYMOUS = "Anonymous"
    SERVICE = "Service"
    WEB_IDENTITY = "WebIdentity"
    SAML = "SAML"


class CredentialKind(StrEnum):
    """Where the caller's credentials came from (R37, R82)."""

    LONG_TERM = "long_term"
    ASSUME_ROLE = "AssumeRole"
    GET_SESSION_TOKEN = "GetSessionToken"
    GET_FEDERATION_TOKEN = "GetFederationToken"


class ResourceKind(StrEnum):
    """Resources whose own policy must allow (R54) versus ordinary ones."""

    GENERIC = "generic"
    ROLE_TRUST = "role_trust"
    KMS_KEY = "kms_key"


@dataclass(frozen=True, slots=True)
class Org:
    """Organization membership of an account."""

    id: str
    is_management_account: bool = False
    paths: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Credential:
    """The caller's credentials; ``issued_at`` is ISO-8601 text given by the caller."""

    kind: CredentialKind = CredentialKind.LONG_TERM
    mfa: bool = False
    issued_at: str | None = None
    mfa_age_seconds: int | None = None

    @property
    def temporary(self) -> bool:
        """Temporary credentials carry aws:TokenIssueTime and aws:MultiFactorAuthPresent (R37)."""
        return self.kind is not CredentialKind.LONG_TERM


@dataclass(frozen=True, slots=True)
class ResourceOwner:
    """The owner of the target resource; unset fields are inferred by :class:`Request`."""

    account: str | None = None
    kind: ResourceKind | None = None
    org: Org | Literal["principal"] | None = "principal"
    rcp_supported: bool = True
    aws_managed_key: bool = False


class StatementMatch(NamedTuple):
    """A statement that applied to the request."""

    policy: str
    sid: str | None
    effect: str
    statement_index: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form of docs/evaluate-input.md."""
        return {
            "policy": self.policy,
            "sid": self.sid,
            "effect": self.effect,
            "statement_index": self.statement_index,
        }


class Decision(NamedTuple):
    """The answer with its reasons (R89)."""

    decision: Outcome
    decided_by: Stage
    matched: tuple[StatementMatch, ...]
    missing_context_keys: tuple[str, ...]
    errors: tuple[str, ...]

    @property
    def allowed(self) -> bool:
        """Whether the request is allowed."""
        return self.decision is Outcome.ALLOW

    def to_dict(self) -> dict[str, Any]:
        """JSON form of docs/evaluate-input.md."""
        return {
            "decision": self.decision.value,
            "decided_by": self.decided_by.value,
            "matched": [match.to_dict() for match in self.matched],
            "missing_context_keys": list(self.missing_context_keys),
            "errors": list(self.errors),
        }
