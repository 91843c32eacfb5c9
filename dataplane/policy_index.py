"""Compiled policies and engine principals, built once per entity version, never per request.

Entities are immutable and replaced whole by the fold, so "is this the same entity object?"
is an exact test of "has anything these policies were compiled from changed?". Each cache
entry remembers the objects it was built from and is rebuilt only when the state holds new
ones.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import orjson

from awswire.errors import AwsError
from dataplane.evaluation import CompiledPolicy, PolicySet, Principal, compile_policy
from dataplane.principals import ResolvedPrincipal
from replication.entities import Role, User
from replication.policy import MalformedPolicyDocument, PolicyKind, parse_policy
from replication.state import IamState

__all__ = ["PolicyIndex"]

_DOCUMENT_CACHE = 1024


def compile_document(
    document: str | dict[str, Any], kind: PolicyKind, label: str
) -> CompiledPolicy:
    """Parse and compile one document; a bad one is AWS's MalformedPolicyDocument."""
    try:
        return compile_policy(parse_policy(document, kind), label)
    except MalformedPolicyDocument as error:
        raise AwsError("MalformedPolicyDocument", f"{label}: {error}", 400) from None


def _inline(entity: User | Role) -> tuple[CompiledPolicy, ...]:
    return tuple(
        compile_document(document, PolicyKind.IDENTITY, f"inline:{name}")
        for name, document in sorted(entity.inline_policies.items())
    )


class PolicyIndex:
    """Per-replica caches of compiled identity policies, principals and resource policies."""

    def __init__(self) -> None:
        self._identity: dict[str, tuple[User | Role, tuple[CompiledPolicy, ...]]] = {}
        self._users: dict[str, tuple[User, Principal]] = {}
        self._roots: dict[str, Principal] = {}
        self._documents: OrderedDict[tuple[str, bytes], CompiledPolicy] = OrderedDict()

    def identity_policies(self, state: IamState, entity: User | Role) -> tuple[CompiledPolicy, ...]:
        """The identity policies of a user or role, compiled once per entity version."""
        key = entity.user_id if isinstance(entity, User) else entity.role_id
        cached = self._identity.get(key)
        if cached is not None and cached[0] is entity:
            return cached[1]
        compiled = _inline(entity)
        self._identity[key] = (entity, compiled)
        return compiled

    def boundary(self, state: IamState, entity: User | Role) -> CompiledPolicy | None:
        """The permissions boundary of a user or role (none can be set yet)."""
        return None

    def user_principal(self, user: User) -> Principal:
        """The engine's principal for an IAM user, rebuilt when the user changes."""
        cached = self._users.get(user.user_id)
        if cached is not None and cached[0] is user:
            return cached[1]
        principal = Principal.iam_user(
            user.arn, unique_id=user.user_id, tags={t.key: t.value for t in user.tags}
        )
        self._users[user.user_id] = (user, principal)
        return principal

    def principal(self, resolved: ResolvedPrincipal) -> Principal:
        """The engine's principal for a resolved long-term caller."""
        if resolved.user is not None:
            return self.user_principal(resolved.user)
        root = self._roots.get(resolved.account)
        if root is None:
            root = self._roots[resolved.account] = Principal.root(resolved.account)
        return root

    def policy_set(
        self,
        state: IamState,
        resolved: ResolvedPrincipal,
        resource_policy: dict[str, Any] | str | None,
    ) -> PolicySet:
        """Every policy that applies to a long-term caller, plus the request's resource policy."""
        user = resolved.user
        return PolicySet(
            identity=self.identity_policies(state, user) if user is not None else (),
            boundary=self.boundary(state, user) if user is not None else None,
            resource=None
            if resource_policy is None
            else self.document(resource_policy, PolicyKind.RESOURCE, "resource"),
        )

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
