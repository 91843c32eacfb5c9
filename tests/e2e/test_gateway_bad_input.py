"""Bad input on the gateway: each service's own error, never a 500 or a traceback, and
nothing reaches the services backend."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
import zlib

import boto3
import botocore.exceptions
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.e2e.cluster import Cluster, account_of_its_own
from tests.e2e.gateway_helpers import client

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cluster(shared_cluster: Cluster) -> Cluster:
    """The shared cluster, in an account of the module's own, with a bucket."""
    running = account_of_its_own(shared_cluster)
    client(running, "s3", "us-east-1").create_bucket(Bucket="guarded")
    return running


def _raw(url: str, body: bytes, headers: dict[str, str], method: str = "POST") -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _objects(cluster: Cluster) -> list[str]:
    listed = client(cluster, "s3", "us-east-1").list_objects_v2(Bucket="guarded")
    return [o["Key"] for o in listed.get("Contents", [])]


def test_a_bad_signature_is_s3s_signature_does_not_match_and_writes_nothing(
    cluster: Cluster,
) -> None:
    keys = cluster.root_credentials()
    keys["aws_secret_access_key"] = "wrong" + keys["aws_secret_access_key"][5:]
    s3 = client(cluster, "s3", "us-east-1", **keys)
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        s3.put_object(Bucket="guarded", Key="forged", Body=b"x")
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "forged" not in _objects(cluster)


def test_an_unknown_key_on_json_services_is_unrecognized_client(cluster: Cluster) -> None:
    fake = {"aws_access_key_id": "AKIAAAAAAAAAAAAAAAAA", "aws_secret_access_key": "x" * 40}
    dynamodb = client(cluster, "dynamodb", "us-east-1", **fake)
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        dynamodb.list_tables()
    assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    sns = client(cluster, "sns", "us-east-1", **fake)
    with pytest.raises(botocore.exceptions.ClientError) as sns_refused:
        sns.list_topics()
    assert sns_refused.value.response["Error"]["Code"] == "InvalidClientTokenId"
    ec2 = client(cluster, "ec2", "us-east-1", **fake)
    with pytest.raises(botocore.exceptions.ClientError) as ec2_refused:
        ec2.describe_instances()
    assert ec2_refused.value.response["Error"]["Code"] == "AuthFailure"


def test_unknown_operations_and_malformed_bodies_get_the_services_errors(cluster: Cluster) -> None:
    url = cluster.file.regions["us-east-1"].endpoint
    status, body = _raw(
        url + "/",
        b"{}",
        {
            "X-Amz-Target": "DynamoDB_20120810.DropEverything",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    assert status == 400
    assert "DropEverything" in json.loads(body)["message"]
    status, body = _raw(
        url + "/",
        b"{not json",
        {
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    assert status == 400
    assert json.loads(body)["__type"].endswith("SerializationException")
    status, body = _raw(
        url + "/",
        b"{}",
        {
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    assert status == 400  # unsigned: DynamoDB has no anonymous callers
    assert json.loads(body)["__type"].endswith("MissingAuthenticationTokenException")
    status, body = _raw(url + "/guarded/x?torrent-of-nothing", b"", {}, method="PATCH")
    assert status == 400
    assert b"<Code>UnknownOperationException</Code>" in body
    status, body = _raw(
        url + "/guarded/x", b"", {"Authorization": "AWS4-HMAC-SHA256 garbage"}, "PUT"
    )
    assert status == 400
    assert b"Traceback" not in body
    assert "x" not in _objects(cluster)


def test_a_huge_body_is_entity_too_large(cluster: Cluster) -> None:
    url = cluster.file.regions["us-east-1"].endpoint + "/guarded/huge"
    status, body = _raw(url, b"\0" * (33 * 1024 * 1024), {}, method="PUT")
    assert status == 400
    assert b"<Code>EntityTooLarge</Code>" in body
    assert "huge" not in _objects(cluster)


def test_an_unmapped_operation_is_refused_naming_it(cluster: Cluster) -> None:
    s3 = client(cluster, "s3", "us-east-1")
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        s3.get_bucket_accelerate_configuration(Bucket="guarded")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    message = refused.value.response["Error"]["Message"]
    assert "cannot map s3 operation GetBucketAccelerateConfiguration" in message


def test_s3_signed_for_another_region_names_the_expected_one(cluster: Cluster) -> None:
    """S3's AuthorizationHeaderMalformed (400) names the region the endpoint expects."""
    s3 = client(cluster, "s3", "us-east-1")
    misdirected = boto3.client(
        "s3",
        endpoint_url=cluster.file.regions["us-east-1"].endpoint,
        region_name="eu-west-1",
        config=s3.meta.config,
        **cluster.root_credentials(),
    )
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        misdirected.head_object(Bucket="guarded", Key="nothing")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(botocore.exceptions.ClientError) as listed:
        misdirected.list_objects_v2(Bucket="guarded")
    assert listed.value.response["Error"]["Code"] == "AuthorizationHeaderMalformed"
    assert "expecting 'us-east-1'" in listed.value.response["Error"]["Message"]


def _streaming_put(cluster: Cluster, key: str, data: bytes, crc_of: bytes) -> tuple[int, bytes]:
    """PutObject as boto3 sends it over HTTPS: aws-chunked, STREAMING-UNSIGNED-PAYLOAD-TRAILER,
    the CRC32 in a trailer (of ``crc_of``), signed by botocore's own S3 signer."""
    crc = base64.b64encode(zlib.crc32(crc_of).to_bytes(4, "big")).decode()
    body = (
        f"{len(data):x}\r\n".encode()
        + data
        + b"\r\n0\r\n"
        + f"x-amz-checksum-crc32:{crc}\r\n\r\n".encode()
    )
    endpoint = cluster.file.regions["us-east-1"].endpoint
    headers = {
        "Content-Type": "application/octet-stream",
        "Content-Encoding": "aws-chunked",
        "X-Amz-Content-SHA256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "x-amz-decoded-content-length": str(len(data)),
        "x-amz-trailer": "x-amz-checksum-crc32",
    }
    request = AWSRequest(method="PUT", url=f"{endpoint}/guarded/{key}", headers=headers, data=body)
    keys = cluster.root_credentials()
    credentials = Credentials(keys["aws_access_key_id"], keys["aws_secret_access_key"])
    S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    return _raw(request.url, body, {k: str(v) for k, v in request.headers.items()}, "PUT")


def test_streaming_uploads_with_a_crc32_trailer_are_checked_and_stored(cluster: Cluster) -> None:
    data = b"streamed with a trailer"
    status, _ = _streaming_put(cluster, "streamed", data, data)
    assert status == 200
    got = client(cluster, "s3", "us-east-1").get_object(Bucket="guarded", Key="streamed")
    assert got["Body"].read() == data
    status, body = _streaming_put(cluster, "corrupted", data, b"something else")
    assert status == 400
    assert b"<Code>BadDigest</Code>" in body
    assert "corrupted" not in _objects(cluster)
