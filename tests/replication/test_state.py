"""The pure fold: idempotent, gap-detecting, and with a digest that depends only on content."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from replication.entities import (
    AccessKey,
    Account,
    EntityKey,
    Group,
    ManagedPolicy,
    Organization,
    PolicyVersion,
    Role,
    User,
)
from replication.entries import classify_record
from replication.events import ChangeEvent, ChangeKind, encode_event
from replication.ids import account_of_access_key, new_access_key_id
from replication.state import IamState, LogGapError, apply, empty_state, state_from_entities

ACCOUNT = "111122223333"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _event(version: int, kind: ChangeKind, payload: dict[str, object]) -> ChangeEvent:
    return ChangeEvent(
        version=version,
        committed_at=0.0,
        kind=kind,
        account=ACCOUNT,
        action="Test",
        payload=payload,
    )


def _history() -> list[ChangeEvent]:
    account = Account(id=ACCOUNT, created_at=NOW)
    alice = User(account=ACCOUNT, name="Alice", user_id="AIDAEXAMPLE0000000001", created_at=NOW)
    key = AccessKey(
        account=ACCOUNT,
        access_key_id=new_access_key_id(ACCOUNT),
        secret_access_key="s" * 40,
        user_name="Alice",
        created_at=NOW,
    )
    with_policy = alice.model_copy(update={"inline_policies": {"p": '{"Statement": []}'}})
    return [
        _event(1, "account.put", account.model_dump(mode="json")),
        _event(2, "user.put", alice.model_dump(mode="json")),
        _event(3, "access_key.put", key.model_dump(mode="json")),
        _event(4, "user.put", with_policy.model_dump(mode="json")),
        _event(
            5,
            "access_key.delete",
            EntityKey(entity="access_key", account=ACCOUNT, name=key.access_key_id).model_dump(),
        ),
    ]


def _fold(events: list[ChangeEvent]) -> IamState:
    state = empty_state()
    for event in events:
        state = apply(state, event)
    return state


def test_fold_builds_every_entity_and_index() -> None:
    """After the history, the user exists (names ignore case) with its policy and no keys."""
    state = _fold(_history()[:4])
    user = state.user(ACCOUNT, "alice")
    assert user is not None and user.inline_policies == {"p": '{"Statement": []}'}
    assert len(state.keys_of(ACCOUNT, "ALICE")) == 1
    assert state.version == 4
    assert _fold(_history()).keys_of(ACCOUNT, "Alice") == ()


def test_applying_an_event_twice_changes_nothing() -> None:
    """Re-applying an already applied event returns the same state."""
    history = _history()
    state = _fold(history)
    assert apply(state, history[2]) is state


def test_a_gap_in_the_log_is_an_error() -> None:
    """Skipping a version raises instead of silently diverging."""
    history = _history()
    with pytest.raises(LogGapError):
        apply(apply(empty_state(), history[0]), history[2])


def test_digest_reflects_content_and_version() -> None:
    """Equal histories give equal digests; a different entity gives a different digest."""
    history = _history()
    assert _fold(history).digest == _fold(history).digest
    other = _history()  # a different random key id in event 3
    assert _fold(history[:3]).digest != _fold(other[:3]).digest
    # deleting the key brings the content hash back to what it was before the key
    assert _fold(history[:2]).content_hash != _fold(history[:3]).content_hash


def test_events_round_trip_through_their_stored_form() -> None:
    """encode_event and the log's decoding (classify_record) lose nothing."""
    for event in _history():
        assert classify_record(event.version, encode_event(event)) == event


def test_access_key_ids_encode_their_account() -> None:
    """As in AWS, the account can be read back from a generated key id."""
    assert account_of_access_key(new_access_key_id(ACCOUNT)) == ACCOUNT
    assert account_of_access_key("ASIAY34FZKBOKMUTVV7A") == "609629065308"
    assert account_of_access_key("not-a-key") is None


def _control_plane_history() -> list[ChangeEvent]:
    """One event of each newer entity kind, and a batch."""
    group = Group(account=ACCOUNT, name="Devs", group_id="AGPAEXAMPLE0000000001", created_at=NOW)
    policy = ManagedPolicy(
        account=ACCOUNT,
        name="read",
        policy_id="ANPAEXAMPLE0000000001",
        created_at=NOW,
        updated_at=NOW,
        versions=(PolicyVersion(version_id="v1", document="{}", created_at=NOW),),
    )
    organization = Organization(
        id="o-abcdefghij",
        management_account=ACCOUNT,
        management_email="a@example.com",
        root_id="r-abcd",
        created_at=NOW,
    )
    role = Role(
        account="444455556666",
        name="Access",
        role_id="AROAEXAMPLE0000000001",
        created_at=NOW,
        trust_policy="{}",
    )
    member = Account(id="444455556666", created_at=NOW)
    batch = [e.model_dump(mode="json") for e in (organization, member, role)]
    return [
        *_history(),
        _event(6, "group.put", group.model_dump(mode="json")),
        _event(7, "managed_policy.put", policy.model_dump(mode="json")),
        _event(8, "batch.put", {"entities": batch}),
        _event(
            9, "group.delete", EntityKey(entity="group", account=ACCOUNT, name="devs").model_dump()
        ),
    ]


def test_new_entity_kinds_and_batches_fold_and_round_trip_through_entities() -> None:
    """Groups, managed policies and batches fold; entities() rebuilds the same state."""
    state = _fold(_control_plane_history())
    assert state.group(ACCOUNT, "devs") is None
    assert state.managed_policy(f"arn:aws:iam::{ACCOUNT}:policy/read") is not None
    assert state.organization_of("444455556666") is None  # not a member until the org says so
    assert state.role("444455556666", "access") is not None
    assert "444455556666" in state.accounts
    rebuilt = state_from_entities(state.version, list(state.entities()))
    assert rebuilt.digest == state.digest
    assert state.managed_policy("arn:aws:iam::aws:policy/AdministratorAccess") is not None
