"""The account password policy: Update/Get/DeleteAccountPasswordPolicy, and the rules every
new console password is checked against (the custom policy, else AWS's default one)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from awswire.errors import AwsError
from controlplane.iam.credentials.secret_hashing import matches_hash
from controlplane.iam.operation import (
    Change,
    HandlerResult,
    Operation,
    OperationKind,
    Params,
    Requester,
    any_resource,
)
from controlplane.iam.support.errors import no_such_entity
from replication.entities import LoginProfile, PasswordPolicy
from replication.state import IamState

__all__ = [
    "OPERATIONS",
    "POLICY_SYMBOLS",
    "policy_violation",
    "require_acceptable_password",
]

# the non-alphanumeric characters a custom policy's RequireSymbols counts (AWS's list)
POLICY_SYMBOLS = frozenset("!@#$%^&*()_+-=[]{}|'")
# AWS's default policy, in force while the account has no custom one
DEFAULT_MINIMUM_LENGTH = 8
DEFAULT_CHARACTER_KINDS = 3


def _password_policy_violation(message: str) -> AwsError:
    return AwsError("PasswordPolicyViolation", message, 400)


def _default_rules_violation(password: str, account_names: Iterable[str]) -> str | None:
    """What AWS's default policy finds wrong with ``password`` (None: nothing)."""
    if len(password) < DEFAULT_MINIMUM_LENGTH:
        return f"Password should have a minimum length of {DEFAULT_MINIMUM_LENGTH}"
    kinds = (
        any(c.isupper() for c in password),
        any(c.islower() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    )
    if sum(kinds) < DEFAULT_CHARACTER_KINDS:
        return (
            "Password should have at least three of the following character types: "
            "uppercase letters, lowercase letters, numbers and symbols"
        )
    if any(password.lower() == name.lower() for name in account_names if name):
        return "Password should not be the same as the account name or email address"
    return None


def _custom_rules_violation(password: str, policy: PasswordPolicy) -> str | None:
    """What a custom policy finds wrong with ``password`` (None: nothing)."""
    if len(password) < policy.minimum_length:
        return f"Password should have a minimum length of {policy.minimum_length}"
    checks = (
        (policy.require_uppercase, str.isupper, "uppercase letter"),
        (policy.require_lowercase, str.islower, "lowercase letter"),
        (policy.require_numbers, str.isdigit, "number"),
        (policy.require_symbols, POLICY_SYMBOLS.__contains__, "symbol"),
    )
    for required, is_kind, kind in checks:
        if required and not any(is_kind(c) for c in password):
            return f"Password should have at least one {kind}"
    return None


def policy_violation(
    password: str, policy: PasswordPolicy | None, account_names: Iterable[str] = ()
) -> str | None:
    """Why ``password`` breaks the account's rules, as AWS words it; None when it is fine.

    Without a custom policy AWS's default applies: at least eight characters, three of the four
    character kinds, and not the account's name or email address.
    """
    if policy is None:
        return _default_rules_violation(password, account_names)
    return _custom_rules_violation(password, policy)


def _account_names(state: IamState, account: str) -> list[str]:
    """The account's name and email addresses, as far as the emulator knows them."""
    organization = state.organization_of(account)
    if organization is None:
        return []
    member = organization.member(account)
    names = [member.name, member.email] if member else []
    if organization.management_account == account:
        names.append(organization.management_email)
    return names


def require_acceptable_password(
    state: IamState, account: str, password: str, profile: LoginProfile | None = None
) -> None:
    """PasswordPolicyViolation unless ``password`` satisfies the account's policy, including
    PasswordReusePrevention against the earlier passwords of ``profile``."""
    policy = state.accounts[account].password_policy
    violation = policy_violation(password, policy, _account_names(state, account))
    if violation is None and policy is not None and policy.reuse_prevention and profile:
        recent = (profile.password_hash, *profile.previous_hashes)[: policy.reuse_prevention]
        if any(matches_hash(password, hashed) for hashed in recent):
            violation = (
                f"Password should not be one of the last {policy.reuse_prevention} passwords used"
            )
    if violation is not None:
        raise _password_policy_violation(violation)


def _policy_shape(policy: PasswordPolicy) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "MinimumPasswordLength": policy.minimum_length,
        "RequireSymbols": policy.require_symbols,
        "RequireNumbers": policy.require_numbers,
        "RequireUppercaseCharacters": policy.require_uppercase,
        "RequireLowercaseCharacters": policy.require_lowercase,
        "AllowUsersToChangePassword": policy.allow_users_to_change,
        "ExpirePasswords": policy.max_age_days is not None,
    }
    if policy.max_age_days is not None:
        shape["MaxPasswordAge"] = policy.max_age_days
    if policy.reuse_prevention is not None:
        shape["PasswordReusePrevention"] = policy.reuse_prevention
    if policy.hard_expiry is not None:
        shape["HardExpiry"] = policy.hard_expiry
    return shape


def update_account_password_policy(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """UpdateAccountPasswordPolicy: replaces the whole policy; an omitted parameter reverts to
    its default (the ranges, e.g. MinimumPasswordLength 6-128, are the wire layer's checks)."""
    policy = PasswordPolicy(
        minimum_length=params.get("MinimumPasswordLength", 6),
        require_symbols=params.get("RequireSymbols", False),
        require_numbers=params.get("RequireNumbers", False),
        require_uppercase=params.get("RequireUppercaseCharacters", False),
        require_lowercase=params.get("RequireLowercaseCharacters", False),
        allow_users_to_change=params.get("AllowUsersToChangePassword", False),
        max_age_days=params.get("MaxPasswordAge"),
        reuse_prevention=params.get("PasswordReusePrevention"),
        hard_expiry=params.get("HardExpiry"),
    )
    account = state.accounts[caller.account].model_copy(update={"password_policy": policy})
    return HandlerResult({}, Change.put(account))


def _require_policy(state: IamState, caller: Requester) -> PasswordPolicy:
    policy = state.accounts[caller.account].password_policy
    if policy is None:
        raise no_such_entity(
            f"The Password Policy with domain name {caller.account} cannot be found."
        )
    return policy


def get_account_password_policy(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """GetAccountPasswordPolicy: the custom policy; NoSuchEntity while none is set."""
    return HandlerResult({"PasswordPolicy": _policy_shape(_require_policy(state, caller))})


def delete_account_password_policy(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DeleteAccountPasswordPolicy: back to AWS's default rules; NoSuchEntity if none is set."""
    _require_policy(state, caller)
    account = state.accounts[caller.account].model_copy(update={"password_policy": None})
    return HandlerResult({}, Change.put(account))


OPERATIONS = (
    Operation(
        "UpdateAccountPasswordPolicy",
        update_account_password_policy,
        any_resource,
        OperationKind.WRITE,
    ),
    Operation(
        "GetAccountPasswordPolicy",
        get_account_password_policy,
        any_resource,
        OperationKind.READ,
    ),
    Operation(
        "DeleteAccountPasswordPolicy",
        delete_account_password_policy,
        any_resource,
        OperationKind.WRITE,
    ),
)
