"""SigV4 authentication of a forwarded signed request against the replica's keys."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from awswire.sigv4 import parse_signature, verify_signature
from dataplane.principals import ResolvedPrincipal, principal_by_access_key
from dataplane.queries import SignedRequest
from replication.state import IamState

__all__ = ["authenticate"]


def authenticate(
    state: IamState, signed: SignedRequest, clock: Callable[[], float]
) -> ResolvedPrincipal:
    """The principal whose key signed ``signed``; AWS's auth error codes otherwise.

    Order as AWS checks: a malformed signature first, then an unknown or inactive key
    (InvalidClientTokenId), then the clock skew and the HMAC itself.
    """
    claim = parse_signature(signed.method, signed.path, signed.query, signed.headers)
    principal, secret = principal_by_access_key(state, claim.access_key_id)
    verify_signature(
        claim,
        signed.method,
        signed.path,
        signed.query,
        signed.headers,
        b"",
        secret,
        datetime.fromtimestamp(clock(), UTC),
        signed.service,
        signed.region,
        payload_hash=signed.body_sha256,
    )
    return principal
