"""The change-event envelope: the one record the control plane writes and every replica folds.

The envelope is frozen and versioned (``schema_version``). Stored records are decoded by
``replication.entries``, which brings older records to the current schema with the upcasters
of ``replication.upcasting``, so old log entries stay readable when the schema grows, and
refuses records of a newer schema than the reader knows.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from replication.upcasting import STORED_SCHEMA

__all__ = [
    "CURRENT_SCHEMA_VERSION",
    "REPAIR_KIND",
    "ChangeEvent",
    "ChangeKind",
    "encode_event",
]

#: the schema this build writes (``replication.upcasting.STORED_SCHEMA``)
CURRENT_SCHEMA_VERSION = STORED_SCHEMA.current

ChangeKind = Literal[
    "account.put",
    "user.put",
    "user.delete",
    "access_key.put",
    "access_key.delete",
    "role.put",
    "role.delete",
    "group.put",
    "group.delete",
    "managed_policy.put",
    "managed_policy.delete",
    "instance_profile.put",
    "instance_profile.delete",
    "oidc_provider.put",
    "oidc_provider.delete",
    "saml_provider.put",
    "saml_provider.delete",
    "mfa_device.put",
    "mfa_device.delete",
    "server_certificate.put",
    "server_certificate.delete",
    "organization.put",
    "organization.delete",
    "batch.put",
    "log.repair",
]

# An operator's repair of a bad log entry (``iam-planes log repair``): it stands in for the
# entry at its version and changes no entity; its payload records why (replication.repairs).
REPAIR_KIND: ChangeKind = "log.repair"


class ChangeEvent(BaseModel):
    """One accepted change, at log position ``version``.

    ``payload`` is the whole entity after the change for ``*.put`` kinds and its key
    (``EntityKey``) for ``*.delete`` kinds, so applying an event twice is harmless.
    ``batch.put`` carries ``{"entities": [...]}``: whole entities one call changes together
    (CreateAccount: the account, its organization and its access role), folded atomically;
    an optional ``"deletes": [EntityKey, ...]`` is folded first, for a call that moves entities
    to new keys (UpdateUser renaming a user: its old key goes, the user and its access keys
    are put under the new name). ``log.repair`` changes nothing but the version: it is what
    an operator's repair puts in place of an entry no reader could apply.
    ``committed_at`` is the writer's wall clock in epoch seconds when it appended the event:
    replicas hold the event until ``committed_at`` plus their propagation delay.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # no upper bound here: which schemas a reader accepts is its StoredSchema's to say
    schema_version: int = Field(default=CURRENT_SCHEMA_VERSION, ge=1)
    version: int
    committed_at: float
    kind: ChangeKind
    account: str
    action: str
    payload: dict[str, Any]


def encode_event(event: ChangeEvent) -> bytes:
    """The stored form of an event: compact JSON with sorted keys."""
    return orjson.dumps(event.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
