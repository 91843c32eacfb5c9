"""Simulation details: each account's decision on a cross-account request
(EvalDecisionDetails), ResourceOwner, PolicyExclusionList, and MaxItems/Marker paging."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.controlplane.conftest import allow, document, error_of

pytestmark = pytest.mark.e2e

OTHER_ACCOUNT = "999988887777"
QUEUE = f"arn:aws:sqs:us-east-1:{OTHER_ACCOUNT}:orders"


def _queue_policy(effect: str, principal: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": effect,
                    "Principal": {"AWS": principal},
                    "Action": "sqs:SendMessage",
                    "Resource": QUEUE,
                }
            ],
        }
    )


def _only(answer: dict[str, Any]) -> dict[str, Any]:
    (result,) = answer["EvaluationResults"]
    return result


def test_cross_account_simulation_reports_each_accounts_decision(iam: Any) -> None:
    """Both accounts must allow; EvalDecisionDetails says which of them did."""
    user = iam.create_user(UserName="xsim-user")["User"]["Arn"]
    granted = {"PolicySourceArn": user, "ActionNames": ["sqs:SendMessage"], "ResourceArns": [QUEUE]}
    refused_by_queue = _only(
        iam.simulate_principal_policy(**granted, ResourcePolicy=_queue_policy("Allow", "*"))
    )
    assert refused_by_queue["EvalDecision"] == "implicitDeny"
    assert refused_by_queue["EvalDecisionDetails"] == {
        "IAM Policy": "implicitDeny",
        "Resource Policy": "allowed",
    }
    iam.put_user_policy(
        UserName="xsim-user", PolicyName="send", PolicyDocument=allow("sqs:SendMessage")
    )
    both = _only(
        iam.simulate_principal_policy(**granted, ResourcePolicy=_queue_policy("Allow", user))
    )
    assert both["EvalDecision"] == "allowed"
    assert both["EvalDecisionDetails"] == {"IAM Policy": "allowed", "Resource Policy": "allowed"}
    specific = both["ResourceSpecificResults"][0]
    assert specific["EvalResourceName"] == QUEUE
    assert specific["EvalDecisionDetails"] == both["EvalDecisionDetails"]
    silent_queue = _only(iam.simulate_principal_policy(**granted))
    assert silent_queue["EvalDecision"] == "implicitDeny"
    assert silent_queue["EvalDecisionDetails"] == {
        "IAM Policy": "allowed",
        "Resource Policy": "implicitDeny",
    }
    denied = _only(
        iam.simulate_principal_policy(**granted, ResourcePolicy=_queue_policy("Deny", user))
    )
    assert denied["EvalDecision"] == "explicitDeny"
    assert denied["EvalDecisionDetails"] == {
        "IAM Policy": "allowed",
        "Resource Policy": "explicitDeny",
    }


def test_same_account_details_are_empty_for_a_resource_and_absent_for_star(iam: Any) -> None:
    """Within one account the map is present but empty for a named resource, absent for *."""
    user = iam.create_user(UserName="xsim-local")["User"]["Arn"]
    iam.put_user_policy(UserName="xsim-local", PolicyName="get", PolicyDocument=allow("s3:Get*"))
    named = _only(
        iam.simulate_principal_policy(
            PolicySourceArn=user, ActionNames=["s3:GetObject"], ResourceArns=["arn:aws:s3:::b/k"]
        )
    )
    assert named["EvalDecision"] == "allowed"
    assert not named.get("EvalDecisionDetails")
    star = _only(iam.simulate_principal_policy(PolicySourceArn=user, ActionNames=["s3:GetObject"]))
    assert "EvalDecisionDetails" not in star


def test_resource_owner_makes_an_s3_object_cross_account(iam: Any) -> None:
    """An S3 ARN names no account: ResourceOwner says whose it is, as in IAM's simulator."""
    user = iam.create_user(UserName="xsim-owner")["User"]["Arn"]
    iam.put_user_policy(UserName="xsim-owner", PolicyName="get", PolicyDocument=allow("s3:*"))
    call = {
        "PolicySourceArn": user,
        "ActionNames": ["s3:GetObject"],
        "ResourceArns": ["arn:aws:s3:::b/k"],
    }
    assert _only(iam.simulate_principal_policy(**call))["EvalDecision"] == "allowed"
    owned = _only(
        iam.simulate_principal_policy(**call, ResourceOwner=f"arn:aws:iam::{OTHER_ACCOUNT}:root")
    )
    assert owned["EvalDecision"] == "implicitDeny"
    assert owned["EvalDecisionDetails"]["Resource Policy"] == "implicitDeny"
    custom = _only(
        iam.simulate_custom_policy(
            PolicyInputList=[allow("s3:*")],
            ActionNames=["s3:GetObject"],
            ResourceArns=["arn:aws:s3:::b/k"],
            ResourceOwner=f"arn:aws:iam::{OTHER_ACCOUNT}:root",
            CallerArn=user,
            ResourcePolicy=document(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": user},
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::b/k",
                }
            ),
        )
    )
    assert custom["EvalDecision"] == "allowed"
    assert custom["EvalDecisionDetails"] == {"IAM Policy": "allowed", "Resource Policy": "allowed"}


def test_policy_exclusion_list_leaves_policies_out(iam: Any) -> None:
    """PolicyExclusionList simulates the principal without the policies it identifies: by
    managed-policy ARN (with wildcards), by type, or by inline name and holder
    (botocore's AttachmentName pattern admits no wildcard)."""
    user = iam.create_user(UserName="xsim-exclude")["User"]["Arn"]
    arn = iam.create_policy(PolicyName="xsim-get", PolicyDocument=allow("s3:GetObject"))
    iam.attach_user_policy(UserName="xsim-exclude", PolicyArn=arn["Policy"]["Arn"])
    iam.put_user_policy(UserName="xsim-exclude", PolicyName="put", PolicyDocument=allow("s3:Put*"))
    call = {"PolicySourceArn": user, "ActionNames": ["s3:GetObject", "s3:PutObject"]}

    def decisions(*identifiers: dict[str, Any]) -> list[str]:
        answer = iam.simulate_principal_policy(**call, PolicyExclusionList=list(identifiers))
        return [r["EvalDecision"] for r in answer["EvaluationResults"]]

    assert decisions() == ["allowed", "allowed"]
    assert decisions({"PolicyArn": arn["Policy"]["Arn"]}) == ["implicitDeny", "allowed"]
    wildcard = arn["Policy"]["Arn"].replace("xsim-get", "xsim-*")
    assert decisions({"PolicyArn": wildcard}) == ["implicitDeny", "allowed"]
    assert decisions({"PolicyType": "user-managed"}) == ["implicitDeny", "allowed"]
    assert decisions({"PolicyType": "inline"}) == ["allowed", "implicitDeny"]
    inline = {"PolicyName": "put", "AttachmentType": "user", "AttachmentName": "xsim-exclude"}
    assert decisions({"InlinePolicyIdentifier": inline}) == ["allowed", "implicitDeny"]
    other = {**inline, "AttachmentName": "someone-else"}
    assert decisions({"InlinePolicyIdentifier": other}) == ["allowed", "allowed"]
    code, status, _ = error_of(
        iam.simulate_principal_policy,
        **call,
        PolicyExclusionList=[{"PolicyArn": "arn:aws:s3:::not-a-policy"}],
    )
    assert (code, status) == ("InvalidInput", 400)


def test_custom_simulation_takes_an_ordered_scp_hierarchy(iam: Any) -> None:
    """OrderedOrganizationPolicyInputList: every level, root to account, must allow."""
    allow_all = document({"Effect": "Allow", "Action": "*", "Resource": "*"})
    only_s3 = document({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    call = {"PolicyInputList": [allow("*")], "ActionNames": ["s3:GetObject", "ec2:RunInstances"]}
    levels = [
        {"ServiceControlPolicyInputList": [allow_all]},
        {"ServiceControlPolicyInputList": [only_s3]},
    ]
    answer = iam.simulate_custom_policy(**call, OrderedOrganizationPolicyInputList=levels)
    results = {r["EvalActionName"]: r for r in answer["EvaluationResults"]}
    assert results["s3:GetObject"]["EvalDecision"] == "allowed"
    assert results["ec2:RunInstances"]["EvalDecision"] == "implicitDeny"
    assert results["ec2:RunInstances"]["OrganizationsDecisionDetail"] == {
        "AllowedByOrganizations": False
    }
    without = iam.simulate_custom_policy(**call)
    assert [r["EvalDecision"] for r in without["EvaluationResults"]] == ["allowed", "allowed"]


@pytest.mark.parametrize("custom", [False, True], ids=["principal", "custom"])
def test_simulation_results_are_paged(iam: Any, custom: bool) -> None:
    """MaxItems cuts the results; Marker resumes in IAM's action-major order."""
    user = iam.create_user(UserName=f"xsim-pages-{int(custom)}")["User"]["Arn"]
    actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["arn:aws:s3:::b/one", "arn:aws:s3:::b/two"]
    call: dict[str, Any] = {"ActionNames": actions, "ResourceArns": resources}
    if custom:
        call |= {"PolicyInputList": [allow("s3:GetObject")], "CallerArn": user}
        simulate = iam.simulate_custom_policy
    else:
        call |= {"PolicySourceArn": user}
        simulate = iam.simulate_principal_policy
    seen: list[tuple[str, str]] = []
    page = simulate(**call, MaxItems=4)
    assert page["IsTruncated"] is True
    seen += [(r["EvalActionName"], r["EvalResourceName"]) for r in page["EvaluationResults"]]
    page = simulate(**call, MaxItems=4, Marker=page["Marker"])
    assert page["IsTruncated"] is False
    seen += [(r["EvalActionName"], r["EvalResourceName"]) for r in page["EvaluationResults"]]
    assert seen == [(a, r) for a in actions for r in resources]
    paginator = iam.get_paginator(
        "simulate_custom_policy" if custom else "simulate_principal_policy"
    )
    pages = list(paginator.paginate(**call, PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3
    assert sum(len(p["EvaluationResults"]) for p in pages) == 6
