"""Characters and sizes of policy text (docs/evaluation.md R13)."""

from __future__ import annotations

from replication.policy._ast import MalformedPolicyDocument, PolicyKind

__all__ = ["SIZE_LIMITS", "check_characters", "policy_size"]

_WHITESPACE = frozenset(" \t\n\r")

#: largest size (whitespace excluded) of one document of each kind; inline identity policies
#: are limited per entity in aggregate (user 2,048, group 5,120, role 10,240) by the caller.
SIZE_LIMITS: dict[PolicyKind, int] = {
    PolicyKind.IDENTITY: 6144,
    PolicyKind.BOUNDARY: 6144,
    PolicyKind.RESOURCE: 20480,
    PolicyKind.TRUST: 2048,
    PolicyKind.SESSION: 2048,
    PolicyKind.SCP: 5120,
    PolicyKind.RCP: 5120,
}

INLINE_AGGREGATE_LIMITS: dict[str, int] = {"user": 2048, "group": 5120, "role": 10240}


def policy_size(text: str) -> int:
    """The size AWS counts against quotas: the number of characters that are not whitespace."""
    return sum(1 for char in text if char not in _WHITESPACE)


def _allowed(char: str) -> bool:
    return char in "\t\n\r" or "\u0020" <= char <= "\u00ff"


def check_characters(text: str) -> None:
    """Reject text holding characters outside TAB, LF, CR and U+0020-U+00FF (R13)."""
    for offset, char in enumerate(text):
        if not _allowed(char):
            raise MalformedPolicyDocument(
                "The policy document contains characters outside the allowed range "
                f"(TAB, LF, CR and U+0020-U+00FF): U+{ord(char):04X} at offset {offset}.",
                "",
            )
