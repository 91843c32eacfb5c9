"""Virtual MFA: RFC 6238 TOTP codes checked against a device in the replicated state.

The device must be enabled for the calling IAM user; a code from the previous, current or
next 30-second step is accepted, as AWS tolerates small clock drift.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from typing import Any

import pyotp

from awswire.errors import AwsError, access_denied
from dataplane.identity.callers import Caller
from dataplane.identity.long_term import LongTermCaller
from replication.entities import MfaDevice
from replication.state import IamState

__all__ = ["mfa_claims", "totp"]

STEP_SECONDS = 30
# one step of drift either way, as AWS tolerates
_VALID_WINDOW = 1


def totp(seed: str, at: float) -> str:
    """The six-digit code of a Base32 ``seed`` at epoch ``at``."""
    return pyotp.TOTP(seed, interval=STEP_SECONDS).at(int(at))


def _device(state: IamState, caller: LongTermCaller, serial: str) -> MfaDevice | None:
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
        return pyotp.TOTP(seed, interval=STEP_SECONDS).verify(
            code, for_time=int(now), valid_window=_VALID_WINDOW
        )
    except (binascii.Error, ValueError):
        return False


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
    device = _device(state, caller, serial) if isinstance(caller, LongTermCaller) else None
    if device is None:
        raise access_denied(
            "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your "
            "MFA serial number is valid and associated with this user."
        )
    if not _valid(device.seed, str(code), now):
        raise access_denied("MultiFactorAuthentication failed with invalid MFA one time pass code.")
    return {"mfa": True, "mfa_authenticated_at": float(int(now))}
