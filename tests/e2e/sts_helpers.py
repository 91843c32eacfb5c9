"""Helpers for the STS end-to-end tests: clients, policies, signed /authorize queries."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from tests.e2e.cluster import Cluster, http_json

NO_RETRIES = Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=10)


def policy(*statements: dict[str, Any]) -> str:
    """A policy document from its statements."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str = "*", **extra: Any) -> dict[str, Any]:
    """An Allow statement."""
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def trust(principal: str, **extra: Any) -> str:
    """A trust policy letting ``principal`` (an AWS ARN) assume the role."""
    return policy(
        {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole", **extra}
    )


def credentials_of(answer: dict[str, Any]) -> dict[str, str]:
    """boto3 keyword arguments for the Credentials STS returned."""
    creds = answer["Credentials"]
    return {
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }


def sts(cluster: Cluster, region: str, signing_region: str | None = None, **creds: str) -> Any:
    """A boto3 STS client on ``region``'s shared endpoint."""
    return boto3.client(
        "sts",
        endpoint_url=cluster.file.regions[region].endpoint,
        region_name=signing_region or region,
        config=NO_RETRIES,
        **creds,
    )


def version_of(response: dict[str, Any]) -> int:
    """The log version a control-plane write created."""
    return int(response["ResponseMetadata"]["HTTPHeaders"]["x-iam-planes-version"])


def ask(
    url: str, creds: dict[str, str], action: str, resource: str, **extra: Any
) -> tuple[str, dict[str, Any]]:
    """``/authorize`` naming a (possibly temporary) key; the decision or error code."""
    principal = {"access_key_id": creds["aws_access_key_id"]}
    if "aws_session_token" in creds:
        principal["session_token"] = creds["aws_session_token"]
    status, answer = http_json(
        f"{url}/authorize",
        {"principal": principal, "action": action, "resource": resource, **extra},
    )
    if "error" in answer:
        return str(answer["error"]["code"]), answer
    assert status == 200
    return str(answer["decision"]), answer


def signed_query(creds: dict[str, str], region: str, action: str, resource: str) -> dict[str, Any]:
    """An /authorize query carrying a request the caller signed with SigV4 for ``region``."""
    body = b"Action=GetObject"
    request = AWSRequest(method="POST", url="https://s3.example.test/bucket/key", data=body)
    request.headers["Content-Type"] = "application/x-www-form-urlencoded"
    credentials = Credentials(
        creds["aws_access_key_id"], creds["aws_secret_access_key"], creds.get("aws_session_token")
    )
    SigV4Auth(credentials, "s3", region).add_auth(request)
    url = urlsplit(request.url)
    return {
        "signed_request": {
            "method": "POST",
            "path": url.path,
            "query": url.query,
            "headers": [[k, v] for k, v in request.headers.items()] + [["host", url.netloc]],
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "service": "s3",
            "region": region,
        },
        "action": action,
        "resource": resource,
    }
