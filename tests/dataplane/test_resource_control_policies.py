"""RCP chains come from the account that owns the resource, not the caller's (R40, R65).

In-process, as ``test_organizations_evaluation``: handlers fold into a state, and the
replicas' ``Authorizer`` answers from it (through a stand-in replica holding that state).
"""

from __future__ import annotations

import json
from typing import Any, cast

from dataplane.authorizer import Authorizer
from dataplane.replica import Replica, ReplicaIdentity
from replication.queries import AuthorizeQuery
from tests.controlplane.organizations.test_organizations_evaluation import MANAGEMENT, World
from tests.dataplane.replica_stand_in import ReplicaStandIn


def _replica(world: World) -> Replica:
    return cast(Replica, ReplicaStandIn(world, ReplicaIdentity("us-east-1", "us-east-1a")))


ALLOW_SQS = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}],
    }
)
DENY_SQS_RCP = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*"}],
    }
)


def _organization_with_rcp(world: World) -> str:
    """A member account whose RCP denies every SQS action; returns its id."""
    world.org("CreateOrganization")
    status = world.org("CreateAccount", Email="m@example.com", AccountName="member")
    member = str(status["CreateAccountStatus"]["AccountId"])
    root = world.org("ListRoots")["Roots"][0]["Id"]
    world.org("EnablePolicyType", RootId=root, PolicyType="RESOURCE_CONTROL_POLICY")
    created = world.org(
        "CreatePolicy",
        Content=DENY_SQS_RCP,
        Description="",
        Name="no-sqs",
        Type="RESOURCE_CONTROL_POLICY",
    )
    world.org("AttachPolicy", PolicyId=created["Policy"]["PolicySummary"]["Id"], TargetId=member)
    return member


def _user(world: World, account: str, name: str) -> str:
    arn = str(world.iam("CreateUser", account, UserName=name)["User"]["Arn"])
    world.iam("PutUserPolicy", account, UserName=name, PolicyName="sqs", PolicyDocument=ALLOW_SQS)
    return arn


def _queue_policy(principal: str) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sqs:*"}
    return {"Version": "2012-10-17", "Statement": [{**statement, "Resource": "*"}]}


async def _decide(authorizer: Authorizer, principal: str, queue: str) -> str:
    query = AuthorizeQuery(
        principal=principal,
        action="sqs:SendMessage",
        resource=queue,
        resource_policy=_queue_policy(principal),
    )
    answer = await authorizer.answer(query, "127.0.0.1")
    return f"{answer['decision']}/{answer['decided_by']}"


async def test_the_resource_owners_rcp_applies_to_a_caller_from_another_account() -> None:
    """The management account's user is denied on a member's queue by the member's RCP."""
    world = World()
    member = _organization_with_rcp(world)
    admin = _user(world, MANAGEMENT, "admin")
    authorizer = Authorizer(
        _replica(world),
        clock=lambda: 1_800_000_000.0,
    )
    member_queue = f"arn:aws:sqs:us-east-1:{member}:jobs"
    own_queue = f"arn:aws:sqs:us-east-1:{MANAGEMENT}:jobs"
    assert await _decide(authorizer, admin, member_queue) == "ExplicitDeny/explicit_deny"
    assert (await _decide(authorizer, admin, own_queue)).startswith("Allow")
    assert await _decide(authorizer, admin, member_queue) == "ExplicitDeny/explicit_deny"


async def test_the_callers_rcp_does_not_follow_it_to_another_accounts_resource() -> None:
    """A member's user is not restricted by its own account's RCP on a queue it does not own."""
    world = World()
    member = _organization_with_rcp(world)
    worker = _user(world, member, "worker")
    authorizer = Authorizer(
        _replica(world),
        clock=lambda: 1_800_000_000.0,
    )
    assert await _decide(authorizer, worker, f"arn:aws:sqs:us-east-1:{member}:jobs") == (
        "ExplicitDeny/explicit_deny"
    )
    elsewhere = f"arn:aws:sqs:us-east-1:{MANAGEMENT}:jobs"
    assert (await _decide(authorizer, worker, elsewhere)).startswith("Allow")
