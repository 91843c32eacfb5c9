"""The one builder of the engine's Request: which context key wins."""

from __future__ import annotations

from dataplane.evaluation import Principal, ResourceOwner
from dataplane.identity.requests import engine_request, environment_keys

ALICE = Principal.iam_user("arn:aws:iam::111111111111:user/alice")
OBJECT = "arn:aws:s3:::bucket/key"


def test_environment_keys_name_the_time_the_ip_and_the_region() -> None:
    """R38: every request carries the clock reading, the source IP and the region."""
    keys = environment_keys(1_767_225_600.9, "10.0.0.1", "eu-west-1")
    assert keys == {
        "aws:CurrentTime": "2026-01-01T00:00:00Z",
        "aws:EpochTime": "1767225600",
        "aws:SourceIp": "10.0.0.1",
        "aws:SecureTransport": "false",
        "aws:RequestedRegion": "eu-west-1",
    }


def test_the_request_overrides_the_environment_and_the_credentials_override_both() -> None:
    """environment < the request's context < the keys AWS sets for the credentials."""
    environment = environment_keys(0, "10.0.0.1", "eu-west-1")
    context = {"aws:SourceIp": "192.0.2.7", "ec2:SourceInstanceARN": "arn:forged", "s3:prefix": "a"}
    caller_keys = {"ec2:SourceInstanceARN": "arn:aws:ec2:eu-west-1:111111111111:instance/i-1"}
    request = engine_request(ALICE, "s3:ListBucket", OBJECT, environment, context, caller_keys)
    assert request.context == {
        **environment,
        "aws:SourceIp": "192.0.2.7",
        "ec2:SourceInstanceARN": "arn:aws:ec2:eu-west-1:111111111111:instance/i-1",
        "s3:prefix": "a",
    }
    assert environment["aws:SourceIp"] == "10.0.0.1"  # the shared environment is not changed


def test_without_context_or_caller_keys_the_environment_is_the_context() -> None:
    """No request context and no credential keys: exactly the environment, owner as given."""
    environment = environment_keys(0, "10.0.0.1", "eu-west-1")
    owner = ResourceOwner(account="222222222222")
    request = engine_request(ALICE, "s3:GetObject", OBJECT, environment, {}, {}, owner)
    assert request.context == environment
    assert request.resource_owner == owner
    assert engine_request(ALICE, "s3:GetObject", OBJECT, environment).resource_owner is None
