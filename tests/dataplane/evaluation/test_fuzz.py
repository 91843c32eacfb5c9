"""Fuzzing the JSON edge: random and truncated inputs never raise and never reach the catch-all."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dataplane.evaluation import evaluate_document
from tests.dataplane.evaluation.strategies import queries

_KEYS = [
    "request", "policies", "principal", "action", "resource", "context", "resource_owner",
    "identity", "boundary", "session", "scps", "rcps", "type", "arn", "org", "credential",
    "tags", "kind", "account", "Statement", "Effect", "Action", "Resource", "Principal",
    "Condition", "Version",
]  # fmt: skip
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10)
    | st.sampled_from(["IAMUser", "AssumedRole", "Root", "Allow", "*", "s3:GetObject"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=5), children, max_size=6),
    max_leaves=30,
)  # fmt: skip


def _check(result: dict[str, Any]) -> None:
    """The result is a decision or one of the two error codes, never the catch-all."""
    if "error" in result:
        error = result["error"]
        assert error["code"] in ("MalformedPolicyDocument", "InvalidInput")
        assert not error["message"].startswith("unreadable input"), error
        assert isinstance(error["path"], str)
    else:
        assert result["decision"] in ("Allow", "ExplicitDeny", "ImplicitDeny")
        json.dumps(result)


@settings(max_examples=300, deadline=None)
@given(obj=_json)
def test_random_json_never_raises(obj: Any) -> None:
    """Arbitrary JSON values give a decision or a typed error object."""
    _check(evaluate_document(obj))


def _mutate(value: Any, draw: st.DrawFn) -> Any:
    """Replace one random nested value with junk, or drop a key."""
    if isinstance(value, dict) and value:
        key = draw(st.sampled_from(sorted(value)))
        choice = draw(st.integers(0, 2))
        if choice == 0:
            return {k: v for k, v in value.items() if k != key}
        if choice == 1:
            return {**value, key: draw(_json)}
        return {**value, key: _mutate(value[key], draw)}
    if isinstance(value, list) and value:
        index = draw(st.integers(0, len(value) - 1))
        return [*value[:index], _mutate(value[index], draw), *value[index + 1 :]]
    return draw(_json)


@settings(max_examples=300, deadline=None)
@given(query=queries(), data=st.data())
def test_mutated_queries_never_raise(query: dict[str, Any], data: st.DataObject) -> None:
    """Valid queries with one part replaced or removed give a decision or a typed error."""
    _check(evaluate_document(_mutate(query, data.draw)))


@settings(max_examples=300, deadline=None)
@given(query=queries(), cut=st.floats(0, 1))
def test_truncated_policy_text_never_raises(query: dict[str, Any], cut: float) -> None:
    """Policies given as truncated JSON text are MalformedPolicyDocument errors, not crashes."""
    identity = query["policies"]["identity"]
    text = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]})
    if identity:
        text = json.dumps(identity[0])
    query["policies"]["identity"] = [text[: int(len(text) * cut)]]
    result = evaluate_document(query)
    _check(result)
    if cut < 0.99:
        assert result["error"]["code"] == "MalformedPolicyDocument"
