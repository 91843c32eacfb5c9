"""Salted hashes of secrets nothing needs to read back (console and service passwords).

A hash is ``scrypt$<salt>$<digest>`` (both base64): the salt is random per secret, so equal
passwords never hash alike, and scrypt makes guessing from a leaked hash expensive.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["hash_secret", "matches_hash"]

_SCHEME = "scrypt"
_SALT_BYTES = 16
# scrypt cost: 2**14 rounds with 8-byte blocks (16 MiB, a few tens of milliseconds per hash)
_COST, _BLOCK_SIZE, _PARALLELISM = 2**14, 8, 1


def _digest(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(
        secret.encode("utf-8"), salt=salt, n=_COST, r=_BLOCK_SIZE, p=_PARALLELISM, dklen=32
    )


def hash_secret(secret: str) -> str:
    """A fresh salted hash of ``secret``."""
    salt = secrets.token_bytes(_SALT_BYTES)
    encoded = (base64.b64encode(part).decode("ascii") for part in (salt, _digest(secret, salt)))
    return "$".join((_SCHEME, *encoded))


def matches_hash(secret: str, hashed: str) -> bool:
    """Whether ``secret`` is the one ``hashed`` was made from (compared in constant time)."""
    scheme, _, rest = hashed.partition("$")
    salt_text, _, digest_text = rest.partition("$")
    if scheme != _SCHEME or not salt_text or not digest_text:
        return False
    salt, expected = base64.b64decode(salt_text), base64.b64decode(digest_text)
    return hmac.compare_digest(_digest(secret, salt), expected)
