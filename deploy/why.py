"""``iam-planes why``: per replica, the decision at its version and at the head, the statements
that decided, and what is missing for an Allow (which policy type lacks a grant, or which
statement denies).

Every replica is asked on its own port with ``"explain": true``: its answer holds the engine's
facts (which policy types allow) at its version, and the same at the newest version it has
read (the head), so a stale denial shows the grant on its way.
"""

from __future__ import annotations

import json
import urllib.error
from typing import Any

from rich.console import Console
from rich.table import Table

from deploy.cluster_file import ClusterFile
from deploy.status import http_json

__all__ = ["ask_replicas", "missing_for_allow", "query_for", "why_table"]

#: what each deciding stage of a denial means for the caller, when the facts say no more
_STAGE_LACKS = {
    "rcp": "a resource control policy (RCP) of the resource's account lacks an Allow",
    "scp": "a service control policy (SCP) on the caller's account path lacks an Allow",
    "boundary": "the permissions boundary lacks an Allow",
    "session": "the session policies lack an Allow",
    "credential": "this kind of credential may not make this call at all",
}


def query_for(
    principal: str,
    action: str,
    resource: str,
    context: dict[str, str],
    at_version: int | None = None,
) -> dict[str, Any]:
    """The ``/authorize`` query: ``principal`` is an ARN or an access key id."""
    named: Any = principal
    if not principal.startswith("arn:"):
        named = {"access_key_id": principal}
    query: dict[str, Any] = {
        "principal": named,
        "action": action,
        "resource": resource,
        "context": context,
        "explain": True,
    }
    if at_version is not None:
        query["at_version"] = at_version
    return query


def _statement(match: dict[str, Any]) -> str:
    sid = f" ({match['sid']})" if match.get("sid") else ""
    return f"{match['policy']} statement #{match['statement_index']}{sid}"


def missing_for_allow(answer: dict[str, Any], action: str) -> str:
    """What an Allow needs that this answer lacks, in words ("" for an Allow)."""
    if "error" in answer:
        code = answer["error"]["code"]
        return f"the caller does not exist at this version ({code})"
    if answer["decision"] == "Allow":
        return ""
    decided_by = answer["decided_by"]
    if decided_by == "explicit_deny":
        denies = [_statement(m) for m in answer["matched"] if m["effect"] == "Deny"]
        return "denied by " + "; ".join(denies or ["a Deny statement"])
    if decided_by in _STAGE_LACKS:
        return _STAGE_LACKS[decided_by]
    facts = answer.get("facts") or {}
    identity, level = facts.get("identity"), facts.get("level", 0)
    if facts.get("cross_account"):
        if not level:
            return f"cross-account: the resource's policy does not grant {action} to the caller"
        return f"cross-account: no identity-based policy of the caller grants {action}"
    if decided_by == "resource":
        return f"the resource's own policy (trust or key policy) must grant {action}"
    if not identity:
        return f"no identity-based policy (inline, managed or group) grants {action}"
    return f"the {decided_by} stage lacks an Allow"


def _decided(answer: dict[str, Any]) -> str:
    if "error" in answer:
        return str(answer["error"]["code"])
    return f"{answer['decision']} ({answer['decided_by']})"


def ask_replicas(
    cluster: ClusterFile, query: dict[str, Any], regions: list[str] | None = None
) -> dict[str, dict[str, Any]]:
    """Each replica's explained answer by AZ (an ``error`` answer for one that is down)."""
    answers: dict[str, dict[str, Any]] = {}
    for name, region in cluster.regions.items():
        if regions and name not in regions:
            continue
        for az, record in region.replicas.items():
            try:
                _, answer = http_json(f"{record.endpoint}/authorize", query, timeout=5)
            except (urllib.error.URLError, OSError, ValueError) as error:
                answer = {"error": {"code": "Unreachable", "message": str(error)}}
            answers[az] = answer
    return answers


def why_table(answers: dict[str, dict[str, Any]], action: str, resource: str) -> Table:
    """One row per replica: now, at head, deciding statements, what is missing."""
    table = Table(title=f"why: {action} on {resource}", show_lines=True)
    for column in ("replica", "version", "decision", "head", "at head", "deciding statements"):
        table.add_column(column)
    table.add_column("missing for an Allow", style="yellow")
    for az, answer in answers.items():
        head = answer.get("head", answer)
        statements = "\n".join(_statement(m) for m in answer.get("matched", [])) or "-"
        missing = missing_for_allow(answer, action)
        head_missing = missing_for_allow(head, action)
        if missing and not head_missing:
            missing += "\n(pending: granted at the head)"
        table.add_row(
            az,
            str(answer.get("version", answer.get("stale", {}).get("version", "?"))),
            _decided(answer),
            str(head.get("version", answer.get("stale", {}).get("head_version", "?"))),
            _decided(head),
            statements,
            missing or "-",
        )
    return table


def print_why(
    console: Console, answers: dict[str, dict[str, Any]], action: str, resource: str, as_json: bool
) -> None:
    """The answers as a table (or JSON)."""
    if as_json:
        rows = {
            az: {**a, "missing_for_allow": missing_for_allow(a, action)}
            for az, a in answers.items()
        }
        console.print_json(json.dumps(rows))
    else:
        console.print(why_table(answers, action, resource))
