"""PARSE stage: JSON text or mapping -> validated :class:`PolicyDocument`.

The rules are R6-R12 and R90 of docs/evaluation.md.

Validation is per :class:`PolicyKind`; every failure is a :class:`MalformedPolicyDocument`
whose message reads like AWS's and whose ``path`` names the offending element.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from replication.policy._ast import (
    VERSION_2008,
    VERSION_2012,
    Condition,
    Effect,
    MalformedPolicyDocument,
    PolicyDocument,
    PolicyKind,
    Statement,
)
from replication.policy._operators import split_operator
from replication.policy._size import check_characters
from replication.policy._values import check_action, check_principal_value, check_resource

__all__ = ["parse_policy"]

SYNTAX = "Syntax errors in policy."
_ORG_TYPE = (
    "The provided policy document does not meet the requirements of the specified policy type."
)
_TOP_FIELDS = frozenset({"Version", "Id", "Statement"})
_STATEMENT_FIELDS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
_PRINCIPAL_KEYS = frozenset({"AWS", "Federated", "Service", "CanonicalUser"})
_NO_PRINCIPAL = frozenset({PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.SESSION})
_IAM_STORED = frozenset(
    {PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.TRUST, PolicyKind.SESSION}
)
_ORG_KINDS = frozenset({PolicyKind.SCP, PolicyKind.RCP})
_SID = re.compile(r"[0-9A-Za-z]*")
Principals = Mapping[str, tuple[str, ...]]


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise MalformedPolicyDocument(SYNTAX, f"duplicate element {key}")
        result[key] = value
    return result


def _load(document: str | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(document, str):
        check_characters(document)
        try:
            loaded = json.loads(document, object_pairs_hook=_no_duplicates)
        except MalformedPolicyDocument as error:
            raise MalformedPolicyDocument(SYNTAX, "") from error
        except (ValueError, RecursionError) as error:
            raise MalformedPolicyDocument(SYNTAX, "") from error
        document = loaded
    if not isinstance(document, Mapping):
        raise MalformedPolicyDocument(SYNTAX, "")
    return document


def _strings(value: Any, path: str) -> tuple[str, ...]:
    """A string or a list of strings, as a tuple."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise MalformedPolicyDocument(SYNTAX, path)


def _scalar_text(value: Any, path: str) -> str:
    """A condition value in AWS string form (JSON booleans and numbers allowed)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    if isinstance(value, str):
        return value
    raise MalformedPolicyDocument(SYNTAX, path)


def _condition_values(value: Any, path: str) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(_scalar_text(item, path) for item in value)
    return (_scalar_text(value, path),)


def _conditions(block: Any, path: str) -> tuple[Condition, ...]:
    if not isinstance(block, Mapping):
        raise MalformedPolicyDocument(SYNTAX, path)
    entries: list[Condition] = []
    for operator, keys in block.items():
        name = split_operator(operator) if isinstance(operator, str) else None
        if name is None or not isinstance(keys, Mapping):
            raise MalformedPolicyDocument(SYNTAX, path)
        for key, value in keys.items():
            if not isinstance(key, str) or ":" not in key:
                raise MalformedPolicyDocument(
                    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
                    path,
                )
            values = _condition_values(value, path)
            entries.append(
                Condition(operator, name.base, name.qualifier, name.if_exists, key, values)
            )
    return tuple(entries)


def _principals(value: Any, field: str, path: str) -> Principals:
    if value == "*":
        return {"AWS": ("*",)}
    if not isinstance(value, Mapping) or not value:
        raise MalformedPolicyDocument(SYNTAX, path)
    result: dict[str, tuple[str, ...]] = {}
    for key, names in value.items():
        if key not in _PRINCIPAL_KEYS:
            raise MalformedPolicyDocument(f'Invalid principal in policy: "{key}"', path)
        values = _strings(names, path)
        if not values:
            raise MalformedPolicyDocument(f"Invalid {field} in policy", path)
        for name in values:
            check_principal_value(key, name, path)
        result[key] = values
    return result


def _pair(raw: Mapping[str, Any], first: str, second: str, path: str) -> tuple[str, Any] | None:
    """Which of two mutually exclusive elements is present, with its value."""
    if first in raw and second in raw:
        raise MalformedPolicyDocument(SYNTAX, path)
    for field in (first, second):
        if field in raw:
            return field, raw[field]
    return None


def _effect(raw: Mapping[str, Any], path: str) -> Effect:
    value = raw.get("Effect")
    if not isinstance(value, str):
        raise MalformedPolicyDocument(SYNTAX, f"{path}.Effect")
    if value not in ("Allow", "Deny"):
        raise MalformedPolicyDocument("The policy failed legacy parsing", f"{path}.Effect")
    return Effect(value)


def _actions(raw: Mapping[str, Any], path: str) -> tuple[str, tuple[str, ...]]:
    found = _pair(raw, "Action", "NotAction", path)
    if found is None:
        raise MalformedPolicyDocument("Policy statement must contain actions.", path)
    field, value = found
    actions = _strings(value, f"{path}.{field}")
    if not actions:
        raise MalformedPolicyDocument("Policy statement must contain actions.", path)
    for action in actions:
        check_action(action, f"{path}.{field}")
    return field, actions


def _resources(
    raw: Mapping[str, Any], kind: PolicyKind, path: str
) -> tuple[str, tuple[str, ...]] | None:
    found = _pair(raw, "Resource", "NotResource", path)
    if kind is PolicyKind.TRUST:
        if found is not None:
            raise MalformedPolicyDocument(f"Has prohibited field {found[0]}", f"{path}.{found[0]}")
        return None
    if found is None:
        raise MalformedPolicyDocument("Policy statement must contain resources.", path)
    field, value = found
    resources = _strings(value, f"{path}.{field}")
    if not resources:
        raise MalformedPolicyDocument("Policy statement must contain resources.", path)
    for resource in resources:
        check_resource(resource, f"{path}.{field}")
    return field, resources


def _principal_element(
    raw: Mapping[str, Any], kind: PolicyKind, effect: Effect, path: str
) -> tuple[str, Principals] | None:
    found = _pair(raw, "Principal", "NotPrincipal", path)
    if kind in _NO_PRINCIPAL:
        if found is not None:
            raise MalformedPolicyDocument(
                "Policy document should not specify a principal.", f"{path}.{found[0]}"
            )
        return None
    if kind is PolicyKind.SCP:
        if found is not None:
            raise MalformedPolicyDocument(f"Has prohibited field {found[0]}", f"{path}.{found[0]}")
        return None
    if found is None:
        raise MalformedPolicyDocument("Missing required field Principal", path)
    field, value = found
    where = f"{path}.{field}"
    if field == "NotPrincipal" and (
        kind in (PolicyKind.TRUST, PolicyKind.RCP) or effect is not Effect.DENY
    ):
        raise MalformedPolicyDocument("Has prohibited field NotPrincipal", where)
    principals = _principals(value, field, where)
    if kind is PolicyKind.RCP and dict(principals) != {"AWS": ("*",)}:
        raise MalformedPolicyDocument(_ORG_TYPE, where)
    return field, principals


def _check_rcp_allow(raw: Mapping[str, Any], effect: Effect, path: str) -> None:
    """Customer RCPs are Deny-only; only the full-access statement may Allow (R68)."""
    if effect is not Effect.ALLOW:
        return
    full = (
        raw.get("Action") in ("*", ["*"])
        and raw.get("Resource") in ("*", ["*"])
        and "Condition" not in raw
    )
    if not full:
        raise MalformedPolicyDocument(_ORG_TYPE, f"{path}.Effect")


def _statement(raw: Any, index: int, kind: PolicyKind, path: str) -> Statement:
    if not isinstance(raw, Mapping) or not raw:
        raise MalformedPolicyDocument(SYNTAX, path)
    unknown = sorted(str(key) for key in raw if key not in _STATEMENT_FIELDS)
    if unknown:
        raise MalformedPolicyDocument(SYNTAX, f"{path}.{unknown[0]}")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise MalformedPolicyDocument(SYNTAX, f"{path}.Sid")
    if sid is not None and kind in _IAM_STORED and not _SID.fullmatch(sid):
        raise MalformedPolicyDocument(
            "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the "
            "regular expression [0-9A-Za-z]*",
            f"{path}.Sid",
        )
    effect = _effect(raw, path)
    principal = _principal_element(raw, kind, effect, path)
    action_field, actions = _actions(raw, path)
    resources = _resources(raw, kind, path)
    if kind is PolicyKind.RCP:
        _check_rcp_allow(raw, effect, path)
    conditions = _conditions(raw["Condition"], f"{path}.Condition") if "Condition" in raw else ()
    return Statement(
        index=index,
        sid=sid,
        effect=effect,
        principal=principal[1] if principal and principal[0] == "Principal" else None,
        not_principal=principal[1] if principal and principal[0] == "NotPrincipal" else None,
        action=actions if action_field == "Action" else None,
        not_action=actions if action_field == "NotAction" else None,
        resource=resources[1] if resources and resources[0] == "Resource" else None,
        not_resource=resources[1] if resources and resources[0] == "NotResource" else None,
        conditions=conditions,
    )


def _statement_list(raw: Mapping[str, Any]) -> list[Any]:
    statements = raw.get("Statement")
    if isinstance(statements, Mapping):
        return [statements]
    if isinstance(statements, list) and statements:
        return statements
    raise MalformedPolicyDocument(SYNTAX, "Statement")


def _check_top(raw: Mapping[str, Any], kind: PolicyKind) -> None:
    unknown = sorted(str(key) for key in raw if key not in _TOP_FIELDS)
    if unknown:
        raise MalformedPolicyDocument(SYNTAX, unknown[0])
    version = raw.get("Version")
    if version is not None and version not in (VERSION_2012, VERSION_2008):
        raise MalformedPolicyDocument("The policy failed legacy parsing", "Version")
    if "Id" in raw:
        if not isinstance(raw["Id"], str):
            raise MalformedPolicyDocument(SYNTAX, "Id")
        if kind in _NO_PRINCIPAL:
            raise MalformedPolicyDocument("Has prohibited field Id", "Id")


def _check_unique_sids(statements: tuple[Statement, ...], kind: PolicyKind) -> None:
    if kind not in _IAM_STORED:
        return
    seen: set[str] = set()
    for statement in statements:
        if statement.sid:
            if statement.sid in seen:
                raise MalformedPolicyDocument(
                    "Statement IDs (SID) in a single policy must be unique.",
                    f"Statement[{statement.index}].Sid",
                )
            seen.add(statement.sid)


def parse_policy(document: str | Mapping[str, Any], kind: PolicyKind | str) -> PolicyDocument:
    """Parse and validate one policy document of the given kind.

    Raises :class:`MalformedPolicyDocument` (and nothing else) for any invalid input.
    """
    try:
        policy_kind = PolicyKind(kind)
    except ValueError as error:
        raise MalformedPolicyDocument(f"Unknown policy kind {kind!r}", "") from error
    raw = _load(document)
    _check_top(raw, policy_kind)
    statements = tuple(
        _statement(item, index, policy_kind, f"Statement[{index}]")
        for index, item in enumerate(_statement_list(raw))
    )
    _check_unique_sids(statements, policy_kind)
    version = raw.get("Version")
    ident = raw.get("Id")
    return PolicyDocument(policy_kind, version, ident, statements)
