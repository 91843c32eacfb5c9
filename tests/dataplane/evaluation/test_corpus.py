"""The data-driven corpus: every case through evaluate_document, compared with its expectation."""

from __future__ import annotations

from typing import Any

import pytest

from dataplane.evaluation import evaluate_document
from tests.dataplane.evaluation.corpus_loader import case_id, load_cases

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_corpus_case(case: dict[str, Any]) -> None:
    """The engine's answer for the case equals the expected decision, stage and reasons."""
    result = evaluate_document(case["input"])
    expect = case["expect"]
    if "error" in expect:
        assert "error" in result, result
        for field, value in expect["error"].items():
            assert result["error"][field] == value, result
        return
    assert "error" not in result, result
    assert (result["decision"], result["decided_by"]) == (expect["decision"], expect["decided_by"])
    if "matched_sids" in expect:
        assert sorted(m["sid"] or "" for m in result["matched"]) == sorted(expect["matched_sids"])
    if "missing_context_keys" in expect:
        assert sorted(result["missing_context_keys"]) == sorted(expect["missing_context_keys"])
