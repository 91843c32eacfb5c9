"""Compiled policies and engine principals, built once per entity version, never per request.

Entities are immutable and replaced whole by the fold, so "is this the same user object?" is
an exact test of "has anything this user's policies depend on changed?". Each cache entry
remembers the entity it was built from and is rebuilt only when the state holds a new one.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import orjson

from awswire.errors import AwsError
from dataplane.evaluation import CompiledPolicy, PolicySet, Principal, compile_policy
from dataplane.principals import ResolvedPrincipal
from replication.entities import User
from replication.policy import MalformedPolicyDocument, PolicyKind, parse_policy

__all__ = ["PolicyIndex"]

_RESOURCE_POLICY_CACHE = 1024


def _compile(document: str | dict[str, Any], kind: PolicyKind, label: str) -> CompiledPolicy:
    try:
        return compile_policy(parse_policy(document, kind), label)
    except MalformedPolicyDocument as error:
        raise AwsError("MalformedPolicyDocument", f"{label}: {error}", 400) from None


class PolicyIndex:
    """Per-replica caches of compiled identity policies, principals and resource policies."""

    def __init__(self) -> None:
        self._users: dict[str, tuple[User, Principal, tuple[CompiledPolicy, ...]]] = {}
        self._roots: dict[str, Principal] = {}
        self._resource: OrderedDict[bytes, CompiledPolicy] = OrderedDict()

    def _user_entry(self, user: User) -> tuple[User, Principal, tuple[CompiledPolicy, ...]]:
        cached = self._users.get(user.user_id)
        if cached is not None and cached[0] is user:
            return cached
        principal = Principal.iam_user(
            user.arn, unique_id=user.user_id, tags={t.key: t.value for t in user.tags}
        )
        compiled = tuple(
            _compile(document, PolicyKind.IDENTITY, f"inline:{name}")
            for name, document in sorted(user.inline_policies.items())
        )
        entry = (user, principal, compiled)
        self._users[user.user_id] = entry
        return entry

    def principal(self, resolved: ResolvedPrincipal) -> Principal:
        """The engine's principal for a resolved caller."""
        if resolved.user is not None:
            return self._user_entry(resolved.user)[1]
        root = self._roots.get(resolved.account)
        if root is None:
            root = self._roots[resolved.account] = Principal.root(resolved.account)
        return root

    def policy_set(
        self, resolved: ResolvedPrincipal, resource_policy: dict[str, Any] | str | None
    ) -> PolicySet:
        """Every policy that applies to the caller, plus the request's resource policy."""
        identity = self._user_entry(resolved.user)[2] if resolved.user is not None else ()
        resource = None if resource_policy is None else self._resource_policy(resource_policy)
        return PolicySet(identity=identity, resource=resource)

    def _resource_policy(self, document: dict[str, Any] | str) -> CompiledPolicy:
        key = document.encode() if isinstance(document, str) else orjson.dumps(document)
        compiled = self._resource.get(key)
        if compiled is None:
            compiled = _compile(document, PolicyKind.RESOURCE, "resource")
            self._resource[key] = compiled
            if len(self._resource) > _RESOURCE_POLICY_CACHE:
                self._resource.popitem(last=False)
        return compiled

    def forget_missing(self, live_user_ids: set[str]) -> None:
        """Drop the entries of users the state no longer holds."""
        for user_id in [u for u in self._users if u not in live_user_ids]:
            del self._users[user_id]
