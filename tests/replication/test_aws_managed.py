"""The AWS managed policy catalogue: its data file, every document, lookups and the IAM views."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import unquote

import orjson
import pytest

from controlplane.iam.operation import Requester
from controlplane.iam.policies.managed_policies import get_policy, get_policy_version, list_policies
from dataplane.evaluation import (
    Outcome,
    Principal,
    Request,
    build_policy_set,
    compile_policy,
    evaluate,
)
from replication.aws_managed import AWS_MANAGED_POLICIES, aws_managed_policy
from replication.policy import PolicyKind, parse_policy
from replication.state import IamState

ACCOUNT = "111122223333"
CALLER = Requester(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", None)
ALICE = Principal.iam_user(f"arn:aws:iam::{ACCOUNT}:user/alice", unique_id="AIDAALICE000000000001")
NOW = datetime(2026, 1, 1, tzinfo=UTC)
ARN = "arn:aws:iam::aws:policy/"
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/orders"
LAMBDA_LOGS = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/fn:log-stream:s"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
ROTATOR = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:SecretsManagerRotator"
OTHER_FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:billing"


@pytest.mark.parametrize("name", sorted(AWS_MANAGED_POLICIES))
def test_every_document_parses_and_compiles(name: str) -> None:
    """Each default version is a valid identity policy the engine compiles."""
    policy = AWS_MANAGED_POLICIES[name]
    parsed = parse_policy(policy.default_document, PolicyKind.IDENTITY)
    compiled = compile_policy(parsed, f"{policy.arn}:{policy.default_version}")
    assert compiled.statements


@pytest.mark.parametrize("name", sorted(AWS_MANAGED_POLICIES))
def test_every_entry_is_well_formed(name: str) -> None:
    """Name, path, ARN, id and the single default version agree with each other."""
    policy = AWS_MANAGED_POLICIES[name]
    assert policy.name == name and policy.account == "aws"
    assert policy.path in ("/", "/service-role/", "/job-function/")
    assert policy.arn == f"{ARN}{policy.path.lstrip('/')}{name}"
    assert aws_managed_policy(policy.arn) is policy
    assert policy.policy_id.startswith("ANPA") and len(policy.policy_id) == 21
    assert [v.version_id for v in policy.versions] == [policy.default_version]
    assert policy.default_version.startswith("v") and policy.default_version[1:].isdigit()
    assert policy.created_at <= policy.updated_at
    assert policy.description


def test_policy_ids_are_unique() -> None:
    """No two catalogue entries share a policy id."""
    ids = [p.policy_id for p in AWS_MANAGED_POLICIES.values()]
    assert len(ids) == len(set(ids))


def test_lookup_needs_the_exact_arn_path_included() -> None:
    """A service-role policy is found under its path only; other ARNs are not AWS managed."""
    found = aws_managed_policy(f"{ARN}service-role/AWSLambdaBasicExecutionRole")
    assert found is not None and found.path == "/service-role/"
    assert aws_managed_policy(f"{ARN}AWSLambdaBasicExecutionRole") is None
    assert aws_managed_policy(f"{ARN}NoSuchPolicy") is None
    assert aws_managed_policy(f"arn:aws:iam::{ACCOUNT}:policy/AdministratorAccess") is None
    state = IamState()
    assert state.managed_policy(f"{ARN}service-role/AWSLambdaBasicExecutionRole") is found


def test_real_metadata_of_well_known_policies() -> None:
    """Ids, versions and dates are AWS's own, not placeholders."""
    admin = AWS_MANAGED_POLICIES["AdministratorAccess"]
    assert (admin.policy_id, admin.default_version) == ("ANPAIWMBCKSKIEE64ZLYK", "v1")
    assert admin.created_at == datetime(2015, 2, 6, 18, 39, 46, tzinfo=UTC)
    assert orjson.loads(admin.default_document) == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    basic = AWS_MANAGED_POLICIES["AWSLambdaBasicExecutionRole"]
    assert (basic.policy_id, basic.default_version) == ("ANPAJNCQGXC42545SKXIK", "v1")
    assert basic.description == "Provides write permissions to CloudWatch Logs."


def _decision(policy_name: str, action: str, resource: str = "*") -> Outcome:
    policies = build_policy_set(identity=[AWS_MANAGED_POLICIES[policy_name].default_document])
    return evaluate(Request(ALICE, action, resource), policies).decision


@pytest.mark.parametrize(
    ("policy_name", "action", "resource", "expected"),
    [
        ("AWSLambdaBasicExecutionRole", "logs:PutLogEvents", "*", Outcome.ALLOW),
        ("AWSLambdaBasicExecutionRole", "s3:GetObject", "arn:aws:s3:::b/k", Outcome.IMPLICIT_DENY),
        ("AmazonS3ReadOnlyAccess", "s3:GetObject", "arn:aws:s3:::b/k", Outcome.ALLOW),
        ("AmazonS3ReadOnlyAccess", "s3:PutObject", "arn:aws:s3:::b/k", Outcome.IMPLICIT_DENY),
        ("AmazonS3FullAccess", "s3:PutObject", "arn:aws:s3:::b/k", Outcome.ALLOW),
        ("PowerUserAccess", "ec2:RunInstances", "*", Outcome.ALLOW),
        ("PowerUserAccess", "iam:CreateUser", "*", Outcome.IMPLICIT_DENY),
        ("PowerUserAccess", "iam:CreateServiceLinkedRole", "*", Outcome.ALLOW),
        ("IAMReadOnlyAccess", "iam:GetUser", "*", Outcome.ALLOW),
        ("IAMReadOnlyAccess", "iam:CreateUser", "*", Outcome.IMPLICIT_DENY),
        ("AdministratorAccess", "iam:CreateUser", "*", Outcome.ALLOW),
        # the SMS statement only applies when SNS makes the call (aws:CalledViaLast)
        ("AmazonSNSFullAccess", "sms-voice:SendTextMessage", "*", Outcome.IMPLICIT_DENY),
        ("AmazonSNSFullAccess", "sns:Publish", "*", Outcome.ALLOW),
        # abridged (a read-only subset of AWS's document), but never more than read-only
        ("ReadOnlyAccess", "s3:GetObject", "arn:aws:s3:::b/k", Outcome.ALLOW),
        ("ReadOnlyAccess", "ec2:DescribeInstances", "*", Outcome.ALLOW),
        ("ReadOnlyAccess", "s3:PutObject", "arn:aws:s3:::b/k", Outcome.IMPLICIT_DENY),
        ("ReadOnlyAccess", "iam:CreateUser", "*", Outcome.IMPLICIT_DENY),
        ("AmazonEC2ReadOnlyAccess", "ec2:DescribeInstances", "*", Outcome.ALLOW),
        ("AmazonDynamoDBReadOnlyAccess", "dynamodb:PutItem", TABLE, Outcome.IMPLICIT_DENY),
        # log reads are scoped to Lambda's own log groups
        ("AWSLambda_ReadOnlyAccess", "logs:GetLogEvents", LAMBDA_LOGS, Outcome.ALLOW),
        # PassRole only when passed to lambda.amazonaws.com (iam:PassedToService absent here)
        ("AWSLambda_FullAccess", "iam:PassRole", ROLE, Outcome.IMPLICIT_DENY),
        ("SecretsManagerReadWrite", "lambda:InvokeFunction", ROTATOR, Outcome.ALLOW),
        ("SecretsManagerReadWrite", "lambda:InvokeFunction", OTHER_FN, Outcome.IMPLICIT_DENY),
    ],
)
def test_spot_check_evaluations(
    policy_name: str, action: str, resource: str, expected: Outcome
) -> None:
    """The pure engine gives the documented effect of a few catalogue policies."""
    assert _decision(policy_name, action, resource) is expected


def test_iam_user_change_password_is_scoped_to_the_caller() -> None:
    """IAMUserChangePassword lets a user change their own password only (${aws:username})."""
    assert _decision("IAMUserChangePassword", "iam:GetAccountPasswordPolicy") is Outcome.ALLOW
    own = f"arn:aws:iam::{ACCOUNT}:user/alice"
    other = f"arn:aws:iam::{ACCOUNT}:user/bob"
    assert _decision("IAMUserChangePassword", "iam:ChangePassword", own) is Outcome.ALLOW
    assert _decision("IAMUserChangePassword", "iam:ChangePassword", other) is (
        Outcome.IMPLICIT_DENY
    )


def test_list_policies_scope_aws_lists_the_whole_catalogue() -> None:
    """ListPolicies Scope=AWS returns every entry with its path, ARN and default version."""
    listed = list_policies(IamState(), {"Scope": "AWS", "MaxItems": 1000}, CALLER, NOW).result
    by_name = {p["PolicyName"]: p for p in listed["Policies"]}
    assert set(by_name) == set(AWS_MANAGED_POLICIES)
    lambda_basic = by_name["AWSLambdaBasicExecutionRole"]
    assert lambda_basic["Arn"] == f"{ARN}service-role/AWSLambdaBasicExecutionRole"
    assert lambda_basic["Path"] == "/service-role/"
    assert by_name["PowerUserAccess"]["DefaultVersionId"] == "v12"
    service_roles = list_policies(
        IamState(), {"Scope": "AWS", "PathPrefix": "/service-role/"}, CALLER, NOW
    ).result["Policies"]
    assert {p["Path"] for p in service_roles} == {"/service-role/"}


def test_get_policy_and_get_policy_version() -> None:
    """GetPolicy shows the metadata; GetPolicyVersion the default document under its real id."""
    arn = f"{ARN}AmazonS3ReadOnlyAccess"
    policy = get_policy(IamState(), {"PolicyArn": arn}, CALLER, NOW).result["Policy"]
    assert policy["PolicyId"] == "ANPAIZTJ4DXE7G6AGAE6M"
    assert policy["DefaultVersionId"] == "v3"
    params = {"PolicyArn": arn, "VersionId": "v3"}
    version = get_policy_version(IamState(), params, CALLER, NOW).result["PolicyVersion"]
    assert version["IsDefaultVersion"] is True
    document = orjson.loads(unquote(version["Document"]))
    assert document["Statement"][0]["Action"] == [
        "s3:Get*",
        "s3:List*",
        "s3:Describe*",
        "s3-object-lambda:Get*",
        "s3-object-lambda:List*",
    ]
