"""SimulatePrincipalPolicy: answered by the us-east-1 data plane, shaped as IAM shapes it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.controlplane.conftest import allow, error_of

pytestmark = pytest.mark.e2e


def test_simulation_reports_decisions_matches_and_gates(iam: Any) -> None:
    """Each action gets AWS's EvalDecision, the matched policy, and the boundary detail."""
    user = iam.create_user(UserName="sim-user")["User"]["Arn"]
    arn = iam.create_policy(PolicyName="sim-read", PolicyDocument=allow("s3:GetObject"))
    iam.attach_user_policy(UserName="sim-user", PolicyArn=arn["Policy"]["Arn"])
    iam.put_user_policy(UserName="sim-user", PolicyName="put", PolicyDocument=allow("s3:PutObject"))
    answer = iam.simulate_principal_policy(
        PolicySourceArn=user,
        ActionNames=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        ResourceArns=["arn:aws:s3:::bucket/key"],
    )
    results = {r["EvalActionName"]: r for r in answer["EvaluationResults"]}
    assert results["s3:GetObject"]["EvalDecision"] == "allowed"
    matched = results["s3:GetObject"]["MatchedStatements"][0]
    assert matched["SourcePolicyType"] == "user-managed"
    assert results["s3:PutObject"]["MatchedStatements"][0]["SourcePolicyType"] == "user"
    assert results["s3:DeleteObject"]["EvalDecision"] == "implicitDeny"
    boundary = iam.create_policy(PolicyName="sim-boundary", PolicyDocument=allow("s3:PutObject"))
    iam.put_user_permissions_boundary(
        UserName="sim-user", PermissionsBoundary=boundary["Policy"]["Arn"]
    )
    bounded = iam.simulate_principal_policy(PolicySourceArn=user, ActionNames=["s3:GetObject"])
    result = bounded["EvaluationResults"][0]
    assert result["EvalDecision"] == "implicitDeny"
    assert result["EvalResourceName"] == "*"
    assert result["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}


def test_simulation_uses_context_entries(iam: Any) -> None:
    """A condition on a context key is decided by the ContextEntries given."""
    user = iam.create_user(UserName="sim-context")["User"]["Arn"]
    statement = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}},
    }
    document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    iam.put_user_policy(UserName="sim-context", PolicyName="eu", PolicyDocument=document)

    def decision(region: str) -> str:
        entry = {
            "ContextKeyName": "aws:RequestedRegion",
            "ContextKeyValues": [region],
            "ContextKeyType": "string",
        }
        answer = iam.simulate_principal_policy(
            PolicySourceArn=user, ActionNames=["s3:GetObject"], ContextEntries=[entry]
        )
        return str(answer["EvaluationResults"][0]["EvalDecision"])

    assert decision("eu-west-1") == "allowed"
    assert decision("us-east-1") == "implicitDeny"


def test_simulating_a_missing_user_is_no_such_entity(iam: Any) -> None:
    """A PolicySourceArn naming nobody is NoSuchEntity."""
    account = iam.get_user()["User"]["Arn"].split(":")[4]
    source = f"arn:aws:iam::{account}:user/sim-nobody"
    assert error_of(
        iam.simulate_principal_policy, PolicySourceArn=source, ActionNames=["s3:GetObject"]
    )[:2] == ("NoSuchEntity", 404)
