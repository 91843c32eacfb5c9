"""Customer managed policies and their versions (at most five, exactly one default)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from controlplane.iam.operation import (
    Change,
    HandlerResult,
    Operation,
    OperationKind,
    Params,
    Requester,
    listing_resource,
)
from controlplane.iam.policies.documents import encoded, validated_managed_policy
from controlplane.iam.support.errors import (
    delete_conflict,
    entity_already_exists,
    limit_exceeded,
    no_such_entity,
    quota_exceeded,
    unmodifiable_entity,
)
from controlplane.iam.support.named_entities import key_of, under_path_prefix
from controlplane.iam.support.pagination import paginate
from controlplane.iam.support.tags import tag_handlers, tags_member, tags_of
from replication.arns import policy_arn
from replication.aws_managed import AWS_MANAGED_POLICIES
from replication.entities import Group, ManagedPolicy, PolicyVersion, Role, User
from replication.ids import IdPrefix, new_unique_id
from replication.state import IamState

__all__ = ["OPERATIONS", "Usage", "policy_resource", "policy_shape", "require_policy", "usage_of"]

POLICIES_PER_ACCOUNT = 1500
VERSIONS_PER_POLICY = 5


class Usage:
    """How many entities of an account attach each policy, and use each as a boundary."""

    def __init__(self, state: IamState, account: str) -> None:
        holders: list[User | Group | Role] = [
            *state.users_of(account),
            *state.groups_of(account),
            *state.roles_of(account),
        ]
        self.attachments = Counter(arn for h in holders for arn in h.attached_policies)
        self.boundaries = Counter(
            h.permissions_boundary
            for h in holders
            if not isinstance(h, Group) and h.permissions_boundary is not None
        )


def usage_of(state: IamState, account: str) -> Usage:
    """The attachment and boundary counts of an account's entities."""
    return Usage(state, account)


def policy_shape(policy: ManagedPolicy, usage: Usage, full: bool = True) -> dict[str, Any]:
    """The ``Policy`` structure of IAM's responses."""
    shape: dict[str, Any] = {
        "PolicyName": policy.name,
        "PolicyId": policy.policy_id,
        "Arn": policy.arn,
        "Path": policy.path,
        "DefaultVersionId": policy.default_version,
        "AttachmentCount": usage.attachments[policy.arn],
        "PermissionsBoundaryUsageCount": usage.boundaries[policy.arn],
        "IsAttachable": True,
        "CreateDate": policy.created_at,
        "UpdateDate": policy.updated_at,
    }
    if full and policy.description is not None:
        shape["Description"] = policy.description
    if full:
        shape |= tags_member(policy.tags)
    return shape


def require_policy(state: IamState, arn: str) -> ManagedPolicy:
    """The managed policy of that ARN, or NoSuchEntity as GetPolicy words it."""
    policy = state.managed_policy(arn)
    if policy is None:
        raise no_such_entity(f"Policy {arn} was not found.")
    return policy


def _customer_policy(state: IamState, arn: str) -> ManagedPolicy:
    policy = require_policy(state, arn)
    if policy.account == "aws":
        raise unmodifiable_entity(f"Policy {arn} is an AWS managed policy and cannot be changed.")
    return policy


def policy_resource(state: IamState, params: Params, caller: Requester) -> str:
    """The ARN a policy action is authorized on."""
    if "PolicyArn" in params:
        return str(params["PolicyArn"])
    return policy_arn(caller.account, params.get("Path", "/"), params["PolicyName"])


def create_policy(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """CreatePolicy: version v1 is the default; names are unique per account."""
    name = params["PolicyName"]
    if any(p.name == name for p in state.managed_policies_of(caller.account)):
        raise entity_already_exists(
            f"A policy called {name} already exists. Duplicate names are not allowed."
        )
    if len(state.managed_policies_of(caller.account)) >= POLICIES_PER_ACCOUNT:
        raise quota_exceeded("PoliciesPerAccount", POLICIES_PER_ACCOUNT)
    validated_managed_policy(params["PolicyDocument"])
    version = PolicyVersion(version_id="v1", document=params["PolicyDocument"], created_at=now)
    policy = ManagedPolicy(
        account=caller.account,
        name=name,
        path=params.get("Path", "/"),
        policy_id=new_unique_id(IdPrefix.MANAGED_POLICY),
        created_at=now,
        updated_at=now,
        description=params.get("Description"),
        versions=(version,),
        tags=tags_of(params),
    )
    shape = policy_shape(policy, usage_of(state, caller.account))
    return HandlerResult({"Policy": shape}, Change.put(policy))


def get_policy(state: IamState, params: Params, caller: Requester, now: datetime) -> HandlerResult:
    """GetPolicy: the policy's metadata, with its attachment counts."""
    policy = require_policy(state, params["PolicyArn"])
    return HandlerResult({"Policy": policy_shape(policy, usage_of(state, caller.account))})


def _listed(
    state: IamState, params: Params, caller: Requester, usage: Usage
) -> list[ManagedPolicy]:
    scope = params.get("Scope", "All")
    found: list[ManagedPolicy] = []
    if scope in ("All", "AWS"):
        found += AWS_MANAGED_POLICIES.values()
    if scope in ("All", "Local"):
        found += state.managed_policies_of(caller.account)
    found = under_path_prefix(found, params)
    if params.get("OnlyAttached"):
        found = [p for p in found if usage.attachments[p.arn]]
    usage_filter = params.get("PolicyUsageFilter")
    if usage_filter == "PermissionsPolicy":
        found = [p for p in found if usage.attachments[p.arn]]
    elif usage_filter == "PermissionsBoundary":
        found = [p for p in found if usage.boundaries[p.arn]]
    return sorted(found, key=_order)


def _order(policy: ManagedPolicy) -> str:
    return f"{policy.name}\x00{policy.arn}"


def list_policies(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListPolicies: AWS and/or local managed policies, sorted by name."""
    usage = usage_of(state, caller.account)
    page, more = paginate(_listed(state, params, caller, usage), params, key=_order)
    return HandlerResult({"Policies": [policy_shape(p, usage, full=False) for p in page], **more})


def delete_policy(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DeletePolicy: refused while attached, used as a boundary, or with non-default versions."""
    policy = _customer_policy(state, params["PolicyArn"])
    usage = usage_of(state, caller.account)
    if usage.attachments[policy.arn] or usage.boundaries[policy.arn]:
        raise delete_conflict("Cannot delete a policy attached to entities.")
    if len(policy.versions) > 1:
        raise delete_conflict(
            "This policy has more than one version. Before you delete a policy, you must delete "
            "the policy's versions. The default version is deleted with the policy."
        )
    return HandlerResult({}, Change.delete(key_of(policy)))


def _version_shape(policy: ManagedPolicy, version: PolicyVersion, document: bool) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "VersionId": version.version_id,
        "IsDefaultVersion": version.version_id == policy.default_version,
        "CreateDate": version.created_at,
    }
    if document:
        shape["Document"] = encoded(version.document)
    return shape


def _require_version(policy: ManagedPolicy, version_id: str) -> PolicyVersion:
    found = next((v for v in policy.versions if v.version_id == version_id), None)
    if found is None:
        raise no_such_entity(
            f"Policy {policy.arn} version {version_id} does not exist or is not attachable."
        )
    return found


def create_policy_version(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """CreatePolicyVersion: at most five versions; SetAsDefault makes it the evaluated one."""
    policy = _customer_policy(state, params["PolicyArn"])
    if len(policy.versions) >= VERSIONS_PER_POLICY:
        raise limit_exceeded(
            f"A managed policy can have up to {VERSIONS_PER_POLICY} versions. Before you create "
            "a new version, you must delete an existing version."
        )
    validated_managed_policy(params["PolicyDocument"])
    version_id = f"v{policy.next_version}"
    version = PolicyVersion(
        version_id=version_id, document=params["PolicyDocument"], created_at=now
    )
    update: dict[str, Any] = {
        "versions": (*policy.versions, version),
        "next_version": policy.next_version + 1,
        "updated_at": now,
    }
    if params.get("SetAsDefault"):
        update["default_version"] = version_id
    changed = policy.model_copy(update=update)
    shape = _version_shape(changed, version, document=False)
    return HandlerResult({"PolicyVersion": shape}, Change.put(changed))


def get_policy_version(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """GetPolicyVersion: one version with its URL-encoded document."""
    policy = require_policy(state, params["PolicyArn"])
    version = _require_version(policy, params["VersionId"])
    return HandlerResult({"PolicyVersion": _version_shape(policy, version, document=True)})


def list_policy_versions(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListPolicyVersions: newest first."""
    policy = require_policy(state, params["PolicyArn"])

    def newest_first(v: PolicyVersion) -> str:
        return f"{10**9 - int(v.version_id[1:]):010d}"

    ordered = sorted(policy.versions, key=newest_first)
    page, more = paginate(ordered, params, key=newest_first)
    return HandlerResult(
        {"Versions": [_version_shape(policy, v, document=False) for v in page], **more}
    )


def delete_policy_version(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DeletePolicyVersion: the default version cannot be deleted."""
    policy = _customer_policy(state, params["PolicyArn"])
    version = _require_version(policy, params["VersionId"])
    if version.version_id == policy.default_version:
        raise delete_conflict("Cannot delete the default version of a policy.")
    remaining = tuple(v for v in policy.versions if v.version_id != version.version_id)
    changed = policy.model_copy(update={"versions": remaining})
    return HandlerResult({}, Change.put(changed))


def set_default_policy_version(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """SetDefaultPolicyVersion: the chosen version is the one every replica evaluates."""
    policy = _customer_policy(state, params["PolicyArn"])
    version = _require_version(policy, params["VersionId"])
    changed = policy.model_copy(update={"default_version": version.version_id, "updated_at": now})
    return HandlerResult({}, Change.put(changed))


def _policy_getter(state: IamState, params: Params, caller: Requester) -> ManagedPolicy:
    return _customer_policy(state, params["PolicyArn"])


_policy_tags = tag_handlers("Policy", _policy_getter)

OPERATIONS = (
    Operation("CreatePolicy", create_policy, policy_resource, OperationKind.WRITE),
    Operation("GetPolicy", get_policy, policy_resource, OperationKind.READ),
    Operation("ListPolicies", list_policies, listing_resource("policy"), OperationKind.READ),
    Operation("DeletePolicy", delete_policy, policy_resource, OperationKind.WRITE),
    Operation("CreatePolicyVersion", create_policy_version, policy_resource, OperationKind.WRITE),
    Operation("GetPolicyVersion", get_policy_version, policy_resource, OperationKind.READ),
    Operation("ListPolicyVersions", list_policy_versions, policy_resource, OperationKind.READ),
    Operation("DeletePolicyVersion", delete_policy_version, policy_resource, OperationKind.WRITE),
    Operation(
        "SetDefaultPolicyVersion", set_default_policy_version, policy_resource, OperationKind.WRITE
    ),
    Operation("TagPolicy", _policy_tags.tag, policy_resource, OperationKind.WRITE),
    Operation("UntagPolicy", _policy_tags.untag, policy_resource, OperationKind.WRITE),
    Operation("ListPolicyTags", _policy_tags.list_tags, policy_resource, OperationKind.READ),
)
