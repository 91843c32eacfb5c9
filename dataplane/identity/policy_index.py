"""Compiled policies and engine principals, built once per entity version, never per request.

Entities are immutable and replaced whole by the fold, so "is this the same entity object?"
is an exact test of "has anything these policies were compiled from changed?". Each cache
entry remembers the objects it was built from (a user, its groups, the managed policies they
attach) and is rebuilt only when the state holds a different one of them.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson

from awswire.errors import AwsError
from dataplane.evaluation import (
    CompiledPolicy,
    Org,
    Principal,
    ResourceOwner,
    compile_policy,
)
from replication.entities import Group, ManagedPolicy, Organization, Role, User
from replication.policy import MalformedPolicyDocument, PolicyKind, parse_policy
from replication.state import IamState

__all__ = ["OrganizationView", "PolicyIndex", "resource_account"]

_DOCUMENT_CACHE = 1024
_ARN_FIELDS = 6


def resource_account(resource: str, fallback: str) -> str:
    """The account that owns ``resource``: its ARN's account field, else ``fallback`` (the
    caller's, for ARNs without one such as S3's, and for ``*``)."""
    parts = resource.split(":", 5)
    if len(parts) == _ARN_FIELDS and parts[4].isdigit():
        return parts[4]
    return fallback


def compile_document(
    document: str | dict[str, Any], kind: PolicyKind, label: str
) -> CompiledPolicy:
    """Parse and compile one document; a bad one is AWS's MalformedPolicyDocument."""
    try:
        return compile_policy(parse_policy(document, kind), label)
    except MalformedPolicyDocument as error:
        raise AwsError("MalformedPolicyDocument", f"{label}: {error}", 400) from None


def _inline(entity: User | Role | Group) -> tuple[CompiledPolicy, ...]:
    prefix = f"group/{entity.name}:" if isinstance(entity, Group) else ""
    return tuple(
        compile_document(document, PolicyKind.IDENTITY, f"{prefix}inline:{name}")
        for name, document in sorted(entity.inline_policies.items())
    )


def _same(built_from: tuple[object, ...], now: tuple[object, ...]) -> bool:
    return len(built_from) == len(now) and all(a is b for a, b in zip(built_from, now, strict=True))


Sources = tuple[User | Role | Group | ManagedPolicy, ...]
Levels = tuple[tuple[CompiledPolicy, ...], ...]
_ORG_KINDS = {"SERVICE_CONTROL_POLICY": PolicyKind.SCP, "RESOURCE_CONTROL_POLICY": PolicyKind.RCP}


@dataclass(frozen=True, slots=True)
class OrganizationView:
    """What the engine needs of an account's organization: membership and policy chains.

    ``scps``/``rcps`` list the levels root -> OUs -> account, each the compiled policies
    attached there; None when the type is not enabled or the account is the management one.
    """

    org: Org | None = None
    scps: Levels | None = None
    rcps: Levels | None = None

    def owner(self, account: str) -> ResourceOwner:
        """The engine's owner of a resource in ``account`` (this view's account): R65 applies
        RCPs by the organization of the account that owns the resource."""
        return ResourceOwner(account=account, org=self.org)


_NO_ORGANIZATION = OrganizationView()


def _levels(organization: Organization, account: str, kind: str) -> Levels | None:
    if kind not in organization.enabled_policy_types:
        return None
    chain = organization.path_to(account)
    return tuple(
        tuple(
            compile_document(p.content, _ORG_KINDS[kind], f"{kind.lower()}:{p.name}")
            for p in organization.policies
            if p.type == kind and target in p.targets
        )
        for target in chain
    )


def _view(organization: Organization, account: str) -> OrganizationView:
    chain = organization.path_to(account)
    management = account == organization.management_account
    path = "/".join((organization.id, *chain[:-1])) + "/"
    org = Org(organization.id, is_management_account=management, paths=(path,))
    if management:  # SCPs and RCPs never restrict the management account
        return OrganizationView(org)
    return OrganizationView(
        org,
        _levels(organization, account, "SERVICE_CONTROL_POLICY"),
        _levels(organization, account, "RESOURCE_CONTROL_POLICY"),
    )


class PolicyIndex:
    """Per-replica caches of compiled identity policies, principals and resource policies."""

    def __init__(self) -> None:
        self._identity: dict[str, tuple[Sources, tuple[CompiledPolicy, ...]]] = {}
        self._inline: dict[str, tuple[User | Role | Group, tuple[CompiledPolicy, ...]]] = {}
        self._managed: dict[tuple[str, PolicyKind], tuple[ManagedPolicy, CompiledPolicy]] = {}
        self._users: dict[str, tuple[User, OrganizationView, Principal]] = {}
        self._roots: dict[str, tuple[OrganizationView, Principal]] = {}
        self._organizations: dict[str, tuple[Organization, OrganizationView]] = {}
        self._documents: OrderedDict[tuple[str, bytes], CompiledPolicy] = OrderedDict()

    def identity_policies(self, state: IamState, entity: User | Role) -> tuple[CompiledPolicy, ...]:
        """The identity policies of a user or role, compiled once per version of their sources.

        A user's: its inline policies, its groups' inline policies, and the default versions
        of the managed policies attached to it or to its groups. A role's: its inline and
        attached managed policies.
        """
        holders: tuple[User | Role | Group, ...] = (entity,)
        if isinstance(entity, User):
            holders += state.groups_of_user(entity)
        arns = dict.fromkeys(arn for h in holders for arn in h.attached_policies)
        found = (state.managed_policy(arn) for arn in arns)
        managed = tuple(p for p in found if p is not None)
        sources: Sources = (*holders, *managed)
        key = entity.user_id if isinstance(entity, User) else entity.role_id
        cached = self._identity.get(key)
        if cached is not None and _same(cached[0], sources):
            return cached[1]
        compiled = tuple(c for h in holders for c in self._inline_policies(h)) + tuple(
            self._managed_policy(p, PolicyKind.IDENTITY) for p in managed
        )
        self._identity[key] = (sources, compiled)
        return compiled

    def _inline_policies(self, holder: User | Role | Group) -> tuple[CompiledPolicy, ...]:
        """A user's, role's or group's inline policies, compiled once per version of it (a
        group's are shared by all its members)."""
        if isinstance(holder, User):
            key = holder.user_id
        else:
            key = holder.role_id if isinstance(holder, Role) else holder.group_id
        cached = self._inline.get(key)
        if cached is not None and cached[0] is holder:
            return cached[1]
        compiled = _inline(holder)
        self._inline[key] = (holder, compiled)
        return compiled

    def boundary(self, state: IamState, entity: User | Role) -> CompiledPolicy | None:
        """The permissions boundary of a user or role: its policy's default version, if set."""
        if entity.permissions_boundary is None:
            return None
        policy = state.managed_policy(entity.permissions_boundary)
        if policy is None:  # cannot happen through the API: a boundary in use is not deletable
            return None
        return self._managed_policy(policy, PolicyKind.BOUNDARY)

    def _managed_policy(self, policy: ManagedPolicy, kind: PolicyKind) -> CompiledPolicy:
        """A managed policy's default version, compiled once per version of the policy."""
        key = (policy.arn, kind)
        cached = self._managed.get(key)
        if cached is not None and cached[0] is policy:
            return cached[1]
        label = f"{policy.arn}:{policy.default_version}"
        compiled = compile_document(policy.default_document, kind, label)
        self._managed[key] = (policy, compiled)
        return compiled

    def organization(self, state: IamState | None, account: str) -> OrganizationView:
        """The account's organization membership and SCP/RCP chains, compiled once per
        version of the organization (pass them to ``PolicySet`` and ``Principal``)."""
        organization = state.organization_of(account) if state is not None else None
        if organization is None:
            return _NO_ORGANIZATION
        cached = self._organizations.get(account)
        if cached is not None and cached[0] is organization:
            return cached[1]
        view = _view(organization, account)
        self._organizations[account] = (organization, view)
        return view

    def user_principal(self, user: User, state: IamState | None = None) -> Principal:
        """The engine's principal for an IAM user, rebuilt when the user or its org changes."""
        view = self.organization(state, user.account)
        cached = self._users.get(user.user_id)
        if cached is not None and cached[0] is user and cached[1] is view:
            return cached[2]
        principal = Principal.iam_user(
            user.arn, unique_id=user.user_id, tags={t.key: t.value for t in user.tags}, org=view.org
        )
        self._users[user.user_id] = (user, view, principal)
        return principal

    def root_principal(self, account: str, state: IamState | None = None) -> Principal:
        """The engine's principal for an account's root user (with its organization when
        ``state`` is given), rebuilt when the organization changes."""
        view = self.organization(state, account)
        cached = self._roots.get(account)
        if cached is not None and cached[0] is view:
            return cached[1]
        root = Principal.root(account, org=view.org)
        self._roots[account] = (view, root)
        return root

    def document(
        self, document: dict[str, Any] | str, kind: PolicyKind, label: str
    ) -> CompiledPolicy:
        """A compiled ad-hoc document (resource, trust or session policy), cached by its text."""
        text = document.encode() if isinstance(document, str) else orjson.dumps(document)
        key = (f"{kind}:{label}", text)
        compiled = self._documents.get(key)
        if compiled is None:
            compiled = compile_document(document, kind, label)
            self._documents[key] = compiled
            if len(self._documents) > _DOCUMENT_CACHE:
                self._documents.popitem(last=False)
        return compiled
