"""What the gateway reads from an incoming request before it can judge it: the signature,
the body (bounded, aws-chunked decoded), S3's own canonical request and payload hash, and the
source of a copy."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import replace
from urllib.parse import unquote

from aiohttp import web

from awswire.errors import AuthFailure, AwsError
from awswire.sigv4 import SignatureClaim, parse_signature
from dataplane.gateway.routing import ServiceCall
from dataplane.gateway.s3_signing import s3_canonical_request
from dataplane.identity.authentication import HttpRequest

__all__ = [
    "MAX_GATEWAY_BODY_BYTES",
    "BodyTooLarge",
    "access_key_id_of",
    "check_payload",
    "copy_source",
    "credential_key_id",
    "is_chunked",
    "plain_headers",
    "read_body",
    "s3_canonical",
    "signature_claim",
    "signed_with_sigv2",
]

#: a request body larger than this is refused with the service's own "too large" error
MAX_GATEWAY_BODY_BYTES = 32 * 1024 * 1024
#: services whose resource policies may grant anonymous callers ("Principal": "*"); an
#: unsigned call to any other is MissingAuthenticationToken, as AWS answers it
ANONYMOUS_SERVICES = frozenset({"s3", "sqs", "sns"})
STREAMING = "STREAMING-"


class BodyTooLarge(AwsError):
    """The request body exceeds what the gateway accepts."""


def signature_claim(request: web.Request, call: ServiceCall) -> SignatureClaim | None:
    """The call's SigV4 signature; None for an anonymous call a resource policy may allow."""
    try:
        return parse_signature(
            request.method,
            request.rel_url.raw_path,
            request.rel_url.raw_query_string,
            request.headers,
        )
    except AuthFailure as failure:
        if failure.code != "MissingAuthenticationToken" or call.service not in ANONYMOUS_SERVICES:
            raise
        if signed_with_sigv2(request):
            raise AwsError(
                "InvalidRequest",
                "The authorization mechanism you have provided is not supported. "
                "Please use AWS4-HMAC-SHA256.",
                400,
            ) from None
        return None


def access_key_id_of(http: HttpRequest | None) -> str:
    """The access key id a signed call names ("anonymous" for an unsigned one)."""
    if http is None:
        return "anonymous"
    pairs = http.headers.items() if isinstance(http.headers, Mapping) else http.headers
    headers = {name.lower(): value for name, value in pairs}
    return credential_key_id(headers.get("authorization", "")) or "unknown"


def credential_key_id(authorization: str) -> str | None:
    """The access key id an ``Authorization: AWS4-HMAC-SHA256 Credential=...`` header names."""
    start = authorization.find("Credential=")
    return authorization[start + 11 :].split("/", 1)[0] if start >= 0 else None


#: headers that describe an aws-chunked body, not the object it carries
CHUNKED_HEADERS = frozenset({"x-amz-decoded-content-length", "x-amz-trailer", "content-encoding"})


def is_chunked(request: web.Request) -> bool:
    declared = request.headers.get("x-amz-content-sha256", "")
    encoding = request.headers.get("content-encoding", "")
    return declared.startswith(STREAMING) or "aws-chunked" in encoding


def plain_headers(request: web.Request, trailers: Mapping[str, str]) -> list[tuple[str, str]]:
    """The request's headers for the decoded object: its checksum trailers become headers."""
    headers = [
        (name, value)
        for name, value in request.headers.items()
        if name.lower() not in CHUNKED_HEADERS and name.lower() != "x-amz-content-sha256"
    ]
    encoding = [
        e.strip()
        for e in request.headers.get("content-encoding", "").split(",")
        if e.strip() and e.strip() != "aws-chunked"
    ]
    if encoding:
        headers.append(("Content-Encoding", ",".join(encoding)))
    headers.append(("x-amz-content-sha256", "UNSIGNED-PAYLOAD"))
    headers.extend((name, value) for name, value in trailers.items())
    return headers


def copy_source(call: ServiceCall) -> ServiceCall | None:
    """The object a CopyObject/UploadPartCopy reads (``x-amz-copy-source: bucket/key``), as a
    GetObject call of its own, or None."""
    header = call.headers.get("x-amz-copy-source")
    if call.service != "s3" or not header:
        return None
    path = unquote(header.split("?", 1)[0]).lstrip("/")
    bucket, _, key = path.partition("/")
    if not bucket or not key:
        raise AwsError("InvalidArgument", "Invalid copy source object key", 400)
    return replace(call, operation="GetObject", params={"Bucket": bucket, "Key": key})


def signed_with_sigv2(request: web.Request) -> bool:
    """Signature Version 2 (``AWS key:signature`` or ``AWSAccessKeyId=``...``Signature=``)."""
    authorization = request.headers.get("Authorization", "")
    query = request.query
    return authorization.startswith("AWS ") or ("AWSAccessKeyId" in query and "Signature" in query)


def s3_canonical(request: web.Request, body: bytes) -> Callable[[SignatureClaim], str]:
    """S3's canonical request for the claim, built by botocore's rules (no double encoding)."""
    headers = {name.lower(): value for name, value in request.headers.items()}

    def build(claim: SignatureClaim) -> str:
        return s3_canonical_request(
            claim,
            request.method,
            request.rel_url.raw_path,
            request.rel_url.raw_query_string,
            headers,
            hashlib.sha256(body).hexdigest(),
        )

    return build


def check_payload(
    call: ServiceCall, claim: SignatureClaim, request: web.Request, body: bytes
) -> None:
    """S3: a declared body hash must be the body's (AWS's XAmzContentSHA256Mismatch)."""
    if call.service != "s3" or claim.presigned:
        return
    declared = request.headers.get("x-amz-content-sha256")
    if declared is None or declared == "UNSIGNED-PAYLOAD" or declared.startswith(STREAMING):
        return
    if declared != hashlib.sha256(body).hexdigest():
        raise AwsError(
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            400,
        )


async def read_body(request: web.Request) -> bytes:
    declared = request.content_length
    if declared is not None and declared > MAX_GATEWAY_BODY_BYTES:
        raise BodyTooLarge(
            "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 400
        )
    chunks = []
    size = 0
    async for chunk in request.content.iter_chunked(256 * 1024):
        size += len(chunk)
        if size > MAX_GATEWAY_BODY_BYTES:
            raise BodyTooLarge(
                "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 400
            )
        chunks.append(chunk)
    return b"".join(chunks)
