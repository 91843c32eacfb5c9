"""The gateway's pure parts: recognizing operations, mapping them to actions and resource
ARNs, context keys, S3's canonical request, aws-chunked bodies and error rendering."""

from __future__ import annotations

import base64
import json
import zlib
from datetime import UTC

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from awswire.errors import AwsError
from awswire.sigv4 import parse_signature, verify_signature
from dataplane.evaluation import Decision, Outcome, Stage, StatementMatch
from dataplane.gateway.actions import UnmappedOperation, actions_for
from dataplane.gateway.chunked import decode_chunked
from dataplane.gateway.context import request_context
from dataplane.gateway.errors import denial, denial_reason, refusal_of
from dataplane.gateway.resources import named_account, targets
from dataplane.gateway.routing import UnknownOperation, route
from dataplane.gateway.s3_signing import s3_canonical_request

ACCOUNT = "111122223333"


def _json_call(service: str, target: str, body: dict[str, object]) -> object:
    return route(service, "POST", "/", {}, {"x-amz-target": target}, json.dumps(body).encode())


@pytest.mark.parametrize(
    ("method", "path", "query", "operation", "action", "resource"),
    [
        (
            "GET",
            "/reports/q3/a%20b.csv",
            {},
            "GetObject",
            "s3:GetObject",
            "arn:aws:s3:::reports/q3/a b.csv",
        ),
        ("HEAD", "/reports/k", {}, "HeadObject", "s3:GetObject", "arn:aws:s3:::reports/k"),
        (
            "GET",
            "/reports",
            {"list-type": "2", "prefix": "q"},
            "ListObjectsV2",
            "s3:ListBucket",
            "arn:aws:s3:::reports",
        ),
        ("HEAD", "/reports", {}, "HeadBucket", "s3:ListBucket", "arn:aws:s3:::reports"),
        ("PUT", "/reports", {}, "CreateBucket", "s3:CreateBucket", "arn:aws:s3:::reports"),
        (
            "PUT",
            "/reports",
            {"policy": ""},
            "PutBucketPolicy",
            "s3:PutBucketPolicy",
            "arn:aws:s3:::reports",
        ),
        (
            "GET",
            "/reports",
            {"policy": ""},
            "GetBucketPolicy",
            "s3:GetBucketPolicy",
            "arn:aws:s3:::reports",
        ),
        ("PUT", "/reports/k", {}, "PutObject", "s3:PutObject", "arn:aws:s3:::reports/k"),
        ("DELETE", "/reports/k", {}, "DeleteObject", "s3:DeleteObject", "arn:aws:s3:::reports/k"),
        ("GET", "/", {}, "ListBuckets", "s3:ListAllMyBuckets", "*"),
    ],
)
def test_s3_path_style_requests_map_to_their_actions_and_arns(  # noqa: PLR0917 - parametrized
    method: str, path: str, query: dict[str, str], operation: str, action: str, resource: str
) -> None:
    call = route("s3", method, path, query, {}, b"")
    assert call.operation == operation
    actions = actions_for(call)
    assert actions == (action,)
    assert [t.resource for t in targets(call, actions, "us-east-1", ACCOUNT)] == [resource]


def test_json_operations_map_to_arns_of_the_callers_account_or_the_one_they_name() -> None:
    send = _json_call(
        "sqs",
        "AmazonSQS.SendMessage",
        {"QueueUrl": "http://h/444455556666/jobs", "MessageBody": "x"},
    )
    actions = actions_for(send)
    assert [t.resource for t in targets(send, actions, "eu-west-1", ACCOUNT)] == [
        "arn:aws:sqs:eu-west-1:444455556666:jobs"
    ]
    assert named_account(send, actions) == "444455556666"
    get = _json_call(
        "dynamodb", "DynamoDB_20120810.Query", {"TableName": "t", "IndexName": "byDate"}
    )
    assert [t.resource for t in targets(get, actions_for(get), "us-east-1", ACCOUNT)] == [
        f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/t/index/byDate"
    ]
    decrypt = _json_call("kms", "TrentService.Decrypt", {"KeyId": "1234abcd"})
    assert [t.resource for t in targets(decrypt, actions_for(decrypt), "us-east-1", ACCOUNT)] == [
        f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd"
    ]
    create = _json_call("kms", "TrentService.CreateKey", {})
    assert [t.resource for t in targets(create, actions_for(create), "us-east-1", ACCOUNT)] == ["*"]
    parameter = _json_call("ssm", "AmazonSSM.GetParameter", {"Name": "/app/db"})
    assert targets(parameter, actions_for(parameter), "us-east-1", ACCOUNT)[0].resource == (
        f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/app/db"
    )
    events = _json_call(
        "logs", "Logs_20140328.PutLogEvents", {"logGroupName": "app", "logStreamName": "s1"}
    )
    assert targets(events, actions_for(events), "us-east-1", ACCOUNT)[0].resource == (
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:app:log-stream:s1"
    )


def test_lambda_invoke_is_invoke_function_on_the_function() -> None:
    call = route("lambda", "POST", "/2015-03-31/functions/resize/invocations", {}, {}, b"")
    actions = actions_for(call)
    assert actions == ("lambda:InvokeFunction",)
    assert targets(call, actions, "us-east-1", ACCOUNT)[0].resource == (
        f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:resize"
    )


def test_sns_query_calls_name_their_topic() -> None:
    topic = "arn%3Aaws%3Asns%3Aus-east-1%3A444455556666%3Aalerts"
    body = f"Action=Publish&Version=2010-03-31&TopicArn={topic}&Message=x".encode()
    call = route(
        "sns", "POST", "/", {}, {"content-type": "application/x-www-form-urlencoded"}, body
    )
    actions = actions_for(call)
    assert actions == ("sns:Publish",)
    assert targets(call, actions, "us-east-1", ACCOUNT)[0].resource == (
        "arn:aws:sns:us-east-1:444455556666:alerts"
    )


def test_unknown_and_unmapped_operations_are_named() -> None:
    with pytest.raises(UnknownOperation, match="DropEverything"):
        _json_call("dynamodb", "DynamoDB_20120810.DropEverything", {})
    with pytest.raises(UnknownOperation):
        route("s3", "PATCH", "/b/k", {}, {}, b"")
    accelerate = route("s3", "GET", "/b", {"accelerate": ""}, {}, b"")
    with pytest.raises(UnmappedOperation, match="GetBucketAccelerateConfiguration"):
        actions_for(accelerate)


def test_context_keys_from_tags_and_service_parameters() -> None:
    listing = route(
        "s3", "GET", "/b", {"list-type": "2", "prefix": "home/"}, {"x-amz-acl": "private"}, b""
    )
    context = request_context(listing)
    assert context["s3:prefix"] == "home/"
    assert context["s3:x-amz-acl"] == "private"
    encrypt = _json_call(
        "kms", "TrentService.Encrypt", {"KeyId": "k", "EncryptionContext": {"app": "pay"}}
    )
    assert request_context(encrypt)["kms:EncryptionContext:app"] == "pay"
    queue = _json_call("sqs", "AmazonSQS.CreateQueue", {"QueueName": "q", "tags": {"team": "a"}})
    assert request_context(queue) == {"aws:RequestTag/team": "a", "aws:TagKeys": ["team"]}
    item = _json_call(
        "dynamodb", "DynamoDB_20120810.GetItem", {"TableName": "t", "Key": {"pk": {"S": "u1"}}}
    )
    assert request_context(item)["dynamodb:LeadingKeys"] == ["u1"]


def test_s3_canonical_request_verifies_what_botocore_signed() -> None:
    """botocore signs S3 without normalising or re-encoding the path; the gateway's canonical
    request (built by botocore.auth) verifies it, and a changed path does not."""
    url = "http://127.0.0.1:4610/b/a%20b/..%2Fc?list-type=2&prefix=a%2Fb"
    request = AWSRequest(
        method="GET", url=url, headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
    )
    S3SigV4Auth(Credentials("AKIAEXAMPLEEXAMPLE00", "secret"), "s3", "us-east-1").add_auth(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers["host"] = "127.0.0.1:4610"
    path, query = "/b/a%20b/..%2Fc", "list-type=2&prefix=a%2Fb"
    claim = parse_signature("GET", path, query, headers)
    now = claim.request_time.astimezone(UTC)

    def verify(canonical: str) -> None:
        verify_signature(
            claim, "GET", path, query, headers, b"", "secret", now, "s3", "us-east-1",
            canonical=canonical,
        )  # fmt: skip

    verify(s3_canonical_request(claim, "GET", path, query, headers, ""))
    normalised = s3_canonical_request(claim, "GET", "/b/a%20b/c", query, headers, "")
    with pytest.raises(AwsError, match="SignatureDoesNotMatch"):
        verify(normalised)


def test_aws_chunked_bodies_decode_and_their_checksums_are_checked() -> None:
    data = b"hello trailer world"
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    body = b"13\r\n" + data + b"\r\n0\r\n" + f"x-amz-checksum-crc32:{crc}\r\n\r\n".encode()
    decoded = decode_chunked(body)
    assert decoded.payload == data
    assert decoded.trailers == {"x-amz-checksum-crc32": crc}
    with pytest.raises(AwsError, match="BadDigest"):
        decode_chunked(body.replace(b"hello", b"HELLO"))
    with pytest.raises(AwsError, match="IncompleteBody"):
        decode_chunked(b"ff\r\nshort")


def _decision(outcome: Outcome, stage: Stage, *denying: str) -> Decision:
    matched = tuple(StatementMatch(label, None, "Deny", 0) for label in denying)
    return Decision(outcome, stage, matched, (), ())


def test_denial_messages_use_aws_wording() -> None:
    action = "s3:GetObject"
    assert denial_reason(_decision(Outcome.IMPLICIT_DENY, Stage.NO_ALLOW), action) == (
        "because no identity-based policy allows the s3:GetObject action"
    )
    scp = "arn:aws:organizations::1:policy/o-1/service_control_policy/p-1"
    assert denial_reason(_decision(Outcome.EXPLICIT_DENY, Stage.EXPLICIT_DENY, scp), action) == (
        "with an explicit deny in a service control policy"
    )
    rcp = "arn:aws:organizations::1:policy/o-1/resource_control_policy/p-2"
    assert denial_reason(_decision(Outcome.EXPLICIT_DENY, Stage.EXPLICIT_DENY, rcp), action) == (
        "with an explicit deny in a resource control policy"
    )
    assert denial_reason(_decision(Outcome.IMPLICIT_DENY, Stage.RESOURCE), action) == (
        "because no resource-based policy allows the s3:GetObject action"
    )


def test_refusals_are_rendered_as_each_service_renders_them() -> None:
    denied = denial("arn:aws:iam::1:user/a", "s3:GetObject", "arn:aws:s3:::b/k", "because ...")
    s3 = refusal_of(denied, "s3", "rest-xml", "RID")
    assert s3.status == 403
    assert b"<Code>AccessDenied</Code>" in s3.body
    unknown = AwsError("InvalidClientTokenId", "x", 403)
    s3_unknown = refusal_of(unknown, "s3", "rest-xml", "RID", "AKIAEXAMPLE")
    assert b"<Code>InvalidAccessKeyId</Code>" in s3_unknown.body
    assert b"<AWSAccessKeyId>AKIAEXAMPLE</AWSAccessKeyId>" in s3_unknown.body
    dynamodb = refusal_of(unknown, "dynamodb", "json", "RID")
    assert (dynamodb.status, json.loads(dynamodb.body)["__type"].split("#")[1]) == (
        400,
        "UnrecognizedClientException",
    )
    json_denied = refusal_of(denied, "kms", "json", "RID")
    assert json.loads(json_denied.body)["__type"].endswith("#AccessDeniedException")
    sns = refusal_of(denied, "sns", "query", "RID")
    assert (sns.status, b"<Code>AuthorizationError</Code>" in sns.body) == (403, True)
    ec2 = refusal_of(denied, "ec2", "ec2", "RID", encoded_message="ENCODED")
    assert ec2.status == 403
    assert b"<Code>UnauthorizedOperation</Code>" in ec2.body
    assert b"Encoded authorization failure message: ENCODED" in ec2.body
    assert refusal_of(unknown, "ec2", "ec2", "RID").status == 401
