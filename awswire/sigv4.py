"""AWS Signature Version 4 verification, pure: the clock and the secret are parameters.

Two steps, so the caller can look the key up in between:

1. :func:`parse_signature` reads the claim (header ``Authorization: AWS4-HMAC-SHA256 ...``
   or presigned ``X-Amz-*`` query parameters) and raises for malformed signatures;
2. :func:`verify_signature` checks scope, clock and the HMAC against the secret key.

The canonical request follows the AWS specification as botocore builds it for non-S3
services: dot-segment-normalised, re-encoded path; decoded then strictly re-encoded and
sorted query parameters; lowercased, whitespace-trimmed headers with repeated values
joined by commas; and the SHA-256 of the body.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote

from awswire.errors import (
    AuthFailure,
    incomplete_signature,
    missing_authentication_token,
    signature_does_not_match,
)

__all__ = [
    "ALGORITHM",
    "MAX_CLOCK_SKEW",
    "Headers",
    "SignatureClaim",
    "canonical_request",
    "parse_signature",
    "verify_signature",
]

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_CLOCK_SKEW = timedelta(minutes=15)
"""How far a header-signed request's time may be from the verifier's clock."""
MAX_PRESIGN_EXPIRES = 604800

Headers = Mapping[str, str] | Iterable[tuple[str, str]]
"""Request headers: a mapping, a multidict (``.items()`` yields repeats) or (name, value) pairs."""

_AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
# what every SDK sends; read without strptime (which costs more than the rest of the claim)
_CANONICAL_AMZ_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z")
_HEADER_PARTS = ("Credential", "Signature", "SignedHeaders")
_QUERY_PARTS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders")


@dataclass(frozen=True)
class SignatureClaim:
    """What a request claims about its signature, before any key is looked up."""

    access_key_id: str
    scope_date: str
    region: str
    service: str
    terminator: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str
    request_time: datetime
    security_token: str | None = None
    presigned: bool = False
    expires: int | None = None

    @property
    def scope(self) -> str:
        """The credential scope ``date/region/service/aws4_request``."""
        return f"{self.scope_date}/{self.region}/{self.service}/{self.terminator}"


def parse_signature(method: str, path: str, query_string: str, headers: Headers) -> SignatureClaim:
    """Read the SigV4 claim of a request; raise :class:`AuthFailure` if it is malformed.

    ``query_string`` is the raw (still percent-encoded) query. Raises
    ``MissingAuthenticationToken`` when the request carries no signature at all and
    ``IncompleteSignature`` when one is present but incomplete or malformed.
    """
    del method, path  # part of the signature, not of the claim
    header_map = _header_map(headers)
    authorization = _first(header_map, "authorization")
    if authorization is not None:
        return _parse_header_claim(authorization, header_map)
    query = _query_pairs(query_string)
    names = {name for name, _ in query}
    if names & {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature"}:
        return _parse_query_claim(dict(query))
    raise missing_authentication_token()


def verify_signature(  # noqa: PLR0917 - the signature the planes call, in wire order
    claim: SignatureClaim,
    method: str,
    path: str,
    query_string: str,
    headers: Headers,
    body: bytes,
    secret_key: str,
    now: datetime,
    expected_service: str,
    expected_region: str | None,
    *,
    payload_hash: str | None = None,
    canonical: str | None = None,
) -> None:
    """Check the claim's scope, time and HMAC; raise :class:`AuthFailure` on any failure.

    ``path`` is the raw request path, ``now`` an aware datetime, ``expected_region`` None
    to accept any region (a global endpoint). A verifier that received the body only by its
    SHA-256 (a forwarded request) passes ``payload_hash`` instead of the body. A service whose
    canonical request follows other rules (S3's) passes it built as ``canonical``.
    """
    _check_scope(claim, expected_service, expected_region)
    _check_time(claim, now)
    if canonical is None:
        header_map = _header_map(headers)
        if payload_hash is None:
            payload_hash = hashlib.sha256(body).hexdigest()
        declared = _first(header_map, "x-amz-content-sha256")
        if declared is not None and declared != payload_hash:
            raise signature_does_not_match()
        canonical = _canonical_request(claim, method, path, query_string, header_map, payload_hash)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    to_sign = f"{ALGORITHM}\n{claim.amz_date}\n{claim.scope}\n{digest}"
    key = _signing_key(secret_key, claim.scope_date, claim.region, claim.service)
    expected = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, claim.signature.lower()):
        raise signature_does_not_match()


def canonical_request(
    claim: SignatureClaim,
    method: str,
    path: str,
    query_string: str,
    headers: Headers,
    *,
    payload_hash: str,
) -> str:
    """The SigV4 canonical request string of a request, as the signer must have built it."""
    return _canonical_request(claim, method, path, query_string, _header_map(headers), payload_hash)


def _canonical_request(  # noqa: PLR0917 - private twin of canonical_request
    claim: SignatureClaim,
    method: str,
    path: str,
    query_string: str,
    header_map: Mapping[str, list[str]],
    payload_hash: str,
) -> str:
    return "\n".join(
        (
            method.upper(),
            _canonical_path(path),
            _canonical_query(query_string, drop_signature=claim.presigned),
            _canonical_headers(claim.signed_headers, header_map),
            ";".join(claim.signed_headers),
            payload_hash,
        )
    )


@functools.lru_cache(maxsize=4096)
def _signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret_key).encode("utf-8")
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def _header_map(headers: Headers) -> dict[str, list[str]]:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    result: dict[str, list[str]] = {}
    for name, value in pairs:
        result.setdefault(name.lower(), []).append(value)
    return result


def _first(header_map: Mapping[str, list[str]], name: str) -> str | None:
    values = header_map.get(name)
    return values[0] if values else None


def _query_pairs(query_string: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query_string.split("&"):
        if part:
            key, _, value = part.partition("=")
            pairs.append((unquote(key), unquote(value)))
    return pairs


def _parse_header_claim(authorization: str, header_map: Mapping[str, list[str]]) -> SignatureClaim:
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm.startswith("AWS4-") and algorithm != ALGORITHM:
        raise incomplete_signature(f"Unsupported AWS 'algorithm': '{algorithm}'.")
    parts: dict[str, str] = {}
    if algorithm == ALGORITHM:
        for item in rest.split(","):
            key, equals, value = item.strip().partition("=")
            if not equals:
                raise incomplete_signature(
                    f"'{item.strip()}' not a valid key=value pair (missing equal-sign) "
                    f"in Authorization header: '{authorization}'."
                )
            parts[key] = value
    amz_date = _first(header_map, "x-amz-date")
    date_header = _first(header_map, "date")
    problems = [
        f"Authorization header requires '{name}' parameter."
        for name in _HEADER_PARTS
        if not parts.get(name)
    ]
    if amz_date is None and date_header is None:
        problems.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if problems:
        raise incomplete_signature(" ".join(problems) + f" Authorization={authorization}")
    request_time, amz_date = _request_time(amz_date, date_header)
    signed = (parts["Credential"], parts["SignedHeaders"], parts["Signature"])
    return _claim(signed, amz_date, request_time, _first(header_map, "x-amz-security-token"))


def _parse_query_claim(query: Mapping[str, str]) -> SignatureClaim:
    missing = [name for name in (*_QUERY_PARTS, "X-Amz-Signature") if not query.get(name)]
    if missing:
        names = ", ".join(f"'{name}'" for name in missing)
        raise incomplete_signature(f"AWS query-string parameters must include {names}.")
    if query["X-Amz-Algorithm"] != ALGORITHM:
        raise incomplete_signature(f"Unsupported AWS 'algorithm': '{query['X-Amz-Algorithm']}'.")
    expires_text = query.get("X-Amz-Expires", "")
    if not expires_text.isdigit() or not 0 < int(expires_text) <= MAX_PRESIGN_EXPIRES:
        raise incomplete_signature(
            f"X-Amz-Expires must be a number of seconds between 1 and {MAX_PRESIGN_EXPIRES}."
        )
    request_time, amz_date = _request_time(query["X-Amz-Date"], None)
    signed = (query["X-Amz-Credential"], query["X-Amz-SignedHeaders"], query["X-Amz-Signature"])
    claim = _claim(signed, amz_date, request_time, query.get("X-Amz-Security-Token"))
    return _replace_presigned(claim, int(expires_text))


def _replace_presigned(claim: SignatureClaim, expires: int) -> SignatureClaim:
    return dataclasses.replace(claim, presigned=True, expires=expires)


def _claim(
    signed: tuple[str, str, str], amz_date: str, request_time: datetime, token: str | None
) -> SignatureClaim:
    credential, signed_headers, signature = signed
    elements = credential.split("/")
    if len(elements) != 5:
        raise incomplete_signature(
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{credential}'"
        )
    key_id, scope_date, region, service, terminator = elements
    names = tuple(name.strip().lower() for name in signed_headers.split(";") if name.strip())
    return SignatureClaim(
        access_key_id=key_id,
        scope_date=scope_date,
        region=region,
        service=service,
        terminator=terminator,
        signed_headers=names,
        signature=signature,
        amz_date=amz_date,
        request_time=request_time,
        security_token=token,
    )


def _parse_amz_date(amz_date: str) -> datetime:
    """``X-Amz-Date`` as a UTC datetime; ValueError when it is not a valid basic-format time."""
    canonical = _CANONICAL_AMZ_DATE.fullmatch(amz_date)
    if canonical is None:  # anything else gets strptime's reading (and refusals), as always
        return datetime.strptime(amz_date, _AMZ_DATE_FORMAT).replace(tzinfo=UTC)
    year, month, day, hour, minute, second = (int(part) for part in canonical.groups())
    if second == 60:  # strptime's %S takes a leap second, which datetime cannot hold
        return datetime.strptime(amz_date, _AMZ_DATE_FORMAT).replace(tzinfo=UTC)
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def _request_time(amz_date: str | None, date_header: str | None) -> tuple[datetime, str]:
    if amz_date is not None:
        try:
            parsed = _parse_amz_date(amz_date)
        except ValueError as exc:
            raise incomplete_signature(
                f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. "
                "See http://en.wikipedia.org/wiki/ISO_8601"
            ) from exc
        return parsed, amz_date
    try:
        parsed = parsedate_to_datetime(date_header or "").astimezone(UTC)
    except (TypeError, ValueError) as exc:
        raise incomplete_signature(f"Invalid Date header: '{date_header}'.") from exc
    return parsed, parsed.strftime(_AMZ_DATE_FORMAT)


def _check_scope(claim: SignatureClaim, service: str, region: str | None) -> None:
    if claim.terminator != "aws4_request":
        raise signature_does_not_match(
            "Credential should be scoped with a valid terminator: 'aws4_request', "
            f"not '{claim.terminator}'."
        )
    if claim.service != service:
        raise signature_does_not_match(
            f"Credential should be scoped to correct service: '{service}'. "
        )
    if region is not None and claim.region != region:
        raise signature_does_not_match(
            f"Credential should be scoped to a valid region, not '{claim.region}'. "
        )
    if claim.scope_date != claim.amz_date[:8]:
        raise signature_does_not_match(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{claim.scope_date}' != '{claim.amz_date[:8]}', from '{claim.amz_date}'."
        )
    if "host" not in claim.signed_headers:
        raise incomplete_signature(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        )


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_AMZ_DATE_FORMAT)


def _check_time(claim: SignatureClaim, now: datetime) -> None:
    if claim.request_time > now + MAX_CLOCK_SKEW:
        raise signature_does_not_match(
            f"Signature not yet current: {claim.amz_date} is still later than "
            f"{_stamp(now + MAX_CLOCK_SKEW)} ({_stamp(now)} + 15 min.)"
        )
    if claim.presigned:
        if now > claim.request_time + timedelta(seconds=claim.expires or 0):
            raise AuthFailure("RequestExpired", "Request has expired.", 400)
        return
    if claim.request_time < now - MAX_CLOCK_SKEW:
        raise signature_does_not_match(
            f"Signature expired: {claim.amz_date} is now earlier than "
            f"{_stamp(now - MAX_CLOCK_SKEW)} ({_stamp(now)} - 15 min.)"
        )


def _canonical_path(path: str) -> str:
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    trailing = "/" if path.endswith("/") and segments else ""
    return quote("/" + "/".join(segments) + trailing, safe="/~")


def _canonical_query(query_string: str, drop_signature: bool) -> str:
    encoded = sorted(
        (quote(key, safe="-_.~"), quote(value, safe="-_.~"))
        for key, value in _query_pairs(query_string)
        if not (drop_signature and key == "X-Amz-Signature")
    )
    return "&".join(f"{key}={value}" for key, value in encoded)


def _canonical_headers(names: Iterable[str], header_map: Mapping[str, list[str]]) -> str:
    lines = [
        f"{name}:" + ",".join(" ".join(value.split()) for value in header_map.get(name, []))
        for name in names
    ]
    return "\n".join(lines) + "\n"
