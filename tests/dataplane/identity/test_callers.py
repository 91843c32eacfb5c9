"""Long-term callers and sessions answer the same questions; one builder gives their policies."""

from __future__ import annotations

import json

from dataplane.evaluation import PolicySet
from dataplane.identity.callers import Caller, policy_set_for
from dataplane.identity.long_term import principal_by_arn
from dataplane.identity.policy_index import PolicyIndex
from dataplane.identity.sessions import Session
from dataplane.identity.tokens import SessionClaims
from replication.policy import PolicyKind
from tests.controlplane.organizations.test_organizations_evaluation import (
    ALLOW_S3,
    MANAGEMENT,
    World,
)

ACCOUNT_ROOT = {"AWS": f"arn:aws:iam::{MANAGEMENT}:root"}
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": ACCOUNT_ROOT, "Action": "sts:AssumeRole"}]})  # fmt: skip


def _world() -> tuple[World, str, str]:
    """A user and a role, each with one inline policy; their ARNs."""
    world = World()
    user = world.iam("CreateUser", UserName="alice")["User"]["Arn"]
    world.iam("PutUserPolicy", UserName="alice", PolicyName="s3", PolicyDocument=ALLOW_S3)
    role = world.iam("CreateRole", RoleName="worker", AssumeRolePolicyDocument=TRUST)["Role"]
    world.iam("PutRolePolicy", RoleName="worker", PolicyName="s3", PolicyDocument=ALLOW_S3)
    return world, user, role["Arn"]


def _session(world: World, role_arn: str, **claims: object) -> Session:
    role = world.state.role(MANAGEMENT, "worker")
    assert role is not None and role.arn == role_arn
    return Session(
        SessionClaims.model_validate({
            "token_id": "token-1", "kind": "AssumeRole", "access_key_id": "ASIAEXAMPLE",
            "account": MANAGEMENT, "issued_at": 0, "expires_at": 3600, "role_arn": role_arn,
            "role_id": role.role_id, "session_name": "job", **claims,
        })
    )  # fmt: skip


def test_a_user_and_a_session_answer_the_same_questions() -> None:
    """Cache key, clock dependence, UserId, context keys and entity, for both kinds."""
    world, user_arn, role_arn = _world()
    user: Caller = principal_by_arn(world.state, user_arn)
    session: Caller = _session(world, role_arn)
    alice = world.state.user(MANAGEMENT, "alice")
    role = world.state.role(MANAGEMENT, "worker")
    assert alice is not None and role is not None
    assert (user.cache_key, user.user_id, user.arn) == (
        "principal:" + user_arn, alice.user_id, user_arn)  # fmt: skip
    assert (session.cache_key, session.user_id) == ("session:token-1", f"{role.role_id}:job")
    assert session.arn == f"arn:aws:sts::{MANAGEMENT}:assumed-role/worker/job"
    assert user.principal_is_timeless and session.principal_is_timeless
    assert not _session(world, role_arn, mfa=True, mfa_authenticated_at=0).principal_is_timeless
    assert dict(user.request_context) == dict(session.request_context) == {}
    assert (user.entity(world.state), session.entity(world.state)) == (alice, role)
    index = PolicyIndex()
    assert user.principal(world.state, index, 0).arn == user_arn
    assert session.principal(world.state, index, 0).arn == session.arn


def test_one_builder_gives_a_user_and_a_session_their_policies() -> None:
    """Identity policies of the user or the session's role; session policies only when passed."""
    world, user_arn, role_arn = _world()
    index = PolicyIndex()
    user = principal_by_arn(world.state, user_arn)
    trust = index.document(TRUST, PolicyKind.TRUST, "trust:worker")
    for_user = policy_set_for(world.state, index, user, trust)
    assert [p.label for p in for_user.identity] == ["inline:s3"]
    assert (for_user.resource, for_user.session, for_user.scps) == (trust, None, None)
    plain = policy_set_for(world.state, index, _session(world, role_arn), None)
    assert [p.label for p in plain.identity] == ["inline:s3"]
    assert plain.session is None
    narrowed = policy_set_for(world.state, index, _session(world, role_arn, policy=ALLOW_S3), None)
    assert [p.label for p in narrowed.session or ()] == ["session"]
    session = _session(world, role_arn)
    world.iam("DeleteRolePolicy", RoleName="worker", PolicyName="s3")
    world.iam("DeleteRole", RoleName="worker")
    gone = policy_set_for(world.state, index, session, None)  # the role went: nothing it had
    assert gone.identity == () and gone.boundary is None


def test_without_a_caller_the_resource_policy_stands_alone() -> None:
    """Anonymous or service callers: the resource policy, under the owner's RCPs if asked."""
    world, _, _ = _world()
    index = PolicyIndex()
    trust = index.document(TRUST, PolicyKind.TRUST, "trust:worker")
    assert policy_set_for(world.state, index, None, trust) == PolicySet(resource=trust)
    world.org("CreateOrganization")
    root = world.org("ListRoots")["Roots"][0]["Id"]
    world.org("EnablePolicyType", RootId=root, PolicyType="RESOURCE_CONTROL_POLICY")
    status = world.org("CreateAccount", Email="m@example.com", AccountName="member")
    member = status["CreateAccountStatus"]["AccountId"]
    owned = policy_set_for(world.state, index, None, trust, member)
    assert owned.resource is trust
    assert owned.rcps == index.organization(world.state, member).rcps
    assert owned.rcps is not None and owned.identity == () and owned.scps is None
