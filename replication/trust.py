"""Unique-ID rewriting of trust policies (docs/evaluation.md R22), shared by both planes.

When a trust policy is saved, every IAM user or role ARN in its ``Principal`` is bound to the
unique ID that entity has then (``Role.trust_principal_ids``). While that entity lives, the
policy shows and matches its ARN; once it is deleted, the policy shows the raw unique ID, which
never matches a later entity of the same name, until the policy is saved again.
"""

from __future__ import annotations

from typing import Any

import orjson

from replication.arns import parse_iam_arn
from replication.entities import Role
from replication.state import IamState

__all__ = ["current_unique_id", "rendered_trust_policy"]

_PRINCIPAL_ELEMENTS = ("Principal", "NotPrincipal")


def current_unique_id(state: IamState, arn: str) -> str | None:
    """The unique ID of the user or role that ``arn`` names now, if it exists."""
    parsed = parse_iam_arn(arn)
    if parsed is None:
        return None
    account, kind, _, name = parsed
    if kind == "user":
        user = state.user(account, name)
        return user.user_id if user is not None and user.arn == arn else None
    if kind == "role":
        role = state.role(account, name)
        return role.role_id if role is not None and role.arn == arn else None
    return None


def _rewrite(value: Any, gone: dict[str, str]) -> Any:
    if isinstance(value, str):
        return gone.get(value, value)
    if isinstance(value, list):
        return [gone.get(v, v) if isinstance(v, str) else v for v in value]
    return value


def rendered_trust_policy(state: IamState, role: Role) -> str:
    """The role's trust policy as AWS shows and evaluates it now.

    ARNs whose entity was deleted (or replaced by a new one of the same name) are shown as
    the unique ID they were saved with.
    """
    gone = {
        arn: unique_id
        for arn, unique_id in role.trust_principal_ids.items()
        if current_unique_id(state, arn) != unique_id
    }
    if not gone:
        return role.trust_policy
    document = orjson.loads(role.trust_policy)
    statements = document.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        for element in _PRINCIPAL_ELEMENTS:
            principal = statement.get(element)
            if isinstance(principal, dict) and "AWS" in principal:
                principal["AWS"] = _rewrite(principal["AWS"], gone)
    return orjson.dumps(document).decode()
