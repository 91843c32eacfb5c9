"""The PARSE stage: normalisation, per-kind validation and the R13 helpers."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from replication.policy import (
    Effect,
    MalformedPolicyDocument,
    PolicyKind,
    SetQualifier,
    check_characters,
    parse_policy,
    policy_size,
    split_operator,
)

ALLOW = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}


def _doc(*statements: dict[str, Any], version: str | None = "2012-10-17") -> dict[str, Any]:
    document: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        document["Version"] = version
    return document


def test_single_statement_is_normalised_to_a_tuple() -> None:
    """A Statement object becomes a one-element statement tuple with tuple-valued elements."""
    parsed = parse_policy({"Version": "2012-10-17", "Statement": ALLOW}, PolicyKind.IDENTITY)
    assert len(parsed.statements) == 1
    statement = parsed.statements[0]
    assert statement.action == ("s3:GetObject",)
    assert statement.resource == ("*",)
    assert statement.effect is Effect.ALLOW
    assert statement.not_action is None and statement.principal is None


def test_principal_star_is_normalised_to_aws_star() -> None:
    """``"Principal": "*"`` and ``{"AWS": "*"}`` normalise to the same mapping."""
    star = parse_policy(_doc({**ALLOW, "Principal": "*"}), "resource").statements[0]
    aws = parse_policy(_doc({**ALLOW, "Principal": {"AWS": ["*"]}}), "resource").statements[0]
    assert star.principal == aws.principal == {"AWS": ("*",)}


def test_condition_entries_are_typed() -> None:
    """Condition operators split into base, set qualifier and IfExists; values become strings."""
    condition = {"ForAnyValue:NumericLessThanIfExists": {"s3:max-keys": [10, True]}}
    parsed = parse_policy(_doc({**ALLOW, "Condition": condition}), "identity")
    entry = parsed.statements[0].conditions[0]
    assert (entry.base, entry.qualifier, entry.if_exists) == (
        "NumericLessThan",
        SetQualifier.FOR_ANY_VALUE,
        True,
    )
    assert entry.values == ("10", "true")


def test_missing_version_disables_variables() -> None:
    """Only 2012-10-17 documents treat ``${...}`` as a variable (R7)."""
    assert parse_policy(_doc(ALLOW), "identity").variables_enabled
    assert not parse_policy(_doc(ALLOW, version=None), "identity").variables_enabled
    assert not parse_policy(_doc(ALLOW, version="2008-10-17"), "identity").variables_enabled


@pytest.mark.parametrize(
    ("kind", "statement", "message"),
    [
        (
            "identity",
            {**ALLOW, "Principal": "*"},
            "Policy document should not specify a principal.",
        ),
        ("scp", {**ALLOW, "Principal": "*"}, "Has prohibited field Principal"),
        ("resource", ALLOW, "Missing required field Principal"),
        ("trust", {**ALLOW, "Principal": "*"}, "Has prohibited field Resource"),
        ("rcp", {**ALLOW, "Principal": "*"}, "does not meet the requirements"),
    ],
)
def test_kind_specific_messages(kind: str, statement: dict[str, Any], message: str) -> None:
    """Each kind rejects the elements AWS rejects for it, with AWS's wording (R8, R9, R68)."""
    with pytest.raises(MalformedPolicyDocument) as raised:
        parse_policy(_doc(statement), kind)
    assert message in raised.value.message
    assert raised.value.path.startswith("Statement[0]")


def test_error_path_names_the_statement() -> None:
    """The path points at the offending statement element."""
    bad = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"X": {}}}
    with pytest.raises(MalformedPolicyDocument) as raised:
        parse_policy(_doc(ALLOW, ALLOW, bad), "identity")
    assert raised.value.path == "Statement[2].Condition"


def test_unknown_kind_is_a_malformed_document() -> None:
    """An unknown policy kind is reported as MalformedPolicyDocument, not a ValueError leak."""
    with pytest.raises(MalformedPolicyDocument):
        parse_policy(_doc(ALLOW), "group")


def test_split_operator_rejects_bad_names() -> None:
    """IfExists on Null and misspelt set prefixes are not operators (R12)."""
    assert split_operator("NullIfExists") is None
    assert split_operator("ForAllValue:StringEquals") is None
    assert split_operator("IfExists") is None
    name = split_operator("ForAllValues:StringLikeIfExists")
    assert name is not None and name.base == "StringLike"


def test_policy_size_ignores_whitespace() -> None:
    """Size counts every character except spaces, tabs and line breaks (R13)."""
    compact = json.dumps(_doc(ALLOW), separators=(",", ":"))
    spaced = json.dumps(_doc(ALLOW), indent=4)
    assert policy_size(spaced) == policy_size(compact) == len(compact.replace(" ", ""))


def test_check_characters_rejects_outside_range() -> None:
    """TAB, LF, CR and U+0020-U+00FF pass; anything else is rejected (R13)."""
    check_characters("\t\n\r ~\u00e9\u00ff")
    for char in ("\u0000", "\u0100", "\u2603", "\U0001f600"):
        with pytest.raises(MalformedPolicyDocument):
            check_characters(f"ok{char}")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["Version", "Statement", "Effect", "Action", "Resource", "Principal", "Condition"]
            )
            | st.text(max_size=6),
            children,
            max_size=5,
        )
    ),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(document=_json, kind=st.sampled_from(list(PolicyKind)))
def test_parse_raises_only_malformed(document: Any, kind: PolicyKind) -> None:
    """parse_policy on arbitrary JSON values either parses or raises MalformedPolicyDocument."""
    for source in (document, json.dumps(document)):
        with contextlib.suppress(MalformedPolicyDocument):
            parse_policy(source, kind)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=60))
def test_parse_text_raises_only_malformed(text: str) -> None:
    """parse_policy on arbitrary (mostly broken) text raises only MalformedPolicyDocument."""
    with contextlib.suppress(MalformedPolicyDocument):
        parse_policy(text, PolicyKind.IDENTITY)
