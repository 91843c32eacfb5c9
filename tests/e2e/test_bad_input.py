"""Bad input gets AWS's error code and status, never a 500, and never changes state."""

from __future__ import annotations

import urllib.error
import urllib.request

import botocore.exceptions
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.e2e.cluster import Cluster, account_of_its_own

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cluster(shared_cluster: Cluster) -> Cluster:
    """The shared cluster, in an account of the module's own, with one user to aim bad
    requests at."""
    running = account_of_its_own(shared_cluster)
    running.iam().create_user(UserName="target")
    return running


def _version(cluster: Cluster) -> int:
    headers = cluster.iam().list_users()["ResponseMetadata"]["HTTPHeaders"]
    return int(headers["x-iam-planes-version"])


def _signed_post(cluster: Cluster, body: bytes) -> tuple[int, str]:
    """POST a raw Query body to the control plane, signed with the root key by botocore."""
    creds = cluster.root_credentials()
    request = AWSRequest(
        method="POST",
        url=cluster.file.controlplane.endpoint + "/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(
        Credentials(creds["aws_access_key_id"], creds["aws_secret_access_key"]), "iam", "us-east-1"
    ).add_auth(request)
    raw = urllib.request.Request(
        request.url, data=body, headers=dict(request.headers.items()), method="POST"
    )
    try:
        with urllib.request.urlopen(raw, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _error_of(call: object, **kwargs: object) -> tuple[str, int]:
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call(**kwargs)  # type: ignore[operator]
    error = raised.value.response
    return error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]


def test_malformed_policy_json(cluster: Cluster) -> None:
    """A policy that is not JSON is MalformedPolicyDocument (400) and stores nothing."""
    before = _version(cluster)
    code = _error_of(
        cluster.iam().put_user_policy,
        UserName="target",
        PolicyName="broken",
        PolicyDocument='{"Version": "2012-10-17", "Statement": [',
    )
    assert code == ("MalformedPolicyDocument", 400)
    assert _version(cluster) == before
    assert cluster.iam().list_user_policies(UserName="target")["PolicyNames"] == []


def test_unknown_action(cluster: Cluster) -> None:
    """An action IAM does not have is InvalidAction (400)."""
    status, body = _signed_post(cluster, b"Action=FrobnicateUser&Version=2010-05-08")
    assert status == 400 and "<Code>InvalidAction</Code>" in body


def test_wrong_signature(cluster: Cluster) -> None:
    """A request signed with the wrong secret is SignatureDoesNotMatch (403)."""
    before = _version(cluster)
    key = cluster.root_credentials()["aws_access_key_id"]
    iam = cluster.iam(aws_access_key_id=key, aws_secret_access_key="x" * 40)
    assert _error_of(iam.create_user, UserName="mallory") == ("SignatureDoesNotMatch", 403)
    assert _version(cluster) == before


def test_unknown_access_key(cluster: Cluster) -> None:
    """A key nobody issued is InvalidClientTokenId (403)."""
    iam = cluster.iam(aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x" * 40)
    assert _error_of(iam.list_users) == ("InvalidClientTokenId", 403)


def test_missing_parameter(cluster: Cluster) -> None:
    """CreateUser without UserName is ValidationError (400), as IAM words it."""
    status, body = _signed_post(cluster, b"Action=CreateUser&Version=2010-05-08")
    assert status == 400 and "<Code>ValidationError</Code>" in body
    assert "userName" in body


def test_one_megabyte_body(cluster: Cluster) -> None:
    """A 1 MB policy document fails the model's length limit (ValidationError, 400)."""
    before = _version(cluster)
    huge = '{"Version":"2012-10-17","Statement":[]}' + " " * (1024 * 1024)
    code = _error_of(
        cluster.iam().put_user_policy, UserName="target", PolicyName="huge", PolicyDocument=huge
    )
    assert code == ("ValidationError", 400)
    assert _version(cluster) == before


def test_too_large_body_is_refused_without_a_500(cluster: Cluster) -> None:
    """A body past the server's limit gets an AWS error document, not a 500."""
    status, body = _signed_post(
        cluster, b"Action=ListUsers&Version=2010-05-08&Pad=" + b"a" * (3 << 20)
    )
    assert status == 413 and "<Code>RequestEntityTooLarge</Code>" in body


def test_aws_errors_for_entity_rules(cluster: Cluster) -> None:
    """NoSuchEntity, EntityAlreadyExists, DeleteConflict and LimitExceeded as AWS sends them."""
    iam = cluster.iam()
    assert _error_of(iam.get_user, UserName="nobody") == ("NoSuchEntity", 404)
    assert _error_of(iam.create_user, UserName="TARGET") == ("EntityAlreadyExists", 409)
    iam.create_access_key(UserName="target")
    iam.create_access_key(UserName="target")
    assert _error_of(iam.create_access_key, UserName="target") == ("LimitExceeded", 409)
    assert _error_of(iam.delete_user, UserName="target") == ("DeleteConflict", 409)
