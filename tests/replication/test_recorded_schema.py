"""Entries and snapshots recorded at schema 1 stay readable: the path for the next schema.

The fixtures were written by this build's encoders on 2026-12-07 and must never be rewritten.
When the stored schema changes, these tests fail until an upcaster registered in
``STORED_SCHEMA`` (replication/upcasting.py) brings the old records to the new shape, and the
folded state is still the recorded one (test_upcasting.py walks that path with a schema 2).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from replication.entries import BadEntry, classify_record
from replication.events import ChangeEvent
from replication.snapshot import decode_snapshot
from replication.state import apply, empty_state

FIXTURES = Path(__file__).parent / "fixtures"
LOG = (FIXTURES / "schema_1_log.jsonl").read_text().splitlines()
SNAPSHOT = json.loads((FIXTURES / "schema_1_snapshot.json").read_text())


def _events() -> list[ChangeEvent]:
    decoded = [classify_record(version, raw) for version, raw in enumerate(LOG, start=1)]
    bad = [entry for entry in decoded if isinstance(entry, BadEntry)]
    assert not bad, bad
    return [entry for entry in decoded if isinstance(entry, ChangeEvent)]


def test_a_recorded_schema_1_log_folds_to_the_recorded_state() -> None:
    """Every recorded entry decodes, and the fold reaches the digest recorded with them."""
    state = empty_state()
    for event in _events():
        state = apply(state, event)
    assert state.version == SNAPSHOT["version"]
    assert state.digest == SNAPSHOT["digest"]


def test_a_recorded_schema_1_snapshot_loads_as_the_same_state() -> None:
    """The recorded snapshot decodes (its checksum holds) to the state the log folds to."""
    state = decode_snapshot(base64.b64decode(SNAPSHOT["snapshot_base64"]), SNAPSHOT["checksum"])
    assert (state.version, state.digest) == (SNAPSHOT["version"], SNAPSHOT["digest"])
