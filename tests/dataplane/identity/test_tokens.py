"""Session tokens: sealed, authenticated, rotatable, with derived secrets."""

from __future__ import annotations

import base64

import pytest

from awswire.errors import AwsError
from dataplane.identity.sessions import open_session
from dataplane.identity.tokens import SessionClaims, TokenError, TokenKeys, new_token_key
from replication.ids import IdPrefix, account_of_access_key, new_access_key_id

ACCOUNT = "123456789012"


def _keys(*kids: str) -> TokenKeys:
    return TokenKeys.parse(",".join(f"{kid}:{new_token_key()}" for kid in kids))


def _claims(keys: TokenKeys, **extra: object) -> SessionClaims:
    fields: dict[str, object] = {
        "token_id": keys.new_token_id(),
        "kind": "AssumeRole",
        "access_key_id": new_access_key_id(ACCOUNT, IdPrefix.TEMPORARY_ACCESS_KEY),
        "account": ACCOUNT,
        "issued_at": 1000.0,
        "expires_at": 4600.0,
        "role_arn": f"arn:aws:iam::{ACCOUNT}:role/r",
        "role_id": "AROAEXAMPLE",
        "session_name": "s",
        "tags": {"team": "blue"},
        "transitive_tag_keys": ("team",),
    }
    fields.update(extra)
    return SessionClaims.model_validate(fields)


def test_round_trip_keeps_every_claim() -> None:
    """A sealed token opens to exactly the claims it was sealed with."""
    keys = _keys("a")
    claims = _claims(keys, policy='{"Version":"2012-10-17"}', source_identity="me", mfa=True)
    assert keys.open(keys.seal(claims)) == claims


def test_temporary_key_id_encodes_the_account() -> None:
    """ASIA key ids carry their account, as AWS's do."""
    claims = _claims(_keys("a"))
    assert claims.access_key_id.startswith("ASIA")
    assert account_of_access_key(claims.access_key_id) == ACCOUNT


def test_tampered_token_is_refused() -> None:
    """Flipping any byte of the token breaks AES-GCM's authentication."""
    keys = _keys("a")
    token = keys.seal(_claims(keys))
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[-5] ^= 1
    forged = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    with pytest.raises(TokenError):
        keys.open(forged)


def test_foreign_keys_cannot_open_or_derive() -> None:
    """A token sealed under another cluster's key is refused."""
    ours, theirs = _keys("a"), _keys("a")
    with pytest.raises(TokenError):
        ours.open(theirs.seal(_claims(theirs)))


def test_rotation_keeps_old_tokens_valid() -> None:
    """A new active key seals; the old one still opens its tokens and derives their secrets."""
    old_key, new_key = new_token_key(), new_token_key()
    before = TokenKeys.parse(f"old:{old_key}")
    after = TokenKeys.parse(f"new:{new_key},old:{old_key}")
    claims = _claims(before)
    token = before.seal(claims)
    assert after.open(token) == claims
    assert after.secret_for(claims) == before.secret_for(claims)
    assert after.active_kid == "new"
    assert after.new_token_id().startswith("new.")


def test_secret_is_derived_not_stored() -> None:
    """The secret is a function of key id and token id, and is not inside the token."""
    keys = _keys("a")
    claims = _claims(keys)
    secret = keys.secret_for(claims)
    assert len(secret) == 40
    assert secret == keys.secret_for(keys.open(keys.seal(claims)))
    assert secret not in keys.open(keys.seal(claims)).model_dump_json()


def test_open_session_checks_key_id_and_expiry() -> None:
    """A token for another key id is invalid; an expired one is ExpiredToken."""
    keys = _keys("a")
    claims = _claims(keys)
    token = keys.seal(claims)
    session, secret = open_session(keys, claims.access_key_id, token, now=2000)
    assert session.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/r/s"
    assert secret == keys.secret_for(claims)
    other = new_access_key_id(ACCOUNT, IdPrefix.TEMPORARY_ACCESS_KEY)
    with pytest.raises(AwsError) as wrong:
        open_session(keys, other, token, now=2000)
    assert wrong.value.code == "InvalidClientTokenId"
    with pytest.raises(AwsError) as expired:
        open_session(keys, claims.access_key_id, token, now=4600)
    assert expired.value.code == "ExpiredToken"
    with pytest.raises(AwsError) as missing:
        open_session(keys, claims.access_key_id, None, now=2000)
    assert missing.value.code == "InvalidClientTokenId"
