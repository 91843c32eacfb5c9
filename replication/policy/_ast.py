"""The typed AST of a policy document (docs/evaluation.md R6-R12), made by :func:`parse_policy`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "Condition",
    "Effect",
    "MalformedPolicyDocument",
    "PolicyDocument",
    "PolicyKind",
    "SetQualifier",
    "Statement",
]

VERSION_2012 = "2012-10-17"
VERSION_2008 = "2008-10-17"


class PolicyKind(StrEnum):
    """Where a policy is attached; validation differs per kind (R8, R9, R68)."""

    IDENTITY = "identity"
    RESOURCE = "resource"
    TRUST = "trust"
    BOUNDARY = "boundary"
    SESSION = "session"
    SCP = "scp"
    RCP = "rcp"


class Effect(StrEnum):
    """A statement's effect."""

    ALLOW = "Allow"
    DENY = "Deny"


class SetQualifier(StrEnum):
    """The set prefix of a condition operator (R32)."""

    FOR_ALL_VALUES = "ForAllValues"
    FOR_ANY_VALUE = "ForAnyValue"


class MalformedPolicyDocument(ValueError):
    """A policy that violates the grammar or the rules of its kind; ``path`` locates the fault."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def __str__(self) -> str:
        return f"{self.message} (at {self.path})" if self.path else self.message


@dataclass(frozen=True, slots=True)
class Condition:
    """One ``operator: {key: values}`` entry of a Condition block, values in AWS string form."""

    operator: str
    base: str
    qualifier: SetQualifier | None
    if_exists: bool
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement; exactly one of each Action/NotAction and Resource/NotResource pair is set
    (trust policies carry neither resource element)."""

    index: int
    sid: str | None
    effect: Effect
    principal: Mapping[str, tuple[str, ...]] | None
    not_principal: Mapping[str, tuple[str, ...]] | None
    action: tuple[str, ...] | None
    not_action: tuple[str, ...] | None
    resource: tuple[str, ...] | None
    not_resource: tuple[str, ...] | None
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    """A parsed, validated policy document of one kind."""

    kind: PolicyKind
    version: str | None
    id: str | None
    statements: tuple[Statement, ...]

    @property
    def variables_enabled(self) -> bool:
        """Whether ``${...}`` is a policy variable (only under 2012-10-17, R7/R24)."""
        return self.version == VERSION_2012
