"""No wildcard pattern a caller sends can stall a replica (issue 14, part 1).

Patterns used to become backtracking regexes: ``arn:aws:s3:::*a*a*a*a*a*b`` against 200
``a``s never finished and froze the replica's event loop. These tests send that request to a
real replica's ``/authorize`` (following a real redis-server log), and push 1,000-wildcard
patterns against 10,000-character values through every place a pattern meets a value, and
unclosed ``${`` by the hundred thousand through the policy-variable scanner. The timeouts are
liveness bounds only: the old matcher needed longer than the age of the universe.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from dataplane.authorizer import Authorizer
from dataplane.evaluation import Principal, Request, build_policy_set, evaluate
from dataplane.evaluation._glob import compile_glob_set
from dataplane.replica import Replica, ReplicaIdentity, ReplicaStatus
from dataplane.server import build_app
from replication.delay import RegionDelays
from replication.entities import Account, User
from replication.log import RedisChangeLog, connect
from replication.wildcards import segments_matcher
from tests.change_events import ACCOUNT, NOW, change_event
from tests.controlplane.organizations.test_organizations_evaluation import World

ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
LIVENESS = pytest.mark.timeout(60)
WILDCARDS = 1_000
LONG = 10_000


@pytest.fixture
async def replica(redis_url: str) -> AsyncIterator[TestClient[Any, Any]]:
    """A replica holding one account and its user alice, served over HTTP."""
    log = RedisChangeLog(connect(redis_url))
    await log.client.flushdb()
    await log.append(
        change_event(1, "account.put", Account(id=ACCOUNT, created_at=NOW).model_dump())
    )
    alice = User(account=ACCOUNT, name="alice", user_id="AIDAALICE000000000001", created_at=NOW)
    await log.append(change_event(2, "user.put", alice.model_dump(mode="json")))
    follower = Replica(ReplicaIdentity("us-east-1", "us-east-1a"), log, RegionDelays(), time.time)
    task = asyncio.create_task(follower.run())
    try:
        async with asyncio.timeout(10):
            while follower.status is not ReplicaStatus.OK or follower.state.version < 2:
                await asyncio.sleep(0.01)
        app = build_app(follower, Authorizer(follower, time.time))
        async with TestClient(TestServer(app)) as client:
            yield client
    finally:
        task.cancel()
        await log.close()


def _bucket_policy(resource: str) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "s3:GetObject"}
    return {"Version": "2012-10-17", "Statement": [{**statement, "Resource": resource}]}


@LIVENESS
async def test_the_reported_request_is_answered_and_the_replica_stays_healthy(
    replica: TestClient[Any, Any],
) -> None:
    """The issue's unsigned ``/authorize`` with ``*a*a*a*a*a*b`` against 200 ``a``s."""
    pattern = "arn:aws:s3:::*a*a*a*a*a*b"
    for key, decision in (("a" * 200, "ImplicitDeny"), ("a" * 199 + "b", "Allow")):
        query = {
            "principal": ALICE,
            "action": "s3:GetObject",
            "resource": f"arn:aws:s3:::{key}",
            "resource_policy": _bucket_policy(pattern),
        }
        answer = await replica.post("/authorize", json=query)
        assert answer.status == 200
        assert (await answer.json())["decision"] == decision
    health = await replica.get("/health")
    assert (health.status, (await health.json())["status"]) == (200, "OK")


def _pathological() -> list[tuple[str, str, bool]]:
    """(pattern, value, matches) with 1,000 wildcards against 10,000 characters."""
    a_run = "a" * LONG
    return [
        ("*a" * WILDCARDS + "*b", a_run, False),
        ("*a" * WILDCARDS + "*b", a_run[:-1] + "b", True),
        ("*a" * WILDCARDS, a_run, True),
        ("*?" * WILDCARDS, a_run, True),
        ("*?" * WILDCARDS, a_run[: WILDCARDS - 1], False),
        ("?*" * WILDCARDS + "b", a_run, False),
        ("*a?" * WILDCARDS, "ab" * (LONG // 2), True),
        ("*a?c" * WILDCARDS, a_run, False),
        ("*a*b" * (WILDCARDS // 2) + "*", a_run[:-1] + "b", False),
        ("*a*b" * (WILDCARDS // 2), "ab" * (LONG // 2), True),
        ("*" * WILDCARDS + "a" * (LONG // 2) + "c", a_run, False),
        ("a" + "*" * WILDCARDS + "a", a_run, True),
    ]


@LIVENESS
@pytest.mark.parametrize(("pattern", "value", "matches"), _pathological())
def test_a_thousand_wildcards_against_ten_thousand_characters(
    pattern: str, value: str, matches: bool
) -> None:
    """Plain and ARN mode, as a set and as rendered segments, give the right answer."""
    arn_head = "arn:aws:s3:::"
    assert compile_glob_set([pattern, "x*y"], arn=False)(value) is matches
    assert compile_glob_set([arn_head + pattern], arn=True)(arn_head + value) is matches
    fielded = "?*:*:s3:*:*:" + pattern  # wildcards in the fields that stop at colons
    assert compile_glob_set([fielded], arn=True)(arn_head + value) is matches
    assert segments_matcher([(pattern, False), ("*", True)], arn=False)(value + "*") is matches


def _alice() -> Principal:
    return Principal.iam_user(ALICE, unique_id="AIDAALICE000000000001")


def _decide(statement: dict[str, Any], resource: str, context: dict[str, Any]) -> str:
    allow = {"Effect": "Allow", "Action": "s3:*", **statement}
    policies = build_policy_set(identity=[{"Version": "2012-10-17", "Statement": [allow]}])
    return evaluate(Request(_alice(), "s3:GetObject", resource, context), policies).decision.value


Case = Callable[[str, str], tuple[dict[str, Any], str, dict[str, Any]]]
_ENGINE_CASES: dict[str, Case] = {
    "Resource": lambda p, v: ({"Resource": f"arn:aws:s3:::{p}"}, f"arn:aws:s3:::{v}", {}),
    "NotResource": lambda p, v: ({"NotResource": f"arn:aws:s3:::{p}"}, f"arn:aws:s3:::{v}", {}),
    "StringLike": lambda p, v: (
        {"Resource": "*", "Condition": {"StringLike": {"s3:prefix": p}}},
        "*",
        {"s3:prefix": v},
    ),
    "ArnLike": lambda p, v: (
        {"Resource": "*", "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{p}"}}},
        "*",
        {"aws:SourceArn": f"arn:aws:s3:::{v}"},
    ),
    "StringLike with a variable": lambda p, v: (
        {"Resource": "*", "Condition": {"StringLike": {"s3:prefix": "${aws:username}/" + p}}},
        "*",
        {"s3:prefix": "alice/" + v},
    ),
}


@LIVENESS
@pytest.mark.parametrize("where", list(_ENGINE_CASES))
def test_the_engine_decides_on_pathological_policies(where: str) -> None:
    """Through the public API: resources, NotResource, StringLike/ArnLike, variables."""
    pattern = "*a" * WILDCARDS + "*b"
    statement, resource, context = _ENGINE_CASES[where](pattern, "a" * LONG)
    expected = "Allow" if where == "NotResource" else "ImplicitDeny"
    assert _decide(statement, resource, context) == expected
    statement, resource, context = _ENGINE_CASES[where](pattern, "a" * LONG + "b")
    expected = "ImplicitDeny" if where == "NotResource" else "Allow"
    assert _decide(statement, resource, context) == expected


@LIVENESS
def test_wildcards_a_caller_substitutes_stay_literal() -> None:
    """A context value holding 1,000 wildcards, substituted into a resource, matches only
    itself: the caller cannot turn it into a pattern (nor a slow one)."""
    injected = "*a" * WILDCARDS + "*b"
    statement = {"Resource": "arn:aws:s3:::bucket/${s3:prefix}"}
    context = {"s3:prefix": injected}
    assert _decide(statement, "arn:aws:s3:::bucket/" + "a" * LONG + "b", context) == (
        "ImplicitDeny"
    )
    assert _decide(statement, "arn:aws:s3:::bucket/" + injected, context) == "Allow"


@LIVENESS
def test_unclosed_variables_are_scanned_once() -> None:
    """200,000 ``${`` with no ``}`` (a regex scan retried from each: quadratic) in a resource
    policy the engine compiles, and in a policy whose context keys the control plane lists."""
    unclosed = "${" * 200_000
    policy = _bucket_policy(f"arn:aws:s3:::{unclosed}")
    decision = evaluate(
        Request(_alice(), "s3:GetObject", "arn:aws:s3:::key"), build_policy_set(resource=policy)
    )
    assert decision.decision.value == "ImplicitDeny"
    statement = {"Effect": "Allow", "Action": "s3:*", "Resource": f"arn:aws:s3:::{unclosed}"}
    statement["Resource"] += "${aws:username}"  # closed by the one '}': the body holds every '${'
    document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    listed = World().iam("GetContextKeysForCustomPolicy", PolicyInputList=[document])
    (key,) = listed["ContextKeyNames"]
    assert key.endswith("${aws:username")
