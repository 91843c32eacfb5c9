"""The public Python API of the engine: surface, typed construction, decision table rows."""

from __future__ import annotations

import dataplane.evaluation as engine
from dataplane.evaluation import (
    CallerKind,
    Credential,
    CredentialKind,
    Facts,
    Level,
    Org,
    Outcome,
    PolicySet,
    Principal,
    Request,
    ResourceKind,
    ResourceOwner,
    Stage,
    build_policy_set,
    compile_policy,
    decide,
    evaluate,
)
from replication.policy import PolicyKind, parse_policy

ACCOUNT = "111122223333"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
TAGGED = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Team",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::bucket/${aws:PrincipalTag/team}/*",
        }
    ],
}


def test_exported_members_are_pinned() -> None:
    """The package exports exactly its documented surface."""
    assert sorted(engine.__all__) == sorted(
        [
            "AccountDecisions", "CallerKind", "CompiledPolicy", "CompiledStatement", "Credential",
            "CredentialKind", "Decision", "Facts", "InvalidInput", "Level", "StatementMatch",
            "NormalisedContext",
            "Org", "Outcome",
            "PolicySet", "Principal", "PrincipalType", "Request", "ResourceKind",
            "ResourceOwner", "Stage", "account_decisions", "build_policy_set", "compile_policy",
            "decide",
            "evaluate", "evaluate_document", "explain_document", "explain_facts",
        ]
    )  # fmt: skip
    for name in engine.__all__:
        assert getattr(engine, name) is not None


def test_iam_user_with_tags() -> None:
    """An IAM user built in Python, with tags used through a policy variable."""
    alice = Principal.iam_user(ALICE, unique_id="AIDAALICE000000000001", tags={"team": "eng"})
    policies = build_policy_set(identity=[TAGGED])
    allowed = evaluate(Request(alice, "s3:GetObject", "arn:aws:s3:::bucket/eng/x"), policies)
    denied = evaluate(Request(alice, "s3:GetObject", "arn:aws:s3:::bucket/ops/x"), policies)
    assert (allowed.decision, allowed.decided_by) == (Outcome.ALLOW, Stage.IDENTITY)
    assert allowed.matched[0].sid == "Team" and allowed.matched[0].policy == "identity[0]"
    assert denied.decision is Outcome.IMPLICIT_DENY


def test_access_key_caller_with_session_token_credentials() -> None:
    """A caller using GetSessionToken keys without MFA cannot call IAM (R82)."""
    keys = Credential(CredentialKind.GET_SESSION_TOKEN, mfa=False, issued_at="2024-01-01T00:00:00Z")
    bob = Principal.iam_user(ALICE, credential=keys)
    everything = build_policy_set(
        identity=['{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}']
    )
    decision = evaluate(Request(bob, "iam:ListUsers", "*"), everything)
    assert (decision.decision, decision.decided_by) == (Outcome.IMPLICIT_DENY, Stage.CREDENTIAL)
    assert bob.derived["aws:tokenissuetime"] == "2024-01-01T00:00:00Z"


def test_compile_policy_from_parsed_document() -> None:
    """parse_policy + compile_policy + PolicySet give the same answer as build_policy_set."""
    compiled = compile_policy(parse_policy(TAGGED, PolicyKind.IDENTITY), "mine")
    alice = Principal.iam_user(ALICE, tags={"team": "eng"})
    decision = evaluate(
        Request(alice, "s3:getobject", "arn:aws:s3:::bucket/eng/1"), PolicySet([compiled])
    )
    assert decision.allowed and decision.matched[0].policy == "mine"


def test_role_session_constructor() -> None:
    """assumed_role drops the role path from the session ARN and fills aws:userid (R78)."""
    session = Principal.assumed_role(
        f"arn:aws:iam::{ACCOUNT}:role/path/dev", "s1", role_unique_id="AROADEV0000000000001"
    )
    assert session.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/dev/s1"
    assert session.derived["aws:userid"] == "AROADEV0000000000001:s1"
    assert session.derived["aws:principalarn"] == f"arn:aws:iam::{ACCOUNT}:role/path/dev"


def test_resource_owner_inference() -> None:
    """Owner account comes from the ARN; kind is kms_key / role_trust / generic.

    The inference rules are those of docs/evaluate-input.md.
    """
    alice = Principal.iam_user(ALICE, org=Org("o-1"))
    key = Request(alice, "kms:Decrypt", "arn:aws:kms:us-east-1:444455556666:key/k")
    role = Request(alice, "sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/r")
    plain = Request(alice, "s3:GetObject", "arn:aws:s3:::b/k")
    assert (key.owner.kind, key.owner.account, key.cross_account) == (
        ResourceKind.KMS_KEY, "444455556666", True,
    )  # fmt: skip
    assert role.owner.kind is ResourceKind.ROLE_TRUST
    assert (plain.owner.kind, plain.owner.account, plain.owner.org) == (
        ResourceKind.GENERIC, ACCOUNT, Org("o-1"),
    )  # fmt: skip
    explicit = Request(
        alice, "s3:GetObject", "arn:aws:s3:::b/k", resource_owner=ResourceOwner(org=None)
    )
    assert explicit.owner.org is None


def test_action_memo_is_per_applicable_set() -> None:
    """The candidate memo keys on the applicable sets, so one PolicySet serves every caller."""
    policies = build_policy_set(
        identity=['{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}'],
        resource='{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}',
    )
    root = Principal.root(ACCOUNT)
    anonymous = Principal.anonymous()
    first = evaluate(Request(anonymous, "s3:GetObject", "arn:aws:s3:::b/k"), policies)
    second = evaluate(
        Request(Principal.iam_user(ALICE), "s3:GetObject", "arn:aws:s3:::b/k"), policies
    )
    third = evaluate(Request(root, "s3:GetObject", "arn:aws:s3:::b/k"), policies)
    assert [m.policy for m in first.matched] == ["resource"]
    assert sorted(m.policy for m in second.matched) == ["identity[0]", "resource"]
    assert first.allowed and second.allowed and third.allowed


def _facts(**changes: object) -> Facts:
    base = Facts(
        explicit_deny=False, rcp_gate=None, scp_gate=None, caller=CallerKind.USER,
        kind=ResourceKind.GENERIC, cross_account=False, level=Level.NONE, identity=True,
        boundary=None, session=None,
    )  # fmt: skip
    return base._replace(**changes)


def test_decision_table_rows() -> None:
    """Each row of the table, including the RCP row that JSON input cannot reach (R66)."""
    assert decide(_facts()) == (Outcome.ALLOW, Stage.IDENTITY)
    assert decide(_facts(explicit_deny=True, level=Level.DIRECT)) == (
        Outcome.EXPLICIT_DENY, Stage.EXPLICIT_DENY,
    )  # fmt: skip
    assert decide(_facts(rcp_gate=False, scp_gate=False)) == (Outcome.IMPLICIT_DENY, Stage.RCP)
    assert decide(_facts(scp_gate=False)) == (Outcome.IMPLICIT_DENY, Stage.SCP)
    assert decide(_facts(identity=False)) == (Outcome.IMPLICIT_DENY, Stage.NO_ALLOW)
    assert decide(_facts(identity=False, level=Level.DIRECT, boundary=False)) == (
        Outcome.ALLOW, Stage.RESOURCE,
    )  # fmt: skip
    assert decide(_facts(caller=CallerKind.FEDERATED)) == (Outcome.IMPLICIT_DENY, Stage.SESSION)
    assert decide(_facts(caller=CallerKind.ROLE_SESSION, session=False)) == (
        Outcome.IMPLICIT_DENY, Stage.SESSION,
    )  # fmt: skip
    assert decide(_facts(caller=CallerKind.IDENTITYLESS, level=Level.PARENT)) == (
        Outcome.IMPLICIT_DENY, Stage.RESOURCE,
    )  # fmt: skip


def test_decision_to_dict_shape() -> None:
    """Decision.to_dict has exactly the fields of docs/evaluate-input.md."""
    decision = evaluate(
        Request(Principal.anonymous(), "s3:GetObject", "arn:aws:s3:::b/k"), PolicySet()
    )
    assert set(decision.to_dict()) == {
        "decision", "decided_by", "matched", "missing_context_keys", "errors",
    }  # fmt: skip


def test_account_decisions_split_a_cross_account_request() -> None:
    """Each account's decision is reported; a same-account request has none."""
    user = Principal.iam_user("arn:aws:iam::111122223333:user/alice", unique_id="AIDAALICE")
    queue = "arn:aws:sqs:us-east-1:444455556666:q"
    owner = ResourceOwner(account="444455556666", kind=ResourceKind.GENERIC)
    allows_queue = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}],
    }
    resource = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Deny", "Principal": {"AWS": user.arn}, "Action": "sqs:*", "Resource": "*"}
        ],
    }
    request = Request(user, "sqs:SendMessage", queue, {}, resource_owner=owner)
    policies = build_policy_set(identity=[allows_queue], resource=resource)
    decision = engine.evaluate(request, policies)
    sides = engine.account_decisions(request, policies, decision)
    assert decision.decision is Outcome.EXPLICIT_DENY
    assert sides == (Outcome.ALLOW, Outcome.EXPLICIT_DENY)
    unsigned = build_policy_set(identity=[allows_queue])
    silent = engine.evaluate(request, unsigned)
    assert engine.account_decisions(request, unsigned, silent) == (
        Outcome.ALLOW,
        Outcome.IMPLICIT_DENY,
    )
    local = Request(user, "sqs:SendMessage", "arn:aws:sqs:us-east-1:111122223333:q", {})
    assert engine.account_decisions(local, unsigned, engine.evaluate(local, unsigned)) is None
