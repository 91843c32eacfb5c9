"""SNS, Secrets Manager, SSM Parameter Store, CloudWatch Logs, Lambda and EC2 through the
gateway, operation by operation: served when allowed, refused in each service's own shape."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import botocore.exceptions
import pytest

from tests.e2e.cluster import Cluster, account_of_its_own, region_delays
from tests.e2e.gateway_helpers import client, outcome, wait_for
from tests.e2e.sts_helpers import allow, policy, trust, version_of

pytestmark = pytest.mark.e2e

REGION = "us-east-1"
SLOW = "eu-west-1"  # its delay makes a new role's arrival observable
LAMBDA_TRUST = policy(
    {
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
)


@pytest.fixture(scope="module")
def cluster(shared_cluster: Cluster) -> Iterator[Cluster]:
    """The shared cluster, in an account of the module's own; eu-west-1 applies changes 1.5 s
    late."""
    running = account_of_its_own(shared_cluster)
    with region_delays(running, "eu-west-1=1500"):
        yield running


@pytest.fixture(scope="module")
def nobody(cluster: Cluster) -> dict[str, str]:
    """A user with no policy at all: every call of theirs is refused."""
    iam = cluster.iam()
    iam.create_user(UserName="nobody")
    key = iam.create_access_key(UserName="nobody")["AccessKey"]
    cluster.wait_converged(version_of(iam.list_users()))
    return {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }


def _refusal(call: Any, **params: Any) -> tuple[str, int, str]:
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        call(**params)
    response = refused.value.response
    return (
        str(response["Error"]["Code"]),
        int(response["ResponseMetadata"]["HTTPStatusCode"]),
        str(response["Error"].get("Message", "")),
    )


def test_sns_topics(cluster: Cluster, nobody: dict[str, str]) -> None:
    sns = client(cluster, "sns", REGION)
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    assert topic == f"arn:aws:sns:{REGION}:{cluster.account}:alerts"
    assert sns.publish(TopicArn=topic, Message="disk full")["MessageId"]
    assert "Policy" in sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    code, status, message = _refusal(
        client(cluster, "sns", REGION, **nobody).publish, TopicArn=topic, Message="x"
    )
    assert (code, status) == ("AuthorizationError", 403)
    assert f"perform: sns:Publish on resource: {topic} because no identity-based" in message


def test_secrets_manager_secrets(cluster: Cluster, nobody: dict[str, str]) -> None:
    secrets = client(cluster, "secretsmanager", REGION)
    arn = secrets.create_secret(Name="db-password", SecretString="hunter2")["ARN"]
    assert secrets.get_secret_value(SecretId="db-password")["SecretString"] == "hunter2"
    secrets.put_secret_value(SecretId=arn, SecretString="hunter3")
    assert secrets.get_secret_value(SecretId=arn)["SecretString"] == "hunter3"
    code, status, message = _refusal(
        client(cluster, "secretsmanager", REGION, **nobody).get_secret_value, SecretId="db-password"
    )
    assert (code, status) == ("AccessDeniedException", 400)
    assert "secretsmanager:GetSecretValue on resource: " in message


def test_ssm_parameters(cluster: Cluster, nobody: dict[str, str]) -> None:
    ssm = client(cluster, "ssm", REGION)
    ssm.put_parameter(Name="/app/db/host", Value="db.internal", Type="String")
    assert ssm.get_parameter(Name="/app/db/host")["Parameter"]["Value"] == "db.internal"
    found = ssm.get_parameters(Names=["/app/db/host"])["Parameters"]
    assert [p["Value"] for p in found] == ["db.internal"]
    code, status, message = _refusal(
        client(cluster, "ssm", REGION, **nobody).get_parameter, Name="/app/db/host"
    )
    assert (code, status) == ("AccessDeniedException", 400)
    assert f"arn:aws:ssm:{REGION}:{cluster.account}:parameter/app/db/host" in message


def test_cloudwatch_logs(cluster: Cluster, nobody: dict[str, str]) -> None:
    logs = client(cluster, "logs", REGION)
    logs.create_log_group(logGroupName="app")
    logs.create_log_stream(logGroupName="app", logStreamName="web-1")
    logs.put_log_events(
        logGroupName="app",
        logStreamName="web-1",
        logEvents=[{"timestamp": int(time.time() * 1000), "message": "started"}],
    )
    events = logs.get_log_events(logGroupName="app", logStreamName="web-1")["events"]
    assert [e["message"] for e in events] == ["started"]
    code, status, _ = _refusal(
        client(cluster, "logs", REGION, **nobody).create_log_group, logGroupName="other"
    )
    assert (code, status) == ("AccessDeniedException", 400)


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return 1\n")
    return buffer.getvalue()


def test_a_new_role_cannot_be_assumed_by_lambda_until_it_reaches_the_region(
    cluster: Cluster, nobody: dict[str, str]
) -> None:
    """CreateFunction with a role just created answers "cannot be assumed by Lambda" in
    eu-west-1 until the role arrives there; then the function's management API works."""
    iam = cluster.iam()
    role = iam.create_role(RoleName="resize-exec", AssumeRolePolicyDocument=LAMBDA_TRUST)["Role"][
        "Arn"
    ]
    lam = client(cluster, "lambda", SLOW)
    create = {
        "FunctionName": "resize",
        "Runtime": "python3.11",
        "Role": role,
        "Handler": "handler.handler",
        "Code": {"ZipFile": _zip()},
    }
    code, status, message = _refusal(lam.create_function, **create)
    assert (code, status, message) == (
        "InvalidParameterValueException",
        400,
        "The role defined for the function cannot be assumed by Lambda.",
    )
    deadline = time.monotonic() + 60
    while outcome(lam.create_function, **create) != "OK":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert lam.get_function(FunctionName="resize")["Configuration"]["Role"] == role
    assert "resize" in [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    lam.add_permission(
        FunctionName="resize",
        StatementId="s3-invoke",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
    )
    assert "s3-invoke" in lam.get_policy(FunctionName="resize")["Policy"]
    code, status, message = _refusal(
        client(cluster, "lambda", SLOW, **nobody).get_function, FunctionName="resize"
    )
    assert (code, status) == ("AccessDeniedException", 403)
    assert f"arn:aws:lambda:{SLOW}:{cluster.account}:function:resize" in message


def test_a_role_lambda_may_not_assume_is_refused(cluster: Cluster) -> None:
    iam = cluster.iam()
    role = iam.create_role(
        RoleName="not-for-lambda",
        AssumeRolePolicyDocument=trust(f"arn:aws:iam::{cluster.account}:root"),
    )
    cluster.wait_converged(version_of(role))
    code, _, message = _refusal(
        client(cluster, "lambda", REGION).create_function,
        FunctionName="wrong-role",
        Runtime="python3.11",
        Role=role["Role"]["Arn"],
        Handler="handler.handler",
        Code={"ZipFile": _zip()},
    )
    assert (code, message) == (
        "InvalidParameterValueException",
        "The role defined for the function cannot be assumed by Lambda.",
    )


def test_ec2_unauthorized_operation_carries_a_decodable_message(
    cluster: Cluster, nobody: dict[str, str]
) -> None:
    """EC2 says UnauthorizedOperation with an encoded message that STS decodes."""
    assert "Reservations" in client(cluster, "ec2", REGION).describe_instances()
    code, status, message = _refusal(client(cluster, "ec2", REGION, **nobody).describe_instances)
    assert (code, status) == ("UnauthorizedOperation", 403)
    encoded = message.split("Encoded authorization failure message: ", 1)[1]
    iam = cluster.iam()
    iam.put_user_policy(
        UserName="nobody",
        PolicyName="decode",
        PolicyDocument=policy(allow("sts:DecodeAuthorizationMessage")),
    )
    sts = client(cluster, "sts", REGION, **nobody)
    wait_for("OK", sts.decode_authorization_message, EncodedMessage=encoded)
    decoded = json.loads(sts.decode_authorization_message(EncodedMessage=encoded)["DecodedMessage"])
    assert decoded["context"]["action"] == "ec2:DescribeInstances"
    iam.delete_user_policy(UserName="nobody", PolicyName="decode")
