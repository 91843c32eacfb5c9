"""``AssumeRoleWithSAML``: a signed SAML assertion in exchange for a role session (R80).

Unsigned. ``PrincipalArn`` names a SAML provider of the role's account whose metadata holds
the signing certificate; :mod:`dataplane.sts.saml` verifies the assertion. The assertion's
``Role`` attribute must offer the (RoleArn, PrincipalArn) pair, and the trust policy must
allow ``sts:AssumeRoleWithSAML`` for ``Federated`` = the provider with ``SAML:aud`` etc. in
the context. Session tags come from ``PrincipalTag:*`` attributes (``TransitiveTagKeys`` names
the transitive ones, and the trust policy must then allow ``sts:TagSession``); a
``SourceIdentity`` attribute sets the session's source identity (``sts:SourceIdentity`` in the
trust context, ``aws:SourceIdentity`` on its requests), which the trust policy must allow with
``sts:SetSourceIdentity``, as in AWS.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from awswire.errors import AwsError, access_denied
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
from dataplane.sts.saml import verify_assertion

__all__ = ["assume_role_with_saml"]

ACTION = "sts:AssumeRoleWithSAML"
_PROVIDER_ARN = re.compile(r"arn:aws:iam::(?P<account>\d{12}):saml-provider/(?P<name>[\w.-]+)")
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")
_BAD_SOURCE_IDENTITY = AwsError(
    "InvalidIdentityToken",
    "Invalid SAML assertion: SourceIdentity must be 2 to 64 characters of upper- and "
    "lower-case letters, digits and _+=,.@-",
    400,
)


def _name_qualifier(issuer: str, account: str, provider_name: str) -> str:
    """AWS's NameQualifier: base64(SHA-1(issuer + account + "/" + provider name))."""
    digest = hashlib.sha1(f"{issuer}{account}/{provider_name}".encode(), usedforsecurity=False)
    return base64.b64encode(digest.digest()).decode("ascii")


def assume_role_with_saml(call: StsCall) -> dict[str, Any]:
    """Verify the SAML assertion, evaluate the trust policy, issue a role session."""
    params = call.params
    role = federated_role(call, ACTION)
    found = _PROVIDER_ARN.fullmatch(str(params["PrincipalArn"]))
    provider = None
    if found is not None and found["account"] == role.account:
        provider = call.state.saml_providers.get((role.account, found["name"]))
    if provider is None:
        raise AwsError("InvalidIdentityToken", "SAML Provider not found in your account.", 400)
    assertion = verify_assertion(str(params["SAMLAssertion"]), provider, call.now)
    if (role.arn, provider.arn) not in assertion.roles:
        raise access_denied(f"Not authorized to perform {ACTION}")
    session_name = assertion.session_name or ""
    if not _SESSION_NAME.fullmatch(session_name):
        raise AwsError(
            "InvalidIdentityToken", "Invalid SAML assertion: RoleSessionName is missing.", 400
        )
    tags, transitive = session_tags(
        {
            "Tags": [{"Key": k, "Value": v} for k, v in assertion.tags.items()],
            "TransitiveTagKeys": list(assertion.transitive_tag_keys),
        }
    )
    source = checked_source_identity(assertion.source_identity, _BAD_SOURCE_IDENTITY)
    qualifier = _name_qualifier(assertion.issuer, role.account, provider.name)
    context: dict[str, Any] = {
        "saml:aud": assertion.recipient,
        "saml:sub": assertion.subject,
        "saml:sub_type": assertion.subject_type,
        "saml:iss": assertion.issuer,
        "saml:namequalifier": qualifier,
        "aws:FederatedProvider": provider.arn,
        **tag_context(tags, transitive),
    }
    if source is not None:
        context["sts:SourceIdentity"] = source
    principal = Principal.saml(provider.arn)
    authorize_federated(call, role, principal, ACTION, context=context, tagged=bool(tags))
    if source is not None:
        authorize_source_identity(call, role, principal, ACTION, context)
    duration = params.get("DurationSeconds", assertion.session_duration)
    result = issue_federated(
        call,
        role,
        kind="SAML",
        provider=provider.arn,
        session_name=session_name,
        tags=tags,
        transitive=transitive,
        duration=int(duration) if duration is not None else None,
        source_identity=source,
    )
    result.update(
        Subject=assertion.subject,
        SubjectType=assertion.subject_type,
        Issuer=assertion.issuer,
        Audience=assertion.recipient,
        NameQualifier=qualifier,
    )
    return result
