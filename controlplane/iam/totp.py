"""Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): HMAC-SHA1, 30 s, 6 digits."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["STEP_SECONDS", "new_seed", "totp", "verify_consecutive"]

STEP_SECONDS = 30
DIGITS = 6
# how many steps either side of now a code pair may start at (clock drift AWS tolerates)
DRIFT_STEPS = 10


def new_seed() -> str:
    """A fresh 160-bit secret as unpadded Base32 (what authenticator apps read)."""
    return base64.b32encode(secrets.token_bytes(40)).decode("ascii").rstrip("=")


def _key(seed: str) -> bytes:
    return base64.b32decode(seed + "=" * (-len(seed) % 8))


def hotp(seed: str, counter: int) -> str:
    """RFC 4226: the code for one counter value."""
    digest = hmac.new(_key(seed), counter.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{value % 10**DIGITS:0{DIGITS}d}"


def totp(seed: str, epoch_seconds: float) -> str:
    """RFC 6238: the code shown at ``epoch_seconds``."""
    return hotp(seed, int(epoch_seconds // STEP_SECONDS))


def verify_consecutive(seed: str, first: str, second: str, epoch_seconds: float) -> bool:
    """Whether ``first`` and ``second`` are the codes of two consecutive steps near now."""
    now = int(epoch_seconds // STEP_SECONDS)
    return any(
        hmac.compare_digest(hotp(seed, step), first)
        and hmac.compare_digest(hotp(seed, step + 1), second)
        for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1)
    )
