"""The account the launcher creates at first start, with its root access key.

The account goes into the log like any other change (before any plane runs), so replicas and
the control plane learn it the same way they learn everything else.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from replication.entities import AccessKey, Account
from replication.events import ChangeEvent, kind_of
from replication.ids import new_access_key_id, new_account_id, new_secret_access_key
from replication.log import AppendConflictError, RedisChangeLog, connect
from replication.snapshotter import fold_log
from replication.state import IamState, apply

__all__ = ["create_account", "ensure_account"]


async def _append(
    log: RedisChangeLog,
    state: IamState,
    entity: Account | AccessKey,
    account: str,
) -> IamState:
    event = ChangeEvent(
        version=state.version + 1,
        committed_at=time.time(),
        kind=kind_of(entity),
        account=account,
        action="Bootstrap",
        payload=entity,
    )
    await log.append(event)
    return apply(state, event)


def _new_account() -> tuple[Account, AccessKey]:
    """A fresh account and its root access key."""
    now = datetime.now(UTC)
    account = Account(id=new_account_id(), created_at=now)
    root_key = AccessKey(
        account=account.id,
        access_key_id=new_access_key_id(account.id),
        secret_access_key=new_secret_access_key(),
        user_name=None,
        created_at=now,
    )
    return account, root_key


async def ensure_account(redis_url: str) -> dict[str, tuple[str, str]]:
    """Every account's root key (id, secret); create one account and its key if the log has none."""
    log = RedisChangeLog(connect(redis_url))
    try:
        state = await fold_log(log)
        if not state.accounts:
            account, root_key = _new_account()
            state = await _append(log, state, account, account.id)
            state = await _append(log, state, root_key, account.id)
        roots: dict[str, tuple[str, str]] = {}
        for account_id in state.accounts:
            keys = state.keys_of(account_id, None)
            if keys:
                roots[account_id] = (keys[0].access_key_id, keys[0].secret_access_key)
        return roots
    finally:
        await log.close()


async def create_account(redis_url: str) -> tuple[str, str, str, int]:
    """A new account and its root key, appended to the log as the launcher's first account is
    (the control plane's writer catches up on the append like on any other); returns
    (account, access key id, secret, the version that holds the key)."""
    log = RedisChangeLog(connect(redis_url))
    account, root_key = _new_account()
    entities: tuple[Account | AccessKey, ...] = (account, root_key)
    try:
        for _attempt in range(20):  # a write of the control plane may take the next version
            head = await log.head()
            events = [
                ChangeEvent(
                    version=head + offset,
                    committed_at=time.time(),
                    kind=kind_of(entity),
                    account=account.id,
                    action="CreateAccount",
                    payload=entity,
                )
                for offset, entity in enumerate(entities, start=1)
            ]
            try:
                version = await log.append_many(events)
            except AppendConflictError:
                continue
            return account.id, root_key.access_key_id, root_key.secret_access_key, version
        raise RuntimeError("the log kept moving: no account was created")
    finally:
        await log.close()
