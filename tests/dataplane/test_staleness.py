""" "Is this answer only stale?" on a real replica following a real log with delays.

Each scenario commits the change that flips the answer with a delay, waits until the replica
has *read* it (it is pending), then asks over and over until the replica applies it. Every
answer must be stale exactly while the replica's version is behind that change.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from awswire.errors import AwsError
from dataplane.authorizer import Authorizer
from dataplane.replica import Replica, ReplicaIdentity, ReplicaStatus
from dataplane.staleness import StaleVerdict, stale_verdict
from replication.delay import DelaySpec, RegionDelays
from replication.entities import AccessKey, Account, Entity, User
from replication.events import ChangeEvent
from replication.ids import new_access_key_id, new_account_id, new_secret_access_key
from replication.log import RedisChangeLog, connect
from replication.queries import AuthorizeQuery
from replication.snapshot import write_snapshot
from replication.state import apply, empty_state
from tests.change_events import numbered_event

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ACCOUNT = new_account_id()
#: what the scenarios delay: long enough to ask many times while the change is pending
FLIP_DELAY = DelaySpec(base_ms=600)
DELAYS = RegionDelays(
    by_kind={"access_key.put": FLIP_DELAY, "access_key.delete": FLIP_DELAY, "user.put": FLIP_DELAY}
)
GET_OBJECT = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}


def _user(name: str, *statements: dict[str, Any]) -> User:
    policies = {}
    if statements:
        policies["p"] = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    return User(
        account=ACCOUNT,
        name=name,
        user_id=f"AIDA{abs(hash(name)) % 10**17:017d}",
        created_at=NOW,
        inline_policies=policies,
    )


def _key(user: str) -> AccessKey:
    return AccessKey(
        account=ACCOUNT,
        access_key_id=new_access_key_id(ACCOUNT),
        secret_access_key=new_secret_access_key(),
        user_name=user,
        created_at=NOW,
    )


@dataclass
class World:
    """A log, a replica following it with ``DELAYS``, and an authorizer on the replica."""

    log: RedisChangeLog
    replica: Replica
    authorizer: Authorizer
    version: int = 0

    async def commit(self, kind: str, payload: Entity | dict[str, Any]) -> int:
        """Append one change now; return its version once the replica has read it."""
        self.version += 1
        body = payload if isinstance(payload, dict) else payload.model_dump(mode="json")
        event = ChangeEvent(
            version=self.version,
            committed_at=time.time(),
            kind=kind,  # type: ignore[arg-type]
            account=ACCOUNT,
            action="Test",
            payload=body,
        )
        await self.log.append(event)
        async with asyncio.timeout(10):
            while self.replica.read_version < self.version:
                await asyncio.sleep(0.005)
        return self.version

    async def applied(self, version: int) -> None:
        """Wait until the replica has applied ``version``."""
        await self.replica.wait_for_version(version, timeout=10)

    async def ask(self, key_id: str, action: str = "s3:GetObject") -> tuple[str, StaleVerdict]:
        """The answer (decision or error code) and its verdict, as /authorize gives them."""
        query = AuthorizeQuery.model_validate(
            {"principal": {"access_key_id": key_id}, "action": action, "resource": "*"}
        )
        try:
            answer = await self.authorizer.answer(query, "127.0.0.1")
        except AwsError as error:
            return error.code, self.authorizer.error_verdict(query, error.code, "127.0.0.1")
        verdict = answer.get("stale")
        if verdict is None:  # an Allow with nothing pending for its account
            state = self.replica.state.version
            return answer["decision"], StaleVerdict(False, state, "Allow", state, "Allow")
        return answer["decision"], StaleVerdict(**verdict)


@pytest.fixture
async def world(redis_url: str) -> AsyncIterator[World]:
    """A replica of eu-west-1a on a fresh log holding the account."""
    log = RedisChangeLog(connect(redis_url))
    await log.client.flushdb()
    replica = Replica(ReplicaIdentity("eu-west-1", "eu-west-1a"), log, DELAYS, clock=time.time)
    task = asyncio.create_task(replica.run())
    async with asyncio.timeout(10):
        while replica.status is not ReplicaStatus.OK:
            await asyncio.sleep(0.01)
    world = World(log, replica, Authorizer(replica, clock=time.time))
    await world.applied(await world.commit("account.put", Account(id=ACCOUNT, created_at=NOW)))
    try:
        yield world
    finally:
        task.cancel()  # not awaited: as in the tests above, the loop's end reaps it
        await log.close()


async def _answers_until_applied(
    world: World, key_id: str, flip: int, action: str = "s3:GetObject"
) -> list[tuple[str, StaleVerdict]]:
    """Ask every 20 ms until the replica has applied ``flip``, then once more."""
    answers = []
    async with asyncio.timeout(10):
        while world.replica.state.version < flip:
            answers.append(await world.ask(key_id, action))
            await asyncio.sleep(0.02)
    answers.append(await world.ask(key_id, action))
    return answers


async def test_a_new_key_is_refused_as_stale_exactly_until_it_is_applied(world: World) -> None:
    await world.applied(await world.commit("user.put", _user("alice", GET_OBJECT)))
    key = _key("alice")
    flip = await world.commit("access_key.put", key)
    answers = await _answers_until_applied(world, key.access_key_id, flip)
    behind = [(o, v) for o, v in answers if v.version < flip]
    caught_up = [(o, v) for o, v in answers if v.version >= flip]
    assert behind, "the race window was never observed"
    assert caught_up
    for outcome, verdict in behind:
        assert outcome == "InvalidClientTokenId"
        assert verdict.stale
        assert verdict.head_outcome == "Allow"
        assert verdict.flips_at_version == flip
        assert verdict.due_in_ms is not None
        assert 0 <= verdict.due_in_ms <= FLIP_DELAY.base_ms
    for outcome, verdict in caught_up:
        assert outcome == "Allow"
        assert not verdict.stale


async def test_a_new_grant_turns_a_stale_implicit_deny_into_allow(world: World) -> None:
    await world.applied(await world.commit("user.put", _user("bob")))
    key = _key("bob")
    await world.applied(await world.commit("access_key.put", key))
    flip = await world.commit("user.put", _user("bob", GET_OBJECT))
    answers = await _answers_until_applied(world, key.access_key_id, flip)
    assert any(v.version < flip for _, v in answers)
    for outcome, verdict in answers:
        assert verdict.stale == (verdict.version < flip)
        assert outcome == ("ImplicitDeny" if verdict.stale else "Allow")
        if verdict.stale:
            assert (verdict.head_outcome, verdict.flips_at_version) == ("Allow", flip)


async def test_a_revoked_key_is_allowed_as_stale_exactly_until_the_deletion_applies(
    world: World,
) -> None:
    await world.applied(await world.commit("user.put", _user("carol", GET_OBJECT)))
    key = _key("carol")
    await world.applied(await world.commit("access_key.put", key))
    ref = {"entity": "access_key", "account": ACCOUNT, "name": key.access_key_id}
    flip = await world.commit("access_key.delete", ref)
    answers = await _answers_until_applied(world, key.access_key_id, flip)
    assert any(v.version < flip for _, v in answers)
    for outcome, verdict in answers:
        assert verdict.stale == (verdict.version < flip)
        if verdict.stale:
            assert outcome == "Allow"
            assert verdict.head_outcome == "InvalidClientTokenId"
            assert verdict.flips_at_version == flip
        else:
            assert outcome == "InvalidClientTokenId"


async def test_a_denial_no_pending_change_flips_is_not_stale(world: World) -> None:
    await world.applied(await world.commit("user.put", _user("dave", GET_OBJECT)))
    key = _key("dave")
    await world.applied(await world.commit("access_key.put", key))
    unrelated = await world.commit("user.put", _user("erin", GET_OBJECT))
    outcome, verdict = await world.ask(key.access_key_id, "s3:DeleteObject")
    assert world.replica.state.version < unrelated, "the unrelated change was applied too soon"
    assert outcome == "ImplicitDeny"
    assert not verdict.stale
    assert verdict.head_version == unrelated  # it did look at the pending change
    assert verdict.head_outcome == "ImplicitDeny"


async def test_a_verdict_on_a_state_from_before_the_replicas_snapshot_names_the_head(
    redis_url: str,
) -> None:
    """When the replica no longer holds the events after the answer's state (it bootstrapped
    from a later snapshot), the verdict cannot search for the flipping version: it is stale,
    flipping at the head's version, already due."""
    log = RedisChangeLog(connect(redis_url))
    await log.client.flushdb()
    answered_at = empty_state()
    head = empty_state()
    for version in (1, 2, 3):
        event = numbered_event(version)
        await log.append(event)
        head = apply(head, event)
        if version == 1:
            answered_at = head
    await write_snapshot(log.client, head, committed_at=time.time() - 60)
    replica = Replica(ReplicaIdentity("eu-west-1", "eu-west-1a"), log, DELAYS, clock=time.time)
    task = asyncio.create_task(replica.run())
    try:
        async with asyncio.timeout(10):
            while replica.status is not ReplicaStatus.OK:
                await asyncio.sleep(0.01)
        verdict = stale_verdict(
            replica,
            answered_at,
            "Before",
            lambda at: "Before" if at.version <= answered_at.version else "After",
            time.time(),
        )
        assert verdict == StaleVerdict(True, 1, "Before", 3, "After", 3, 0.0)
    finally:
        task.cancel()  # not awaited: as in the tests above, the loop's end reaps it
        await log.close()
