"""Instance profiles: Create/Get/List/DeleteInstanceProfile, Add/RemoveRoleFromInstanceProfile,
ListInstanceProfilesForRole. A profile holds at most one role."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from controlplane.iam.operation import (
    Change,
    HandlerResult,
    Operation,
    OperationKind,
    Params,
    PassedRole,
    Requester,
    listing_resource,
)
from controlplane.iam.principals.roles import require_role, role_resource, role_shape
from controlplane.iam.support.errors import (
    delete_conflict,
    no_such_entity,
    quota_exceeded,
)
from controlplane.iam.support.named_entities import NamedKind, key_of, page_by_name, page_under_path
from controlplane.iam.support.tags import tag_handlers, tags_member, tags_of
from replication.arns import instance_profile_arn, role_arn
from replication.entities import InstanceProfile
from replication.ids import IdPrefix, new_unique_id
from replication.state import IamState

__all__ = ["OPERATIONS", "profiles_of"]

ROLES_PER_INSTANCE_PROFILE = 1


def profiles_of(state: IamState, account: str) -> list[InstanceProfile]:
    """The account's instance profiles, sorted by name."""
    found = [p for (acct, _), p in state.instance_profiles.items() if acct == account]
    return sorted(found, key=lambda p: p.name.lower())


def profile_shape(state: IamState, profile: InstanceProfile) -> dict[str, Any]:
    """The ``InstanceProfile`` structure of IAM's responses, with its role."""
    roles = (state.role(profile.account, name) for name in profile.roles)
    shape: dict[str, Any] = {
        "Path": profile.path,
        "InstanceProfileName": profile.name,
        "InstanceProfileId": profile.instance_profile_id,
        "Arn": profile.arn,
        "CreateDate": profile.created_at,
        "Roles": [role_shape(state, r, full=False) for r in roles if r is not None],
    }
    return shape | tags_member(profile.tags)


def _find_profile(state: IamState, account: str, name: str) -> InstanceProfile | None:
    return state.instance_profiles.get((account, name.lower()))


_INSTANCE_PROFILES: NamedKind[InstanceProfile] = NamedKind(
    name_param="InstanceProfileName",
    find=_find_profile,
    arn_for=instance_profile_arn,
    missing="Instance Profile {name} cannot be found.",
    taken="Instance Profile {name} already exists.",
)
_require = _INSTANCE_PROFILES.require
_resource = _INSTANCE_PROFILES.resource


def create_instance_profile(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """CreateInstanceProfile: an empty profile with a fresh AIPA id."""
    name = _INSTANCE_PROFILES.unused_name(state, params, caller)
    profile = InstanceProfile(
        account=caller.account,
        name=name,
        path=params.get("Path", "/"),
        instance_profile_id=new_unique_id(IdPrefix.INSTANCE_PROFILE),
        created_at=now,
        tags=tags_of(params),
    )
    change = Change.put(profile)
    return HandlerResult({"InstanceProfile": profile_shape(state, profile)}, change)


def get_instance_profile(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """GetInstanceProfile: the profile and its role."""
    profile = _require(state, caller.account, params["InstanceProfileName"])
    return HandlerResult({"InstanceProfile": profile_shape(state, profile)})


def list_instance_profiles(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListInstanceProfiles: under a path prefix, sorted by name."""
    page, more = page_under_path(profiles_of(state, caller.account), params)
    return HandlerResult({"InstanceProfiles": [profile_shape(state, p) for p in page], **more})


def list_instance_profiles_for_role(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListInstanceProfilesForRole: the profiles that hold the role."""
    role = require_role(state, caller.account, params["RoleName"])
    found = [
        p
        for p in profiles_of(state, caller.account)
        if role.name.lower() in (r.lower() for r in p.roles)
    ]
    page, more = page_by_name(found, params)
    return HandlerResult({"InstanceProfiles": [profile_shape(state, p) for p in page], **more})


def delete_instance_profile(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DeleteInstanceProfile: refused while it holds a role."""
    profile = _require(state, caller.account, params["InstanceProfileName"])
    if profile.roles:
        raise delete_conflict(
            "Cannot delete entity, must remove roles from instance profile first."
        )
    return HandlerResult({}, Change.delete(key_of(profile)))


def add_role_to_instance_profile(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """AddRoleToInstanceProfile: at most one role per profile."""
    profile = _require(state, caller.account, params["InstanceProfileName"])
    role = require_role(state, caller.account, params["RoleName"])
    if profile.roles:
        raise quota_exceeded("InstanceSessionsPerInstanceProfile", ROLES_PER_INSTANCE_PROFILE)
    changed = profile.model_copy(update={"roles": (role.name,)})
    return HandlerResult({}, Change.put(changed))


def _passed_to_ec2(state: IamState, params: Params, caller: Requester) -> PassedRole:
    """The role an instance profile hands to EC2: AWS requires iam:PassRole on it, with the
    instance ARN the API reference prescribes for ``iam:AssociatedResourceArn``."""
    name = params["RoleName"]
    existing = state.role(caller.account, name)
    arn = existing.arn if existing is not None else role_arn(caller.account, "/", name)
    return PassedRole(arn, "ec2.amazonaws.com", f"arn:aws:ec2:*:{caller.account}:instance/*")


def remove_role_from_instance_profile(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """RemoveRoleFromInstanceProfile: NoSuchEntity when the role is not in it."""
    profile = _require(state, caller.account, params["InstanceProfileName"])
    name = params["RoleName"]
    remaining = tuple(r for r in profile.roles if r.lower() != name.lower())
    if remaining == profile.roles:
        raise no_such_entity(f"The role with name {name} cannot be found.")
    changed = profile.model_copy(update={"roles": remaining})
    return HandlerResult({}, Change.put(changed))


_instance_profile_tags = tag_handlers("InstanceProfile", _INSTANCE_PROFILES.named_in)

OPERATIONS = (
    Operation("CreateInstanceProfile", create_instance_profile, _resource, OperationKind.WRITE),
    Operation("GetInstanceProfile", get_instance_profile, _resource, OperationKind.READ),
    Operation(
        "ListInstanceProfiles",
        list_instance_profiles,
        listing_resource("instance-profile"),
        OperationKind.READ,
    ),
    Operation(
        "ListInstanceProfilesForRole",
        list_instance_profiles_for_role,
        role_resource,
        OperationKind.READ,
    ),
    Operation("DeleteInstanceProfile", delete_instance_profile, _resource, OperationKind.WRITE),
    Operation(
        "AddRoleToInstanceProfile",
        add_role_to_instance_profile,
        _resource,
        OperationKind.WRITE,
        passed_role=_passed_to_ec2,
    ),
    Operation(
        "RemoveRoleFromInstanceProfile",
        remove_role_from_instance_profile,
        _resource,
        OperationKind.WRITE,
    ),
    Operation("TagInstanceProfile", _instance_profile_tags.tag, _resource, OperationKind.WRITE),
    Operation("UntagInstanceProfile", _instance_profile_tags.untag, _resource, OperationKind.WRITE),
    Operation(
        "ListInstanceProfileTags", _instance_profile_tags.list_tags, _resource, OperationKind.READ
    ),
)
