"""Coverage of docs/evaluation.md by the corpus: every rule R1-R90 and every condition operator."""

from __future__ import annotations

import json
import re
from typing import Any

from replication.policy import BASE_OPERATORS
from tests.dataplane.evaluation.corpus_loader import load_cases
from tests.replication.policy import test_parse

ALL_RULES = [f"R{number}" for number in range(1, 91)]

#: rules that are not decisions of the engine, with where they are tested instead
COVERED_ELSEWHERE: dict[str, str] = {
    "R13": "sizes are quota checks of the control plane; policy_size/check_characters are "
    "unit-tested in test_parse (test_policy_size_ignores_whitespace, "
    "test_check_characters_rejects_outside_range); the character rule also has corpus cases",
    "R73": "session duration limits are STS API validation (controlplane STS handlers), not "
    "policy evaluation",
    "R86": "entity name rules are control-plane request validation, not policy evaluation",
    "R87": "quotas are control-plane limits (LimitExceeded), not policy evaluation",
}
#: tests named in COVERED_ELSEWHERE that live in this suite and must exist
ELSEWHERE_TESTS = [
    "test_policy_size_ignores_whitespace",
    "test_check_characters_rejects_outside_range",
]


def _rules_in_corpus() -> set[str]:
    return {rule for case in load_cases() for rule in case["rules"]}


def _operators_in(value: Any, found: set[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Condition" and isinstance(item, dict):
                found.update(item)
            _operators_in(item, found)
    elif isinstance(value, list):
        for item in value:
            _operators_in(item, found)
    elif isinstance(value, str) and value.lstrip().startswith("{"):
        try:
            _operators_in(json.loads(value), found)
        except ValueError:
            return


def _corpus_operators() -> set[str]:
    found: set[str] = set()
    for case in load_cases():
        if "error" not in case["expect"]:
            _operators_in(case["input"]["policies"], found)
    return found


def test_every_rule_is_covered_or_explained() -> None:
    """Each rule R1-R90 has a corpus case or an explicit reason why it is tested elsewhere."""
    in_corpus = _rules_in_corpus()
    uncovered = [r for r in ALL_RULES if r not in in_corpus and r not in COVERED_ELSEWHERE]
    assert uncovered == []


def test_corpus_names_only_known_rules() -> None:
    """Corpus cases cite only rules that docs/evaluation.md defines."""
    assert _rules_in_corpus() <= set(ALL_RULES)


def test_elsewhere_tests_exist() -> None:
    """The unit tests cited as covering a rule exist in this suite."""
    for name in ELSEWHERE_TESTS:
        assert callable(getattr(test_parse, name, None)), name


def test_every_operator_is_exercised() -> None:
    """Every base operator, IfExists and both set prefixes appear in an evaluated case."""
    operators = _corpus_operators()
    bases = {re.sub(r"^For(All|Any)Values?:|IfExists$", "", op) for op in operators}
    assert set(BASE_OPERATORS) <= bases
    assert any(op.endswith("IfExists") for op in operators)
    assert any(op.startswith("ForAllValues:") for op in operators)
    assert any(op.startswith("ForAnyValue:") for op in operators)


def test_every_decided_by_value_is_exercised() -> None:
    """Every reachable stage name is the expected decided_by of some corpus case."""
    # "rcp" cannot be reached from JSON input (every RCP level includes RCPFullAWSAccess,
    # R66); its decision-table row is tested in test_api.test_decision_table_rows.
    stages = {c["expect"].get("decided_by") for c in load_cases()}
    expected = {"explicit_deny", "scp", "resource", "identity", "boundary", "session"}
    assert expected | {"no_allow", "credential"} <= stages
