"""S3's ``aws-chunked`` request bodies, decoded before forwarding.

boto3 sends ``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` by default over HTTPS: the object in
chunks (``hex-size CRLF data CRLF`` ... ``0 CRLF``) followed by trailing headers holding its
checksum (``x-amz-checksum-crc32:...``). The gateway checks the checksum as S3 does and
forwards the plain object with the checksum as a header, which every backend understands (the
same request, in S3's non-streaming form). Signed chunks (``STREAMING-AWS4-HMAC-SHA256-
PAYLOAD``) are decoded alike; their per-chunk signatures are not verified, only the seed
signature of the request.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable, Mapping

from awswire.errors import AwsError

__all__ = ["ChunkedBody", "decode_chunked"]

_CRLF = b"\r\n"


class ChunkedBody:
    """The object an ``aws-chunked`` body carries, and its trailing headers."""

    def __init__(self, payload: bytes, trailers: Mapping[str, str]) -> None:
        self.payload = payload
        self.trailers = trailers


def _incomplete() -> AwsError:
    return AwsError("IncompleteBody", "The request body terminated unexpectedly", 400)


def decode_chunked(body: bytes) -> ChunkedBody:
    """Split an ``aws-chunked`` body into the object and its trailers; IncompleteBody when it
    is not one, BadDigest when a trailing checksum does not match the object."""
    position = 0
    parts: list[bytes] = []
    while True:
        end = body.find(_CRLF, position)
        if end < 0:
            raise _incomplete()
        size_text = body[position:end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise _incomplete() from None
        position = end + 2
        if size == 0:
            break
        chunk = body[position : position + size]
        if len(chunk) != size or body[position + size : position + size + 2] != _CRLF:
            raise _incomplete()
        parts.append(chunk)
        position += size + 2
    trailers: dict[str, str] = {}
    for line in body[position:].split(_CRLF):
        if line.strip():
            name, colon, value = line.decode("latin-1").partition(":")
            if not colon:
                raise _incomplete()
            trailers[name.strip().lower()] = value.strip()
    payload = b"".join(parts)
    _check_checksums(payload, trailers)
    return ChunkedBody(payload, trailers)


def _check_checksums(payload: bytes, trailers: Mapping[str, str]) -> None:
    digests: dict[str, Callable[[bytes], bytes]] = {
        "x-amz-checksum-crc32": lambda data: zlib.crc32(data).to_bytes(4, "big"),
        "x-amz-checksum-sha256": lambda data: hashlib.sha256(data).digest(),
        "x-amz-checksum-sha1": lambda data: hashlib.sha1(data).digest(),
    }
    for name, digest in digests.items():
        declared = trailers.get(name)
        if declared is not None and declared != base64.b64encode(digest(payload)).decode():
            algorithm = name.rsplit("-", 1)[1].upper()
            raise AwsError(
                "BadDigest",
                f"The {algorithm} you specified did not match the calculated checksum.",
                400,
            )
