"""``deploy.evaluate_command``: JSON and --explain output, exit status, no tracebacks."""

from __future__ import annotations

import io
import json
from pathlib import Path

from deploy.evaluate_command import evaluate_command

QUERY = {
    "request": {
        "principal": "arn:aws:iam::111122223333:user/alice",
        "action": "s3:GetObject",
        "resource": "arn:aws:s3:::b/k",
    },
    "policies": {
        "identity": [
            {"Statement": {"Sid": "A", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}}
        ]
    },
}
BAD = {**QUERY, "policies": {"identity": [{"Statement": {"Effect": "Allow", "Action": "s3"}}]}}


def _run(payload: str, explain: bool = False) -> tuple[int, str]:
    out = io.StringIO()
    status = evaluate_command("-", explain, stdout=out, stdin=io.StringIO(payload))
    return status, out.getvalue()


def test_single_object_prints_one_decision() -> None:
    """One object in, one decision object out, exit 0."""
    status, text = _run(json.dumps(QUERY))
    assert status == 0
    assert json.loads(text)["decision"] == "Allow"


def test_array_prints_array_and_fails_on_any_error(tmp_path: Path) -> None:
    """An array in gives an array out; one error object makes the exit status non-zero."""
    path = tmp_path / "queries.json"
    path.write_text(json.dumps([QUERY, BAD]))
    out = io.StringIO()
    status = evaluate_command(str(path), False, stdout=out)
    results = json.loads(out.getvalue())
    assert status == 1
    assert results[0]["decision"] == "Allow"
    assert results[1]["error"]["code"] == "MalformedPolicyDocument"


def test_explain_renders_every_stage() -> None:
    """--explain prints a table naming each stage and the matched statement."""
    status, text = _run(json.dumps(QUERY), explain=True)
    assert status == 0
    for label in ("explicit deny", "SCPs", "RCPs", "resource policy", "identity policies",
                  "permissions boundary", "session policies", "identity[0] #0 (A)"):  # fmt: skip
        assert label in text


def test_unreadable_input_is_an_error_object() -> None:
    """Broken JSON and missing files give an InvalidInput object and exit 2, no traceback."""
    status, text = _run("{not json")
    assert status == 2 and json.loads(text)["error"]["code"] == "InvalidInput"
    out = io.StringIO()
    assert evaluate_command("/nonexistent/queries.json", False, stdout=out) == 2
