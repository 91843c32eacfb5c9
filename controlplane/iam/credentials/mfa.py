"""Virtual MFA devices: Create/DeleteVirtualMFADevice, Enable/Deactivate/Resync/GetMFADevice,
ListMFADevices, ListVirtualMFADevices and the device's tags. Enabling and resyncing check
two consecutive TOTP codes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from awswire.errors import AwsError
from controlplane.iam.credentials.totp import new_seed, verify_consecutive
from controlplane.iam.operation import (
    Change,
    HandlerResult,
    Operation,
    OperationKind,
    Params,
    Requester,
)
from controlplane.iam.principals.users import require_user, user_of_call, user_resource, user_shape
from controlplane.iam.support.errors import delete_conflict, entity_already_exists, no_such_entity
from controlplane.iam.support.named_entities import key_of
from controlplane.iam.support.pagination import paginate
from controlplane.iam.support.tags import tag_handlers, tags_of
from replication.arns import mfa_arn, parse_iam_arn, user_arn
from replication.entities import MfaDevice
from replication.state import IamState

__all__ = ["OPERATIONS"]


def _devices_of(state: IamState, account: str) -> list[MfaDevice]:
    found = [d for (acct, _), d in state.mfa_devices.items() if acct == account]
    return sorted(found, key=lambda d: d.serial_number)


def _require(state: IamState, caller: Requester, serial: str) -> MfaDevice:
    parsed = parse_iam_arn(serial)
    device = None
    if parsed is not None and parsed[1] == "mfa" and parsed[0] == caller.account:
        device = state.mfa_devices.get((parsed[0], parsed[3]))
    if device is None or device.serial_number != serial:
        raise no_such_entity(f"VirtualMFADevice with serial number {serial} doesn't exist.")
    return device


def _device_resource(state: IamState, params: Params, caller: Requester) -> str:
    if "SerialNumber" in params:
        return str(params["SerialNumber"])
    name = params["VirtualMFADeviceName"]
    return mfa_arn(caller.account, params.get("Path", "/"), name)


def create_virtual_mfa_device(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """CreateVirtualMFADevice: a device and its Base32 seed, shown only in this answer."""
    name = params["VirtualMFADeviceName"]
    if (caller.account, name) in state.mfa_devices:
        raise entity_already_exists("MFADevice entity at the same path and name already exists.")
    device = MfaDevice(
        account=caller.account,
        name=name,
        path=params.get("Path", "/"),
        seed=new_seed(),
        created_at=now,
        tags=tags_of(params),
    )
    shape = {"SerialNumber": device.serial_number, "Base32StringSeed": device.seed.encode()}
    return HandlerResult({"VirtualMFADevice": shape}, Change.put(device))


def _invalid_codes() -> AwsError:
    return AwsError(
        "InvalidAuthenticationCode", "Authentication code for device is not valid.", 403
    )


def _enabled_for(state: IamState, caller: Requester, params: Params) -> MfaDevice:
    """The device ``SerialNumber`` names, enabled for ``UserName`` (when one is given)."""
    user = require_user(state, caller.account, params["UserName"]) if "UserName" in params else None
    device = _require(state, caller, params["SerialNumber"])
    owner = device.user_name
    if owner is None or (user is not None and owner.lower() != user.name.lower()):
        raise no_such_entity(f"MFA Device with serial number {device.serial_number} not found.")
    return device


def _owner_resource(state: IamState, params: Params, caller: Requester) -> str:
    """GetMFADevice is authorized on the user: the one named, else the device's owner."""
    if "UserName" in params:
        return user_resource(state, params, caller)
    parsed = parse_iam_arn(str(params["SerialNumber"]))
    device = state.mfa_devices.get((parsed[0], parsed[3])) if parsed else None
    owner = state.user(caller.account, device.user_name) if device and device.user_name else None
    return user_arn(owner.account, owner.path, owner.name) if owner else caller.arn


def enable_mfa_device(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """EnableMFADevice: bind a device to a user once two consecutive codes prove possession."""
    user = require_user(state, caller.account, params["UserName"])
    device = _require(state, caller, params["SerialNumber"])
    if device.user_name is not None:
        raise entity_already_exists("MFA Device is already in use.")
    codes = params["AuthenticationCode1"], params["AuthenticationCode2"]
    if not verify_consecutive(device.seed, *codes, now.timestamp()):
        raise _invalid_codes()
    changed = device.model_copy(update={"user_name": user.name, "enabled_at": now})
    return HandlerResult({}, Change.put(changed))


def resync_mfa_device(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ResyncMFADevice: two consecutive codes must be valid near now.

    The emulator's clock and the device's never drift apart, so a valid pair changes nothing.
    """
    device = _enabled_for(state, caller, params)
    codes = params["AuthenticationCode1"], params["AuthenticationCode2"]
    if not verify_consecutive(device.seed, *codes, now.timestamp()):
        raise _invalid_codes()
    return HandlerResult({})


def get_mfa_device(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """GetMFADevice: the user a device is enabled for, and since when."""
    device = _enabled_for(state, caller, params)
    return HandlerResult(
        {
            "UserName": device.user_name,
            "SerialNumber": device.serial_number,
            "EnableDate": device.enabled_at,
        }
    )


def deactivate_mfa_device(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DeactivateMFADevice: unbind a device from its user."""
    user = require_user(state, caller.account, params["UserName"])
    device = _require(state, caller, params["SerialNumber"])
    if device.user_name is None or device.user_name.lower() != user.name.lower():
        raise no_such_entity(f"MFA Device with serial number {device.serial_number} not found.")
    changed = device.model_copy(update={"user_name": None, "enabled_at": None})
    return HandlerResult({}, Change.put(changed))


def delete_virtual_mfa_device(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DeleteVirtualMFADevice: refused while the device is enabled for a user."""
    device = _require(state, caller, params["SerialNumber"])
    if device.user_name is not None:
        raise delete_conflict("MFA Device is already in use.")
    return HandlerResult({}, Change.delete(key_of(device)))


def list_mfa_devices(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListMFADevices: the devices enabled for a user (the caller when no name is given)."""
    user = user_of_call(state, params, caller)
    owner = user.name if user else None
    found = [
        d
        for d in _devices_of(state, caller.account)
        if d.user_name is not None and d.user_name.lower() == (owner or "").lower()
    ]
    page, more = paginate(found, params, key=lambda d: d.serial_number)
    shapes = [
        {"UserName": d.user_name, "SerialNumber": d.serial_number, "EnableDate": d.enabled_at}
        for d in page
    ]
    return HandlerResult({"MFADevices": shapes, **more})


def list_virtual_mfa_devices(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListVirtualMFADevices: Assigned, Unassigned or Any."""
    status = params.get("AssignmentStatus", "Any")
    found = [
        d
        for d in _devices_of(state, caller.account)
        if status == "Any" or (status == "Assigned") == (d.user_name is not None)
    ]
    page, more = paginate(found, params, key=lambda d: d.serial_number)
    shapes: list[dict[str, Any]] = []
    for device in page:
        shape: dict[str, Any] = {"SerialNumber": device.serial_number}
        user = state.user(device.account, device.user_name) if device.user_name else None
        if user is not None:
            shape |= {"User": user_shape(user), "EnableDate": device.enabled_at}
        shapes.append(shape)
    return HandlerResult({"VirtualMFADevices": shapes, **more})


_mfa_device_tags = tag_handlers("MFADevice", lambda s, p, c: _require(s, c, p["SerialNumber"]))

OPERATIONS = (
    Operation(
        "CreateVirtualMFADevice",
        create_virtual_mfa_device,
        _device_resource,
        OperationKind.WRITE,
    ),
    Operation("EnableMFADevice", enable_mfa_device, user_resource, OperationKind.WRITE),
    Operation("DeactivateMFADevice", deactivate_mfa_device, user_resource, OperationKind.WRITE),
    Operation("ResyncMFADevice", resync_mfa_device, user_resource, OperationKind.WRITE),
    Operation("GetMFADevice", get_mfa_device, _owner_resource, OperationKind.READ),
    Operation(
        "DeleteVirtualMFADevice",
        delete_virtual_mfa_device,
        _device_resource,
        OperationKind.WRITE,
    ),
    Operation("ListMFADevices", list_mfa_devices, user_resource, OperationKind.READ),
    Operation(
        "ListVirtualMFADevices",
        list_virtual_mfa_devices,
        lambda s, p, c: f"arn:aws:iam::{c.account}:mfa/",
        OperationKind.READ,
    ),
    Operation("TagMFADevice", _mfa_device_tags.tag, _device_resource, OperationKind.WRITE),
    Operation("UntagMFADevice", _mfa_device_tags.untag, _device_resource, OperationKind.WRITE),
    Operation(
        "ListMFADeviceTags", _mfa_device_tags.list_tags, _device_resource, OperationKind.READ
    ),
)
