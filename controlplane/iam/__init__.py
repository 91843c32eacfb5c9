"""IAM actions of the control plane, each a pure handler over the projection."""

from __future__ import annotations

from controlplane.iam import (
    access_key_usage,
    access_keys,
    account,
    account_summary,
    attachments,
    boundaries,
    context_keys,
    credential_report,
    groups,
    identity_providers,
    instance_profiles,
    login_profiles,
    managed_policies,
    mfa,
    password_policy,
    renames,
    role_updates,
    roles,
    server_certificates,
    service_credentials,
    signing_certificates,
    simulation,
    ssh_keys,
    user_policies,
    users,
)
from controlplane.iam.operation import Caller, Change, Operation, Outcome

__all__ = ["OPERATIONS", "Caller", "Change", "Operation", "Outcome"]

OPERATIONS: dict[str, Operation] = {
    op.name: op
    for module in (
        users,
        access_keys,
        user_policies,
        groups,
        roles,
        managed_policies,
        attachments,
        boundaries,
        instance_profiles,
        identity_providers,
        mfa,
        account,
        account_summary,
        renames,
        role_updates,
        simulation,
        server_certificates,
        context_keys,
        password_policy,
        login_profiles,
        ssh_keys,
        signing_certificates,
        service_credentials,
        access_key_usage,
        credential_report,
    )
    for op in module.OPERATIONS
}
