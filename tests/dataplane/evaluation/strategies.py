"""Hypothesis strategies: small valid policies and requests over shared vocabularies."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

ACCOUNT = "111122223333"
ALICE_ARN = f"arn:aws:iam::{ACCOUNT}:user/alice"
ACTIONS = ["s3:GetObject", "s3:PutObject", "ec2:StartInstances", "iam:GetUser", "sqs:SendMessage"]
ACTION_PATTERNS = [*ACTIONS, "*", "s3:*", "s3:Get*", "ec2:?tartInstances", "IAM:getuser", "sqs:*"]
RESOURCES = [
    "arn:aws:s3:::bucket/a/b",
    "arn:aws:s3:::bucket/home/alice/x",
    f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-1",
    f"arn:aws:iam::{ACCOUNT}:user/alice",
]
RESOURCE_PATTERNS = [
    *RESOURCES,
    "*",
    "arn:aws:s3:::bucket/*",
    "arn:aws:s3:::bucket/home/${aws:username}/*",
    f"arn:aws:ec2:*:{ACCOUNT}:instance/*",
    "arn:aws:s3:::other/*",
]
CONDITIONS: list[dict[str, Any]] = [
    {"StringEquals": {"aws:PrincipalTag/team": "eng"}},
    {"StringNotEquals": {"aws:PrincipalTag/team": ["ops", "eng"]}},
    {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}},
    {"Bool": {"aws:SecureTransport": "true"}},
    {"StringLikeIfExists": {"s3:prefix": "home/*"}},
    {"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}},
    {"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}},
    {"Null": {"aws:TokenIssueTime": "true"}},
    {"NumericLessThan": {"s3:max-keys": "10"}},
]
CONTEXTS: list[dict[str, Any]] = [
    {},
    {"aws:SourceIp": "10.1.2.3", "aws:SecureTransport": True},
    {"aws:SourceIp": "203.0.113.9", "aws:SecureTransport": False, "s3:prefix": "home/x"},
    {"aws:TagKeys": ["a", "c"], "s3:max-keys": "5"},
    {"aws:TagKeys": []},
]


def _one_or_many(values: list[str]) -> st.SearchStrategy[Any]:
    many = st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True)
    return st.sampled_from(values) | many


@st.composite
def statements(draw: st.DrawFn, effect: str | None = None, principal: bool = False) -> Any:
    """One valid statement."""
    statement: dict[str, Any] = {"Effect": effect or draw(st.sampled_from(["Allow", "Deny"]))}
    if principal:
        statement["Principal"] = draw(st.sampled_from(["*", {"AWS": ALICE_ARN}, {"AWS": ACCOUNT}]))
    action_key = draw(st.sampled_from(["Action", "Action", "NotAction"]))
    statement[action_key] = draw(_one_or_many(ACTION_PATTERNS))
    resource_key = draw(st.sampled_from(["Resource", "Resource", "NotResource"]))
    statement[resource_key] = draw(_one_or_many(RESOURCE_PATTERNS))
    conditions = draw(st.lists(st.sampled_from(CONDITIONS), max_size=2))
    if conditions:
        merged: dict[str, Any] = {}
        for condition in conditions:
            for operator, keys in condition.items():
                merged.setdefault(operator, {}).update(keys)
        statement["Condition"] = merged
    return statement


def documents(principal: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """A valid policy document of 1-4 statements."""
    return st.builds(
        lambda statements: {"Version": "2012-10-17", "Statement": statements},
        st.lists(statements(principal=principal), min_size=1, max_size=4),
    )


@st.composite
def queries(draw: st.DrawFn) -> dict[str, Any]:
    """A full docs/evaluate-input.md object for alice: identity, boundary and resource policies."""
    policies: dict[str, Any] = {"identity": draw(st.lists(documents(), max_size=3))}
    if draw(st.booleans()):
        policies["boundary"] = draw(documents())
    if draw(st.booleans()):
        policies["resource"] = draw(documents(principal=True))
    request = {
        "principal": {
            "type": "IAMUser",
            "arn": ALICE_ARN,
            "unique_id": "AIDAALICE000000000001",
            "tags": {"team": draw(st.sampled_from(["eng", "ops"]))},
        },
        "action": draw(st.sampled_from(ACTIONS)),
        "resource": draw(st.sampled_from(RESOURCES)),
        "context": draw(st.sampled_from(CONTEXTS)),
    }
    return {"request": request, "policies": policies}
