"""One authorization query: principal, action, resource, owner and context (evaluate-input.md).

Construction does the per-request normalisation once (lower-cased action and context keys,
the resolved resource owner, resource-derived keys R39), so :func:`evaluate` does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dataplane.evaluation._context import ContextValue, normalise_context
from dataplane.evaluation._decide import Caller
from dataplane.evaluation._model import Org, ResourceKind, ResourceOwner
from dataplane.evaluation._principal import Principal
from dataplane.evaluation._sets import RCP

__all__ = ["Request", "resolve_owner"]

_ARN_FIELDS = 6
#: actions authorized against a role's trust policy (R71)
_TRUST_ACTIONS = frozenset(
    {
        "sts:assumerole",
        "sts:assumerolewithwebidentity",
        "sts:assumerolewithsaml",
        "sts:tagsession",
        "sts:setsourceidentity",
    }
)


def _infer_kind(resource: str, action: str) -> ResourceKind:
    parts = resource.split(":", 5)
    if len(parts) == _ARN_FIELDS:
        if parts[2] == "kms" and parts[5].startswith("key/"):
            return ResourceKind.KMS_KEY
        if parts[2] == "iam" and parts[5].startswith("role/") and action in _TRUST_ACTIONS:
            return ResourceKind.ROLE_TRUST
    return ResourceKind.GENERIC


def _infer_account(resource: str, principal: Principal) -> str | None:
    parts = resource.split(":", 5)
    if len(parts) == _ARN_FIELDS and parts[4].isdigit():
        return parts[4]
    return principal.account


def resolve_owner(
    owner: ResourceOwner | None, principal: Principal, resource: str, action: str
) -> ResourceOwner:
    """Fill the unset fields of a resource owner as evaluate-input.md describes."""
    given = owner or ResourceOwner()
    org: Org | None = principal.org if given.org == "principal" else given.org
    return ResourceOwner(
        account=given.account or _infer_account(resource, principal),
        kind=given.kind or _infer_kind(resource, action),
        org=org,
        rcp_supported=given.rcp_supported,
        aws_managed_key=given.aws_managed_key,
    )


def _resource_keys(owner: ResourceOwner, ctx: dict[str, ContextValue]) -> None:
    """R39: aws:ResourceAccount and aws:ResourceOrgID unless the caller gave them."""
    if owner.account is not None:
        ctx.setdefault("aws:resourceaccount", owner.account)
    if isinstance(owner.org, Org):
        ctx.setdefault("aws:resourceorgid", owner.org.id)
        if owner.org.paths:
            ctx.setdefault("aws:resourceorgpaths", owner.org.paths)


def _rcp_subject(owner: ResourceOwner, principal: Principal) -> bool:
    """R65/R67: member-account resources of supporting services, minus the exemptions."""
    org = owner.org
    return (
        isinstance(org, Org)
        and not org.is_management_account
        and owner.rcp_supported
        and not owner.aws_managed_key
        and not principal.service_linked
    )


@dataclass(frozen=True, slots=True)
class Request:
    """An authorization query; ``context`` holds the caller-supplied keys as AWS writes them."""

    principal: Principal
    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)
    resource_owner: ResourceOwner | None = None
    action_key: str = field(init=False, repr=False, compare=False)
    ctx: Mapping[str, ContextValue] = field(init=False, repr=False, compare=False)
    owner: ResourceOwner = field(init=False, repr=False, compare=False)
    owner_kind: ResourceKind = field(init=False, repr=False, compare=False)
    caller: Caller = field(init=False, repr=False, compare=False)
    cross_account: bool = field(init=False, repr=False, compare=False)
    rcp_subject: bool = field(init=False, repr=False, compare=False)
    eligible: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        action_key = self.action.lower()
        owner = resolve_owner(self.resource_owner, self.principal, self.resource, action_key)
        ctx = normalise_context(self.context)
        _resource_keys(owner, ctx)
        object.__setattr__(self, "action_key", action_key)
        object.__setattr__(self, "owner", owner)
        object.__setattr__(self, "ctx", ctx)
        object.__setattr__(self, "owner_kind", owner.kind)
        object.__setattr__(self, "caller", self.principal.caller)
        cross = self.principal.has_iam_identity and self.principal.account != owner.account
        object.__setattr__(self, "cross_account", cross)  # R48
        rcp_subject = _rcp_subject(owner, self.principal)
        object.__setattr__(self, "rcp_subject", rcp_subject)  # R65/R67
        eligible = self.principal.eligible
        object.__setattr__(self, "eligible", eligible if rcp_subject else eligible & ~RCP)
