"""Properties of the decision procedure that must hold for any policies (R2, R88)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dataplane.evaluation import evaluate_document
from tests.dataplane.evaluation.strategies import ALICE_ARN, queries, statements

SETTINGS = settings(max_examples=200, deadline=None)


def _decide(query: dict[str, Any]) -> dict[str, Any]:
    result = evaluate_document(query)
    assert "error" not in result, result
    return result


def _matched(result: dict[str, Any]) -> list[tuple[str, int]]:
    return sorted((m["policy"], m["statement_index"]) for m in result["matched"])


@SETTINGS
@given(query=queries(), where=st.sampled_from(["identity", "boundary", "resource"]), data=st.data())
def test_applicable_deny_always_wins(
    query: dict[str, Any], where: str, data: st.DataObject
) -> None:
    """A Deny naming the request's action and resource, in any applicable policy, wins."""
    request = query["request"]
    deny: dict[str, Any] = {"Effect": "Deny", "Action": request["action"], "Resource": "*"}
    policies = query["policies"]
    if where == "identity":
        policies["identity"].append({"Statement": deny})
    elif where == "boundary":
        boundary = policies.setdefault("boundary", {"Statement": []})
        position = data.draw(st.integers(0, len(boundary["Statement"])))
        boundary["Statement"].insert(position, deny)
    else:
        deny["Principal"] = data.draw(st.sampled_from(["*", {"AWS": ALICE_ARN}]))
        policies["resource"] = {
            "Statement": [deny, *policies.get("resource", {}).get("Statement", [])]
        }
    result = _decide(query)
    assert (result["decision"], result["decided_by"]) == ("ExplicitDeny", "explicit_deny")


@SETTINGS
@given(query=queries(), allow=statements(effect="Allow"), data=st.data())
def test_adding_an_allow_never_lifts_an_explicit_deny(
    query: dict[str, Any], allow: dict[str, Any], data: st.DataObject
) -> None:
    """If a request is explicitly denied, adding any Allow statement keeps it denied."""
    before = _decide(query)
    identity = query["policies"]["identity"]
    if identity and data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(identity) - 1))
        identity[index]["Statement"].append(allow)
    else:
        identity.append({"Version": "2012-10-17", "Statement": [allow]})
    after = _decide(query)
    if before["decision"] == "ExplicitDeny":
        assert after["decision"] == "ExplicitDeny"
    if before["decision"] == "Allow":
        assert after["decision"] == "Allow"  # Allows are monotone without new Denies


@SETTINGS
@given(query=queries(), data=st.data())
def test_statement_and_policy_order_never_matter(
    query: dict[str, Any], data: st.DataObject
) -> None:
    """Shuffling statements inside policies and the identity policy list keeps the decision."""
    before = _decide(query)
    shuffled = copy.deepcopy(query)
    policies = shuffled["policies"]
    documents = [
        *policies["identity"],
        *(policies[k] for k in ("boundary", "resource") if k in policies),
    ]
    for document in documents:
        document["Statement"] = data.draw(st.permutations(document["Statement"]))
    policies["identity"] = data.draw(st.permutations(policies["identity"]))
    after = _decide(shuffled)
    assert (after["decision"], after["decided_by"]) == (before["decision"], before["decided_by"])
    assert sorted(after["missing_context_keys"]) == sorted(before["missing_context_keys"])
    assert len(after["matched"]) == len(before["matched"])


@SETTINGS
@given(query=queries())
def test_single_statement_object_equals_list(query: dict[str, Any]) -> None:
    """A one-statement list and the bare statement object are the same policy."""
    before = _decide(query)
    single = copy.deepcopy(query)
    policies = single["policies"]
    for document in [
        *policies["identity"],
        *(policies[k] for k in ("boundary", "resource") if k in policies),
    ]:
        if len(document["Statement"]) == 1:
            document["Statement"] = document["Statement"][0]
    after = _decide(single)
    assert (after["decision"], after["decided_by"]) == (before["decision"], before["decided_by"])
    assert _matched(after) == _matched(before)
