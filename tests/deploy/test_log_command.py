"""``iam-planes log show``: an entry printed as stored, secrets redacted unless asked for."""

from __future__ import annotations

import orjson

from deploy.log_command import REDACTED, redact_text, redact_value, render_entry
from replication.entries import BadEntry, classify_entry
from replication.log import RawEntry
from replication.repairs import entry_sha256, new_repair, replacement_of

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_strings_under_secret_looking_names_are_redacted_at_any_depth() -> None:
    value = {
        "payload": {
            "secret_access_key": SECRET,
            "login_profile": {"password_hash": SECRET, "password_reset_required": True},
            "devices": [{"seed": SECRET, "name": "mfa"}],
            "name": "alice",
        }
    }
    redacted = redact_value(value)
    assert SECRET not in repr(redacted)
    assert redacted["payload"]["name"] == "alice"
    assert redacted["payload"]["login_profile"]["password_reset_required"] is True
    assert redacted["payload"]["devices"][0] == {"seed": REDACTED, "name": "mfa"}


def test_an_event_that_is_not_json_is_redacted_by_pattern() -> None:
    raw = b'{"kind": "access_key.put", "payload": {"secret_access_key": "' + SECRET.encode()
    raw += b'", "user_name": "bob", oops'
    shown = redact_text(raw)
    assert SECRET.encode() not in shown
    assert b'"user_name": "bob"' in shown


def test_show_prints_a_bad_entry_its_reason_and_its_repair() -> None:
    record = {"kind": "access_key.rotate", "payload": {"secret_access_key": SECRET}}
    fields = {b"e": orjson.dumps({**record, "version": 7})}
    bad = classify_entry(b"7-0", fields)
    plain = render_entry(RawEntry(7, fields, bad, None), show_secrets=False)
    assert SECRET not in plain
    assert "BAD, missing field" in plain
    assert "stop at version 6" in plain
    revealed = render_entry(RawEntry(7, fields, bad, None), show_secrets=True)
    assert SECRET in revealed
    assert isinstance(bad, BadEntry)
    stored = new_repair(bad, entry_sha256(fields), "written by a test", 0.0).model_dump_json()
    replacement = replacement_of(stored.encode(), 7)  # what reading the entry now gives
    repaired = render_entry(RawEntry(7, fields, replacement, stored.encode()), show_secrets=False)
    assert SECRET not in repaired
    assert "replaced by its repair" in repaired
    assert "reason given: 'written by a test'" in repaired
    assert entry_sha256(fields) in repaired


def test_show_says_when_there_is_no_entry() -> None:
    assert "no entry at this version" in render_entry(RawEntry(9, None, None, None), False)
