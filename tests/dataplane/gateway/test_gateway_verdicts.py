"""A gateway refusal whose replica applies a change while the gateway awaits the backend.

Judging a call, the gateway reads the replica's state, then awaits I/O (the bucket's policy
from the services backend) before it builds the refusal's stale verdict. A change that falls
due during that await is applied under it. Each test holds the replica's first pending change
back (a partition) until the backend is asked, lets it apply before the backend answers, and
checks the refusal stays the S3 error it was, with a verdict naming the change that flips it:
never a 500. The real replica follows a real log in redis-server; the services backend is a
small HTTP server that answers the policy read (no policy) once that change is applied.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from dataplane.authorizer import Authorizer
from dataplane.gateway.edge import Gateway
from dataplane.gateway.forward import Backend
from dataplane.replica import Replica, ReplicaIdentity, ReplicaStatus
from dataplane.server import build_app
from replication.delay import DelaySpec, RegionDelays
from replication.entities import AccessKey, Account, Entity, Group, User
from replication.events import ChangeEvent
from replication.headers import STALE_HEADER
from replication.ids import new_access_key_id, new_account_id, new_secret_access_key
from replication.log import RedisChangeLog, connect

REGION = "ap-northeast-1"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
ACCOUNT = new_account_id()
#: the change applied during the gateway's await: long enough to be read and held back first
SHORT = DelaySpec(base_ms=1000)
#: the change that flips the answer: still pending when the test ends
LONG = DelaySpec(base_ms=60_000)
BUCKET = "reports"
READ_REPORTS = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
)
_CODE = re.compile(r"<Code>([^<]+)</Code>")


def _user(name: str, groups: tuple[str, ...] = ()) -> User:
    return User(
        account=ACCOUNT,
        name=name,
        user_id=f"AIDA{abs(hash(name)) % 10**17:017d}",
        created_at=NOW,
        groups=groups,
    )


@dataclass
class World:
    """A log, a replica of ap-northeast-1a following it, and its gateway's endpoint."""

    log: RedisChangeLog
    replica: Replica
    endpoint: str
    #: the version the backend waits for before it answers the policy read
    answer_once_applied: int = 0
    version: int = 0

    async def commit(self, kind: str, entity: Entity) -> int:
        """Append one change now; return its version once the replica has read it."""
        self.version += 1
        event = ChangeEvent(
            version=self.version,
            committed_at=time.time(),
            kind=kind,  # type: ignore[arg-type]
            account=ACCOUNT,
            action="Test",
            payload=entity.model_dump(mode="json"),
        )
        await self.log.append(event)
        async with asyncio.timeout(10):
            while self.replica.read_version < self.version:
                await asyncio.sleep(0.005)
        return self.version

    async def get_object(self, key: AccessKey) -> tuple[int, str, dict[str, Any]]:
        """GetObject signed with ``key``: the status, the S3 error code and the verdict."""
        url = f"{self.endpoint}/{BUCKET}/q3.csv"
        request = AWSRequest(
            method="GET", url=url, headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
        )
        credentials = Credentials(key.access_key_id, key.secret_access_key)
        S3SigV4Auth(credentials, "s3", REGION).add_auth(request)
        headers = {name: str(value) for name, value in request.headers.items()}
        timeout = aiohttp.ClientTimeout(total=30)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, headers=headers) as response,
        ):
            body = await response.text()
            verdict = response.headers.get(STALE_HEADER)
        found = _CODE.search(body)
        return (
            response.status,
            found.group(1) if found else body,
            json.loads(verdict) if verdict else {},
        )


def _services_backend(world_of: list[World]) -> web.Application:
    """Answers the gateway's bucket policy read with S3's "no policy", once the replica has
    applied the version the test names (it heals the partition holding it back first)."""

    async def answer(request: web.Request) -> web.Response:
        world = world_of[0]
        if "policy" not in request.query:
            return web.Response(status=501, text="only the policy read is expected")
        world.replica.set_partitioned(False)
        async with asyncio.timeout(10):
            while world.replica.state.version < world.answer_once_applied:
                await asyncio.sleep(0.005)
        body = "<Error><Code>NoSuchBucketPolicy</Code></Error>"
        return web.Response(status=404, text=body, content_type="application/xml")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


@asynccontextmanager
async def _world(redis_url: str, delays: RegionDelays) -> AsyncIterator[World]:
    log = RedisChangeLog(connect(redis_url))
    await log.client.flushdb()
    replica = Replica(ReplicaIdentity(REGION, f"{REGION}a"), log, delays, clock=time.time)
    follower = asyncio.create_task(replica.run())
    world_of: list[World] = []
    backend = TestServer(_services_backend(world_of))
    await backend.start_server()
    gateway = Gateway(
        replica,
        Authorizer(replica, clock=time.time),
        Backend(str(backend.make_url("")).rstrip("/")),
        None,
        None,
    )
    server = TestServer(build_app(replica, Authorizer(replica, clock=time.time), gateway=gateway))
    await server.start_server()
    world = World(log, replica, str(server.make_url("")).rstrip("/"))
    world_of.append(world)
    try:
        async with asyncio.timeout(10):
            while replica.status is not ReplicaStatus.OK:
                await asyncio.sleep(0.01)
        account = await world.commit("account.put", Account(id=ACCOUNT, created_at=NOW))
        await replica.wait_for_version(account, timeout=10)
        yield world
    finally:
        await server.close()
        await backend.close()
        follower.cancel()  # not awaited: the loop's end reaps it
        await log.close()


def _key(user: str) -> AccessKey:
    return AccessKey(
        account=ACCOUNT,
        access_key_id=new_access_key_id(ACCOUNT),
        secret_access_key=new_secret_access_key(),
        user_name=user,
        created_at=NOW,
    )


def _hold_back(world: World, answered_at: int, applies_under_the_call: int) -> None:
    """Stop the replica applying until the backend is asked (the partition); the backend then
    answers once ``applies_under_the_call`` is applied."""
    world.replica.set_partitioned(True)
    # SHORT is far longer than two appends: only a stalled machine gets here too late
    assert world.replica.state.version == answered_at, "the pending change applied too early"
    world.answer_once_applied = applies_under_the_call


async def test_a_new_key_stays_invalid_while_an_earlier_change_applies_under_the_call(
    redis_url: str,
) -> None:
    """The demo's first GetObject: the key is pending, the user ahead of it applies while the
    gateway reads the bucket's policy for the verdict."""
    delays = RegionDelays(by_kind={"user.put": SHORT, "access_key.put": LONG})
    async with _world(redis_url, delays) as world:
        answered_at = world.replica.state.version
        user = await world.commit("user.put", _user("alice"))
        key = _key("alice")
        created = await world.commit("access_key.put", key)
        _hold_back(world, answered_at, user)

        status, code, verdict = await world.get_object(key)

        assert world.replica.state.version == user  # applied during the call, not before
        assert (status, code) == (403, "InvalidAccessKeyId"), code
        assert verdict["version"] == answered_at
        assert verdict["stale"] is True
        assert verdict["head_outcome"] == "ImplicitDeny"
        assert verdict["flips_at_version"] == created


async def test_a_denial_stays_a_denial_while_an_earlier_change_applies_under_the_call(
    redis_url: str,
) -> None:
    """A known key without permissions: the grant (alice's group) is pending behind another
    change, which applies while the gateway reads the bucket's policy."""
    delays = RegionDelays(by_kind={"user.put": SHORT, "group.put": LONG})
    async with _world(redis_url, delays) as world:
        await world.commit("user.put", _user("alice", groups=("readers",)))
        key = _key("alice")
        answered_at = await world.commit("access_key.put", key)
        await world.replica.wait_for_version(answered_at, timeout=10)
        other = await world.commit("user.put", _user("bob"))
        readers = Group(
            account=ACCOUNT,
            name="readers",
            group_id="AGPA00000000000000001",
            created_at=NOW,
            inline_policies={"read": READ_REPORTS},
        )
        grant = await world.commit("group.put", readers)
        _hold_back(world, answered_at, other)

        status, code, verdict = await world.get_object(key)

        assert world.replica.state.version == other
        assert (status, code) == (403, "AccessDenied"), code
        assert verdict["version"] == answered_at
        assert verdict["stale"] is True
        assert (verdict["head_outcome"], verdict["flips_at_version"]) == ("Allow", grant)
