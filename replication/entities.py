"""IAM entities as they cross the boundary between the planes.

Every model is frozen: a change event carries the whole entity after the change, so the fold
replaces entities, never edits them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from replication.arns import role_arn, root_arn, user_arn

__all__ = ["AccessKey", "Account", "Entity", "EntityKey", "Role", "Tag", "User"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Tag(_Frozen):
    """One IAM tag."""

    key: str
    value: str


class Account(_Frozen):
    """An AWS account known to the emulator."""

    entity: Literal["account"] = "account"
    id: str
    alias: str | None = None
    created_at: datetime

    @property
    def arn(self) -> str:
        """The account's root ARN."""
        return root_arn(self.id)


class User(_Frozen):
    """An IAM user with its inline policies (name -> document text, as the customer sent it)."""

    entity: Literal["user"] = "user"
    account: str
    name: str
    path: str = "/"
    user_id: str
    created_at: datetime
    tags: tuple[Tag, ...] = ()
    inline_policies: dict[str, str] = Field(default_factory=dict)

    @property
    def arn(self) -> str:
        """The user's ARN, path included."""
        return user_arn(self.account, self.path, self.name)


class AccessKey(_Frozen):
    """A long-term access key of a user, or of the root user when ``user_name`` is None."""

    entity: Literal["access_key"] = "access_key"
    account: str
    access_key_id: str
    secret_access_key: str = Field(repr=False)
    user_name: str | None
    status: Literal["Active", "Inactive"] = "Active"
    created_at: datetime


class Role(_Frozen):
    """An IAM role: its trust policy (document text) and its inline policies."""

    entity: Literal["role"] = "role"
    account: str
    name: str
    path: str = "/"
    role_id: str
    created_at: datetime
    trust_policy: str
    description: str | None = None
    max_session_duration: int = 3600
    tags: tuple[Tag, ...] = ()
    inline_policies: dict[str, str] = Field(default_factory=dict)

    @property
    def arn(self) -> str:
        """The role's ARN, path included."""
        return role_arn(self.account, self.path, self.name)


Entity = Account | User | AccessKey | Role


class EntityKey(_Frozen):
    """What a delete event carries: the kind of entity and the key that names it."""

    entity: str
    account: str
    name: str
