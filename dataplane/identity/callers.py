"""Who is calling, whatever the credentials, and which policies apply to them.

A :class:`Caller` is a long-term identity (:class:`~dataplane.identity.long_term.LongTermCaller`)
or a session (:class:`~dataplane.identity.sessions.Session`); the authorizer, STS, IMDS and the
service gateway ask both the same questions through this protocol, and build every PolicySet
with :func:`policy_set_for`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from dataplane.evaluation import CompiledPolicy, PolicySet, Principal
from dataplane.identity.policy_index import PolicyIndex
from replication.entities import Role, User
from replication.state import IamState

__all__ = ["Caller", "policy_set_for"]


class Caller(Protocol):
    """An authenticated caller: a long-term access key (user or root) or temporary credentials."""

    @property
    def account(self) -> str:
        """The account the caller belongs to."""

    @property
    def arn(self) -> str:
        """The ARN AWS reports for the caller (a session's assumed-role ARN, say)."""

    @property
    def user_id(self) -> str:
        """``UserId`` as GetCallerIdentity reports it (aws:userid)."""

    @property
    def cache_key(self) -> str:
        """A key naming everything ``principal``/``policy_set_for`` read from the caller (for a
        given state)."""

    @property
    def principal_is_timeless(self) -> bool:
        """Whether ``principal`` ignores the clock, so it may be cached across requests."""

    @property
    def request_context(self) -> Mapping[str, str]:
        """Context keys AWS sets on every request the caller signs; no request overrides them."""

    def principal(self, state: IamState, index: PolicyIndex, now: float) -> Principal:
        """The engine's principal for the caller at ``now``."""

    def entity(self, state: IamState) -> User | Role | None:
        """The user or role whose identity policies and boundary apply, if any."""

    def session_policies(
        self, state: IamState, index: PolicyIndex
    ) -> tuple[CompiledPolicy, ...] | None:
        """The session policies passed when the credentials were issued (None: none passed)."""


def policy_set_for(
    state: IamState,
    index: PolicyIndex,
    caller: Caller | None,
    resource: CompiledPolicy | None,
    owner_account: str | None = None,
) -> PolicySet:
    """Every policy that applies when ``caller`` acts on a resource of ``owner_account``.

    A caller's identity policies, boundary and session policies, ``resource`` as the resource
    policy, the SCPs of the caller's account and the RCPs of ``owner_account`` (the resource's
    owner, R40/R65; the caller's account when not given). With no caller (an anonymous request,
    an AWS service, a web identity or SAML provider): ``resource`` alone, under the RCPs of
    ``owner_account`` (none when not given).
    """
    if caller is None:
        rcps = None if owner_account is None else index.organization(state, owner_account).rcps
        return PolicySet(resource=resource, rcps=rcps)
    entity = caller.entity(state)
    organization = index.organization(state, caller.account)
    owner = organization
    if owner_account is not None and owner_account != caller.account:
        owner = index.organization(state, owner_account)
    return PolicySet(
        identity=index.identity_policies(state, entity) if entity is not None else (),
        boundary=index.boundary(state, entity) if entity is not None else None,
        session=caller.session_policies(state, index),
        resource=resource,
        scps=organization.scps,
        rcps=owner.rcps,
    )
