"""``iam-planes evaluate FILE|-``: decide docs/evaluate-input.md queries offline (no servers).

Prints one decision object per query (a JSON array for an array input); ``--explain`` prints
a table per query instead, with every stage of the decision and the statements that matched.
The exit status is non-zero when any query is an error object; there is never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from dataplane.evaluation import explain_document

__all__ = ["evaluate_command"]

#: (row label, fact name, label prefix of the policies whose Allows feed it, text when absent)
_STAGES = (
    ("RCPs", "rcp_gate", "rcps", "not in play"),
    ("SCPs", "scp_gate", "scps", "not in play"),
    ("resource policy", "level", "resource", "none"),
    ("identity policies", "identity", "identity", "none"),
    ("permissions boundary", "boundary", "boundary", "none attached"),
    ("session policies", "session", "session", "none passed"),
)


def _read(source: str, stdin: TextIO) -> str:
    if source == "-":
        return stdin.read()
    return Path(source).read_text(encoding="utf-8")


def _input_error(message: str) -> dict[str, Any]:
    return {"error": {"code": "InvalidInput", "message": message, "path": ""}}


def _load(source: str, stdin: TextIO) -> tuple[list[Any], bool] | dict[str, Any]:
    """The queries and whether the input was an array, or an error object."""
    try:
        data = json.loads(_read(source, stdin))
    except OSError as error:
        return _input_error(f"cannot read {source}: {error.strerror or error}")
    except (ValueError, RecursionError) as error:
        return _input_error(f"not JSON: {error}")
    if isinstance(data, list):
        return data, True
    return [data], False


def _matched_for(result: dict[str, Any], prefix: str, effect: str) -> str:
    rows = [
        f"{m['policy']} #{m['statement_index']}" + (f" ({m['sid']})" if m["sid"] else "")
        for m in result["matched"]
        if m["policy"].startswith(prefix) and m["effect"] == effect
    ]
    return "\n".join(rows) or "-"


def _found(fact: str, value: Any, absent: str) -> str:
    if value is None:
        return absent
    if fact == "level":
        return f"grant level {value}" if value != "NONE" else "no grant"
    return "allows" if value else "no Allow"


def _table(index: int, query: Any, result: dict[str, Any]) -> Table:
    request = query.get("request", {}) if isinstance(query, dict) else {}
    title = f"query {index}: {request.get('action', '?')} on {request.get('resource', '?')}"
    table = Table(title=title, show_lines=True)
    for column in ("stage", "found", "matched statements"):
        table.add_column(column)
    if "error" in result:
        error = result["error"]
        table.add_row("error", error["code"], f"{error['message']}\nat {error['path'] or '-'}")
        return table
    facts = result.get("facts")
    if facts is None:
        table.add_row("credential", "decided before any policy (R70/R82/R83)", "-")
    else:
        deny = "yes" if facts["explicit_deny"] else "no"
        table.add_row("explicit deny", deny, _matched_for(result, "", "Deny"))
        for label, fact, prefix, absent in _STAGES:
            found = _found(fact, facts[fact], absent)
            table.add_row(label, found, _matched_for(result, prefix, "Allow"))
    verdict = f"{result['decision']} (decided by {result['decided_by']})"
    notes = ", ".join(result["missing_context_keys"]) or "-"
    table.add_row("decision", verdict, f"missing context keys: {notes}")
    for note in result["errors"]:
        table.add_row("note", note, "")
    return table


def _plain(result: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in result.items() if key != "facts"}


def evaluate_command(
    source: str, explain: bool, stdout: TextIO | None = None, stdin: TextIO | None = None
) -> int:
    """Run the command on FILE or ``-``; returns the exit status (0 only if every query decided)."""
    out = stdout or sys.stdout
    loaded = _load(source, stdin or sys.stdin)
    if isinstance(loaded, dict):
        print(json.dumps(loaded), file=out)
        return 2
    queries, is_array = loaded
    results = [explain_document(query) for query in queries]
    if explain:
        console = Console(file=out, width=120)
        for index, (query, result) in enumerate(zip(queries, results, strict=True)):
            console.print(_table(index, query, result))
    else:
        plain = [_plain(result) for result in results]
        print(json.dumps(plain if is_array else plain[0], indent=2), file=out)
    return 1 if any("error" in result for result in results) else 0
