"""Who is calling, whatever the credentials: a long-term identity or a session.

The authorizer and the STS handlers treat both alike through these functions: the engine
principal, the policies that apply, and the names AWS reports (ARN, UserId).
"""

from __future__ import annotations

from dataplane.evaluation import CompiledPolicy, PolicySet, Principal
from dataplane.policy_index import PolicyIndex
from dataplane.principals import ResolvedPrincipal
from dataplane.sts.sessions import Session
from replication.state import IamState

__all__ = [
    "Caller",
    "caller_cache_key",
    "caller_policies",
    "caller_principal",
    "caller_user_id",
    "principal_is_timeless",
]

Caller = ResolvedPrincipal | Session
"""An authenticated caller: long-term access key (user or root) or temporary credentials."""


def caller_cache_key(caller: Caller) -> str:
    """A key naming everything ``caller_principal``/``caller_policies`` read from the caller
    (for a given state): the ARN of a long-term identity, the token id of a session (random,
    and sealed with the rest of the claims)."""
    if isinstance(caller, Session):
        return "session:" + caller.claims.token_id
    return "principal:" + caller.arn


def principal_is_timeless(caller: Caller) -> bool:
    """Whether ``caller_principal`` ignores the clock (all but MFA sessions, whose principal
    carries the MFA age)."""
    if isinstance(caller, Session):
        claims = caller.claims
        return not (claims.mfa and claims.mfa_authenticated_at is not None)
    return True


def caller_principal(state: IamState, index: PolicyIndex, caller: Caller, now: float) -> Principal:
    """The engine's principal for ``caller``."""
    if isinstance(caller, Session):
        return caller.principal(state, now, index.organization(state, caller.account).org)
    return index.principal(caller, state)


def caller_policies(
    state: IamState,
    index: PolicyIndex,
    caller: Caller,
    resource: CompiledPolicy | None,
    owner_account: str | None = None,
) -> PolicySet:
    """The caller's identity, boundary and session policies, with ``resource`` as the RBP;
    SCPs of the caller's account, RCPs of ``owner_account`` (the resource's owner, R40/R65;
    the caller's account when not given)."""
    if isinstance(caller, Session):
        return caller.policy_set(state, index, resource, owner_account)
    user = caller.user
    organization = index.organization(state, caller.account)
    rcps = (
        organization.rcps
        if owner_account is None or owner_account == caller.account
        else index.organization(state, owner_account).rcps
    )
    return PolicySet(
        identity=index.identity_policies(state, user) if user is not None else (),
        boundary=index.boundary(state, user) if user is not None else None,
        resource=resource,
        scps=organization.scps,
        rcps=rcps,
    )


def caller_user_id(caller: Caller) -> str:
    """``UserId`` as GetCallerIdentity reports it."""
    if isinstance(caller, Session):
        return caller.user_id
    return caller.user.user_id if caller.user is not None else caller.account
