"""Condition operator names (docs/evaluation.md R12, R35): the base operators, how a name splits."""

from __future__ import annotations

from dataclasses import dataclass

from replication.policy._ast import SetQualifier

__all__ = ["BASE_OPERATORS", "NEGATED_OPERATORS", "OperatorName", "split_operator"]

#: base operator -> type family
BASE_OPERATORS: dict[str, str] = {
    "StringEquals": "string",
    "StringNotEquals": "string",
    "StringEqualsIgnoreCase": "string",
    "StringNotEqualsIgnoreCase": "string",
    "StringLike": "string",
    "StringNotLike": "string",
    "NumericEquals": "numeric",
    "NumericNotEquals": "numeric",
    "NumericLessThan": "numeric",
    "NumericLessThanEquals": "numeric",
    "NumericGreaterThan": "numeric",
    "NumericGreaterThanEquals": "numeric",
    "DateEquals": "date",
    "DateNotEquals": "date",
    "DateLessThan": "date",
    "DateLessThanEquals": "date",
    "DateGreaterThan": "date",
    "DateGreaterThanEquals": "date",
    "Bool": "bool",
    "BinaryEquals": "binary",
    "IpAddress": "ip",
    "NotIpAddress": "ip",
    "ArnEquals": "arn",
    "ArnLike": "arn",
    "ArnNotEquals": "arn",
    "ArnNotLike": "arn",
    "Null": "null",
}

#: operators that are true when the request value matches *none* of the policy values (R28)
NEGATED_OPERATORS = frozenset(
    {
        "StringNotEquals",
        "StringNotEqualsIgnoreCase",
        "StringNotLike",
        "NumericNotEquals",
        "DateNotEquals",
        "NotIpAddress",
        "ArnNotEquals",
        "ArnNotLike",
    }
)

_IF_EXISTS = "IfExists"


@dataclass(frozen=True, slots=True)
class OperatorName:
    """A decomposed operator name such as ``ForAnyValue:StringLikeIfExists``."""

    base: str
    qualifier: SetQualifier | None
    if_exists: bool


def split_operator(name: str) -> OperatorName | None:
    """Decompose an operator name; ``None`` when it is not a valid operator (R12)."""
    qualifier: SetQualifier | None = None
    rest = name
    for candidate in SetQualifier:
        prefix = f"{candidate.value}:"
        if rest.startswith(prefix):
            qualifier, rest = candidate, rest[len(prefix) :]
            break
    if_exists = rest.endswith(_IF_EXISTS) and rest != _IF_EXISTS
    if if_exists:
        rest = rest[: -len(_IF_EXISTS)]
    if rest not in BASE_OPERATORS or (if_exists and rest == "Null"):
        return None
    return OperatorName(rest, qualifier, if_exists)
