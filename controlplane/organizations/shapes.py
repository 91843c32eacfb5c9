"""Organizations identifiers, ARNs, response shapes, pagination and the organization lookup."""

from __future__ import annotations

import base64
import secrets
import string
from collections.abc import Sequence
from typing import Any, TypeVar

import orjson

from awswire.errors import AwsError
from controlplane.iam.operation import (
    Change,
    Handler,
    Operation,
    OperationKind,
    Params,
    Requester,
    any_resource,
)
from controlplane.organizations.errors import org_error
from replication.entities import OrgAccount, Organization, OrgPolicy, OrgTag, OrgUnit
from replication.state import IamState

__all__ = [
    "FULL_ACCESS",
    "account_shape",
    "new_id",
    "org_operation",
    "page",
    "policy_summary",
    "put",
    "require_management",
    "require_organization",
    "root_shape",
    "standalone_email",
    "unit_shape",
    "with_tags",
    "without_resource",
]

SCP = "SERVICE_CONTROL_POLICY"
RCP = "RESOURCE_CONTROL_POLICY"
_LOWER = string.ascii_lowercase + string.digits


def new_id(prefix: str, length: int) -> str:
    """A fresh id such as ``o-`` + 10 lower-case letters and digits."""
    return prefix + "".join(secrets.choice(_LOWER) for _ in range(length))


def _document(statement: dict[str, Any]) -> str:
    return orjson.dumps({"Version": "2012-10-17", "Statement": [statement]}).decode()


#: the AWS managed policy of each type, attached everywhere when the type is enabled
FULL_ACCESS: dict[str, OrgPolicy] = {
    SCP: OrgPolicy(
        id="p-FullAWSAccess",
        name="FullAWSAccess",
        description="Allows access to every operation",
        type=SCP,
        content=_document({"Effect": "Allow", "Action": "*", "Resource": "*"}),
        aws_managed=True,
    ),
    RCP: OrgPolicy(
        id="p-RCPFullAWSAccess",
        name="RCPFullAWSAccess",
        description="Allows access to every operation",
        type=RCP,
        content=_document({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}),
        aws_managed=True,
    ),
}


def org_operation(name: str, handler: Handler, kind: OperationKind) -> Operation:
    """An Organizations action, authorized as ``organizations:<name>``."""
    # the handlers check who may do what: every action is authorized on "*"
    return Operation(name, handler, any_resource, kind, service="organizations")


def put(organization: Organization) -> Change:
    """The one change of an Organizations write: the whole organization after it."""
    return Change.put(organization)


def with_tags(
    organization: Organization, resource_id: str, tags: Sequence[dict[str, str]] | None
) -> Organization:
    """The organization with ``tags`` (the wire's Key/Value list) set on one resource; a key
    already there takes the new value."""
    if not tags:
        return organization
    new = {t["Key"]: t["Value"] for t in tags}
    kept = tuple(
        t for t in organization.resource_tags if not (t.resource_id == resource_id and t.key in new)
    )
    added = tuple(OrgTag(resource_id=resource_id, key=k, value=v) for k, v in new.items())
    return organization.model_copy(update={"resource_tags": (*kept, *added)})


def without_resource(organization: Organization, resource_id: str) -> Organization:
    """The organization with a removed account, OU or policy gone from every policy's targets
    and its tags dropped."""
    policies = tuple(
        p.model_copy(update={"targets": tuple(t for t in p.targets if t != resource_id)})
        if resource_id in p.targets
        else p
        for p in organization.policies
    )
    tags = tuple(t for t in organization.resource_tags if t.resource_id != resource_id)
    return organization.model_copy(update={"policies": policies, "resource_tags": tags})


def require_organization(state: IamState, caller: Requester) -> Organization:
    """The organization the caller's account manages or belongs to."""
    organization = state.organization_of(caller.account)
    if organization is None:
        raise org_error(
            "AWSOrganizationsNotInUseException",
            "Your account is not a member of an organization.",
        )
    return organization


def require_management(state: IamState, caller: Requester) -> Organization:
    """The organization the caller's account manages: member accounts are refused, as in AWS."""
    organization = require_organization(state, caller)
    if caller.account != organization.management_account:
        raise org_error(
            "AccessDeniedException", "You don't have permissions to access this resource."
        )
    return organization


def standalone_email(account_id: str) -> str:
    """The root email address the emulator gives an account outside any organization (AWS
    accounts always have one; the emulator's accounts are made without)."""
    return f"root@{account_id}.example.com"


def _base(organization: Organization) -> str:
    return f"arn:aws:organizations::{organization.management_account}"


def account_shape(organization: Organization, account: OrgAccount) -> dict[str, Any]:
    """The ``Account`` structure."""
    return {
        "Id": account.id,
        "Arn": f"{_base(organization)}:account/{organization.id}/{account.id}",
        "Email": account.email,
        "Name": account.name,
        "Status": account.status,
        "State": account.status,
        "JoinedMethod": account.joined_method,
        "JoinedTimestamp": account.joined_at,
    }


def unit_shape(organization: Organization, unit: OrgUnit) -> dict[str, Any]:
    """The ``OrganizationalUnit`` structure."""
    arn = f"{_base(organization)}:ou/{organization.id}/{unit.id}"
    return {"Id": unit.id, "Arn": arn, "Name": unit.name}


def root_shape(organization: Organization) -> dict[str, Any]:
    """The ``Root`` structure, with the policy types enabled on it."""
    return {
        "Id": organization.root_id,
        "Arn": f"{_base(organization)}:root/{organization.id}/{organization.root_id}",
        "Name": "Root",
        "PolicyTypes": [
            {"Type": kind, "Status": "ENABLED"} for kind in organization.enabled_policy_types
        ],
    }


def policy_summary(organization: Organization, policy: OrgPolicy) -> dict[str, Any]:
    """The ``PolicySummary`` structure."""
    kind = policy.type.lower()
    arn = (
        f"arn:aws:organizations::aws:policy/{kind}/{policy.id}"
        if policy.aws_managed
        else f"{_base(organization)}:policy/{organization.id}/{kind}/{policy.id}"
    )
    return {
        "Id": policy.id,
        "Arn": arn,
        "Name": policy.name,
        "Description": policy.description,
        "Type": policy.type,
        "AwsManaged": policy.aws_managed,
    }


T = TypeVar("T")


def page(items: Sequence[T], params: Params) -> tuple[list[T], dict[str, Any]]:
    """One page of ``items`` for MaxResults/NextToken (the token is an opaque offset)."""
    size = int(params.get("MaxResults") or 20)
    start = 0
    if params.get("NextToken"):
        try:
            start = int(base64.urlsafe_b64decode(str(params["NextToken"]).encode()).decode())
        except ValueError:
            raise AwsError("InvalidInputException", "The NextToken is not valid.", 400) from None
    chunk = list(items[start : start + size])
    if start + size < len(items):
        token = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        return chunk, {"NextToken": token}
    return chunk, {}
