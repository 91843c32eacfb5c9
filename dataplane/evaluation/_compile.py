"""COMPILE stage: a parsed :class:`PolicyDocument` -> :class:`CompiledPolicy`, once per policy.

Action patterns are lower-cased and turned into set/prefix/regex matchers, resources into
ARN-aware matchers, principals into set tests and conditions into closures. A compiled policy
also memoises, per lower-cased action, which statements' action tests pass (a pure function
of the policy and the action, so it never changes an answer).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dataplane.evaluation._conditions import ConditionTest, compile_conditions
from dataplane.evaluation._glob import Matcher, compile_glob_set
from dataplane.evaluation._model import StatementMatch
from dataplane.evaluation._principals import CompiledPrincipal, compile_principal
from dataplane.evaluation._variables import Context, Template, parse_template
from replication.policy import Effect, PolicyDocument, PolicyKind, Statement
from replication.wildcards import ARN_FIELDS, segments_matcher

__all__ = ["CompiledPolicy", "CompiledStatement", "compile_policy"]

_MEMO_LIMIT = 2048


@dataclass(frozen=True, slots=True)
class _ResourceTemplate:
    """A resource pattern with variables in its resource part (R25)."""

    head: str  # the first five fields and their colons, wildcards allowed
    tail: Template

    def matches(self, resource: str, ctx: Context, derived: Context, missing: list[str]) -> bool:
        segments = self.tail.render(ctx, derived, missing)
        if segments is None:
            return False  # R27: an unresolvable entry matches no resource
        return segments_matcher([(self.head, False), *segments], arn=True)(resource)


@dataclass(frozen=True, slots=True)
class CompiledStatement:
    """One statement ready for matching."""

    index: int
    sid: str | None
    deny: bool
    match: StatementMatch
    action_test: Matcher
    not_action: bool
    resource_any: bool
    resource_static: Matcher
    resource_templates: tuple[_ResourceTemplate, ...]
    not_resource: bool
    principal: CompiledPrincipal | None
    not_principal: CompiledPrincipal | None
    conditions: tuple[ConditionTest, ...]
    #: applies to every request its action test passes (any resource, no principal, no condition)
    unconditional: bool

    def action_applies(self, action_key: str) -> bool:
        """R14/R15 on a lower-cased action."""
        return self.action_test(action_key) != self.not_action

    def resource_applies(
        self, resource: str, ctx: Context, derived: Context, missing: list[str]
    ) -> bool:
        """R16/R17 (with variables, R25-R27)."""
        if self.resource_any:
            return True
        hit = self.resource_static(resource) or self.template_hit(resource, ctx, derived, missing)
        return hit != self.not_resource

    def template_hit(
        self, resource: str, ctx: Context, derived: Context, missing: list[str]
    ) -> bool:
        """Whether a resource entry with variables matches (rendered per request)."""
        return any(t.matches(resource, ctx, derived, missing) for t in self.resource_templates)


@dataclass(slots=True)
class CompiledPolicy:
    """A compiled policy document with a label used in decisions (``identity[0]``, ...)."""

    label: str
    kind: PolicyKind
    statements: tuple[CompiledStatement, ...]
    _by_action: dict[str, tuple[CompiledStatement, ...]] = field(default_factory=dict, repr=False)

    def candidates(self, action_key: str) -> tuple[CompiledStatement, ...]:
        """The statements whose action test passes for this lower-cased action (memoised)."""
        found = self._by_action.get(action_key)
        if found is None:
            if len(self._by_action) >= _MEMO_LIMIT:
                self._by_action.clear()
            found = tuple(s for s in self.statements if s.action_applies(action_key))
            self._by_action[action_key] = found
        return found


def _resource_matchers(
    patterns: tuple[str, ...], variables: bool
) -> tuple[bool, Matcher, tuple[_ResourceTemplate, ...]]:
    plain: list[str] = []
    templates: list[_ResourceTemplate] = []
    for pattern in patterns:
        parts = pattern.split(":", ARN_FIELDS)
        tail = parse_template(parts[-1]) if variables and len(parts) > ARN_FIELDS else None
        if tail is None or "${" in ":".join(parts[:ARN_FIELDS]):
            plain.append(pattern)
        else:
            templates.append(_ResourceTemplate(":".join(parts[:ARN_FIELDS]) + ":", tail))
    return "*" in plain, compile_glob_set(plain, arn=True), tuple(templates)


def _compile_statement(statement: Statement, label: str, variables: bool) -> CompiledStatement:
    actions = statement.action if statement.action is not None else statement.not_action
    resources = statement.resource if statement.resource is not None else statement.not_resource
    not_resource = statement.not_resource is not None
    templates: tuple[_ResourceTemplate, ...] = ()
    if resources is None:  # trust policies have no resource element
        star, static = True, compile_glob_set(("*",), arn=True)
    else:
        star, static, templates = _resource_matchers(resources, variables)
    return CompiledStatement(
        index=statement.index,
        sid=statement.sid,
        deny=statement.effect is Effect.DENY,
        match=StatementMatch(label, statement.sid, statement.effect.value, statement.index),
        action_test=compile_glob_set([a.lower() for a in actions or ()], arn=False),
        not_action=statement.not_action is not None,
        resource_any=star and not not_resource,
        resource_static=static,
        resource_templates=templates,
        not_resource=not_resource,
        principal=compile_principal(statement.principal) if statement.principal else None,
        not_principal=(
            compile_principal(statement.not_principal) if statement.not_principal else None
        ),
        conditions=compile_conditions(statement.conditions, variables),
        unconditional=(
            star
            and not not_resource
            and not statement.conditions
            and statement.principal is None
            and statement.not_principal is None
        ),
    )


def compile_policy(document: PolicyDocument, label: str) -> CompiledPolicy:
    """Compile a parsed policy; ``label`` names it in decisions."""
    variables = document.variables_enabled
    statements = tuple(_compile_statement(s, label, variables) for s in document.statements)
    return CompiledPolicy(label, document.kind, statements)
