"""Trusted access and delegated administrators: EnableAWSServiceAccess and friends.

Both are bookkeeping on the organization aggregate; nothing in the engine reads them yet.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from controlplane.iam.operation import HandlerResult, OperationKind, Params, Requester
from controlplane.organizations.errors import constraint_violation, org_error, reasoned_error
from controlplane.organizations.shapes import (
    account_shape,
    org_operation,
    page,
    put,
    require_management,
    require_organization,
)
from controlplane.organizations.tree import require_account
from replication.entities import Organization, OrgDelegatedAdmin, OrgServiceAccess
from replication.state import IamState

__all__ = ["OPERATIONS"]

_SERVICE_PRINCIPAL = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com$")
_NOT_REGISTERED = "The provided account is not a registered delegated administrator."


def _require_principal(params: Params) -> str:
    principal = str(params["ServicePrincipal"])
    if not _SERVICE_PRINCIPAL.match(principal):
        raise reasoned_error(
            "InvalidInputException",
            "UNRECOGNIZED_SERVICE_PRINCIPAL",
            "You specified a service principal that isn't recognized.",
        )
    return principal


def _require_all_features(organization: Organization) -> None:
    if organization.feature_set != "ALL":
        raise constraint_violation(
            "ORGANIZATION_NOT_IN_ALL_FEATURES_MODE",
            "You attempted to perform an operation that requires the organization to be "
            "configured to support all features.",
        )


def enable_service_access(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """EnableAWSServiceAccess: trust a service; enabling it again changes nothing."""
    organization = require_management(state, caller)
    principal = _require_principal(params)
    _require_all_features(organization)
    if any(s.service_principal == principal for s in organization.service_access):
        return HandlerResult({})
    access = OrgServiceAccess(service_principal=principal, enabled_at=now)
    changed = organization.model_copy(
        update={"service_access": (*organization.service_access, access)}
    )
    return HandlerResult({}, put(changed))


def disable_service_access(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DisableAWSServiceAccess: stop trusting a service (not trusted: nothing to do)."""
    organization = require_management(state, caller)
    principal = _require_principal(params)
    kept = tuple(s for s in organization.service_access if s.service_principal != principal)
    if len(kept) == len(organization.service_access):
        return HandlerResult({})
    return HandlerResult({}, put(organization.model_copy(update={"service_access": kept})))


def list_service_access(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListAWSServiceAccessForOrganization."""
    organization = require_management(state, caller)
    enabled = [
        {"ServicePrincipal": s.service_principal, "DateEnabled": s.enabled_at}
        for s in organization.service_access
    ]
    chunk, more = page(enabled, params)
    return HandlerResult({"EnabledServicePrincipals": chunk, **more})


def register_delegated_administrator(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """RegisterDelegatedAdministrator: a member account administers one trusted service."""
    organization = require_management(state, caller)
    principal = _require_principal(params)
    if params["AccountId"] == organization.management_account:
        raise constraint_violation(
            "CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR",
            "You attempted to register the management account of the organization as a "
            "delegated administrator for an Amazon Web Services service integrated with "
            "Organizations. You can designate only a member account as a delegated "
            "administrator.",
        )
    account = require_account(organization, params["AccountId"])
    if account.status != "ACTIVE":
        raise constraint_violation(
            "CANNOT_REGISTER_SUSPENDED_ACCOUNT_AS_DELEGATED_ADMINISTRATOR",
            "You cannot register a suspended account as a delegated administrator.",
        )
    if not any(s.service_principal == principal for s in organization.service_access):
        raise constraint_violation(
            "SERVICE_ACCESS_NOT_ENABLED",
            "You attempted to register a delegated administrator before you enabled service "
            "access. Call the EnableAWSServiceAccess API first.",
        )
    if any(
        d.account_id == account.id and d.service_principal == principal
        for d in organization.delegated_admins
    ):
        raise org_error(
            "AccountAlreadyRegisteredException",
            "The provided account is already a delegated administrator for your organization.",
        )
    delegated = OrgDelegatedAdmin(
        account_id=account.id, service_principal=principal, delegated_at=now
    )
    changed = organization.model_copy(
        update={"delegated_admins": (*organization.delegated_admins, delegated)}
    )
    return HandlerResult({}, put(changed))


def deregister_delegated_administrator(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DeregisterDelegatedAdministrator."""
    organization = require_management(state, caller)
    principal = _require_principal(params)
    account = require_account(organization, params["AccountId"])
    kept = tuple(
        d
        for d in organization.delegated_admins
        if not (d.account_id == account.id and d.service_principal == principal)
    )
    if len(kept) == len(organization.delegated_admins):
        raise org_error("AccountNotRegisteredException", _NOT_REGISTERED)
    return HandlerResult({}, put(organization.model_copy(update={"delegated_admins": kept})))


def _require_administrator(state: IamState, caller: Requester) -> Organization:
    """The management account or any delegated administrator may read the registrations."""
    organization = require_organization(state, caller)
    if caller.account != organization.management_account and not any(
        d.account_id == caller.account for d in organization.delegated_admins
    ):
        raise org_error(
            "AccessDeniedException", "You don't have permissions to access this resource."
        )
    return organization


def list_delegated_administrators(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListDelegatedAdministrators: every delegated administrator, or those of one service."""
    organization = _require_administrator(state, caller)
    wanted = params.get("ServicePrincipal")
    first_delegated: dict[str, datetime] = {}
    for d in organization.delegated_admins:
        if wanted and d.service_principal != wanted:
            continue
        earlier = first_delegated.get(d.account_id)
        first_delegated[d.account_id] = min(earlier, d.delegated_at) if earlier else d.delegated_at
    admins: list[dict[str, Any]] = []
    for account_id, since in first_delegated.items():
        member = organization.member(account_id)
        if member is not None:
            admins.append({**account_shape(organization, member), "DelegationEnabledDate": since})
    chunk, more = page(admins, params)
    return HandlerResult({"DelegatedAdministrators": chunk, **more})


def list_delegated_services_for_account(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListDelegatedServicesForAccount: the services one delegated administrator manages."""
    organization = _require_administrator(state, caller)
    account = require_account(organization, params["AccountId"])
    services = [
        {"ServicePrincipal": d.service_principal, "DelegationEnabledDate": d.delegated_at}
        for d in organization.delegated_admins
        if d.account_id == account.id
    ]
    if not services:
        raise org_error("AccountNotRegisteredException", _NOT_REGISTERED)
    chunk, more = page(services, params)
    return HandlerResult({"DelegatedServices": chunk, **more})


OPERATIONS = (
    org_operation("EnableAWSServiceAccess", enable_service_access, OperationKind.WRITE),
    org_operation("DisableAWSServiceAccess", disable_service_access, OperationKind.WRITE),
    org_operation("ListAWSServiceAccessForOrganization", list_service_access, OperationKind.READ),
    org_operation(
        "RegisterDelegatedAdministrator", register_delegated_administrator, OperationKind.WRITE
    ),
    org_operation(
        "DeregisterDelegatedAdministrator", deregister_delegated_administrator, OperationKind.WRITE
    ),
    org_operation("ListDelegatedAdministrators", list_delegated_administrators, OperationKind.READ),
    org_operation(
        "ListDelegatedServicesForAccount", list_delegated_services_for_account, OperationKind.READ
    ),
)
