"""The data plane's JSON contract: authorization queries and the answers to them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AccessKeyPrincipal",
    "AuthorizeAnswer",
    "AuthorizeQuery",
    "HaltedAt",
    "MatchedStatement",
    "ReplicaState",
    "SignedRequest",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AccessKeyPrincipal(_Strict):
    """A caller named by its access key, as a signed request would name it.

    Temporary keys (``ASIA...``) need the ``session_token`` STS issued with them.
    """

    access_key_id: str = Field(min_length=16, max_length=128)
    session_token: str | None = Field(default=None, min_length=1, max_length=16384)


class SignedRequest(_Strict):
    """A request the caller signed with SigV4, forwarded for authentication (the body by hash)."""

    method: str
    path: str
    query: str = ""
    headers: list[tuple[str, str]]
    body_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    service: str
    region: str


class AuthorizeQuery(_Strict):
    """``POST /authorize``: may this principal perform ``action`` on ``resource``?"""

    principal: str | AccessKeyPrincipal | None = None
    signed_request: SignedRequest | None = None
    action: str = Field(min_length=1, max_length=256)
    resource: str = Field(min_length=1, max_length=2048)
    context: dict[str, Any] = Field(default_factory=dict)
    resource_policy: dict[str, Any] | str | None = None
    min_version: int | None = Field(default=None, ge=0)
    #: answer as this replica would have at that version (time travel, while the log holds it)
    at_version: int | None = Field(default=None, ge=0)
    #: the account that owns ``resource`` when its ARN names none (IAM's ResourceOwner)
    resource_owner: str | None = Field(default=None, pattern=r"^[0-9]{12}$")
    #: also answer ``account_decisions`` (each account's decision) for a cross-account request
    account_details: bool = False
    #: also answer the engine's facts (which policy type allows what) here and at the head
    explain: bool = False


class MatchedStatement(_Strict):
    """A statement that took part in the decision."""

    policy: str
    sid: str | None
    effect: Literal["Allow", "Deny"]
    statement_index: int


class AuthorizeAnswer(_Strict):
    """The decision, why it was made, and the replica state it was made from."""

    decision: Literal["Allow", "ExplicitDeny", "ImplicitDeny"]
    decided_by: str
    matched: list[MatchedStatement]
    missing_context_keys: list[str]
    errors: list[str]
    principal: str
    version: int
    region: str
    az: str
    lag_ms: float


class HaltedAt(_Strict):
    """Where a halted replica stopped: the last version it applies, the entry after it that
    cannot be applied, why (``replication.entries.BadReason``), and since when."""

    version: int
    bad_version: int
    reason: str
    detail: str
    kind: str | None
    since: float | None


class ReplicaState(_Strict):
    """``GET /state``: where this replica stands (``halted`` is set while it is HALTED)."""

    region: str
    az: str
    version: int
    read_version: int
    lag_ms: float
    digest: str
    status: str
    entities: int
    last_applied_at: float | None
    halted: HaltedAt | None = None
    delay_seed: int
