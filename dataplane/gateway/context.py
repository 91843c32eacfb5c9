"""The request context keys a call carries beside the environment's (aws:SourceIp and the
rest come from the authorizer): tags it sets, and the service's own keys where the request
holds them (s3:prefix, s3:x-amz-acl, kms:EncryptionContext:*, ...)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from dataplane.gateway.routing import ServiceCall

__all__ = ["request_context"]

#: S3 query parameters that are condition keys of ListBucket (s3:prefix, ...)
_S3_LIST_KEYS = ("prefix", "delimiter", "max-keys")
#: S3 headers that are condition keys of the same name (s3:x-amz-acl, ...)
_S3_HEADER_KEYS = (
    "x-amz-acl",
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-storage-class",
    "x-amz-content-sha256",
    "x-amz-copy-source",
    "x-amz-metadata-directive",
    "x-amz-grant-read",
    "x-amz-grant-write",
    "x-amz-grant-full-control",
    "x-amz-object-ownership",
)


def _tags(call: ServiceCall) -> dict[str, str]:
    """The tags the call sets, in any of the services' shapes."""
    params = call.params
    if call.service == "s3":
        header = call.headers.get("x-amz-tagging")
        return dict(parse_qsl(header, keep_blank_values=True)) if header else {}
    for member in ("Tags", "tags", "Tag"):
        value = params.get(member)
        if isinstance(value, Mapping):  # SQS, Lambda, Logs: a map
            return {str(k): str(v) for k, v in value.items()}
        if isinstance(value, list):  # DynamoDB, SNS, Secrets Manager, SSM, KMS: pairs
            found = {}
            for pair in value:
                if isinstance(pair, Mapping):
                    key = pair.get("Key", pair.get("TagKey"))
                    if key is not None:
                        found[str(key)] = str(pair.get("Value", pair.get("TagValue", "")))
            return found
    return {}


def request_context(call: ServiceCall) -> dict[str, Any]:
    """The call's own context keys (tags and the service's keys)."""
    context: dict[str, Any] = {}
    tags = _tags(call)
    if tags:
        for key, value in tags.items():
            context[f"aws:RequestTag/{key}"] = value
        context["aws:TagKeys"] = sorted(tags)
    if call.service == "s3":
        for name in _S3_LIST_KEYS:
            if name in call.query:
                context[f"s3:{name}"] = call.query[name]
        for name in _S3_HEADER_KEYS:
            if name in call.headers:
                context[f"s3:{name}"] = call.headers[name]
    elif call.service == "kms":
        encryption = call.params.get("EncryptionContext")
        if isinstance(encryption, Mapping) and encryption:
            for key, value in encryption.items():
                context[f"kms:EncryptionContext:{key}"] = str(value)
            context["kms:EncryptionContextKeys"] = sorted(str(k) for k in encryption)
    elif call.service == "dynamodb":
        leading = _leading_keys(call.params)
        if leading:
            context["dynamodb:LeadingKeys"] = leading
    return context


def _leading_keys(params: Mapping[str, Any]) -> list[str]:
    """The partition key values of an item call, when its key has a single string or number
    attribute (then it is the partition key); composite keys would need the table's schema."""
    key = params.get("Key") or params.get("Item")
    if not isinstance(key, Mapping) or len(key) != 1 or "Key" not in params:
        return []
    (value,) = key.values()
    if isinstance(value, Mapping):
        for kind in ("S", "N"):
            if kind in value:
                return [str(value[kind])]
    return []
