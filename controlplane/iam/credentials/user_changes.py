"""Changing what a user holds: every credential a user owns lives on the user entity, so a
change to one is a ``user.put`` of the whole user with that field replaced."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeVar

from pydantic import BaseModel

from controlplane.iam.operation import Change
from replication.entities import User

__all__ = ["UserField", "user_put", "with_status", "without"]

UserField = Literal[
    "login_profile", "ssh_public_keys", "signing_certificates", "service_credentials"
]
Held = TypeVar("Held", bound=BaseModel)


def user_put(user: User, field: UserField, value: object) -> Change:
    """The change that gives ``user`` a new ``field``."""
    changed = user.model_copy(update={field: value})
    return Change.put(changed)


def with_status(items: Sequence[Held], target: Held, status: str) -> tuple[Held, ...]:
    """``items`` with ``target`` made Active or Inactive (the wire layer checked the enum)."""
    return tuple(i.model_copy(update={"status": status}) if i is target else i for i in items)


def without(items: Sequence[Held], target: Held) -> tuple[Held, ...]:
    """``items`` without ``target``."""
    return tuple(i for i in items if i is not target)
