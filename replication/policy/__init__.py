"""PARSE stage shared by both planes: policy documents as a typed, validated AST (R6-R13).

The control plane validates with :func:`parse_policy`; the data plane compiles its result.
"""

from replication.policy._ast import (
    Condition,
    Effect,
    MalformedPolicyDocument,
    PolicyDocument,
    PolicyKind,
    SetQualifier,
    Statement,
)
from replication.policy._operators import (
    BASE_OPERATORS,
    NEGATED_OPERATORS,
    OperatorName,
    split_operator,
)
from replication.policy._parse import parse_policy
from replication.policy._size import (
    INLINE_AGGREGATE_LIMITS,
    SIZE_LIMITS,
    check_characters,
    policy_size,
)

__all__ = [
    "BASE_OPERATORS",
    "INLINE_AGGREGATE_LIMITS",
    "NEGATED_OPERATORS",
    "SIZE_LIMITS",
    "Condition",
    "Effect",
    "MalformedPolicyDocument",
    "OperatorName",
    "PolicyDocument",
    "PolicyKind",
    "SetQualifier",
    "Statement",
    "check_characters",
    "parse_policy",
    "policy_size",
    "split_operator",
]
