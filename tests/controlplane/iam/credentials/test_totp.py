"""TOTP as RFC 6238 defines it (its SHA-1 test vectors), used by EnableMFADevice."""

from __future__ import annotations

import base64

import pytest

from controlplane.iam.credentials.totp import new_seed, totp, verify_consecutive

# RFC 6238 appendix B: the SHA-1 secret is the ASCII string "12345678901234567890"
RFC_SEED = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("epoch", "code"),
    [(59, "287082"), (1111111109, "081804"), (1234567890, "005924"), (2000000000, "279037")],
)
def test_rfc_6238_vectors(epoch: int, code: str) -> None:
    """The six-digit codes of RFC 6238's SHA-1 vectors."""
    assert totp(RFC_SEED, epoch) == code


def test_two_consecutive_codes_verify_and_others_do_not() -> None:
    """A pair of consecutive codes near now verifies; a swapped or stale pair does not."""
    seed = new_seed()
    now = 1_800_000_000.0
    first, second = totp(seed, now), totp(seed, now + 30)
    assert verify_consecutive(seed, first, second, now)
    assert not verify_consecutive(seed, second, first, now) or first == second
    assert not verify_consecutive(seed, first, second, now + 3600)
