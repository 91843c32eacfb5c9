"""Virtual MFA: RFC 6238 TOTP codes checked against a device in the replicated state.

The device must be enabled for the calling IAM user; a code from the previous, current or
next 30-second step is accepted, as AWS tolerates small clock drift.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from collections.abc import Mapping
from typing import Any

from awswire.errors import AwsError, access_denied
from dataplane.principals import ResolvedPrincipal
from dataplane.sts.callers import Caller
from replication.entities import MfaDevice
from replication.state import IamState

__all__ = ["mfa_claims", "totp"]

STEP_SECONDS = 30
DIGITS = 6
_DRIFT_STEPS = (-1, 0, 1)


def totp(seed: str, at: float) -> str:
    """The six-digit code of a Base32 ``seed`` at epoch ``at`` (HMAC-SHA1, 30 s steps)."""
    key = base64.b32decode(seed.upper() + "=" * (-len(seed) % 8))
    counter = struct.pack(">Q", int(at // STEP_SECONDS))
    digest = hmac.new(key, counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**DIGITS:0{DIGITS}d}"


def _device(state: IamState, caller: ResolvedPrincipal, serial: str) -> MfaDevice | None:
    user = caller.user
    if user is None:
        return None
    for (account, _), device in state.mfa_devices.items():
        if (
            account == caller.account
            and device.serial_number == serial
            and (device.user_name or "").lower() == user.name.lower()
        ):
            return device
    return None


def _valid(seed: str, code: str, now: float) -> bool:
    try:
        expected = {totp(seed, now + step * STEP_SECONDS) for step in _DRIFT_STEPS}
    except (binascii.Error, ValueError):
        return False
    return any(hmac.compare_digest(code, candidate) for candidate in expected)


def mfa_claims(
    state: IamState, caller: Caller, params: Mapping[str, Any], now: float
) -> dict[str, Any]:
    """``{"mfa": True, "mfa_authenticated_at": now}`` for a valid SerialNumber+TokenCode,
    ``{}`` when neither was passed; AccessDenied for a wrong code or unknown device."""
    serial, code = params.get("SerialNumber"), params.get("TokenCode")
    if serial is None and code is None:
        return {}
    if serial is None or code is None:
        raise AwsError("ValidationError", "SerialNumber and TokenCode must be passed together.")
    device = _device(state, caller, serial) if isinstance(caller, ResolvedPrincipal) else None
    if device is None:
        raise access_denied(
            "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your "
            "MFA serial number is valid and associated with this user."
        )
    if not _valid(device.seed, str(code), now):
        raise access_denied("MultiFactorAuthentication failed with invalid MFA one time pass code.")
    return {"mfa": True, "mfa_authenticated_at": float(int(now))}
