"""AWS service calls through each region's data plane: boto3 and the AWS CLI, given only a
replica's endpoint, meet IAM's propagation delay on S3, SQS, DynamoDB and KMS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest

from tests.e2e.cluster import Cluster, account_of_its_own, region_delays
from tests.e2e.gateway_helpers import client, outcome, wait_for
from tests.e2e.sts_helpers import allow, credentials_of, policy, trust, version_of

pytestmark = [pytest.mark.e2e, pytest.mark.long]

#: each region's propagation delay (ms): far enough apart to see the order
DELAYS = ("us-east-1=600", "eu-west-1=1800", "ap-northeast-1=3000")
REGIONS = ("us-east-1", "eu-west-1", "ap-northeast-1")
BUCKET = "gateway-reports"


@pytest.fixture(scope="module")
def cluster(shared_cluster: Cluster) -> Iterator[Cluster]:
    """The shared cluster (with its moto server), in an account of the module's own, with
    the module's delays."""
    running = account_of_its_own(shared_cluster)
    s3 = client(running, "s3", "us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="q3.csv", Body=b"revenue,42\n")
    with region_delays(running, *DELAYS):
        yield running


def _keys(key: dict[str, Any]) -> dict[str, str]:
    return {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }


def _watch_region(
    cluster: Cluster, region: str, creds: dict[str, str], seen: dict[str, list[str]]
) -> None:
    """GetObject in ``region`` until it succeeds; note each new answer in order."""
    s3 = client(cluster, "s3", region, **creds)
    answers = seen[region] = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        answer = outcome(s3.get_object, Bucket=BUCKET, Key="q3.csv")
        if not answers or answers[-1] != answer:
            answers.append(answer)
        if answer == "OK":
            return
        time.sleep(0.02)


def test_a_new_key_on_s3_is_unknown_then_denied_then_allowed_region_by_region(
    cluster: Cluster,
) -> None:
    """(1) InvalidAccessKeyId, then AccessDenied, then success: in every region, in that
    order, each once its delay has passed (the slower the region, the later)."""
    iam = cluster.iam()
    iam.create_user(UserName="reader")
    key = _keys(iam.create_access_key(UserName="reader")["AccessKey"])
    seen: dict[str, list[str]] = {}
    watchers = [
        threading.Thread(target=_watch_region, args=(cluster, region, key, seen))
        for region in REGIONS
    ]
    for watcher in watchers:
        watcher.start()
    # the policy follows once every region knows the key (and so has answered AccessDenied)
    deadline = time.monotonic() + 60
    while not all(len(seen.get(r, [])) >= 2 for r in REGIONS):
        assert time.monotonic() < deadline, seen
        time.sleep(0.02)
    written = iam.put_user_policy(
        UserName="reader",
        PolicyName="read",
        PolicyDocument=policy(allow("s3:GetObject", f"arn:aws:s3:::{BUCKET}/*")),
    )
    for watcher in watchers:
        watcher.join(timeout=120)
    for region in REGIONS:
        assert seen[region] == ["InvalidAccessKeyId", "AccessDenied", "OK"], (region, seen)
    cluster.wait_converged(version_of(written))


def test_the_slower_region_allows_later(cluster: Cluster) -> None:
    """A policy put now reaches us-east-1 before ap-northeast-1: the first success there comes
    after the first success here (their delays are 2.4 s apart)."""
    iam = cluster.iam()
    iam.create_user(UserName="lister")
    key = _keys(iam.create_access_key(UserName="lister")["AccessKey"])
    cluster.wait_converged(version_of(iam.list_users()))
    iam.put_user_policy(
        UserName="lister",
        PolicyName="list",
        PolicyDocument=policy(allow("s3:ListBucket", f"arn:aws:s3:::{BUCKET}")),
    )
    first_ok: dict[str, float] = {}
    deadline = time.monotonic() + 60
    clients = {r: client(cluster, "s3", r, **key) for r in ("us-east-1", "ap-northeast-1")}
    while len(first_ok) < 2:
        assert time.monotonic() < deadline, first_ok
        for region, s3 in clients.items():
            if region not in first_ok and outcome(s3.list_objects_v2, Bucket=BUCKET) == "OK":
                first_ok[region] = time.monotonic()
        time.sleep(0.02)
    assert first_ok["us-east-1"] < first_ok["ap-northeast-1"]


def test_an_assumed_role_may_send_to_sqs_once_its_policy_reaches_the_region(
    cluster: Cluster,
) -> None:
    """(2) Create a role, assume it: sqs:SendMessage is AccessDenied until the role's policy
    reaches eu-west-1, then succeeds."""
    region = "eu-west-1"
    queue = client(cluster, "sqs", region).create_queue(QueueName="orders")["QueueUrl"]
    iam = cluster.iam()
    iam.create_user(UserName="app")
    key = _keys(iam.create_access_key(UserName="app")["AccessKey"])
    iam.put_user_policy(
        UserName="app", PolicyName="assume", PolicyDocument=policy(allow("sts:AssumeRole"))
    )
    role = iam.create_role(
        RoleName="sender", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{cluster.account}:root")
    )
    cluster.wait_converged(version_of(role))
    sts = client(cluster, "sts", region, **key)
    session = credentials_of(sts.assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName="s1"))
    sqs = client(cluster, "sqs", region, **session)
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        sqs.send_message(QueueUrl=queue, MessageBody="order-1")
    error = denied.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert "is not authorized to perform: sqs:SendMessage on resource: " in error["Message"]
    assert "because no identity-based policy allows the sqs:SendMessage action" in error["Message"]
    iam.put_role_policy(
        RoleName="sender", PolicyName="send", PolicyDocument=policy(allow("sqs:SendMessage"))
    )
    wait_for("OK", sqs.send_message, QueueUrl=queue, MessageBody="order-2")
    root_sqs = client(cluster, "sqs", region)
    assert root_sqs.get_queue_url(QueueName="orders")["QueueUrl"] == queue
    messages = root_sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in messages] == ["order-2"]  # the denied one never reached it
    root_sqs.delete_message(QueueUrl=queue, ReceiptHandle=messages[0]["ReceiptHandle"])


def test_a_key_policy_that_does_not_allow_the_account_refuses_decrypt(cluster: Cluster) -> None:
    """(4) An identity policy allowing kms:* is not enough: the key policy must allow Decrypt
    (here it delegates only Encrypt to the account), until PutKeyPolicy says otherwise."""
    region = "us-east-1"
    account = cluster.account
    root = f"arn:aws:iam::{account}:root"

    def key_policy(*actions: str) -> str:
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": root},
                        "Action": list(actions),
                        "Resource": "*",
                    }
                ],
            }
        )

    kms = client(cluster, "kms", region)
    key_id = kms.create_key(
        Policy=key_policy("kms:Encrypt", "kms:DescribeKey", "kms:PutKeyPolicy"),
        BypassPolicyLockoutSafetyCheck=True,
    )["KeyMetadata"]["KeyId"]
    iam = cluster.iam()
    iam.create_user(UserName="crypto")
    key = _keys(iam.create_access_key(UserName="crypto")["AccessKey"])
    cluster.wait_converged(
        version_of(
            iam.put_user_policy(
                UserName="crypto", PolicyName="kms", PolicyDocument=policy(allow("kms:*"))
            )
        )
    )
    crypto = client(cluster, "kms", region, **key)
    blob = crypto.encrypt(KeyId=key_id, Plaintext=b"secret")["CiphertextBlob"]
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        crypto.decrypt(KeyId=key_id, CiphertextBlob=blob)
    error = denied.value.response["Error"]
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"].endswith(
        "because no resource-based policy allows the kms:Decrypt action"
    )
    kms.put_key_policy(
        KeyId=key_id,
        PolicyName="default",
        Policy=key_policy("kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:PutKeyPolicy"),
        BypassPolicyLockoutSafetyCheck=True,
    )
    # the other replicas of the region read the new key policy within their cache's 2 s
    wait_for("OK", crypto.decrypt, KeyId=key_id, CiphertextBlob=blob)
    assert crypto.decrypt(KeyId=key_id, CiphertextBlob=blob)["Plaintext"] == b"secret"


def test_dynamodb_operations_through_the_gateway(cluster: Cluster) -> None:
    """CreateTable, PutItem, GetItem, Query, DeleteItem as root; a user whose policy names
    another table is refused with DynamoDB's AccessDeniedException."""
    dynamodb = client(cluster, "dynamodb", "us-east-1")
    dynamodb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(TableName="orders", Item={"pk": {"S": "o1"}, "total": {"N": "42"}})
    assert dynamodb.get_item(TableName="orders", Key={"pk": {"S": "o1"}})["Item"]["total"] == {
        "N": "42"
    }
    found = dynamodb.query(
        TableName="orders",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "o1"}},
    )
    assert found["Count"] == 1
    dynamodb.delete_item(TableName="orders", Key={"pk": {"S": "o1"}})
    assert "Item" not in dynamodb.get_item(TableName="orders", Key={"pk": {"S": "o1"}})

    iam = cluster.iam()
    iam.create_user(UserName="other-table")
    key = _keys(iam.create_access_key(UserName="other-table")["AccessKey"])
    arn = f"arn:aws:dynamodb:us-east-1:{cluster.account}:table/invoices"
    cluster.wait_converged(
        version_of(
            iam.put_user_policy(
                UserName="other-table",
                PolicyName="t",
                PolicyDocument=policy(allow("dynamodb:*", arn)),
            )
        )
    )
    limited = client(cluster, "dynamodb", "us-east-1", **key)
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        limited.get_item(TableName="orders", Key={"pk": {"S": "o1"}})
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert (
        f"on resource: arn:aws:dynamodb:us-east-1:{cluster.account}:table/orders"
        in (denied.value.response["Error"]["Message"])
    )


def test_s3_operations_and_bucket_policy(cluster: Cluster) -> None:
    """HeadObject, ListObjectsV2, DeleteObject, PutBucketPolicy, GetBucketPolicy; a bucket
    policy allowing "*" lets an unsigned (anonymous) GetObject through, and only then."""
    s3 = client(cluster, "s3", "eu-west-1")
    s3.create_bucket(
        Bucket="public-site", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    s3.put_object(Bucket="public-site", Key="index.html", Body=b"<h1>hi</h1>")
    assert s3.head_object(Bucket="public-site", Key="index.html")["ContentLength"] == 11
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="public-site")["Contents"]] == [
        "index.html"
    ]
    url = f"{cluster.file.regions['eu-west-1'].endpoint}/public-site/index.html"
    with pytest.raises(urllib.error.HTTPError) as anonymous:
        urllib.request.urlopen(url, timeout=5)
    assert anonymous.value.code == 403
    assert b"<Code>AccessDenied</Code>" in anonymous.value.read()
    public = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::public-site/*",
                }
            ],
        }
    )
    s3.put_bucket_policy(Bucket="public-site", Policy=public)
    assert json.loads(s3.get_bucket_policy(Bucket="public-site")["Policy"]) == json.loads(public)
    for replica in cluster.file.regions["eu-west-1"].replicas.values():
        # each replica reads the new policy once its cached answer (2 s at most) expires
        wait_for("OK", _unsigned_get, url=f"{replica.endpoint}/public-site/index.html")
    with urllib.request.urlopen(url, timeout=5) as answer:
        assert answer.read() == b"<h1>hi</h1>"
    s3.delete_object(Bucket="public-site", Key="index.html")
    assert s3.list_objects_v2(Bucket="public-site")["KeyCount"] == 0


def _unsigned_get(url: str) -> None:
    try:
        urllib.request.urlopen(url, timeout=5).close()
    except urllib.error.HTTPError as error:
        raise botocore.exceptions.ClientError(
            {"Error": {"Code": str(error.code), "Message": ""}}, "GetObject"
        ) from None


def test_presigned_urls_are_verified(cluster: Cluster) -> None:
    """A SigV4 presigned GetObject works; the same URL with one signature digit changed is
    SignatureDoesNotMatch (403, S3's XML)."""
    s3 = client(cluster, "s3", "us-east-1")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "q3.csv"})
    with urllib.request.urlopen(url, timeout=5) as answer:
        assert answer.read() == b"revenue,42\n"
    last = url[-1]
    tampered = url[:-1] + ("0" if last != "0" else "1")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(tampered, timeout=5)
    assert refused.value.code == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in refused.value.read()


def test_iam_calls_sent_to_a_replica_reach_the_control_plane(cluster: Cluster) -> None:
    """One endpoint URL serves everything: IAM sent to a region's port is the control plane's."""
    cluster.iam().create_user(UserName="listed-through-a-replica")
    iam = boto3.client(
        "iam",
        endpoint_url=cluster.file.regions["eu-west-1"].endpoint,
        region_name="us-east-1",  # IAM is global: its calls are signed for us-east-1
        **cluster.root_credentials(),
    )
    names = {u["UserName"] for u in iam.list_users()["Users"]}
    assert "listed-through-a-replica" in names


def test_the_aws_cli_copies_to_and_from_s3_with_only_an_endpoint_url(
    cluster: Cluster, tmp_path: Path
) -> None:
    """``aws s3 cp`` / ``aws s3 ls`` with AWS_ENDPOINT_URL pointed at a region's port."""
    source = tmp_path / "notes.txt"
    source.write_text("from the cli\n")
    keys = cluster.root_credentials()
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": cluster.file.regions["eu-west-1"].endpoint,
        "AWS_ACCESS_KEY_ID": keys["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": keys["aws_secret_access_key"],
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_MAX_ATTEMPTS": "1",
    }
    aws = str(Path(sys.executable).parent / "aws")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [aws, *args], capture_output=True, text=True, env=env, timeout=60, check=False
        )

    made = run("s3", "mb", "s3://cli-bucket")
    assert made.returncode == 0, made.stderr
    copied = run("s3", "cp", str(source), "s3://cli-bucket/notes.txt")
    assert copied.returncode == 0, copied.stderr
    listed = run("s3", "ls", "s3://cli-bucket/")
    assert "notes.txt" in listed.stdout, listed.stderr
    back = tmp_path / "back.txt"
    fetched = run("s3", "cp", "s3://cli-bucket/notes.txt", str(back))
    assert fetched.returncode == 0, fetched.stderr
    assert back.read_text() == "from the cli\n"
    env["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
    refused = run("s3", "ls", "s3://cli-bucket/")
    assert refused.returncode != 0
    assert "SignatureDoesNotMatch" in refused.stderr


def test_copy_object_needs_put_on_the_target_and_get_on_the_source(cluster: Cluster) -> None:
    """CopyObject is s3:PutObject on the new object and s3:GetObject on the one it copies."""
    iam = cluster.iam()
    iam.create_user(UserName="copier")
    key = _keys(iam.create_access_key(UserName="copier")["AccessKey"])
    written = iam.put_user_policy(
        UserName="copier",
        PolicyName="put",
        PolicyDocument=policy(allow("s3:PutObject", f"arn:aws:s3:::{BUCKET}/copies/*")),
    )
    cluster.wait_converged(version_of(written))
    s3 = client(cluster, "s3", "us-east-1", **key)
    copy = {
        "Bucket": BUCKET,
        "Key": "copies/q3.csv",
        "CopySource": {"Bucket": BUCKET, "Key": "q3.csv"},
    }
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        s3.copy_object(**copy)
    message = denied.value.response["Error"]["Message"]
    assert f"perform: s3:GetObject on resource: arn:aws:s3:::{BUCKET}/q3.csv" in message
    written = iam.put_user_policy(
        UserName="copier",
        PolicyName="get",
        PolicyDocument=policy(allow("s3:GetObject", f"arn:aws:s3:::{BUCKET}/q3.csv")),
    )
    cluster.wait_converged(version_of(written))
    s3.copy_object(**copy)
    root = client(cluster, "s3", "us-east-1")
    assert root.get_object(Bucket=BUCKET, Key="copies/q3.csv")["Body"].read() == b"revenue,42\n"


def _refusal_with_verdict(call: Any, **params: Any) -> tuple[str, dict[str, Any] | None]:
    """The AWS error code a call is refused with and its ``x-iam-planes-stale`` verdict."""
    try:
        call(**params)
    except botocore.exceptions.ClientError as error:
        header = error.response["ResponseMetadata"]["HTTPHeaders"].get("x-iam-planes-stale")
        return str(error.response["Error"]["Code"]), None if header is None else json.loads(header)
    return "OK", None


def _until_stale(call: Any, **params: Any) -> tuple[str, dict[str, Any]]:
    """Ask until a refusal says it is only stale (the replica may not have read the change for
    a few milliseconds after the write is acknowledged); bounded well inside the delay."""
    deadline = time.monotonic() + 2
    while True:
        code, verdict = _refusal_with_verdict(call, **params)
        assert verdict is not None, code
        if verdict["stale"] or time.monotonic() > deadline:
            return code, verdict
        time.sleep(0.01)


def test_service_refusals_say_whether_they_are_only_stale(cluster: Cluster) -> None:
    """A refusal carries ``x-iam-planes-stale``: true, with the head's answer and the version
    that flips it, while that change waits out the region's delay; false for a denial no
    pending change would flip. The body stays the service's own."""
    iam = cluster.iam()
    iam.create_user(UserName="stale-reader")
    created = iam.create_access_key(UserName="stale-reader")
    s3 = client(cluster, "s3", "ap-northeast-1", **_keys(created["AccessKey"]))  # 3 s behind
    get = {"Bucket": BUCKET, "Key": "q3.csv"}

    code, verdict = _until_stale(s3.get_object, **get)
    assert code == "InvalidAccessKeyId"
    assert verdict["stale"] is True, verdict
    assert verdict["head_outcome"] == "ImplicitDeny"
    assert verdict["flips_at_version"] == version_of(created)

    cluster.wait_converged(version_of(created))
    code, verdict = _refusal_with_verdict(s3.get_object, **get)
    assert (code, verdict is not None and verdict["stale"]) == ("AccessDenied", False), verdict

    granted = iam.put_user_policy(
        UserName="stale-reader",
        PolicyName="read",
        PolicyDocument=policy(allow("s3:GetObject", f"arn:aws:s3:::{BUCKET}/*")),
    )
    code, verdict = _until_stale(s3.get_object, **get)
    assert code == "AccessDenied"
    assert verdict["stale"] is True, verdict
    assert (verdict["head_outcome"], verdict["flips_at_version"]) == ("Allow", version_of(granted))
    wait_for("OK", s3.get_object, **get)
