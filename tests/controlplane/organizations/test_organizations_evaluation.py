"""SCP chains from the folded organization reach the engine through ``PolicyIndex``.

The handlers are pure, so these tests run them in-process, fold their changes with the same
``apply`` the replicas use, and evaluate with the replicas' ``PolicyIndex``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from controlplane.iam import OPERATIONS as IAM
from controlplane.iam import Operation, Requester
from controlplane.organizations import OPERATIONS as ORGANIZATIONS
from dataplane.evaluation import Request, evaluate
from dataplane.identity.callers import policy_set_for
from dataplane.identity.long_term import principal_by_arn
from dataplane.identity.policy_index import PolicyIndex
from replication.arns import root_arn
from replication.entities import Account
from replication.events import ChangeEvent
from replication.state import IamState, apply, empty_state

NOW = datetime(2026, 1, 1, tzinfo=UTC)
MANAGEMENT = "111111111111"
ALLOW_S3 = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
)
DENY_S3 = ALLOW_S3.replace("Allow", "Deny")


class World:
    """A state folded from handler outcomes, as the writer and every replica fold it."""

    def __init__(self) -> None:
        self.state: IamState = empty_state()
        self._fold("account.put", Account(id=MANAGEMENT, created_at=NOW).model_dump(mode="json"))

    def _fold(self, kind: Any, payload: dict[str, Any]) -> None:
        event = ChangeEvent(
            version=self.state.version + 1,
            committed_at=0,
            kind=kind,
            account=MANAGEMENT,
            action="test",
            payload=payload,
        )
        self.state = apply(self.state, event)

    def org(self, action: str, **params: Any) -> dict[str, Any]:
        """Run one Organizations action as the management account's root user."""
        return self._run(ORGANIZATIONS[action], MANAGEMENT, params)

    def iam(self, action: str, account: str = MANAGEMENT, **params: Any) -> dict[str, Any]:
        """Run one IAM action as ``account``'s root user."""
        return self._run(IAM[action], account, params)

    def _run(self, operation: Operation, account: str, params: dict[str, Any]) -> dict[str, Any]:
        caller = Requester(account, root_arn(account), None)
        outcome = operation.handler(self.state, params, caller, NOW)
        if outcome.change is not None:
            self._fold(outcome.change.kind, outcome.change.payload)
        return outcome.result

    def decide(self, index: PolicyIndex, user_arn: str, action: str = "s3:GetObject") -> str:
        """The engine's decision and deciding stage for ``user_arn``."""
        resolved = principal_by_arn(self.state, user_arn)
        principal = resolved.principal(self.state, index, NOW.timestamp())
        request = Request(principal, action, "arn:aws:s3:::b/k", {})
        decision = evaluate(request, policy_set_for(self.state, index, resolved, None))
        return f"{decision.decision.value}/{decision.decided_by.value}"


def _member_user(world: World) -> tuple[str, str]:
    world.org("CreateOrganization")
    status = world.org("CreateAccount", Email="m@example.com", AccountName="member")
    member = status["CreateAccountStatus"]["AccountId"]
    user = world.iam("CreateUser", member, UserName="worker")["User"]["Arn"]
    world.iam("PutUserPolicy", member, UserName="worker", PolicyName="s3", PolicyDocument=ALLOW_S3)
    return member, user


def test_an_scp_on_the_account_denies_what_identity_policies_allow() -> None:
    """An SCP denying S3 on a member account overrides an identity allow, until detached."""
    world = World()
    member, user = _member_user(world)
    index = PolicyIndex()
    assert world.decide(index, user).startswith("Allow")
    root = world.org("ListRoots")["Roots"][0]["Id"]
    world.org("EnablePolicyType", RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    assert world.decide(index, user).startswith("Allow")
    created = world.org(
        "CreatePolicy", Content=DENY_S3, Description="", Name="no-s3", Type="SERVICE_CONTROL_POLICY"
    )
    policy_id = created["Policy"]["PolicySummary"]["Id"]
    world.org("AttachPolicy", PolicyId=policy_id, TargetId=member)
    assert world.decide(index, user).startswith("ExplicitDeny")
    world.org("DetachPolicy", PolicyId=policy_id, TargetId=member)
    assert world.decide(index, user).startswith("Allow")


def test_an_ou_level_without_an_allow_denies_implicitly() -> None:
    """An OU whose only SCP allows no S3 action cuts the chain: ImplicitDeny by the SCP."""
    world = World()
    member, user = _member_user(world)
    root = world.org("ListRoots")["Roots"][0]["Id"]
    world.org("EnablePolicyType", RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    unit = world.org("CreateOrganizationalUnit", ParentId=root, Name="locked")
    unit_id = unit["OrganizationalUnit"]["Id"]
    world.org("MoveAccount", AccountId=member, SourceParentId=root, DestinationParentId=unit_id)
    ec2_only = ALLOW_S3.replace("s3:*", "ec2:*")
    created = world.org(
        "CreatePolicy", Content=ec2_only, Description="", Name="ec2", Type="SERVICE_CONTROL_POLICY"
    )
    world.org("AttachPolicy", PolicyId=created["Policy"]["PolicySummary"]["Id"], TargetId=unit_id)
    world.org("DetachPolicy", PolicyId="p-FullAWSAccess", TargetId=unit_id)
    assert world.decide(PolicyIndex(), user) == "ImplicitDeny/scp"


def test_the_management_account_is_never_restricted_by_scps() -> None:
    """SCPs attached to the root do not apply to the management account's users."""
    world = World()
    _member_user(world)
    user = world.iam("CreateUser", UserName="admin")["User"]["Arn"]
    world.iam("PutUserPolicy", UserName="admin", PolicyName="s3", PolicyDocument=ALLOW_S3)
    root = world.org("ListRoots")["Roots"][0]["Id"]
    world.org("EnablePolicyType", RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    created = world.org(
        "CreatePolicy", Content=DENY_S3, Description="", Name="no-s3", Type="SERVICE_CONTROL_POLICY"
    )
    world.org("AttachPolicy", PolicyId=created["Policy"]["PolicySummary"]["Id"], TargetId=root)
    assert world.decide(PolicyIndex(), user).startswith("Allow")


def test_policies_compile_once_per_version_of_their_sources() -> None:
    """Identity policies and SCP chains are reused until something they depend on changes."""
    world = World()
    member, user = _member_user(world)
    index = PolicyIndex()
    resolved = principal_by_arn(world.state, user)
    first = policy_set_for(world.state, index, resolved, None)
    again = policy_set_for(world.state, index, resolved, None)
    assert first.identity is again.identity
    world.iam("CreateUser", member, UserName="other")
    assert policy_set_for(world.state, index, resolved, None).identity is first.identity
    world.iam("PutUserPolicy", member, UserName="worker", PolicyName="two", PolicyDocument=ALLOW_S3)
    resolved = principal_by_arn(world.state, user)
    assert policy_set_for(world.state, index, resolved, None).identity is not first.identity
