"""The organization, its accounts and OUs: CreateOrganization, CreateAccount, MoveAccount, ..."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from controlplane.iam.operation import Change, HandlerResult, OperationKind, Params, Requester
from controlplane.organizations.errors import constraint_violation, org_error
from controlplane.organizations.shapes import (
    FULL_ACCESS,
    account_shape,
    new_id,
    org_operation,
    page,
    put,
    require_management,
    require_organization,
    root_shape,
    standalone_email,
    unit_shape,
    with_tags,
    without_resource,
)
from replication.arns import root_arn
from replication.entities import Account, AccountRequest, OrgAccount, Organization, OrgUnit, Role
from replication.ids import IdPrefix, new_account_id, new_unique_id
from replication.state import IamState

__all__ = ["OPERATIONS", "put", "request_shape", "require_account", "with_default_policies"]

OU_DEPTH_LIMIT = 5
ACCESS_ROLE = "OrganizationAccountAccessRole"


def with_default_policies(organization: Organization, target: str) -> Organization:
    """Attach the FullAccess policy of every enabled type to a new OU or account, as AWS does."""
    policies = tuple(
        p.model_copy(update={"targets": (*p.targets, target)})
        if p.aws_managed and p.type in organization.enabled_policy_types
        else p
        for p in organization.policies
    )
    return organization.model_copy(update={"policies": policies})


def organization_shape(organization: Organization) -> dict[str, Any]:
    """The ``Organization`` structure."""
    return {
        "Id": organization.id,
        "Arn": organization.arn,
        "FeatureSet": organization.feature_set,
        "MasterAccountArn": f"arn:aws:organizations::{organization.management_account}:account/"
        f"{organization.id}/{organization.management_account}",
        "MasterAccountId": organization.management_account,
        "MasterAccountEmail": organization.management_email,
        "AvailablePolicyTypes": [
            {"Type": kind, "Status": "ENABLED"} for kind in organization.enabled_policy_types
        ],
    }


def create_organization(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """CreateOrganization: the caller's account becomes the management account."""
    if state.organization_of(caller.account) is not None:
        raise org_error(
            "AlreadyInOrganizationException",
            "The AWS account is already a member of an organization.",
        )
    root_id = new_id("r-", 4)
    email = standalone_email(caller.account)
    management = OrgAccount(
        id=caller.account,
        name="management",
        email=email,
        parent_id=root_id,
        joined_method="INVITED",
        joined_at=now,
    )
    organization = Organization(
        id=new_id("o-", 10),
        management_account=caller.account,
        management_email=email,
        root_id=root_id,
        feature_set=params.get("FeatureSet", "ALL"),
        created_at=now,
        accounts=(management,),
        policies=tuple(FULL_ACCESS.values()),
    )
    return HandlerResult({"Organization": organization_shape(organization)}, put(organization))


def describe_organization(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DescribeOrganization."""
    return HandlerResult({"Organization": organization_shape(require_organization(state, caller))})


def request_shape(request: AccountRequest) -> dict[str, Any]:
    return {
        "Id": request.id,
        "AccountName": request.account_name,
        "State": "SUCCEEDED",
        "RequestedTimestamp": request.requested_at,
        "CompletedTimestamp": request.requested_at,
        "AccountId": request.account_id,
    }


def create_account(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """CreateAccount: the account exists at once (State SUCCEEDED), under the root."""
    organization = require_management(state, caller)
    if any(a.email == params["Email"] for a in organization.accounts):
        raise org_error("DuplicateAccountException", "That account is already present.")
    account = OrgAccount(
        id=new_account_id(),
        name=params["AccountName"],
        email=params["Email"],
        parent_id=organization.root_id,
        joined_method="CREATED",
        joined_at=now,
    )
    request = AccountRequest(
        id=new_id("car-", 32), account_name=account.name, account_id=account.id, requested_at=now
    )
    changed = organization.model_copy(
        update={
            "accounts": (*organization.accounts, account),
            "account_requests": (*organization.account_requests, request),
        }
    )
    changed = with_default_policies(changed, account.id)
    changed = with_tags(changed, account.id, params.get("Tags"))
    role = _access_role(params, organization, account.id, now)
    batch = Change.batch([changed, Account(id=account.id, created_at=now), role])
    return HandlerResult({"CreateAccountStatus": request_shape(request)}, batch)


def _access_role(
    params: Params, organization: Organization, account_id: str, now: datetime
) -> Role:
    """The role AWS creates in a new member account for the management account to assume."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": root_arn(organization.management_account)},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    return Role(
        account=account_id,
        name=params.get("RoleName") or ACCESS_ROLE,
        role_id=new_unique_id(IdPrefix.ROLE),
        created_at=now,
        trust_policy=orjson.dumps(trust).decode(),
        attached_policies=("arn:aws:iam::aws:policy/AdministratorAccess",),
    )


def describe_create_account_status(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DescribeCreateAccountStatus."""
    organization = require_management(state, caller)
    wanted = params["CreateAccountRequestId"]
    request = next((r for r in organization.account_requests if r.id == wanted), None)
    if request is None:
        raise org_error(
            "CreateAccountStatusNotFoundException",
            "We can't find a create account request with the CreateAccountRequestId that you "
            "specified.",
        )
    return HandlerResult({"CreateAccountStatus": request_shape(request)})


def require_account(organization: Organization, account_id: str) -> OrgAccount:
    """A member account, or AccountNotFoundException."""
    account = organization.member(account_id)
    if account is None:
        raise org_error(
            "AccountNotFoundException",
            "We can't find an AWS account with the AccountId that you specified.",
        )
    return account


def list_accounts(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListAccounts."""
    organization = require_management(state, caller)
    chunk, more = page(organization.accounts, params)
    return HandlerResult({"Accounts": [account_shape(organization, a) for a in chunk], **more})


def describe_account(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DescribeAccount."""
    organization = require_management(state, caller)
    account = require_account(organization, params["AccountId"])
    return HandlerResult({"Account": account_shape(organization, account)})


def list_roots(state: IamState, params: Params, caller: Requester, now: datetime) -> HandlerResult:
    """ListRoots: the organization's one root."""
    return HandlerResult({"Roots": [root_shape(require_management(state, caller))]})


def require_parent(organization: Organization, parent_id: str, shape: str) -> str:
    """A root or OU id of the organization, or the ``shape`` not-found error."""
    if parent_id == organization.root_id or any(u.id == parent_id for u in organization.units):
        return parent_id
    raise org_error(shape, "We can't find a root or OU with the ParentId that you specified.")


def _depth(organization: Organization, parent_id: str) -> int:
    units = {u.id: u for u in organization.units}
    depth = 0
    while parent_id in units:
        depth += 1
        parent_id = units[parent_id].parent_id
    return depth


def create_organizational_unit(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """CreateOrganizationalUnit: at most five levels of OUs under the root."""
    organization = require_management(state, caller)
    parent = require_parent(organization, params["ParentId"], "ParentNotFoundException")
    siblings = [u for u in organization.units if u.parent_id == parent]
    if any(u.name == params["Name"] for u in siblings):
        raise org_error(
            "DuplicateOrganizationalUnitException", "An OU with the same name already exists."
        )
    if _depth(organization, parent) >= OU_DEPTH_LIMIT:
        raise constraint_violation(
            "OU_DEPTH_LIMIT_EXCEEDED", "You attempted to create an OU tree that is too deep."
        )
    unit = OrgUnit(
        id=f"ou-{organization.root_id[2:]}-{new_id('', 8)}", name=params["Name"], parent_id=parent
    )
    changed = organization.model_copy(update={"units": (*organization.units, unit)})
    changed = with_default_policies(changed, unit.id)
    changed = with_tags(changed, unit.id, params.get("Tags"))
    return HandlerResult({"OrganizationalUnit": unit_shape(changed, unit)}, put(changed))


def require_unit(organization: Organization, unit_id: str) -> OrgUnit:
    """An OU, or OrganizationalUnitNotFoundException."""
    unit = next((u for u in organization.units if u.id == unit_id), None)
    if unit is None:
        raise org_error(
            "OrganizationalUnitNotFoundException",
            "We can't find an OU with the OrganizationalUnitId that you specified.",
        )
    return unit


def describe_organizational_unit(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DescribeOrganizationalUnit."""
    organization = require_management(state, caller)
    unit = require_unit(organization, params["OrganizationalUnitId"])
    return HandlerResult({"OrganizationalUnit": unit_shape(organization, unit)})


def delete_organizational_unit(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DeleteOrganizationalUnit: only an empty OU."""
    organization = require_management(state, caller)
    unit = require_unit(organization, params["OrganizationalUnitId"])
    children = [a for a in organization.accounts if a.parent_id == unit.id]
    children += [u for u in organization.units if u.parent_id == unit.id]  # type: ignore[misc]
    if children:
        raise org_error(
            "OrganizationalUnitNotEmptyException",
            "The specified OU is not empty. Move all accounts to another root or OU and delete "
            "all child OUs, and then try the operation again.",
        )
    units = tuple(u for u in organization.units if u.id != unit.id)
    changed = without_resource(organization, unit.id).model_copy(update={"units": units})
    return HandlerResult({}, put(changed))


def list_children(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListChildren: the accounts or OUs directly under a root or OU."""
    organization = require_management(state, caller)
    parent = require_parent(organization, params["ParentId"], "ParentNotFoundException")
    if params["ChildType"] == "ACCOUNT":
        ids = [a.id for a in organization.accounts if a.parent_id == parent]
    else:
        ids = [u.id for u in organization.units if u.parent_id == parent]
    chunk, more = page(ids, params)
    children = [{"Id": child, "Type": params["ChildType"]} for child in chunk]
    return HandlerResult({"Children": children, **more})


def list_accounts_for_parent(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListAccountsForParent."""
    organization = require_management(state, caller)
    parent = require_parent(organization, params["ParentId"], "ParentNotFoundException")
    found = [a for a in organization.accounts if a.parent_id == parent]
    chunk, more = page(found, params)
    return HandlerResult({"Accounts": [account_shape(organization, a) for a in chunk], **more})


def list_organizational_units_for_parent(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListOrganizationalUnitsForParent."""
    organization = require_management(state, caller)
    parent = require_parent(organization, params["ParentId"], "ParentNotFoundException")
    found = [u for u in organization.units if u.parent_id == parent]
    chunk, more = page(found, params)
    units = [unit_shape(organization, u) for u in chunk]
    return HandlerResult({"OrganizationalUnits": units, **more})


def list_parents(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListParents: the one parent of an account or OU."""
    organization = require_management(state, caller)
    child = params["ChildId"]
    account = organization.member(child)
    unit = next((u for u in organization.units if u.id == child), None)
    if account is None and unit is None:
        raise org_error(
            "ChildNotFoundException",
            "We can't find an OU or account with the ChildId that you specified.",
        )
    parent = account.parent_id if account is not None else unit.parent_id  # type: ignore[union-attr]
    kind = "ROOT" if parent == organization.root_id else "ORGANIZATIONAL_UNIT"
    return HandlerResult({"Parents": [{"Id": parent, "Type": kind}]})


def move_account(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """MoveAccount: from its current parent to another root or OU."""
    organization = require_management(state, caller)
    account = require_account(organization, params["AccountId"])
    source = require_parent(organization, params["SourceParentId"], "SourceParentNotFoundException")
    target = require_parent(
        organization, params["DestinationParentId"], "DestinationParentNotFoundException"
    )
    if account.parent_id != source:
        raise org_error(
            "AccountNotFoundException",
            "We can't find an AWS account with the AccountId that you specified.",
        )
    moved = account.model_copy(update={"parent_id": target})
    accounts = tuple(moved if a.id == account.id else a for a in organization.accounts)
    return HandlerResult({}, put(organization.model_copy(update={"accounts": accounts})))


OPERATIONS = (
    org_operation("CreateOrganization", create_organization, OperationKind.WRITE),
    org_operation("DescribeOrganization", describe_organization, OperationKind.READ),
    org_operation("CreateAccount", create_account, OperationKind.WRITE),
    org_operation(
        "DescribeCreateAccountStatus", describe_create_account_status, OperationKind.READ
    ),
    org_operation("ListAccounts", list_accounts, OperationKind.READ),
    org_operation("DescribeAccount", describe_account, OperationKind.READ),
    org_operation("ListRoots", list_roots, OperationKind.READ),
    org_operation("CreateOrganizationalUnit", create_organizational_unit, OperationKind.WRITE),
    org_operation("DescribeOrganizationalUnit", describe_organizational_unit, OperationKind.READ),
    org_operation("DeleteOrganizationalUnit", delete_organizational_unit, OperationKind.WRITE),
    org_operation("ListChildren", list_children, OperationKind.READ),
    org_operation("ListAccountsForParent", list_accounts_for_parent, OperationKind.READ),
    org_operation(
        "ListOrganizationalUnitsForParent", list_organizational_units_for_parent, OperationKind.READ
    ),
    org_operation("ListParents", list_parents, OperationKind.READ),
    org_operation("MoveAccount", move_account, OperationKind.WRITE),
)
