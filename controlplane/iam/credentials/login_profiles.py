"""Console passwords: Create/Get/Update/DeleteLoginProfile and ChangePassword.

A login profile lives on its user and keeps only a salted hash of the password; every new
password is checked against the account's password policy (AWS's default one when unset).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from awswire.errors import AwsError
from controlplane.iam.credentials.password_policy import require_acceptable_password
from controlplane.iam.credentials.secret_hashing import hash_secret, matches_hash
from controlplane.iam.credentials.user_changes import user_put
from controlplane.iam.operation import HandlerResult, Operation, OperationKind, Params, Requester
from controlplane.iam.principals.users import require_user, user_of_call, user_resource
from controlplane.iam.support.errors import (
    entity_already_exists,
    no_such_entity,
    root_credentials_unsupported,
)
from replication.entities import LoginProfile, User
from replication.state import IamState

__all__ = ["OPERATIONS"]

# how many earlier password hashes a profile keeps: PasswordReusePrevention's maximum
REMEMBERED_PASSWORDS = 24


def _target_user(state: IamState, params: Params, caller: Requester) -> User:
    """The user the call names, else the calling user (the root user has no profile here)."""
    user = user_of_call(state, params, caller)
    if user is None:
        raise root_credentials_unsupported("login profiles")
    return user


def _require_profile(user: User) -> LoginProfile:
    if user.login_profile is None:
        raise no_such_entity(f"Login Profile for User {user.name} cannot be found.")
    return user.login_profile


def _profile_shape(user: User, profile: LoginProfile) -> dict[str, Any]:
    return {
        "UserName": user.name,
        "CreateDate": profile.created_at,
        "PasswordResetRequired": profile.password_reset_required,
    }


def _with_new_password(profile: LoginProfile, password: str, now: datetime) -> LoginProfile:
    """The profile holding ``password``; the replaced hash joins the remembered ones."""
    previous = (profile.password_hash, *profile.previous_hashes)[:REMEMBERED_PASSWORDS]
    return profile.model_copy(
        update={
            "password_hash": hash_secret(password),
            "password_changed_at": now,
            "previous_hashes": previous,
        }
    )


def create_login_profile(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """CreateLoginProfile: one console password per user, checked against the policy."""
    user = _target_user(state, params, caller)
    if user.login_profile is not None:
        raise entity_already_exists(f"Login Profile for user {user.name} already exists.")
    password = params.get("Password")
    if password is None:
        # AWS makes Password optional only for root sessions of centralized root access
        raise AwsError("ValidationError", "Password is required to create a login profile.", 400)
    require_acceptable_password(state, caller.account, password)
    profile = LoginProfile(
        created_at=now,
        password_hash=hash_secret(password),
        password_reset_required=params.get("PasswordResetRequired", False),
        password_changed_at=now,
    )
    return HandlerResult(
        {"LoginProfile": _profile_shape(user, profile)}, user_put(user, "login_profile", profile)
    )


def get_login_profile(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """GetLoginProfile: when the profile was made and whether a reset is required."""
    user = _target_user(state, params, caller)
    return HandlerResult({"LoginProfile": _profile_shape(user, _require_profile(user))})


def update_login_profile(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """UpdateLoginProfile: an administrator sets a new password and/or the reset flag."""
    user = require_user(state, caller.account, params["UserName"])
    profile = _require_profile(user)
    if "Password" in params:
        require_acceptable_password(state, caller.account, params["Password"])
        profile = _with_new_password(profile, params["Password"], now)
    if "PasswordResetRequired" in params:
        profile = profile.model_copy(
            update={"password_reset_required": params["PasswordResetRequired"]}
        )
    return HandlerResult({}, user_put(user, "login_profile", profile))


def delete_login_profile(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DeleteLoginProfile: the user can no longer sign in to the console."""
    user = _target_user(state, params, caller)
    _require_profile(user)
    return HandlerResult({}, user_put(user, "login_profile", None))


def change_password(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ChangePassword: an IAM user replaces its own password, proving it knows the old one.

    The new password must satisfy the policy, PasswordReusePrevention included; a pending
    PasswordResetRequired is cleared.
    """
    if caller.user_name is None:
        raise AwsError("InvalidUserType", "Only IAM users can change their own password.", 400)
    user = require_user(state, caller.account, caller.user_name)
    profile = _require_profile(user)
    if not matches_hash(params["OldPassword"], profile.password_hash):
        raise AwsError("InvalidUserType", "The old password is incorrect.", 400)
    new_password = params["NewPassword"]
    require_acceptable_password(state, caller.account, new_password, profile)
    changed = _with_new_password(profile, new_password, now).model_copy(
        update={"password_reset_required": False}
    )
    return HandlerResult({}, user_put(user, "login_profile", changed))


OPERATIONS = (
    Operation("CreateLoginProfile", create_login_profile, user_resource, OperationKind.WRITE),
    Operation("GetLoginProfile", get_login_profile, user_resource, OperationKind.READ),
    Operation("UpdateLoginProfile", update_login_profile, user_resource, OperationKind.WRITE),
    Operation("DeleteLoginProfile", delete_login_profile, user_resource, OperationKind.WRITE),
    Operation("ChangePassword", change_password, lambda s, p, c: c.arn, OperationKind.WRITE),
)
