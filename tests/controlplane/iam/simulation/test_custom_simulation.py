"""/evaluate on every replica, and the simulations it answers: SimulateCustomPolicy and
SimulatePrincipalPolicy with policies added inline."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.controlplane.conftest import allow, document, error_of
from tests.e2e.cluster import Cluster, http_json

pytestmark = pytest.mark.e2e

ALICE = "arn:aws:iam::111122223333:user/alice"
S3_READ = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}


def _query(action: str) -> dict[str, Any]:
    return {
        "request": {"principal": ALICE, "action": action, "resource": "arn:aws:s3:::b/k"},
        "policies": {"identity": [S3_READ]},
    }


def test_every_replica_evaluates_inline_policies(cluster: Cluster) -> None:
    """Each replica answers /evaluate with the engine's decision and names itself."""
    for az, url in cluster.replicas().items():
        status, answer = http_json(f"{url}/evaluate", _query("s3:GetObject"))
        assert status == 200
        assert answer["decision"] == "Allow"
        assert answer["az"] == az
        assert answer["region"] == cluster.region_of(az)
        assert isinstance(answer["version"], int)


def test_evaluate_answers_a_batch_and_reports_bad_policies(cluster: Cluster) -> None:
    """A batch gets one answer each; a malformed policy is an error object, not a failure."""
    url = next(iter(cluster.replicas().values()))
    bad = {**_query("s3:GetObject"), "policies": {"identity": ["nonsense"]}}
    status, answers = http_json(f"{url}/evaluate", [_query("s3:GetObject"), _query("s3:Put"), bad])
    assert status == 200
    assert [a.get("decision") for a in answers[:2]] == ["Allow", "ImplicitDeny"]
    assert answers[2]["error"]["code"] == "MalformedPolicyDocument"


def test_custom_policy_decisions_and_statement_positions(iam: Any) -> None:
    """SimulateCustomPolicy reports allowed/explicitDeny/implicitDeny with each statement's
    source and position in the text."""
    text = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
            ],
        },
        indent=2,
    )
    response = iam.simulate_custom_policy(
        PolicyInputList=[text],
        ActionNames=["s3:GetObject", "s3:DeleteObject", "ec2:RunInstances"],
    )
    assert int(response["ResponseMetadata"]["HTTPHeaders"]["x-iam-planes-version"]) >= 0
    results = {r["EvalActionName"]: r for r in response["EvaluationResults"]}
    assert results["s3:GetObject"]["EvalDecision"] == "allowed"
    assert results["s3:DeleteObject"]["EvalDecision"] == "explicitDeny"
    assert results["ec2:RunInstances"]["EvalDecision"] == "implicitDeny"
    statement = results["s3:GetObject"]["MatchedStatements"][0]
    assert statement["SourcePolicyId"] == "PolicyInputList.1"
    assert statement["StartPosition"] == {"Line": 4, "Column": 5}
    assert statement["EndPosition"] == {"Line": 8, "Column": 5}
    deny = results["s3:DeleteObject"]["MatchedStatements"]
    assert {"Line": 9, "Column": 5} in [m["StartPosition"] for m in deny]


def test_custom_policy_boundary_context_and_resources(iam: Any) -> None:
    """The boundary, missing context keys and per-resource results are AWS's shapes."""
    conditional = document(
        {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::bucket/*",
            "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-1"}},
        }
    )
    response = iam.simulate_custom_policy(
        PolicyInputList=[conditional],
        PermissionsBoundaryPolicyInputList=[allow("ec2:*")],
        ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::bucket/a"],
    )
    result = response["EvaluationResults"][0]
    assert result["EvalDecision"] == "implicitDeny"
    assert result["MissingContextValues"] == ["aws:SourceVpc"]
    assert result["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}
    specific = result["ResourceSpecificResults"][0]
    assert specific["EvalResourceName"] == "arn:aws:s3:::bucket/a"
    assert specific["EvalResourceDecision"] == "implicitDeny"
    entry = {
        "ContextKeyName": "aws:SourceVpc",
        "ContextKeyValues": ["vpc-1"],
        "ContextKeyType": "string",
    }
    allowed = iam.simulate_custom_policy(
        PolicyInputList=[conditional],
        ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::bucket/a"],
        ContextEntries=[entry],
    )
    assert allowed["EvaluationResults"][0]["EvalDecision"] == "allowed"


def test_custom_policy_with_a_resource_policy_names_the_caller(iam: Any) -> None:
    """A resource policy alone can allow CallerArn, and needs CallerArn to be given."""
    account = iam.get_user()["User"]["Arn"].split(":")[4]
    caller = f"arn:aws:iam::{account}:user/somebody"
    resource_policy = document(
        {
            "Effect": "Allow",
            "Principal": {"AWS": caller},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::common/*",
        }
    )
    answer = iam.simulate_custom_policy(
        PolicyInputList=[allow("ec2:DescribeInstances")],
        ResourcePolicy=resource_policy,
        CallerArn=caller,
        ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::common/x"],
    )
    result = answer["EvaluationResults"][0]
    assert result["EvalDecision"] == "allowed"
    assert result["MatchedStatements"][0]["SourcePolicyId"] == "ResourcePolicy"
    assert result["MatchedStatements"][0]["SourcePolicyType"] == "resource"
    assert error_of(
        iam.simulate_custom_policy,
        PolicyInputList=[allow("s3:*")],
        ResourcePolicy=resource_policy,
        ActionNames=["s3:GetObject"],
    )[:2] == ("InvalidInput", 400)


def test_custom_policy_refuses_a_malformed_policy(iam: Any) -> None:
    """A policy that is not a policy is AWS's MalformedPolicyDocument."""
    assert error_of(
        iam.simulate_custom_policy, PolicyInputList=["{nope"], ActionNames=["s3:GetObject"]
    )[:2] == ("MalformedPolicyDocument", 400)


def test_principal_simulation_adds_inline_policies(iam: Any) -> None:
    """PolicyInputList joins the user's stored policies; a boundary input replaces its own."""
    user = iam.create_user(UserName="sim-inline")["User"]["Arn"]
    iam.put_user_policy(UserName="sim-inline", PolicyName="read", PolicyDocument=allow("s3:Get*"))
    answer = iam.simulate_principal_policy(
        PolicySourceArn=user,
        PolicyInputList=[allow("sqs:SendMessage")],
        ActionNames=["s3:GetObject", "sqs:SendMessage", "sns:Publish"],
    )
    results = {r["EvalActionName"]: r for r in answer["EvaluationResults"]}
    assert results["s3:GetObject"]["EvalDecision"] == "allowed"
    assert results["s3:GetObject"]["MatchedStatements"][0]["SourcePolicyId"] == "read"
    assert results["s3:GetObject"]["MatchedStatements"][0]["SourcePolicyType"] == "user"
    assert results["sqs:SendMessage"]["EvalDecision"] == "allowed"
    sent = results["sqs:SendMessage"]["MatchedStatements"][0]
    assert sent["SourcePolicyId"] == "PolicyInputList.1"
    assert results["sns:Publish"]["EvalDecision"] == "implicitDeny"
    bounded = iam.simulate_principal_policy(
        PolicySourceArn=user,
        PermissionsBoundaryPolicyInputList=[allow("sqs:*")],
        ActionNames=["s3:GetObject"],
    )
    result = bounded["EvaluationResults"][0]
    assert result["EvalDecision"] == "implicitDeny"
    assert result["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}
    assert "x-iam-planes-version" in bounded["ResponseMetadata"]["HTTPHeaders"]
