"""Condition blocks compiled into tests (docs/evaluation.md R24-R35).

Each ``operator: {key: values}`` entry becomes one closure ``test(ctx, derived, missing)``:
absent keys follow R29/R30/R32, multivalued request values R32/R33, and values with policy
variables (String*, Arn*, Bool in 2012-10-17 documents only, R25) are rendered per request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dataplane.evaluation._glob import any_segments_matcher
from dataplane.evaluation._operators import ValueTest, static_value_test
from dataplane.evaluation._variables import Context, Template, parse_template
from replication.policy import BASE_OPERATORS, NEGATED_OPERATORS, Condition, SetQualifier

__all__ = ["ConditionTest", "compile_condition", "compile_conditions"]

ConditionTest = Callable[[Context, Context, list[str]], bool]
_Resolver = Callable[[Context, Context, list[str]], ValueTest]
_VARIABLE_FAMILIES = frozenset({"string", "arn", "bool"})
_GLOB_OPERATORS = frozenset({"StringLike", "StringNotLike"})


def _dynamic(base: str, plain: Sequence[str], templates: Sequence[Template]) -> _Resolver:
    """Per-request value test for policy values that hold variables."""
    static = static_value_test(base, plain) if plain else None
    family = BASE_OPERATORS[base]
    glob = base in _GLOB_OPERATORS or family == "arn"

    def resolve(ctx: Context, derived: Context, missing: list[str]) -> ValueTest:
        rendered = [t.render(ctx, derived, missing) for t in templates]
        usable = [segments for segments in rendered if segments is not None]  # R27
        wildcards = any_segments_matcher(usable, family == "arn") if glob else None
        texts = ["".join(text for text, _ in segments) for segments in usable]
        dynamic = None if glob else static_value_test(base, texts)

        def test(value: str) -> bool | None:
            if static is not None and static(value):
                return True
            if wildcards is not None:
                return wildcards(value)
            return dynamic is not None and bool(dynamic(value))

        return test

    return resolve


def _null(key: str, values: Sequence[str]) -> ConditionTest:
    wanted = {value.lower() for value in values}
    when_absent, when_present = "true" in wanted, "false" in wanted

    def test(ctx: Context, derived: Context, _missing: list[str]) -> bool:
        present = key in ctx or key in derived
        return when_present if present else when_absent

    return test


def _absent_result(condition: Condition, negated: bool) -> bool:
    """R29/R30/R32: IfExists is true, ForAllValues true, ForAnyValue false, else by polarity."""
    if condition.if_exists:
        return True
    if condition.qualifier is SetQualifier.FOR_ALL_VALUES:
        return True
    if condition.qualifier is SetQualifier.FOR_ANY_VALUE:
        return False
    return negated


def _combine_many(results: list[bool], qualifier: SetQualifier | None, negated: bool) -> bool:
    """R32 with a set prefix; R33 (any for positive, all for negated) without one."""
    if qualifier is SetQualifier.FOR_ALL_VALUES:
        return all(results)
    if qualifier is SetQualifier.FOR_ANY_VALUE:
        return any(results)
    return all(results) if negated else any(results)


def compile_condition(condition: Condition, variables_enabled: bool) -> ConditionTest:
    """Compile one condition entry into a test over (request context, derived keys, missing)."""
    key, name = condition.key.lower(), condition.key
    if condition.base == "Null":
        return _null(key, condition.values)
    negated = condition.base in NEGATED_OPERATORS
    absent = _absent_result(condition, negated)
    qualifier = condition.qualifier
    templates: list[Template] = []
    plain: list[str] = []
    for value in condition.values:
        template = None
        if variables_enabled and BASE_OPERATORS[condition.base] in _VARIABLE_FAMILIES:
            template = parse_template(value)
        if template is None:
            plain.append(value)
        else:
            templates.append(template)
    static = static_value_test(condition.base, plain)
    resolve = _dynamic(condition.base, plain, templates) if templates else None

    def test(ctx: Context, derived: Context, missing: list[str]) -> bool:
        value = ctx.get(key)
        if value is None:
            value = derived.get(key)
            if value is None:
                missing.append(name)
                return absent
        value_test = static if resolve is None else resolve(ctx, derived, missing)
        if value.__class__ is str:
            result = value_test(value)
            return result is not None and result != negated
        results = [r is not None and r != negated for r in map(value_test, value)]
        return _combine_many(results, qualifier, negated)

    return test


def compile_conditions(
    conditions: Sequence[Condition], variables_enabled: bool
) -> tuple[ConditionTest, ...]:
    """Compile a statement's Condition block (its entries are AND-ed, R28)."""
    return tuple(compile_condition(condition, variables_enabled) for condition in conditions)
