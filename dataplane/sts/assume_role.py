"""``AssumeRole``: the trust policy as the role's resource policy, evaluated by the engine.

Checks, in AWS's order: who may call (root never, R70; R82 via the engine), the role and the
duration (R73), session policies and tags (R74-R76), source identity (R77), then the trust
evaluation for ``sts:AssumeRole`` and, when used, ``sts:TagSession`` and
``sts:SetSourceIdentity`` (R71). The new session inherits the caller's transitive tags and
source identity (role chaining).
"""

from __future__ import annotations

import re
from typing import Any

from awswire.errors import AwsError, access_denied
from dataplane.evaluation import ResourceKind, ResourceOwner
from dataplane.identity.long_term import LongTermCaller
from dataplane.identity.sessions import Session
from dataplane.sts.call import StsCall
from dataplane.sts.credentials import issue
from dataplane.sts.limits import (
    check_duration,
    packed_policy_size,
    session_policy_text,
    session_tags,
)
from dataplane.sts.mfa import mfa_claims
from replication.entities import Role
from replication.policy import PolicyKind
from replication.trust import rendered_trust_policy

__all__ = ["assume_role"]

_ROLE_ARN = re.compile(r"arn:aws:iam::(?P<account>\d{12}):role/(?:[^/]+/)*(?P<name>[\w+=,.@-]+)")
DEFAULT_DURATION = 3600


def _target_role(call: StsCall, role_arn: str, caller_arn: str) -> Role:
    """The role the ARN names; AccessDenied (not NoSuchEntity) when it does not exist."""
    found = _ROLE_ARN.fullmatch(role_arn)
    if found is None:
        raise AwsError("ValidationError", f"{role_arn} is invalid")
    role = call.state.role(found["account"], found["name"])
    if role is None or role.arn != role_arn:
        raise access_denied(
            f"User: {caller_arn} is not authorized to perform: sts:AssumeRole "
            f"on resource: {role_arn}"
        )
    return role


def _inherited(session: Session | None) -> tuple[dict[str, str], str | None]:
    """The caller's transitive tags and source identity, which a chained session keeps."""
    if session is None:
        return {}, None
    claims = session.claims
    keys = {key.lower() for key in claims.transitive_tag_keys}
    tags = {k: v for k, v in claims.tags.items() if k.lower() in keys}
    return tags, claims.source_identity


def _check_inheritance(
    passed: dict[str, str],
    inherited: dict[str, str],
    source: str | None,
    chained_source: str | None,
) -> None:
    """R76/R77: a chained call may neither re-set an inherited transitive tag nor a new identity."""
    clash = {k.lower() for k in passed} & {k.lower() for k in inherited}
    if clash:
        raise AwsError(
            "InvalidParameterValue",
            "One or more of the specified tag keys conflict with inherited transitive tag keys: "
            + ", ".join(sorted(clash)),
        )
    if chained_source is not None and source is not None and source != chained_source:
        raise AwsError(
            "ValidationError",
            "The SourceIdentity of the caller's session cannot be changed by role chaining.",
        )


def _context(
    call: StsCall,
    role: Role,
    tags: dict[str, str],
    transitive: tuple[str, ...],
    inherited: dict[str, str],
) -> dict[str, Any]:
    params = call.params
    context: dict[str, Any] = {"sts:RoleSessionName": params["RoleSessionName"]}
    for key in ("ExternalId", "SourceIdentity"):
        if params.get(key) is not None:
            context[f"sts:{key}"] = params[key]
    if tags:
        context["aws:TagKeys"] = list(tags)
        context.update({f"aws:RequestTag/{k}": v for k, v in tags.items()})
    if transitive:
        context["sts:TransitiveTagKeys"] = list(transitive)
    role_tags = {
        t.key: t.value for t in role.tags if t.key.lower() not in map(str.lower, inherited)
    }
    context.update({f"aws:ResourceTag/{k}": v for k, v in {**role_tags, **inherited}.items()})
    return context


def assume_role(call: StsCall) -> dict[str, Any]:
    """Authorize the caller against the role's trust policy and issue a role session."""
    caller, params = call.signed_caller, call.params
    if isinstance(caller, LongTermCaller) and caller.user is None:
        raise access_denied("Roles may not be assumed by root accounts.")  # R70
    role = _target_role(call, params["RoleArn"], caller.arn)
    session = call.session
    chained = session is not None and session.is_chaining
    duration = int(params.get("DurationSeconds", DEFAULT_DURATION))
    check_duration(duration, role.max_session_duration, chained)
    policy, arns = session_policy_text(params)
    if policy is not None:
        call.index.document(policy, PolicyKind.SESSION, "session")  # MalformedPolicyDocument
    tags, transitive = session_tags(params)
    inherited, chained_source = _inherited(session)
    source = params.get("SourceIdentity")
    _check_inheritance(tags, inherited, source, chained_source)
    packed = packed_policy_size(policy, arns, {**inherited, **tags})
    mfa = mfa_claims(call.state, caller, params, call.now)
    # as AWS evaluates it: principals deleted since it was saved show as their unique ID (R22)
    trust_text = rendered_trust_policy(call.state, role)
    trust = call.index.document(trust_text, PolicyKind.TRUST, f"trust:{role.name}")
    owner = ResourceOwner(account=role.account, kind=ResourceKind.ROLE_TRUST)
    context = _context(call, role, tags, transitive, inherited)
    if mfa:  # the trust policy sees the MFA the caller just proved (R78)
        context.update({"aws:MultiFactorAuthPresent": "true", "aws:MultiFactorAuthAge": "0"})
    call.require("sts:AssumeRole", role.arn, context, trust, owner)
    if tags:
        call.require("sts:TagSession", role.arn, context, trust, owner)
    if source is not None:
        call.require("sts:SetSourceIdentity", role.arn, context, trust, owner)
    chain = (*session.claims.issuer_chain, session.arn) if session else (caller.arn,)
    claims, credentials = issue(
        call.keys,
        role.account,
        call.now,
        duration,
        kind="AssumeRole",
        role_arn=role.arn,
        role_id=role.role_id,
        session_name=params["RoleSessionName"],
        policy=policy,
        policy_arns=arns,
        tags={**inherited, **tags},
        transitive_tag_keys=(*inherited, *transitive),
        source_identity=source or chained_source,
        issuer_chain=chain,
        **mfa,
    )
    result: dict[str, Any] = {
        "Credentials": credentials,
        "AssumedRoleUser": {"AssumedRoleId": Session(claims).user_id, "Arn": Session(claims).arn},
    }
    if packed:
        result["PackedPolicySize"] = packed
    if claims.source_identity is not None:
        result["SourceIdentity"] = claims.source_identity
    return result
