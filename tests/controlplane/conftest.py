"""One real cluster for the whole conformance suite: boto3 against the control plane."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import botocore.exceptions
import pytest

from tests.e2e.cluster import Cluster


@pytest.fixture(scope="session")
def cluster(shared_cluster: Cluster) -> Cluster:
    """The session's shared cluster, in the launcher's account: every conformance module uses
    it (each module uses its own names)."""
    return shared_cluster


@pytest.fixture(scope="session")
def iam(cluster: Cluster) -> Any:
    """A boto3 IAM client with the account's root key."""
    return cluster.iam()


def error_with_response(
    call: Callable[..., Any], **kwargs: Any
) -> tuple[str, int, str, dict[str, Any]]:
    """The AWS error code, HTTP status and message a call fails with, and the whole error
    response (for members such as Organizations' ``Reason``)."""
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        call(**kwargs)
    error = raised.value.response
    return (
        error["Error"]["Code"],
        error["ResponseMetadata"]["HTTPStatusCode"],
        error["Error"]["Message"],
        dict(error),
    )


def error_of(call: Callable[..., Any], **kwargs: Any) -> tuple[str, int, str]:
    """The AWS error code, HTTP status and message a call fails with."""
    code, status, message, _ = error_with_response(call, **kwargs)
    return code, status, message


def document(*statements: dict[str, Any]) -> str:
    """A policy document holding ``statements``."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str, resource: str = "*") -> str:
    """An identity policy allowing one action."""
    return document({"Effect": "Allow", "Action": action, "Resource": resource})


def trust(principal: dict[str, Any]) -> str:
    """A trust policy letting ``principal`` assume the role."""
    return document({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})
