"""IAM roles: Create/Get/List/Update/DeleteRole, trust policies, service-linked roles, inline
policies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from controlplane.iam.operation import (
    Change,
    HandlerResult,
    Operation,
    OperationKind,
    Params,
    Requester,
    listing_resource,
)
from controlplane.iam.policies.documents import encoded
from controlplane.iam.policies.inline_policies import InlineKind, inline_policy_handlers
from controlplane.iam.policies.policy_refs import (
    boundary_shape,
    refuse_while_policies_held,
    require_attachable,
)
from controlplane.iam.principals.trust import validated_trust_policy
from controlplane.iam.support.errors import (
    delete_conflict,
    invalid_input,
    quota_exceeded,
    unmodifiable_entity,
)
from controlplane.iam.support.named_entities import NamedKind, key_of, page_under_path
from controlplane.iam.support.tags import tag_handlers, tag_shapes, tags_member, tags_of
from replication.arns import role_arn
from replication.entities import Role
from replication.ids import IdPrefix, new_unique_id
from replication.policy import INLINE_AGGREGATE_LIMITS
from replication.state import IamState
from replication.trust import rendered_trust_policy

__all__ = ["OPERATIONS", "SERVICE_ROLE_PATH", "require_role", "role_resource", "role_shape"]

ROLES_PER_ACCOUNT = 1000
SERVICE_ROLE_PATH = "/aws-service-role/"


def role_shape(state: IamState, role: Role, full: bool = True) -> dict[str, Any]:
    """The ``Role`` structure of IAM's responses (``full``: with tags, boundary, last use)."""
    shape: dict[str, Any] = {
        "Path": role.path,
        "RoleName": role.name,
        "RoleId": role.role_id,
        "Arn": role.arn,
        "CreateDate": role.created_at,
        "AssumeRolePolicyDocument": encoded(rendered_trust_policy(state, role)),
        "MaxSessionDuration": role.max_session_duration,
    }
    if role.description is not None:
        shape["Description"] = role.description
    if full:
        shape |= boundary_shape(role.permissions_boundary) | tags_member(role.tags)
        shape["RoleLastUsed"] = {}
    return shape


_ROLES: NamedKind[Role] = NamedKind(
    name_param="RoleName",
    find=IamState.role,
    arn_for=role_arn,
    missing="The role with name {name} cannot be found.",
    taken="Role with name {name} already exists.",
)
require_role = _ROLES.require
role_resource = _ROLES.resource


def _new_role(state: IamState, params: Params, caller: Requester, now: datetime, path: str) -> Role:
    name = _ROLES.unused_name(state, params, caller)
    if len(state.roles_of(caller.account)) >= ROLES_PER_ACCOUNT:
        raise quota_exceeded("RolesPerAccount", ROLES_PER_ACCOUNT)
    document = params["AssumeRolePolicyDocument"]
    bound = validated_trust_policy(state, document)
    boundary = params.get("PermissionsBoundary")
    if boundary is not None:
        require_attachable(state, boundary, caller.account)
    return Role(
        account=caller.account,
        name=name,
        path=path,
        role_id=new_unique_id(IdPrefix.ROLE),
        created_at=now,
        trust_policy=document,
        trust_principal_ids=bound,
        description=params.get("Description"),
        max_session_duration=int(params.get("MaxSessionDuration", 3600)),
        permissions_boundary=boundary,
        tags=tags_of(params),
    )


def create_role(state: IamState, params: Params, caller: Requester, now: datetime) -> HandlerResult:
    """CreateRole: a new role with a fresh AROA id and a validated trust policy."""
    role = _new_role(state, params, caller, now, params.get("Path", "/"))
    change = Change.put(role)
    return HandlerResult({"Role": role_shape(state, role, full=False) | _tags(role)}, change)


def _tags(role: Role) -> dict[str, Any]:
    return {"Tags": tag_shapes(role.tags)} if role.tags else {}


def create_service_linked_role(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """CreateServiceLinkedRole: a role at /aws-service-role/SERVICE/ that the service trusts."""
    service = params["AWSServiceName"]
    if not service.endswith(".amazonaws.com"):
        raise invalid_input(f"Invalid service name: {service}")
    prefix = service.removesuffix(".amazonaws.com")
    words = prefix.replace("-", ".").split(".")
    name = "AWSServiceRoleFor" + "".join(w[:1].upper() + w[1:] for w in words)
    if params.get("CustomSuffix"):
        name += "_" + params["CustomSuffix"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        ],
    }
    role_params = {
        "RoleName": name,
        "AssumeRolePolicyDocument": orjson.dumps(trust).decode(),
        "Description": params.get("Description"),
    }
    path = f"{SERVICE_ROLE_PATH}{service}/"
    role = _new_role(state, role_params, caller, now, path)
    change = Change.put(role)
    return HandlerResult({"Role": role_shape(state, role, full=False)}, change)


def get_role(state: IamState, params: Params, caller: Requester, now: datetime) -> HandlerResult:
    """GetRole: the role with its trust policy as AWS shows it now (R22)."""
    return HandlerResult(
        {"Role": role_shape(state, require_role(state, caller.account, params["RoleName"]))}
    )


def list_roles(state: IamState, params: Params, caller: Requester, now: datetime) -> HandlerResult:
    """ListRoles: roles under a path prefix, sorted by name."""
    page, more = page_under_path(state.roles_of(caller.account), params)
    return HandlerResult({"Roles": [role_shape(state, r, full=False) for r in page], **more})


def _service_linked(role: Role) -> bool:
    return role.path.startswith(SERVICE_ROLE_PATH)


def _unmodifiable(role: Role) -> Exception:
    return unmodifiable_entity(
        f"Cannot perform the operation on the protected role '{role.name}' - this role is only "
        "modifiable by AWS"
    )


def update_role(state: IamState, params: Params, caller: Requester, now: datetime) -> HandlerResult:
    """UpdateRole: change the description and/or the maximum session duration."""
    role = require_role(state, caller.account, params["RoleName"])
    update: dict[str, Any] = {}
    if "Description" in params:
        update["description"] = params["Description"]
    if "MaxSessionDuration" in params:
        update["max_session_duration"] = int(params["MaxSessionDuration"])
    changed = role.model_copy(update=update)
    return HandlerResult({}, Change.put(changed))


def update_assume_role_policy(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """UpdateAssumeRolePolicy: replace the trust policy, binding its principals anew."""
    role = require_role(state, caller.account, params["RoleName"])
    if _service_linked(role):
        raise _unmodifiable(role)
    document = params["PolicyDocument"]
    bound = validated_trust_policy(state, document)
    changed = role.model_copy(update={"trust_policy": document, "trust_principal_ids": bound})
    return HandlerResult({}, Change.put(changed))


def delete_role(state: IamState, params: Params, caller: Requester, now: datetime) -> HandlerResult:
    """DeleteRole: refused while it is in an instance profile or has policies."""
    role = require_role(state, caller.account, params["RoleName"])
    if _service_linked(role):
        raise _unmodifiable(role)
    in_profiles = any(
        role.name.lower() in (r.lower() for r in p.roles)
        for (acct, _), p in state.instance_profiles.items()
        if acct == caller.account
    )
    if in_profiles:
        raise delete_conflict(
            "Cannot delete entity, must remove roles from instance profile first."
        )
    refuse_while_policies_held(role)
    return HandlerResult({}, Change.delete(key_of(role)))


def delete_service_linked_role(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DeleteServiceLinkedRole: deletes at once and answers a deletion task id."""
    role = require_role(state, caller.account, params["RoleName"])
    if not _service_linked(role):
        raise invalid_input(f"Role {role.name} is not a service-linked role.")
    key = key_of(role)
    task = f"task{role.path}{role.name}/{new_unique_id('')}"
    return HandlerResult({"DeletionTaskId": task}, Change.delete(key))


_role_tags = tag_handlers("Role", _ROLES.named_in)
_role_inline = inline_policy_handlers(
    InlineKind("Role", require_role, INLINE_AGGREGATE_LIMITS["role"])
)

OPERATIONS = (
    Operation("CreateRole", create_role, role_resource, OperationKind.WRITE),
    Operation("GetRole", get_role, role_resource, OperationKind.READ),
    Operation("ListRoles", list_roles, listing_resource("role"), OperationKind.READ),
    Operation("UpdateRole", update_role, role_resource, OperationKind.WRITE),
    Operation(
        "UpdateAssumeRolePolicy", update_assume_role_policy, role_resource, OperationKind.WRITE
    ),
    Operation("DeleteRole", delete_role, role_resource, OperationKind.WRITE),
    Operation(
        "CreateServiceLinkedRole",
        create_service_linked_role,
        lambda s, p, c: f"arn:aws:iam::{c.account}:role{SERVICE_ROLE_PATH}{p['AWSServiceName']}/*",
        OperationKind.WRITE,
    ),
    Operation(
        "DeleteServiceLinkedRole", delete_service_linked_role, role_resource, OperationKind.WRITE
    ),
    Operation("TagRole", _role_tags.tag, role_resource, OperationKind.WRITE),
    Operation("UntagRole", _role_tags.untag, role_resource, OperationKind.WRITE),
    Operation("ListRoleTags", _role_tags.list_tags, role_resource, OperationKind.READ),
    Operation("PutRolePolicy", _role_inline.put, role_resource, OperationKind.WRITE),
    Operation("GetRolePolicy", _role_inline.get, role_resource, OperationKind.READ),
    Operation("ListRolePolicies", _role_inline.list, role_resource, OperationKind.READ),
    Operation("DeleteRolePolicy", _role_inline.delete, role_resource, OperationKind.WRITE),
)
