"""STS's own parameter rules beyond botocore's model: durations, session policies, tags.

The model already checks lengths, ranges and patterns when the request is parsed; these are
the rules AWS enforces in the service itself (docs/evaluation.md R72-R77).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from awswire.errors import AwsError, validation_error

__all__ = [
    "CHAINED_MAX_DURATION",
    "PACKED_LIMIT",
    "check_duration",
    "packed_policy_size",
    "session_policy_text",
    "session_tags",
]

CHAINED_MAX_DURATION = 3600
MAX_POLICY_ARNS = 10
PLAINTEXT_LIMIT = 2048
#: bytes the compressed session policies and tags may take: AWS does not publish its packing,
#: so the emulator packs with zlib; any policy under the plaintext limit fits, 50 long tags don't
PACKED_LIMIT = 2560


def check_duration(requested: int, role_max: int, chained: bool) -> None:
    """R73: a role's MaxSessionDuration, and one hour for role chaining."""
    if chained and requested > CHAINED_MAX_DURATION:
        raise AwsError(
            "ValidationError",
            "The requested DurationSeconds exceeds the 1 hour session limit for roles "
            "assumed by role chaining.",
        )
    if requested > role_max:
        raise AwsError(
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        )


def session_policy_text(params: Mapping[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    """The inline session policy and managed ARNs, within AWS's plaintext limits (R74)."""
    policy: str | None = params.get("Policy")
    arns = tuple(str(item["arn"]) for item in params.get("PolicyArns", ()))
    if len(arns) > MAX_POLICY_ARNS:
        raise validation_error(
            [
                f"Value '[{', '.join(arns)}]' at 'policyArns' failed to satisfy constraint: "
                f"Member must have length less than or equal to {MAX_POLICY_ARNS}"
            ]
        )
    plaintext = len(policy or "") + sum(len(arn) for arn in arns)
    if plaintext > PLAINTEXT_LIMIT:
        raise validation_error(
            [
                "Value at 'policy' failed to satisfy constraint: "
                f"Member must have length less than or equal to {PLAINTEXT_LIMIT}"
            ]
        )
    return policy, arns


def session_tags(params: Mapping[str, Any]) -> tuple[dict[str, str], tuple[str, ...]]:
    """The passed session tags and transitive keys (R75); keys are unique ignoring case."""
    tags: dict[str, str] = {}
    for tag in params.get("Tags", ()):
        key, value = str(tag["Key"]), str(tag["Value"])
        if key.lower() in (k.lower() for k in tags):
            raise AwsError(
                "ValidationError",
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            )
        tags[key] = value
    transitive = tuple(str(key) for key in params.get("TransitiveTagKeys", ()))
    lowered = {key.lower() for key in tags}
    stray = [key for key in transitive if key.lower() not in lowered]
    if stray:
        raise AwsError(
            "InvalidParameterValue",
            f"The specified transitive tag key must be included in the requested tags: {stray[0]}",
        )
    return tags, transitive


def packed_policy_size(policy: str | None, arns: Sequence[str], tags: Mapping[str, str]) -> int:
    """PackedPolicySize: the percentage of the allotted space the packed policies and tags use.

    Over 100 is AWS's PackedPolicyTooLarge.
    """
    compact = "".join((policy or "").split())
    packed = "\x1f".join([compact, *arns, *(f"{k}\x1e{v}" for k, v in sorted(tags.items()))])
    if not packed.strip("\x1f"):
        return 0
    size = len(zlib.compress(packed.encode(), 9))
    percent = math.ceil(size * 100 / PACKED_LIMIT)
    if percent > 100:
        raise AwsError(
            "PackedPolicyTooLarge",
            f"Packed policy consumes {percent}% of allotted space, please use smaller policy.",
        )
    return percent
