"""Minting temporary credentials: a fresh ASIA key id, a sealed token, the derived secret."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dataplane.identity.tokens import SessionClaims, TokenKeys
from replication.ids import IdPrefix, new_access_key_id

__all__ = ["issue"]


def issue(
    keys: TokenKeys, account: str, now: float, duration: int, **claims: Any
) -> tuple[SessionClaims, dict[str, Any]]:
    """Seal a new session and return its claims and the ``Credentials`` structure of STS."""
    sealed = SessionClaims(
        token_id=keys.new_token_id(),
        access_key_id=new_access_key_id(account, IdPrefix.TEMPORARY_ACCESS_KEY),
        account=account,
        issued_at=float(int(now)),
        expires_at=float(int(now) + duration),
        **claims,
    )
    credentials = {
        "AccessKeyId": sealed.access_key_id,
        "SecretAccessKey": keys.secret_for(sealed),
        "SessionToken": keys.seal(sealed),
        "Expiration": datetime.fromtimestamp(sealed.expires_at, UTC),
    }
    return sealed, credentials
