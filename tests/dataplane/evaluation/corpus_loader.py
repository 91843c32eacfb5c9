"""Loading of the data-driven evaluation corpus (tests/dataplane/evaluation/corpus/*.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).parent / "corpus"


def load_cases() -> list[dict[str, Any]]:
    """Every case of every corpus file, each tagged with its file name."""
    cases = []
    for path in sorted(CORPUS.glob("*.json")):
        for case in json.loads(path.read_text())["cases"]:
            cases.append({**case, "file": path.name})
    return cases


def case_id(case: dict[str, Any]) -> str:
    """A readable pytest id."""
    return f"{case['file'][:-5]}:{case['name']}"
