"""Organizations identifiers, ARNs, response shapes, pagination and the organization lookup."""

from __future__ import annotations

import base64
import secrets
import string
from collections.abc import Sequence
from typing import Any, TypeVar

import orjson

from awswire.errors import AwsError
from controlplane.iam.operation import Caller, Params
from controlplane.organizations.errors import org_error
from replication.entities import OrgAccount, Organization, OrgPolicy, OrgUnit
from replication.state import IamState

__all__ = [
    "FULL_ACCESS",
    "account_shape",
    "new_id",
    "page",
    "policy_summary",
    "require_organization",
    "root_shape",
    "unit_shape",
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


def require_organization(state: IamState, caller: Caller) -> Organization:
    """The organization the caller's account manages or belongs to."""
    organization = state.organization_of(caller.account)
    if organization is None:
        raise org_error(
            "AWSOrganizationsNotInUseException",
            "Your account is not a member of an organization.",
        )
    return organization


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
