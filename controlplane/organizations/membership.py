"""Leaving and ending: RemoveAccountFromOrganization, LeaveOrganization, CloseAccount,
DeleteOrganization, plus UpdateOrganizationalUnit and ListCreateAccountStatus.

An account that leaves the organization is simply no longer among its members: the data plane
derives SCP/RCP chains from membership, so the organization's policies stop applying to it in
the same event that removes it.
"""

from __future__ import annotations

from datetime import datetime

from controlplane.iam.operation import Change, HandlerResult, OperationKind, Params, Requester
from controlplane.organizations.errors import constraint_violation, org_error
from controlplane.organizations.shapes import (
    org_operation,
    page,
    put,
    require_management,
    require_organization,
    unit_shape,
    without_resource,
)
from controlplane.organizations.tree import request_shape, require_account, require_unit
from replication.entities import EntityKey, Organization
from replication.state import IamState

__all__ = ["OPERATIONS", "without_account"]

_MANAGEMENT_CANNOT_LEAVE = (
    "You can't remove a management account from an organization. If you want the management "
    "account to become a member account in another organization, you must first delete the "
    "current organization of the management account."
)


def without_account(organization: Organization, account_id: str) -> Organization:
    """The organization once a member account has left: out of the tree, detached from every
    policy, its tags dropped. A delegated administrator must be deregistered first, as in AWS."""
    if any(d.account_id == account_id for d in organization.delegated_admins):
        raise constraint_violation(
            "CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG",
            "You cannot remove a delegated administrator from the organization. Deregister the "
            "account as a delegated administrator first.",
        )
    accounts = tuple(a for a in organization.accounts if a.id != account_id)
    return without_resource(organization, account_id).model_copy(update={"accounts": accounts})


def remove_account_from_organization(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """RemoveAccountFromOrganization: the management account removes a member account."""
    organization = require_management(state, caller)
    if params["AccountId"] == organization.management_account:
        raise org_error("MasterCannotLeaveOrganizationException", _MANAGEMENT_CANNOT_LEAVE)
    account = require_account(organization, params["AccountId"])
    return HandlerResult({}, put(without_account(organization, account.id)))


def leave_organization(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """LeaveOrganization: a member account removes itself."""
    organization = require_organization(state, caller)
    if caller.account == organization.management_account:
        raise org_error("MasterCannotLeaveOrganizationException", _MANAGEMENT_CANNOT_LEAVE)
    return HandlerResult({}, put(without_account(organization, caller.account)))


def close_account(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """CloseAccount: the member account is closed at once (AWS goes PENDING_CLOSURE, then
    SUSPENDED for the 90-day post-closure period, still in the organization)."""
    organization = require_management(state, caller)
    if params["AccountId"] == organization.management_account:
        raise constraint_violation(
            "CANNOT_CLOSE_MANAGEMENT_ACCOUNT",
            "You attempted to close the management account. To close the management account "
            "for the organization, you must first either remove or close all member accounts "
            "in the organization. Follow standard account closure process using root "
            "credentials.",
        )
    account = require_account(organization, params["AccountId"])
    if account.status != "ACTIVE":
        raise org_error(
            "AccountAlreadyClosedException",
            "You attempted to close an account that is already closed.",
        )
    closed = account.model_copy(update={"status": "SUSPENDED"})
    accounts = tuple(closed if a.id == account.id else a for a in organization.accounts)
    return HandlerResult({}, put(organization.model_copy(update={"accounts": accounts})))


def delete_organization(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DeleteOrganization: only once the management account is the only member; every policy,
    OU, invitation and tag goes with it."""
    organization = require_management(state, caller)
    if len(organization.accounts) > 1:
        raise org_error(
            "OrganizationNotEmptyException",
            "The organization isn't empty. To delete an organization, you must first remove all "
            "accounts except the management account.",
        )
    key = EntityKey(
        entity="organization", account=organization.management_account, name=organization.id
    )
    return HandlerResult({}, Change.delete(key))


def update_organizational_unit(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """UpdateOrganizationalUnit: rename an OU (names are unique among its siblings)."""
    organization = require_management(state, caller)
    unit = require_unit(organization, params["OrganizationalUnitId"])
    name = params.get("Name") or unit.name
    siblings = [u for u in organization.units if u.parent_id == unit.parent_id and u.id != unit.id]
    if any(u.name == name for u in siblings):
        raise org_error(
            "DuplicateOrganizationalUnitException", "An OU with the same name already exists."
        )
    renamed = unit.model_copy(update={"name": name})
    units = tuple(renamed if u.id == unit.id else u for u in organization.units)
    changed = organization.model_copy(update={"units": units})
    return HandlerResult({"OrganizationalUnit": unit_shape(changed, renamed)}, put(changed))


def list_create_account_status(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListCreateAccountStatus: every CreateAccount request (all SUCCEEDED here), filtered by
    ``States``."""
    organization = require_management(state, caller)
    statuses = [request_shape(r) for r in organization.account_requests]
    wanted = params.get("States")
    if wanted:
        statuses = [s for s in statuses if s["State"] in wanted]
    chunk, more = page(statuses, params)
    return HandlerResult({"CreateAccountStatuses": chunk, **more})


OPERATIONS = (
    org_operation(
        "RemoveAccountFromOrganization", remove_account_from_organization, OperationKind.WRITE
    ),
    org_operation("LeaveOrganization", leave_organization, OperationKind.WRITE),
    org_operation("CloseAccount", close_account, OperationKind.WRITE),
    org_operation("DeleteOrganization", delete_organization, OperationKind.WRITE),
    org_operation("UpdateOrganizationalUnit", update_organizational_unit, OperationKind.WRITE),
    org_operation("ListCreateAccountStatus", list_create_account_status, OperationKind.READ),
)
