"""S3's SigV4 canonical request, built by botocore's own S3 signer (``botocore.auth``).

S3 signs the path as sent (no dot-segment normalisation, no second encoding) and the payload
by the ``x-amz-content-sha256`` header's value, which may be a hash or ``UNSIGNED-PAYLOAD`` /
``STREAMING-UNSIGNED-PAYLOAD-TRAILER``; the generic verifier's rules would reject both.
"""

from __future__ import annotations

from collections.abc import Mapping

from awswire.sigv4 import SignatureClaim

__all__ = ["s3_canonical_request"]


def s3_canonical_request(  # noqa: PLR0917 - the parts of the request as received
    claim: SignatureClaim,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body_hash: str,
) -> str:
    """The canonical request the client signed (headers lower-cased; ``body_hash`` is used
    when the request declares no ``x-amz-content-sha256``)."""
    # imported on first use: a replica that never sees an S3 call does not pay for botocore
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest

    pairs = [
        pair
        for pair in raw_query.split("&")
        if pair and not (claim.presigned and pair.partition("=")[0] == "X-Amz-Signature")
    ]
    url = "http://" + headers.get("host", "") + raw_path + ("?" + "&".join(pairs) if pairs else "")
    signed = {name: headers.get(name, "") for name in claim.signed_headers}
    if claim.presigned:
        signed.setdefault("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
    else:
        signed.setdefault("x-amz-content-sha256", headers.get("x-amz-content-sha256", body_hash))
    request = AWSRequest(method=method, url=url, headers=signed)
    signer = S3SigV4Auth(None, claim.service, claim.region)
    canonical: str = signer.canonical_request(request)
    if "x-amz-content-sha256" not in claim.signed_headers:
        # the header rode along only to carry the payload line, not as a signed header
        lines = canonical.split("\n")
        return _without_header(lines, claim)
    return canonical


def _without_header(lines: list[str], claim: SignatureClaim) -> str:
    names = claim.signed_headers
    head, tail = lines[:3], lines[3:]
    header_lines = [line for line in tail[:-3] if not line.startswith("x-amz-content-sha256:")]
    rest = tail[-3:]
    rest[1] = ";".join(names)
    return "\n".join([*head, *header_lines, *rest])
