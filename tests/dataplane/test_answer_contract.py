"""The data plane's answers are what ``replication.queries`` says they are.

The data plane builds its answers as plain dicts (the hot path); the control plane parses them
with the shared models. These tests ask a real replica every kind of question the control
plane and the tools ask, and parse each answer with those models, strictly (an unmodelled
field fails). They also pin the consistency token's one bound and one error.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from pydantic import TypeAdapter

from awswire.errors import AwsError
from dataplane.authorizer import Authorizer
from dataplane.replica import Replica, ReplicaIdentity, ReplicaStatus
from replication.consistency import (
    MIN_VERSION_WAIT_SECONDS,
    StaleReplicaError,
    min_version_of_header,
    state_at_least,
)
from replication.delay import RegionDelays
from replication.entities import AccessKey, Account, User
from replication.ids import new_access_key_id, new_secret_access_key
from replication.log import RedisChangeLog, connect
from replication.queries import AuthorizeAnswer, AuthorizeQuery, ErrorAnswer
from tests.change_events import ACCOUNT, NOW, change_event

ANSWER = TypeAdapter(AuthorizeAnswer | ErrorAnswer)
OTHER_ACCOUNT = "444455556666"
READ_ANY_BUCKET = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}


@dataclass
class Asked:
    """A replica that has applied an account, a user allowed s3:GetObject and its key."""

    replica: Replica
    authorizer: Authorizer
    user_arn: str
    key_id: str


@pytest.fixture
async def asked(redis_url: str) -> AsyncIterator[Asked]:
    log = RedisChangeLog(connect(redis_url))
    await log.client.flushdb()
    replica = Replica(ReplicaIdentity("us-east-1", "us-east-1a"), log, RegionDelays(), time.time)
    task = asyncio.create_task(replica.run())
    policy = json.dumps({"Version": "2012-10-17", "Statement": [READ_ANY_BUCKET]})
    user = User(
        account=ACCOUNT,
        name="reader",
        user_id="AIDA00000000000000001",
        created_at=NOW,
        inline_policies={"read": policy},
    )
    key = AccessKey(
        account=ACCOUNT,
        access_key_id=new_access_key_id(ACCOUNT),
        secret_access_key=new_secret_access_key(),
        user_name="reader",
        created_at=NOW,
    )
    for version, (kind, entity) in enumerate(
        [
            ("account.put", Account(id=ACCOUNT, created_at=NOW)),
            ("user.put", user),
            ("access_key.put", key),
        ],
        start=1,
    ):
        await log.append(change_event(version, kind, entity.model_dump(mode="json")))
    try:
        async with asyncio.timeout(10):
            while replica.status is not ReplicaStatus.OK:
                await asyncio.sleep(0.01)
            await replica.wait_for_version(3, timeout=10)
        yield Asked(replica, Authorizer(replica, clock=time.time), user.arn, key.access_key_id)
    finally:
        task.cancel()
        await log.close()


def _query(**fields: object) -> AuthorizeQuery:
    return AuthorizeQuery.model_validate({"action": "s3:GetObject", "resource": "*", **fields})


async def test_every_kind_of_answer_parses_with_the_shared_models(asked: Asked) -> None:
    """Allow, a denial with its stale verdict, each account's decision, the explained answer
    and an unknown caller's error: each parses strictly, as what it is."""
    bucket = "arn:aws:s3:::their-bucket/key"
    queries = [
        _query(principal=asked.user_arn),
        _query(principal={"access_key_id": asked.key_id}),
        _query(principal=asked.user_arn, action="s3:PutObject"),
        _query(
            principal=asked.user_arn,
            resource=bucket,
            resource_owner=OTHER_ACCOUNT,
            account_details=True,
            min_version=3,
        ),
        _query(principal=asked.user_arn, explain=True),
        _query(principal=f"arn:aws:iam::{ACCOUNT}:user/nobody"),
    ]
    answers = [
        ANSWER.validate_python(answer)
        for answer in await asked.authorizer.answer_batch(queries, "127.0.0.1")
    ]

    allowed, by_key, denied, cross_account, explained, unknown = answers
    assert isinstance(allowed, AuthorizeAnswer)
    assert (allowed.decision, allowed.principal, allowed.version) == ("Allow", asked.user_arn, 3)
    assert isinstance(by_key, AuthorizeAnswer)
    assert by_key.decision == "Allow"
    assert isinstance(denied, AuthorizeAnswer)
    assert denied.decision == "ImplicitDeny"
    assert denied.stale is not None
    assert not denied.stale.stale
    assert isinstance(cross_account, AuthorizeAnswer)
    assert cross_account.account_decisions is not None
    assert cross_account.account_decisions.identity == "Allow"
    assert cross_account.account_decisions.resource == "ImplicitDeny"
    assert isinstance(explained, AuthorizeAnswer)
    assert explained.facts is not None
    assert explained.head is not None
    assert isinstance(unknown, ErrorAnswer)
    assert unknown.error.code == "NoSuchEntity"


async def test_a_query_built_with_the_model_crosses_the_hop_as_set(asked: Asked) -> None:
    """``to_json`` sends what the caller set and leaves a None out; the data plane reads
    back the same query."""
    query = AuthorizeQuery(
        principal=asked.user_arn,
        action="s3:GetObject",
        resource="*",
        resource_policy=None,
        resource_owner=None,
        min_version=0,
        account_details=True,
    )
    wire = json.loads(query.to_json())

    assert wire == {
        "principal": asked.user_arn,
        "action": "s3:GetObject",
        "resource": "*",
        "min_version": 0,
        "account_details": True,
    }
    assert AuthorizeQuery.model_validate(wire) == query


async def test_a_token_past_the_head_fails_as_stale_replica_after_the_one_bound(
    asked: Asked,
) -> None:
    """The one error: StaleReplica, 503, the server's fault, naming how far behind; a batch
    naming the token fails whole. The bound is the one constant (5 seconds)."""
    assert MIN_VERSION_WAIT_SECONDS == 5.0
    assert await state_at_least(asked.replica, None) is asked.replica.state
    assert (await state_at_least(asked.replica, 2)).version == 3

    with pytest.raises(StaleReplicaError) as stale:
        await asked.authorizer.answer_batch(
            [_query(principal=asked.user_arn, min_version=5)], "127.0.0.1"
        )

    error = stale.value
    assert (error.code, error.http_status, error.sender_fault) == ("StaleReplica", 503, False)
    assert error.message == "replica is at version 3, 2 behind the requested 5"
    assert (error.wanted, error.have) == (5, 3)


def test_the_min_version_header_is_a_version_number() -> None:
    assert min_version_of_header(None) is None
    assert min_version_of_header("12") == 12
    with pytest.raises(AwsError) as bad:
        min_version_of_header("12a")
    assert (bad.value.code, bad.value.http_status) == ("ValidationError", 400)
    assert bad.value.message == "x-iam-planes-min-version must be a version number."
