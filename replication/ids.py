"""Unique IDs and credentials with AWS's prefixes (docs/evaluation.md R85)."""

from __future__ import annotations

import base64
import binascii
import secrets

__all__ = [
    "IdPrefix",
    "account_of_access_key",
    "new_access_key_id",
    "new_account_id",
    "new_secret_access_key",
    "new_unique_id",
]

# IDs are base32 (A-Z, 2-7), as AWS's look, and secrets base64 (letters, digits, + and /): each
# is drawn as one token of random bytes and encoded, every character from whole random bits
_ID_CHARACTERS = 17  # 85 random bits
_ID_TOKEN_BYTES = 11  # 88 bits: the first 17 base32 characters are all random
_SECRET_TOKEN_BYTES = 30  # 240 bits: exactly 40 base64 characters, no padding


class IdPrefix:
    """Four-letter prefixes AWS gives each kind of unique ID."""

    USER = "AIDA"
    ROLE = "AROA"
    GROUP = "AGPA"
    MANAGED_POLICY = "ANPA"
    POLICY_VERSION = "ANVA"
    INSTANCE_PROFILE = "AIPA"
    ACCESS_KEY = "AKIA"
    TEMPORARY_ACCESS_KEY = "ASIA"


def new_unique_id(prefix: str) -> str:
    """A fresh 21-character unique ID such as ``AIDA...``; never reused, even for a reused name."""
    token = base64.b32encode(secrets.token_bytes(_ID_TOKEN_BYTES))
    return prefix + token[:_ID_CHARACTERS].decode("ascii")


def new_access_key_id(account: str, prefix: str = IdPrefix.ACCESS_KEY) -> str:
    """A fresh 20-character access key ID (``AKIA`` long-term, ``ASIA`` temporary).

    As in AWS, the account ID is encoded in the key ID (bits 1-40 of its first six bytes), so
    anyone can tell a key's account without a lookup (``sts:GetAccessKeyInfo``).
    """
    head = (int(account) << 7) | secrets.randbits(7)
    raw = head.to_bytes(6, "big") + secrets.token_bytes(4)
    return prefix + base64.b32encode(raw).decode("ascii")


def account_of_access_key(access_key_id: str) -> str | None:
    """The account encoded in an access key ID, or None when the ID is not well formed."""
    if len(access_key_id) != 20 or not access_key_id[:4].isalpha():
        return None
    try:
        raw = base64.b32decode(access_key_id[4:])
    except (binascii.Error, ValueError):
        return None
    account = (int.from_bytes(raw[:6], "big") & 0x7FFFFFFFFF80) >> 7
    return f"{account:012d}"


def new_secret_access_key() -> str:
    """A fresh 40-character secret access key."""
    return base64.b64encode(secrets.token_bytes(_SECRET_TOKEN_BYTES)).decode("ascii")


def new_account_id() -> str:
    """A fresh 12-digit account ID that does not start with 0."""
    return str(secrets.randbelow(9 * 10**11) + 10**11)
