"""SigV4 authentication against the replica's keys and the shared session-token keys.

Long-term keys (``AKIA``) are looked up in the replicated state; temporary keys (``ASIA``)
carry their session in ``X-Amz-Security-Token`` and need no lookup at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from awswire.errors import invalid_client_token_id
from awswire.sigv4 import Headers, SignatureClaim, parse_signature, verify_signature
from dataplane.identity.callers import Caller
from dataplane.identity.long_term import principal_by_access_key, principal_by_arn
from dataplane.identity.sessions import open_session
from dataplane.identity.tokens import TokenKeys
from dataplane.key_usage import KeyUsage
from replication.ids import IdPrefix
from replication.queries import AccessKeyPrincipal, SignedRequest
from replication.state import IamState

__all__ = [
    "HttpRequest",
    "authenticate",
    "authenticate_http",
    "is_temporary",
    "named_caller",
    "resolve_key",
]


def is_temporary(access_key_id: str) -> bool:
    """Whether the key is a session's (``ASIA``): its caller is in its token, not the state."""
    return access_key_id.startswith(IdPrefix.TEMPORARY_ACCESS_KEY)


def resolve_key(
    state: IamState, keys: TokenKeys | None, access_key_id: str, token: str | None, now: float
) -> tuple[Caller, str]:
    """The caller an access key names and its secret; AWS's auth errors otherwise.

    A long-term key comes without a session token: one sent with a token (someone else's, or
    a stale ``AWS_SESSION_TOKEN``) is refused as AWS refuses it, InvalidClientTokenId.
    """
    if is_temporary(access_key_id):
        return open_session(keys, access_key_id, token, now)
    if token:
        raise invalid_client_token_id()
    return principal_by_access_key(state, access_key_id)


def named_caller(
    state: IamState, keys: TokenKeys | None, named: str | AccessKeyPrincipal, now: float
) -> Caller:
    """The caller an unsigned question names: a user's or root's ARN (NoSuchEntity when this
    replica does not know it), or an access key with its session token (as ``resolve_key``)."""
    if isinstance(named, str):
        return principal_by_arn(state, named)
    return resolve_key(state, keys, named.access_key_id, named.session_token, now)[0]


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """The parts of an HTTP request SigV4 signs (path and query raw, still encoded).

    ``headers`` must be re-iterable (a mapping, a multidict or a list of pairs); a verifier
    that has only the body's hash passes ``payload_hash`` instead of ``body``. A service whose
    canonical request follows its own rules (S3) passes ``canonical_request``, which builds it
    from the parsed claim.
    """

    method: str
    path: str
    query: str
    headers: Headers
    body: bytes = b""
    payload_hash: str | None = None
    canonical_request: Callable[[SignatureClaim], str] | None = None


def authenticate_http(  # noqa: PLR0917 - state, keys, request, then where it is verified
    state: IamState,
    keys: TokenKeys | None,
    request: HttpRequest,
    now: float,
    service: str,
    region: str | None,
    *,
    usage: KeyUsage | None = None,
    action: str | None = None,
) -> Caller:
    """The caller whose key signed ``request`` for ``service`` in ``region``.

    Order as AWS checks: a malformed signature first, then an unknown or inactive key
    (InvalidClientTokenId) or an expired session (ExpiredToken), then scope, skew and HMAC.
    A verified long-term key's use (for ``action``, else ``service``) is noted in ``usage``.
    """
    headers = request.headers
    claim = parse_signature(request.method, request.path, request.query, headers)
    caller, secret = resolve_key(state, keys, claim.access_key_id, claim.security_token, now)
    verify_signature(
        claim,
        request.method,
        request.path,
        request.query,
        headers,
        request.body,
        secret,
        datetime.fromtimestamp(now, UTC),
        service,
        region,
        payload_hash=request.payload_hash,
        canonical=None if request.canonical_request is None else request.canonical_request(claim),
    )
    if usage is not None and not is_temporary(claim.access_key_id):
        usage.record(claim.access_key_id, action or service, now)
    return caller


def authenticate(
    state: IamState,
    signed: SignedRequest,
    clock: Callable[[], float],
    keys: TokenKeys | None = None,
    *,
    usage: KeyUsage | None = None,
    action: str | None = None,
) -> Caller:
    """The principal whose key signed the forwarded request ``signed`` (its use for
    ``action`` noted in ``usage``)."""
    request = HttpRequest(
        signed.method, signed.path, signed.query, signed.headers, payload_hash=signed.body_sha256
    )
    return authenticate_http(
        state, keys, request, clock(), signed.service, signed.region, usage=usage, action=action
    )
