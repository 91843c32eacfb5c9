"""IAM actions of the control plane, each a pure handler over the projection.

``OPERATIONS`` maps every action name to its registration; each module's own ``OPERATIONS``
table writes the names out (``Operation("CreateUser", create_user, ..., OperationKind.WRITE)``),
and ``operation.py`` says what a handler, a registration and an ``OperationKind`` are.
"""

from __future__ import annotations

from controlplane.iam.account import aliases, authorization_details, summary
from controlplane.iam.credentials import (
    access_key_usage,
    access_keys,
    credential_report,
    login_profiles,
    mfa,
    password_policy,
    service_credentials,
    signing_certificates,
    ssh_keys,
)
from controlplane.iam.operation import Change, HandlerResult, Operation, OperationKind, Requester
from controlplane.iam.policies import attachments, boundaries, managed_policies, user_policies
from controlplane.iam.principals import groups, renames, role_updates, roles, users
from controlplane.iam.resources import (
    instance_profiles,
    oidc_providers,
    saml_providers,
    server_certificates,
)
from controlplane.iam.simulation import authorize_queries, context_keys

__all__ = ["OPERATIONS", "Change", "HandlerResult", "Operation", "OperationKind", "Requester"]

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
        oidc_providers,
        saml_providers,
        mfa,
        aliases,
        authorization_details,
        summary,
        renames,
        role_updates,
        authorize_queries,
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
