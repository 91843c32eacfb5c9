"""Time-based one-time passwords for virtual MFA devices (RFC 6238: HMAC-SHA1, 30 s, 6 digits).

The codes come from ``pyotp``; this module holds only what IAM adds: how seeds look and
EnableMFADevice's rule that two consecutive codes near now prove the device is in sync.
"""

from __future__ import annotations

import hmac

import pyotp

__all__ = ["STEP_SECONDS", "new_seed", "totp", "verify_consecutive"]

STEP_SECONDS = 30
# 64 Base32 characters (320 bits), as IAM's Base32StringSeed
SEED_LENGTH = 64
# how many steps either side of now a code pair may start at (clock drift AWS tolerates)
DRIFT_STEPS = 10


def new_seed() -> str:
    """A fresh random secret as unpadded Base32 (what authenticator apps read)."""
    return pyotp.random_base32(length=SEED_LENGTH)


def totp(seed: str, epoch_seconds: float) -> str:
    """The code shown at ``epoch_seconds``."""
    return pyotp.TOTP(seed, interval=STEP_SECONDS).at(int(epoch_seconds))


def verify_consecutive(seed: str, first: str, second: str, epoch_seconds: float) -> bool:
    """Whether ``first`` and ``second`` are the codes of two consecutive steps near now."""
    codes = pyotp.HOTP(seed)
    now = int(epoch_seconds // STEP_SECONDS)
    return any(
        hmac.compare_digest(codes.at(step), first)
        and hmac.compare_digest(codes.at(step + 1), second)
        for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1)
    )
