"""A handler's change names the kind its payload is: ``Change.put``, ``Change.delete`` and
``Change.batch``."""

from __future__ import annotations

from datetime import UTC, datetime

from controlplane.iam.operation import Change
from replication.entities import EntityKey, MfaDevice, User
from replication.events import ChangeEvent
from replication.state import COLLECTIONS, apply, empty_state

NOW = datetime(2026, 12, 7, tzinfo=UTC)
USER = User(account="123456789012", name="alice", user_id="AIDAEXAMPLE0000000001", created_at=NOW)


def _event(version: int, change: Change) -> ChangeEvent:
    """The event the writer would append for ``change`` at ``version``."""
    return ChangeEvent(
        version=version,
        committed_at=0.0,
        kind=change.kind,
        account="123456789012",
        action="Test",
        payload=change.payload,
    )


def test_every_entity_model_names_a_kind_the_log_knows() -> None:
    """Each stored model's ``entity`` field is its collection's kind, so put kinds are known."""
    for kind, collection in COLLECTIONS.items():
        assert collection.model.model_fields["entity"].default == kind


def test_put_and_delete_take_their_kind_from_the_entity_and_fold() -> None:
    """A put of a user is ``user.put`` with the whole user; its delete is ``user.delete``."""
    put = Change.put(USER)
    assert put.kind == "user.put"
    assert User.model_validate(put.payload) == USER
    device = MfaDevice(
        account="123456789012", name="phone", seed="JBSWY3DPEHPK3PXP", created_at=NOW
    )
    assert Change.put(device).kind == "mfa_device.put"
    delete = Change.delete(EntityKey(entity="user", account="123456789012", name="alice"))
    assert delete.kind == "user.delete"
    state = empty_state()
    for version, change in enumerate((put, delete), start=1):
        state = apply(state, _event(version, change))
        assert (("123456789012", "alice") in state.users) == (change is put)


def test_a_batch_deletes_the_old_keys_then_puts_the_entities_atomically() -> None:
    """A rename's batch: the old key goes and the renamed user comes in one event; a batch
    with nothing to delete carries no ``deletes`` member at all."""
    renamed = USER.model_copy(update={"name": "bob"})
    old = EntityKey(entity="user", account="123456789012", name="alice")
    batch = Change.batch([renamed], [old])
    assert batch.kind == "batch.put"
    assert batch.payload.model_dump(mode="json") == {
        "deletes": [old.model_dump(mode="json")],
        "entities": [renamed.model_dump(mode="json")],
    }
    assert "deletes" not in Change.batch([USER]).payload.model_dump(mode="json")
    state = empty_state()
    for version, change in enumerate((Change.put(USER), batch), start=1):
        state = apply(state, _event(version, change))
    assert set(state.users) == {("123456789012", "bob")}
