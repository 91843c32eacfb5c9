"""``PolicyExclusionList`` of SimulatePrincipalPolicy: which stored policies to leave out.

Each ``PolicyIdentifier`` names policies by type, by managed-policy ARN (one ``*`` and any
number of ``?`` in the resource part), or by inline policy name and the user, group or role
holding it (wildcards in the holder's name). Malformed identifiers are InvalidInput;
identifiers that match nothing are ignored, and RCP identifiers are ignored, as IAM documents.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from controlplane.iam.support.errors import invalid_input
from replication.wildcards import Matcher, pattern_matcher

__all__ = ["Exclusions", "exclusions_of"]

_MANAGED_ARN = re.compile(r"arn:aws:iam::(aws|[0-9]{12}):policy/(?P<path>.+)")


def _glob(pattern: str) -> Matcher:
    """``*`` (at most one) and ``?`` wildcards, matched against the whole string (never as a
    regex: the pattern is the caller's)."""
    if pattern.count("*") > 1:
        raise invalid_input(f"Invalid wildcard pattern {pattern}: use at most one '*'.")
    return pattern_matcher(pattern, arn=False)


@dataclass(frozen=True, slots=True)
class Exclusions:
    """The policies a simulation leaves out."""

    types: frozenset[str]  # inline, aws-managed, user-managed, permission-boundary, scp
    arns: tuple[Matcher, ...]
    inline: tuple[tuple[str, str, Matcher], ...]  # (policy name, holder kind, holder)

    def excludes(self, policy_id: str, policy_type: str, holder: str | None) -> bool:
        """Whether a stored identity policy (named and typed as simulation names it) is out.

        ``holder`` is ``kind/name`` of the user, group or role an inline policy is on.
        """
        if policy_type in {"user", "group", "role"}:
            if "inline" in self.types or holder is None:
                return "inline" in self.types
            kind, name = holder.split("/", 1)
            return any(policy_id == p and kind == k and n(name) for p, k, n in self.inline)
        return policy_type in self.types or any(a(policy_id) for a in self.arns)

    @property
    def boundary(self) -> bool:
        """Whether the stored permissions boundary is left out."""
        return "permission-boundary" in self.types

    @property
    def organization(self) -> bool:
        """Whether the account's SCPs are left out."""
        return "scp" in self.types


def _identifier(entry: Mapping[str, Any]) -> tuple[str, Any]:
    given = [(k, v) for k, v in entry.items() if v is not None]
    if len(given) != 1:
        raise invalid_input(
            "Each PolicyIdentifier must specify exactly one of PolicyType, PolicyArn or "
            "InlinePolicyIdentifier."
        )
    return given[0]


def exclusions_of(entries: Iterable[Mapping[str, Any]]) -> Exclusions:
    """The exclusions a ``PolicyExclusionList`` describes, validated."""
    types: set[str] = set()
    arns: list[Matcher] = []
    inline: list[tuple[str, str, Matcher]] = []
    for entry in entries:
        field, value = _identifier(entry)
        if field == "PolicyType":
            types.add(str(value))
        elif field == "PolicyArn":
            if not _MANAGED_ARN.fullmatch(str(value)):
                raise invalid_input(f"Invalid policy ARN {value} in PolicyExclusionList.")
            arns.append(_glob(str(value)))
        else:
            name, kind = value.get("PolicyName"), value.get("AttachmentType")
            holder = value.get("AttachmentName")
            if not (name and kind and holder):
                raise invalid_input(
                    "InlinePolicyIdentifier requires PolicyName, AttachmentType and AttachmentName."
                )
            inline.append((str(name), str(kind), _glob(str(holder))))
    return Exclusions(frozenset(types), tuple(arns), tuple(inline))
