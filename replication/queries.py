"""The contract between the planes: ``/authorize`` queries and the answers to them.

The control plane builds its queries with these models (the signed-request query of every IAM
call as the very bytes the model gives, without building it) and reads the answers with them;
the data plane validates every query with them. The data plane builds its answers as plain dicts
(the hot path: a model per answer would cost decisions per second), so the answer models are
what its answers are tested against and what the control plane parses them into.

``/authorize`` takes one query (a JSON object) or a batch (a JSON array); each answer is an
:class:`AuthorizeAnswer` or an :class:`ErrorAnswer`. ``/authorize-stream`` carries the same
query per binary WebSocket message; its answers add what a POST carries in HTTP: the stages'
time (:class:`StreamedAnswer`) or the HTTP status (:class:`StreamedError`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AccessKeyPrincipal",
    "AccountDecisions",
    "AuthorizeAnswer",
    "AuthorizeQuery",
    "Decision",
    "ErrorAnswer",
    "MatchedStatement",
    "QueryError",
    "SignedRequest",
    "StaleVerdictFields",
    "StreamedAnswer",
    "StreamedError",
]

Decision = Literal["Allow", "ExplicitDeny", "ImplicitDeny"]


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
    #: the consistency token: answer once the replica has applied this version
    #: (``replication.consistency.state_at_least``)
    min_version: int | None = Field(default=None, ge=0)
    #: answer as this replica would have at that version (time travel, while the log holds it)
    at_version: int | None = Field(default=None, ge=0)
    #: the account that owns ``resource`` when its ARN names none (IAM's ResourceOwner)
    resource_owner: str | None = Field(default=None, pattern=r"^[0-9]{12}$")
    #: also answer ``account_decisions`` (each account's decision) for a cross-account request
    account_details: bool = False
    #: also answer the engine's facts (which policy type allows what) here and at the head
    explain: bool = False

    def to_json(self) -> bytes:
        """The query as it crosses the hop: the fields the caller set; a None is left out, as
        an absent field means the same."""
        return self.model_dump_json(exclude_unset=True, exclude_none=True).encode()


class MatchedStatement(_Strict):
    """A statement that took part in the decision."""

    policy: str
    sid: str | None
    effect: Literal["Allow", "Deny"]
    statement_index: int


class AccountDecisions(_Strict):
    """What the caller's account and the resource's account each decided (cross-account)."""

    identity: Decision
    resource: Decision


class StaleVerdictFields(_Strict):
    """Whether an answer given at ``version`` differs from the answer at the head (the
    ``stale`` member of an answer, and the ``x-iam-planes-stale`` header's value)."""

    stale: bool
    version: int
    outcome: str
    head_version: int
    head_outcome: str
    #: the first pending version at which the answer becomes the head's (None: not stale)
    flips_at_version: int | None = None
    #: when this replica's delay applies that version, from now (None: not stale)
    due_in_ms: float | None = None


class AuthorizeAnswer(_Strict):
    """The decision, why it was made, and the replica state it was made from."""

    decision: Decision
    decided_by: str
    matched: list[MatchedStatement]
    missing_context_keys: list[str]
    errors: list[str]
    principal: str
    version: int
    region: str
    az: str
    lag_ms: float
    #: asked with ``account_details``, for a cross-account request
    account_decisions: AccountDecisions | None = None
    #: asked with ``explain``: the engine's facts here and the explained answer at the head
    facts: dict[str, Any] | None = None
    head: dict[str, Any] | None = None
    #: a denial, or an Allow while a change to the caller's account is pending
    stale: StaleVerdictFields | None = None
    #: a denial of a single query, encoded as AWS services encode it (STS decodes it)
    encoded_authorization_message: str | None = None


class QueryError(_Strict):
    """An AWS error code and message, as the answer to one query."""

    code: str
    message: str


class ErrorAnswer(_Strict):
    """A query that could not be answered (an unknown caller, a bad version, ...)."""

    error: QueryError
    stale: StaleVerdictFields | None = None
    #: asked with ``explain``: the explained answer at the head
    head: dict[str, Any] | None = None


class StreamedAnswer(AuthorizeAnswer):
    """An ``/authorize-stream`` answer: the stages' seconds a POST carries in Server-Timing."""

    server_timing: dict[str, float] | None = None


class StreamedError(ErrorAnswer):
    """An ``/authorize-stream`` error: the HTTP status a POST would have answered with."""

    status: int
