"""Tags: Tag/Untag/List{User,Role,Policy}Tags, and the Tag shapes of every tagged entity."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from controlplane.iam.operation import (
    Change,
    Handler,
    HandlerResult,
    Params,
    Requester,
)
from controlplane.iam.support.errors import quota_exceeded
from controlplane.iam.support.pagination import paginate
from replication.entities import Entity, Tag
from replication.state import IamState

__all__ = [
    "TAGS_PER_ENTITY",
    "TagHandlers",
    "merged_tags",
    "tag_handlers",
    "tag_shapes",
    "tags_member",
    "tags_of",
]

TAGS_PER_ENTITY = 50


def tags_of(params: Params) -> tuple[Tag, ...]:
    """The ``Tags`` parameter of a Create* call as entity tags."""
    return tuple(Tag(key=t["Key"], value=t["Value"]) for t in params.get("Tags", []))


def tag_shapes(tags: tuple[Tag, ...]) -> list[dict[str, str]]:
    """Tags as IAM's ``Tag`` structures."""
    return [{"Key": t.key, "Value": t.value} for t in tags]


def tags_member(tags: tuple[Tag, ...]) -> dict[str, Any]:
    """The ``Tags`` member of a structure or Create* result: absent when there are no tags,
    as AWS leaves it out."""
    return {"Tags": tag_shapes(tags)} if tags else {}


def merged_tags(current: tuple[Tag, ...], added: tuple[Tag, ...], noun: str) -> tuple[Tag, ...]:
    """``current`` with ``added`` (keys ignore case: a new value replaces the old one of the
    same key); LimitExceeded on the ``TagsPer<noun>`` quota beyond 50."""
    new_keys = {t.key.lower() for t in added}
    merged = tuple(t for t in current if t.key.lower() not in new_keys) + added
    if len(merged) > TAGS_PER_ENTITY:
        raise quota_exceeded(f"TagsPer{noun}", TAGS_PER_ENTITY)
    return merged


Getter = Callable[[IamState, Params, Requester], Any]


class TagHandlers(NamedTuple):
    """The handlers of one taggable kind's Tag*, Untag* and List*Tags actions (each module
    registers them under their literal AWS names)."""

    tag: Handler
    untag: Handler
    list_tags: Handler


def tag_handlers(noun: str, getter: Getter) -> TagHandlers:
    """The tag handlers of the entity ``getter`` finds; ``noun`` names its quota
    (``TagsPer<noun>``)."""

    def tag(state: IamState, params: Params, caller: Requester, now: datetime) -> HandlerResult:
        entity: Entity = getter(state, params, caller)
        tags = merged_tags(entity.tags, tags_of(params), noun)  # type: ignore[union-attr]
        changed = entity.model_copy(update={"tags": tags})
        return HandlerResult({}, Change.put(changed))

    def untag(state: IamState, params: Params, caller: Requester, now: datetime) -> HandlerResult:
        entity: Entity = getter(state, params, caller)
        gone = {k.lower() for k in params["TagKeys"]}
        current: tuple[Tag, ...] = entity.tags  # type: ignore[union-attr]
        tags = tuple(t for t in current if t.key.lower() not in gone)
        changed = entity.model_copy(update={"tags": tags})
        return HandlerResult({}, Change.put(changed))

    def list_tags(
        state: IamState, params: Params, caller: Requester, now: datetime
    ) -> HandlerResult:
        entity = getter(state, params, caller)
        ordered = sorted(entity.tags, key=lambda t: t.key)
        page, more = paginate(ordered, params, key=lambda t: t.key)
        return HandlerResult({"Tags": tag_shapes(tuple(page)), **more})

    return TagHandlers(tag, untag, list_tags)
