"""One authorization query: principal, action, resource, owner and context (docs/evaluate-input.md).

Construction does the per-request normalisation once (lower-cased action and context keys,
the resolved resource owner, resource-derived keys R39), so :func:`evaluate` does not.

Hot path (the data plane builds one Request per decision): the resolved owner and what
follows from it (cross-account, RCP subject, applicable sets) is memoised per (principal,
given owner, account, kind) by identity of the immutable principal and owner objects, and
every field is stored in one tuple, set once (see :class:`Request`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import FrozenInstanceError
from types import MappingProxyType
from typing import Any

from dataplane.evaluation._context import ContextValue, NormalisedContext, normalise_context
from dataplane.evaluation._decide import CallerKind
from dataplane.evaluation._model import Org, ResourceKind, ResourceOwner
from dataplane.evaluation._principal import Principal
from dataplane.evaluation._sets import RCP

__all__ = ["Request", "RequestState", "resolve_owner"]

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
_GENERIC, _KMS_KEY, _ROLE_TRUST = (
    ResourceKind.GENERIC,
    ResourceKind.KMS_KEY,
    ResourceKind.ROLE_TRUST,
)
_EMPTY: Mapping[str, Any] = MappingProxyType({})
_MEMO_LIMIT = 4096
_set = object.__setattr__


def _arn_kind(parts: list[str], action: str) -> ResourceKind:
    """The kind of a resource given as its six ARN fields."""
    service = parts[2]
    if service == "kms" and parts[5].startswith("key/"):
        return _KMS_KEY
    if service == "iam" and parts[5].startswith("role/") and action in _TRUST_ACTIONS:
        return _ROLE_TRUST
    return _GENERIC


def _infer_kind(resource: str, action: str) -> ResourceKind:
    parts = resource.split(":", 5)
    return _arn_kind(parts, action) if len(parts) == _ARN_FIELDS else _GENERIC


def _infer_account(resource: str, principal: Principal) -> str | None:
    parts = resource.split(":", 5)
    if len(parts) == _ARN_FIELDS and parts[4].isdigit():
        return parts[4]
    return principal.account


def resolve_owner(
    owner: ResourceOwner | None, principal: Principal, resource: str, action: str
) -> ResourceOwner:
    """Fill the unset fields of a resource owner as docs/evaluate-input.md describes."""
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


class _Owned:
    """The owner of one (principal, given owner, inferred account, inferred kind) and its facts.

    Holds the principal and the given owner themselves, so the identity-keyed memo entry can
    neither outlive them nor be confused with later objects at the same address.
    """

    __slots__ = ("cross_account", "eligible", "given", "owner", "principal", "rcp_subject")

    def __init__(
        self,
        principal: Principal,
        given: ResourceOwner | None,
        account: str | None,
        kind: ResourceKind,
    ) -> None:
        base = given or ResourceOwner()
        owner = ResourceOwner(
            account=base.account or account,
            kind=base.kind or kind,
            org=principal.org if base.org == "principal" else base.org,
            rcp_supported=base.rcp_supported,
            aws_managed_key=base.aws_managed_key,
        )
        rcp_subject = _rcp_subject(owner, principal)
        self.principal = principal
        self.given = given
        self.owner = owner
        self.cross_account = principal.has_iam_identity and principal.account != owner.account
        self.rcp_subject = rcp_subject  # R65/R67
        self.eligible = principal.eligible if rcp_subject else principal.eligible & ~RCP


_OWNED: dict[tuple[int, int, str | None, ResourceKind], _Owned] = {}


def _owned(principal: Principal, given: ResourceOwner | None, resource: str, action: str) -> _Owned:
    """The resolved owner and its facts; a pure function of immutable inputs, memoised."""
    parts = resource.split(":", 5)
    if len(parts) == _ARN_FIELDS:
        account = parts[4] if parts[4].isdigit() else principal.account
        kind = _arn_kind(parts, action)
    else:
        account, kind = principal.account, _GENERIC
    key = (id(principal), id(given), account, kind)
    found = _OWNED.get(key)
    if found is None or found.principal is not principal or found.given is not given:
        if len(_OWNED) >= _MEMO_LIMIT:
            _OWNED.clear()
        found = _OWNED[key] = _Owned(principal, given, account, kind)
    return found


#: every field of a :class:`Request`, in order: principal, action, resource, context,
#: resource_owner (as given), then action_key, ctx, owner, cross_account, eligible (derived)
RequestState = tuple[
    Principal,
    str,
    str,
    Mapping[str, Any],
    ResourceOwner | None,
    str,
    dict[str, ContextValue],
    ResourceOwner,
    bool,
    int,
]
_GIVEN = 5  # the first five fields are the ones given (compared, hashed, shown)


class Request:
    """An authorization query; ``context`` holds the caller-supplied keys as AWS writes them.

    Immutable, with value equality on the given fields (like a frozen dataclass). Every field
    lives in one tuple, ``state``, set once: filling ten frozen slots one by one cost more
    than the rest of the construction, and :func:`evaluate` unpacks the tuple in one step.
    """

    __slots__ = ("state",)
    state: RequestState

    def __init__(
        self,
        principal: Principal,
        action: str,
        resource: str,
        context: Mapping[str, Any] = _EMPTY,
        resource_owner: ResourceOwner | None = None,
    ) -> None:
        action_key = action.lower()
        owned = _owned(principal, resource_owner, resource, action_key)
        owner = owned.owner
        if context.__class__ is NormalisedContext:  # normalised once by the caller: copy it
            ctx = context.copy()
        else:
            ctx = normalise_context(context)
        if owner.account is not None:  # R39, inlined _resource_keys
            ctx.setdefault("aws:resourceaccount", owner.account)
        org = owner.org
        if isinstance(org, Org):
            ctx.setdefault("aws:resourceorgid", org.id)
            if org.paths:
                ctx.setdefault("aws:resourceorgpaths", org.paths)
        _set(
            self,
            "state",
            (
                principal,
                action,
                resource,
                context,
                resource_owner,
                action_key,
                ctx,
                owner,
                owned.cross_account,  # R48
                owned.eligible,  # R40, R65/R67
            ),
        )

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.state[:_GIVEN] == other.state[:_GIVEN]

    def __hash__(self) -> int:
        return hash(self.state[:_GIVEN])

    def __repr__(self) -> str:
        principal, action, resource, context, resource_owner = self.state[:_GIVEN]
        return (
            f"Request(principal={principal!r}, action={action!r}, resource={resource!r}, "
            f"context={context!r}, resource_owner={resource_owner!r})"
        )

    def __reduce__(self) -> tuple[type[Request], tuple[object, ...]]:
        return Request, self.state[:_GIVEN]

    @property
    def principal(self) -> Principal:
        """The caller."""
        return self.state[0]

    @property
    def action(self) -> str:
        """The action as given (``s3:GetObject``)."""
        return self.state[1]

    @property
    def resource(self) -> str:
        """The resource ARN (or ``*``)."""
        return self.state[2]

    @property
    def context(self) -> Mapping[str, Any]:
        """The caller-supplied context keys as given."""
        return self.state[3]

    @property
    def resource_owner(self) -> ResourceOwner | None:
        """The resource owner as given (``None``: inferred)."""
        return self.state[4]

    @property
    def action_key(self) -> str:
        """The lower-cased action."""
        return self.state[5]

    @property
    def ctx(self) -> Mapping[str, ContextValue]:
        """The normalised context: lower-cased keys, AWS string values, resource keys (R39)."""
        return self.state[6]

    @property
    def owner(self) -> ResourceOwner:
        """The resolved resource owner (docs/evaluate-input.md)."""
        return self.state[7]

    @property
    def cross_account(self) -> bool:
        """Whether the principal's account differs from the resource owner's (R48)."""
        return self.state[8]

    @property
    def eligible(self) -> int:
        """The policy-type bits that can apply to this request (R40, R65/R67)."""
        return self.state[9]

    @property
    def owner_kind(self) -> ResourceKind:
        """The resolved resource kind."""
        return self.owner.kind or _GENERIC  # always resolved

    @property
    def caller(self) -> CallerKind:
        """The caller kind of the decision table."""
        return self.principal.caller

    @property
    def rcp_subject(self) -> bool:
        """Whether RCPs restrict this request (R65/R67)."""
        return _rcp_subject(self.owner, self.principal)
