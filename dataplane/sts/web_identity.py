"""``AssumeRoleWithWebIdentity``: an OIDC ID token in exchange for a role session (R79).

Unsigned. The token's issuer names an OIDC provider of the role's account (the provider's
JWKS is stored on the entity and replicates like any IAM change); the JWT is verified by
:mod:`dataplane.sts.oidc`; the trust policy must then allow ``sts:AssumeRoleWithWebIdentity``
for ``Federated`` = the provider ARN, with ``<host>:aud``, ``<host>:sub`` and ``<host>:amr``
in the context. Session tags come from the ``https://aws.amazon.com/tags`` claim, and the
session's source identity from ``https://aws.amazon.com/source_identity`` (the trust policy must
then allow ``sts:SetSourceIdentity`` too), as AWS documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dataplane.evaluation import Principal
from dataplane.sts.call import StsCall
from dataplane.sts.federated import (
    authorize_federated,
    authorize_source_identity,
    checked_source_identity,
    federated_role,
    issue_federated,
    tag_context,
)
from dataplane.sts.limits import session_tags
from dataplane.sts.oidc import invalid_token, parse_token, verify_token

__all__ = ["TAGS_CLAIM", "assume_role_with_web_identity"]

ACTION = "sts:AssumeRoleWithWebIdentity"
TAGS_CLAIM = "https://aws.amazon.com/tags"
SOURCE_IDENTITY_CLAIM = "https://aws.amazon.com/source_identity"


def _token_tags(claims: Mapping[str, Any]) -> tuple[dict[str, str], tuple[str, ...]]:
    """Session tags and transitive keys from the ``https://aws.amazon.com/tags`` claim."""
    claim = claims.get(TAGS_CLAIM)
    if claim is None:
        return {}, ()
    if not isinstance(claim, dict):
        raise invalid_token(f"The {TAGS_CLAIM} claim must be a JSON object.")
    principal_tags = claim.get("principal_tags", {})
    if not isinstance(principal_tags, dict):
        raise invalid_token(f"The {TAGS_CLAIM} principal_tags must be a JSON object.")
    passed = []
    for key, values in principal_tags.items():
        value = values[0] if isinstance(values, list) and values else values
        passed.append({"Key": str(key), "Value": str(value)})
    transitive = claim.get("transitive_tag_keys", [])
    return session_tags({"Tags": passed, "TransitiveTagKeys": list(transitive or [])})


def assume_role_with_web_identity(call: StsCall) -> dict[str, Any]:
    """Verify the web identity token, evaluate the trust policy, issue a role session."""
    token = parse_token(str(call.params["WebIdentityToken"]))
    role = federated_role(call, ACTION)
    host = token.issuer_host
    provider = call.state.oidc_providers.get((role.account, host))
    if provider is None:
        raise invalid_token(f"No OpenIDConnect provider found in your account for https://{host}")
    audience = verify_token(token, provider, call.now)
    subject = str(token.claims["sub"])
    tags, transitive = _token_tags(token.claims)
    claimed = token.claims.get(SOURCE_IDENTITY_CLAIM)
    source = checked_source_identity(
        None if claimed is None else str(claimed),
        invalid_token(f"The {SOURCE_IDENTITY_CLAIM} claim is not a valid source identity."),
    )
    context: dict[str, Any] = {
        f"{host}:aud": audience,
        f"{host}:sub": subject,
        "aws:FederatedProvider": provider.arn,
        "sts:RoleSessionName": call.params["RoleSessionName"],
        **tag_context(tags, transitive),
    }
    amr = token.claims.get("amr")
    if amr is not None:
        context[f"{host}:amr"] = [str(a) for a in amr] if isinstance(amr, list) else str(amr)
    if source is not None:
        context["sts:SourceIdentity"] = source
    principal = Principal.web_identity(provider.arn)
    authorize_federated(call, role, principal, ACTION, context=context, tagged=bool(tags))
    if source is not None:
        authorize_source_identity(call, role, principal, ACTION, context)
    result = issue_federated(
        call,
        role,
        kind="AssumeRoleWithWebIdentity",
        provider=provider.arn,
        session_name=str(call.params["RoleSessionName"]),
        tags=tags,
        transitive=transitive,
        source_identity=source,
    )
    result.update(SubjectFromWebIdentityToken=subject, Provider=provider.arn, Audience=audience)
    return result
