"""Entities an action names by a ``<Kind>Name`` parameter (users, groups, roles, server
certificates, instance profiles): finding one, or refusing a name already taken, with AWS's
wording for its kind; the ARNs an action on it is authorized on; how their List* answers page;
and the key a deleted entity leaves behind."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from controlplane.iam.operation import Params, Requester
from controlplane.iam.support.errors import entity_already_exists, no_such_entity
from controlplane.iam.support.pagination import paginate
from replication.entities import EntityKey
from replication.state import IamState

__all__ = ["NamedKind", "key_of", "page_by_name", "page_under_path", "under_path_prefix"]


class _Named(Protocol):
    """An entity under a path with a name of its own, and the ARN they give it."""

    @property
    def arn(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def name(self) -> str: ...


class _Keyed(Protocol):
    """An entity stored under its kind, account and name."""

    @property
    def entity(self) -> str: ...
    @property
    def account(self) -> str: ...
    @property
    def name(self) -> str: ...


E = TypeVar("E", bound=_Named)


@dataclass(frozen=True)
class NamedKind(Generic[E]):
    """One kind of named entity: how to find it and how AWS words its absence and a name
    already taken (the wording differs per kind, so it is data here, not code)."""

    name_param: str
    """The parameter naming the entity, e.g. ``GroupName``."""
    find: Callable[[IamState, str, str], E | None]
    """The entity of that (account, name), names ignoring case, if any."""
    arn_for: Callable[[str, str, str], str]
    """The ARN an entity of that (account, path, name) would have."""
    missing: str
    """NoSuchEntity's message, with ``{name}`` for the name asked for."""
    taken: str
    """EntityAlreadyExists's message, with ``{name}`` for the name asked for."""

    def require(self, state: IamState, account: str, name: str) -> E:
        """The named entity, or NoSuchEntity as AWS words it for this kind."""
        found = self.find(state, account, name)
        if found is None:
            raise no_such_entity(self.missing.format(name=name))
        return found

    def unused_name(self, state: IamState, params: Params, caller: Requester) -> str:
        """The name the call asks to create, or EntityAlreadyExists as AWS words it for this
        kind when the caller's account already holds one of that name (ignoring case)."""
        name: str = params[self.name_param]
        if self.find(state, caller.account, name) is not None:
            raise entity_already_exists(self.taken.format(name=name))
        return name

    def new_name(self, state: IamState, params: Params, caller: Requester, entity: E) -> str:
        """The name an Update* call gives ``entity`` (``New<Kind>Name``, else its own), or
        EntityAlreadyExists as AWS words it when another entity of the kind holds that name."""
        new: str = params.get(f"New{self.name_param}", entity.name)
        if new.lower() != entity.name.lower() and self.find(state, caller.account, new):
            raise entity_already_exists(self.taken.format(name=new))
        return new

    def named_in(self, state: IamState, params: Params, caller: Requester) -> E:
        """The entity the call's ``name_param`` names in the caller's account."""
        return self.require(state, caller.account, params[self.name_param])

    def resource(self, state: IamState, params: Params, caller: Requester) -> str:
        """The ARN an action on this kind is authorized on: the existing entity's, else the
        one the call's Path and name would give it (a Create*, or a name that is not there)."""
        name = params[self.name_param]
        existing = self.find(state, caller.account, name)
        if existing is not None:
            return existing.arn
        return self.arn_for(caller.account, params.get("Path", "/"), name)

    def rename_target(self, state: IamState, params: Params, caller: Requester) -> str | None:
        """The entity's ARN after an Update* call that renames or moves it (AWS authorizes
        the call on both ARNs); None when the call does neither or the entity is missing."""
        new_name_param = f"New{self.name_param}"
        existing = self.find(state, caller.account, params[self.name_param])
        if existing is None or not (new_name_param in params or "NewPath" in params):
            return None
        path = params.get("NewPath", existing.path)
        return self.arn_for(caller.account, path, params.get(new_name_param, existing.name))


def under_path_prefix(entities: list[E], params: Params) -> list[E]:
    """The entities whose Path starts with the List* call's PathPrefix (default ``/``)."""
    prefix = params.get("PathPrefix", "/")
    return [e for e in entities if e.path.startswith(prefix)]


def page_by_name(entities: Sequence[E], params: Params) -> tuple[list[E], dict[str, Any]]:
    """One page of ``entities`` in name order ignoring case, as IAM pages its List* answers of
    named entities, and the IsTruncated/Marker members for it."""
    return paginate(entities, params, key=lambda entity: entity.name.lower())


def page_under_path(entities: list[E], params: Params) -> tuple[list[E], dict[str, Any]]:
    """One page of a List<Kind>s answer: the entities under the call's PathPrefix, by name."""
    return page_by_name(under_path_prefix(entities, params), params)


def key_of(entity: _Keyed) -> EntityKey:
    """The key that names a stored entity keyed by its account and name (what a delete, or
    the old side of a rename, carries)."""
    return EntityKey(entity=entity.entity, account=entity.account, name=entity.name)
