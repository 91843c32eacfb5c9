"""What ``AssumeRoleWithWebIdentity`` and ``AssumeRoleWithSAML`` share.

Both are unsigned: the caller is the identity provider's token, evaluated as a ``Federated``
principal against the role's trust policy alone (R49, R71), plus the role account's RCPs.
Both then issue a role session like AssumeRole's, with the provider sealed in the token.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from awswire.errors import AwsError, access_denied
from dataplane.evaluation import Principal, ResourceKind, ResourceOwner, evaluate
from dataplane.identity.callers import policy_set_for
from dataplane.identity.requests import engine_request
from dataplane.identity.sessions import Session
from dataplane.identity.tokens import SessionKind
from dataplane.sts.call import StsCall
from dataplane.sts.credentials import issue
from dataplane.sts.limits import check_duration, packed_policy_size, session_policy_text
from replication.entities import Role
from replication.policy import PolicyKind
from replication.trust import rendered_trust_policy

__all__ = [
    "authorize_federated",
    "authorize_source_identity",
    "checked_source_identity",
    "federated_role",
    "issue_federated",
    "tag_context",
]

_ROLE_ARN = re.compile(r"arn:aws:iam::(?P<account>\d{12}):role/(?:[^/]+/)*(?P<name>[\w+=,.@-]+)")
DEFAULT_DURATION = 3600


# AWS's SourceIdentity pattern and length; no ':' either, so the reserved "aws:" cannot start it
_SOURCE_IDENTITY = re.compile(r"[\w+=,.@-]{2,64}")


def _refused(action: str) -> AwsError:
    return access_denied(f"Not authorized to perform {action}")


def checked_source_identity(source: str | None, error: AwsError) -> str | None:
    """The source identity an identity provider asserted, once it has AWS's form."""
    if source is not None and not _SOURCE_IDENTITY.fullmatch(source):
        raise error
    return source


def authorize_source_identity(
    call: StsCall, role: Role, principal: Principal, action: str, context: dict[str, Any]
) -> None:
    """A session with a source identity needs ``sts:SetSourceIdentity`` from the trust policy
    too; without it the call is refused as a whole, as AWS refuses it."""
    try:
        authorize_federated(
            call, role, principal, "sts:SetSourceIdentity", context=context, tagged=False
        )
    except AwsError:
        raise _refused(action) from None


def federated_role(call: StsCall, action: str) -> Role:
    """The role ``RoleArn`` names; AccessDenied (as AWS words it) when there is none."""
    role_arn = str(call.params["RoleArn"])
    found = _ROLE_ARN.fullmatch(role_arn)
    if found is None:
        raise AwsError("ValidationError", f"{role_arn} is invalid")
    role = call.state.role(found["account"], found["name"])
    if role is None or role.arn != role_arn:
        raise _refused(action)
    return role


def tag_context(tags: Mapping[str, str], transitive: tuple[str, ...]) -> dict[str, Any]:
    """``aws:RequestTag/*``, ``aws:TagKeys`` and ``sts:TransitiveTagKeys`` for the tags."""
    context: dict[str, Any] = {}
    if tags:
        context["aws:TagKeys"] = list(tags)
        context.update({f"aws:RequestTag/{k}": v for k, v in tags.items()})
    if transitive:
        context["sts:TransitiveTagKeys"] = list(transitive)
    return context


def authorize_federated(
    call: StsCall,
    role: Role,
    principal: Principal,
    action: str,
    *,
    context: Mapping[str, Any],
    tagged: bool,
) -> None:
    """The trust policy must allow ``action`` (and ``sts:TagSession`` when tags are passed)."""
    trust_text = rendered_trust_policy(call.state, role)
    trust = call.index.document(trust_text, PolicyKind.TRUST, f"trust:{role.name}")
    owner = ResourceOwner(account=role.account, kind=ResourceKind.ROLE_TRUST)
    policies = policy_set_for(call.state, call.index, None, trust, role.account)
    for needed in (action, "sts:TagSession") if tagged else (action,):
        request = engine_request(
            principal, needed, role.arn, call.environment, context, None, owner
        )
        if not evaluate(request, policies).allowed:
            raise _refused(action)


def issue_federated(
    call: StsCall,
    role: Role,
    *,
    kind: SessionKind,
    provider: str,
    session_name: str,
    tags: Mapping[str, str],
    transitive: tuple[str, ...],
    duration: int | None = None,
    source_identity: str | None = None,
) -> dict[str, Any]:
    """Issue the role session; ``Credentials``, ``AssumedRoleUser``, ``PackedPolicySize`` and
    ``SourceIdentity`` (when the identity provider set one)."""
    params = call.params
    if duration is None:
        duration = int(params.get("DurationSeconds", DEFAULT_DURATION))
    check_duration(duration, role.max_session_duration, chained=False)
    policy, arns = session_policy_text(params)
    if policy is not None:
        call.index.document(policy, PolicyKind.SESSION, "session")  # MalformedPolicyDocument
    packed = packed_policy_size(policy, arns, tags)
    claims, credentials = issue(
        call.keys,
        role.account,
        call.now,
        duration,
        kind=kind,
        role_arn=role.arn,
        role_id=role.role_id,
        session_name=session_name,
        policy=policy,
        policy_arns=arns,
        tags=dict(tags),
        transitive_tag_keys=transitive,
        issuer_chain=(provider,),
        federated_provider=provider,
        source_identity=source_identity,
    )
    session = Session(claims)
    result: dict[str, Any] = {
        "Credentials": credentials,
        "AssumedRoleUser": {"AssumedRoleId": session.user_id, "Arn": session.arn},
    }
    if packed:
        result["PackedPolicySize"] = packed
    if source_identity is not None:
        result["SourceIdentity"] = source_identity
    return result
