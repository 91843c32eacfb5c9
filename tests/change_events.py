"""Change events for tests that append to a real log: an account, then one user per version."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from replication.entities import Account, User
from replication.events import ChangeEvent

__all__ = ["ACCOUNT", "NOW", "change_event", "numbered_event"]

ACCOUNT = "111122223333"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def change_event(version: int, kind: str, payload: dict[str, Any]) -> ChangeEvent:
    """An event of ``kind`` carrying ``payload`` at ``version``, committed now."""
    return ChangeEvent(
        version=version,
        committed_at=time.time(),
        kind=kind,  # type: ignore[arg-type]
        account=ACCOUNT,
        action="Test",
        payload=payload,
    )


def numbered_event(version: int) -> ChangeEvent:
    """Version 1 puts the account; every later version puts a user ``u<version>``."""
    if version == 1:
        return change_event(
            1, "account.put", Account(id=ACCOUNT, created_at=NOW).model_dump(mode="json")
        )
    user = User(account=ACCOUNT, name=f"u{version}", user_id=f"AIDA{version:017d}", created_at=NOW)
    return change_event(version, "user.put", user.model_dump(mode="json"))
