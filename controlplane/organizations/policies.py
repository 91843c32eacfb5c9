"""Policy types and organization policies: enable, create, attach, list.

SCPs and RCPs are validated as IAM policy grammar and evaluated by the data plane; tag, backup
and AI services opt-out policies are stored, attached and listed only (their JSON is checked
loosely, as AWS's own syntax is a different per-type language).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from controlplane.iam.operation import HandlerResult, OperationKind, Params, Requester
from controlplane.organizations.errors import constraint_violation, org_error
from controlplane.organizations.shapes import (
    FULL_ACCESS,
    new_id,
    org_operation,
    page,
    policy_summary,
    put,
    require_management,
    root_shape,
    with_tags,
    without_resource,
)
from replication.entities import Organization, OrgPolicy
from replication.policy import MalformedPolicyDocument, PolicyKind, parse_policy, policy_size
from replication.state import IamState

__all__ = ["OPERATIONS"]

POLICIES_PER_TARGET = 5
POLICIES_PER_ORGANIZATION = 1000
#: the types the engine evaluates, with the grammar their content is parsed as
_KINDS = {
    "SERVICE_CONTROL_POLICY": PolicyKind.SCP,
    "RESOURCE_CONTROL_POLICY": PolicyKind.RCP,
}
#: every policy type and its maximum document size in characters (AWS's quotas)
POLICY_CONTENT_LIMITS = {
    "SERVICE_CONTROL_POLICY": 5120,
    "RESOURCE_CONTROL_POLICY": 5120,
    "TAG_POLICY": 10000,
    "BACKUP_POLICY": 10000,
    "AISERVICES_OPT_OUT_POLICY": 2500,
}
_MALFORMED = (
    "The provided policy document doesn't meet the requirements of the specified policy type."
)


def _with_policies(organization: Organization, policies: tuple[OrgPolicy, ...]) -> Organization:
    return organization.model_copy(update={"policies": policies})


def _targets(organization: Organization) -> list[str]:
    return [
        organization.root_id,
        *(u.id for u in organization.units),
        *(a.id for a in organization.accounts),
    ]


def _require_root(organization: Organization, root_id: str) -> None:
    if root_id != organization.root_id:
        raise org_error(
            "RootNotFoundException", "We can't find a root with the RootId that you specified."
        )


def enable_policy_type(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """EnablePolicyType: the type's FullAccess policy is attached to every root, OU, account."""
    organization = require_management(state, caller)
    _require_root(organization, params["RootId"])
    kind = params["PolicyType"]
    if kind not in POLICY_CONTENT_LIMITS:
        raise org_error(
            "PolicyTypeNotAvailableForOrganizationException", f"{kind} is not available."
        )
    if kind in organization.enabled_policy_types:
        raise org_error(
            "PolicyTypeAlreadyEnabledException", "The specified policy type is already enabled."
        )
    policies = organization.policies
    if kind in FULL_ACCESS:  # only SCPs and RCPs come with an AWS managed policy attached
        full = FULL_ACCESS[kind].model_copy(update={"targets": tuple(_targets(organization))})
        policies = tuple(full if p.id == full.id else p for p in organization.policies)
    changed = organization.model_copy(
        update={
            "enabled_policy_types": (*organization.enabled_policy_types, kind),
            "policies": policies,
        }
    )
    return HandlerResult({"Root": root_shape(changed)}, put(changed))


def disable_policy_type(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DisablePolicyType: every policy of the type is detached from everything."""
    organization = require_management(state, caller)
    _require_root(organization, params["RootId"])
    kind = params["PolicyType"]
    if kind not in organization.enabled_policy_types:
        raise org_error(
            "PolicyTypeNotEnabledException",
            "This operation can be performed only for enabled policy types.",
        )
    policies = tuple(
        p.model_copy(update={"targets": ()}) if p.type == kind else p for p in organization.policies
    )
    changed = organization.model_copy(
        update={
            "enabled_policy_types": tuple(
                t for t in organization.enabled_policy_types if t != kind
            ),
            "policies": policies,
        }
    )
    return HandlerResult({"Root": root_shape(changed)}, put(changed))


def _validated_content(content: str, kind: str) -> None:
    if policy_size(content) > POLICY_CONTENT_LIMITS[kind]:
        raise constraint_violation(
            "POLICY_CONTENT_LIMIT_EXCEEDED",
            "You attempted to create a policy that is larger than the maximum size.",
        )
    if kind not in _KINDS:
        # tag, backup and AI opt-out policies: a non-empty JSON object is all we check
        try:
            parsed = orjson.loads(content)
        except orjson.JSONDecodeError:
            raise org_error("MalformedPolicyDocumentException", _MALFORMED) from None
        if not isinstance(parsed, dict) or not parsed:
            raise org_error("MalformedPolicyDocumentException", _MALFORMED)
        return
    try:
        parse_policy(content, _KINDS[kind])
    except MalformedPolicyDocument as error:
        raise org_error("MalformedPolicyDocumentException", error.message) from None


def _require_policy(organization: Organization, policy_id: str) -> OrgPolicy:
    policy = next((p for p in organization.policies if p.id == policy_id), None)
    if policy is None:
        raise org_error(
            "PolicyNotFoundException",
            "We can't find a policy with the PolicyId that you specified.",
        )
    return policy


def _policy_result(organization: Organization, policy: OrgPolicy) -> dict[str, Any]:
    return {
        "Policy": {"PolicySummary": policy_summary(organization, policy), "Content": policy.content}
    }


def create_policy(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """CreatePolicy: validated as its type, within the type's size quota."""
    organization = require_management(state, caller)
    kind = params["Type"]
    if kind not in POLICY_CONTENT_LIMITS:
        raise org_error(
            "PolicyTypeNotAvailableForOrganizationException", f"{kind} is not available."
        )
    if any(p.name == params["Name"] and p.type == kind for p in organization.policies):
        raise org_error("DuplicatePolicyException", "A policy with the same name already exists.")
    if len(organization.policies) >= POLICIES_PER_ORGANIZATION:
        raise constraint_violation(
            "POLICY_NUMBER_LIMIT_EXCEEDED",
            "You attempted to exceed the number of policies that you can have in an organization.",
        )
    _validated_content(params["Content"], kind)
    policy = OrgPolicy(
        id=new_id("p-", 8),
        name=params["Name"],
        description=params.get("Description", ""),
        type=kind,
        content=params["Content"],
    )
    changed = _with_policies(organization, (*organization.policies, policy))
    changed = with_tags(changed, policy.id, params.get("Tags"))
    return HandlerResult(_policy_result(changed, policy), put(changed))


def describe_policy(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DescribePolicy."""
    organization = require_management(state, caller)
    return HandlerResult(
        _policy_result(organization, _require_policy(organization, params["PolicyId"]))
    )


def _customer_policy(organization: Organization, policy_id: str) -> OrgPolicy:
    policy = _require_policy(organization, policy_id)
    if policy.aws_managed:
        raise org_error("AccessDeniedException", "You can't change an AWS managed policy.")
    return policy


def update_policy(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """UpdatePolicy: new name, description and/or content."""
    organization = require_management(state, caller)
    policy = _customer_policy(organization, params["PolicyId"])
    update: dict[str, Any] = {}
    for member, attribute in (("Name", "name"), ("Description", "description")):
        if member in params:
            update[attribute] = params[member]
    if "Content" in params:
        _validated_content(params["Content"], policy.type)
        update["content"] = params["Content"]
    changed_policy = policy.model_copy(update=update)
    policies = tuple(changed_policy if p.id == policy.id else p for p in organization.policies)
    changed = _with_policies(organization, policies)
    return HandlerResult(_policy_result(changed, changed_policy), put(changed))


def delete_policy(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DeletePolicy: only when it is attached to nothing."""
    organization = require_management(state, caller)
    policy = _customer_policy(organization, params["PolicyId"])
    if policy.targets:
        raise org_error(
            "PolicyInUseException",
            "The policy is attached to one or more entities. You must detach it from all roots, "
            "OUs, and accounts before performing this operation.",
        )
    policies = tuple(p for p in organization.policies if p.id != policy.id)
    changed = _with_policies(without_resource(organization, policy.id), policies)
    return HandlerResult({}, put(changed))


def _require_target(organization: Organization, target: str) -> str:
    if target not in _targets(organization):
        raise org_error(
            "TargetNotFoundException",
            "We can't find a root, OU, account, or policy with the TargetId that you specified.",
        )
    return target


def attach_policy(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """AttachPolicy: the type must be enabled; at most five policies of a type per target."""
    organization = require_management(state, caller)
    policy = _require_policy(organization, params["PolicyId"])
    target = _require_target(organization, params["TargetId"])
    if policy.type not in organization.enabled_policy_types:
        raise org_error(
            "PolicyTypeNotEnabledException",
            "This operation can be performed only for enabled policy types.",
        )
    if target in policy.targets:
        raise org_error(
            "DuplicatePolicyAttachmentException",
            "The selected policy is already attached to the specified target.",
        )
    same_kind = [p for p in organization.policies if p.type == policy.type and target in p.targets]
    if len(same_kind) >= POLICIES_PER_TARGET:
        raise constraint_violation(
            "POLICY_NUMBER_LIMIT_EXCEEDED",
            "You attempted to exceed the number of policies of a certain type that can be "
            "attached to an entity.",
        )
    attached = policy.model_copy(update={"targets": (*policy.targets, target)})
    policies = tuple(attached if p.id == policy.id else p for p in organization.policies)
    return HandlerResult({}, put(_with_policies(organization, policies)))


def detach_policy(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DetachPolicy: every target keeps at least one policy of each enabled type."""
    organization = require_management(state, caller)
    policy = _require_policy(organization, params["PolicyId"])
    target = _require_target(organization, params["TargetId"])
    if target not in policy.targets:
        raise org_error(
            "PolicyNotAttachedException", "The policy isn't attached to the specified target."
        )
    same_kind = [p for p in organization.policies if p.type == policy.type and target in p.targets]
    # only SCPs and RCPs must keep one policy on every target (their FullAccess default)
    if len(same_kind) == 1 and policy.type in FULL_ACCESS:
        raise constraint_violation(
            "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
            "You attempted to detach a policy from an entity that would leave it with fewer than "
            "the minimum number of policies of that type.",
        )
    detached = policy.model_copy(
        update={"targets": tuple(t for t in policy.targets if t != target)}
    )
    policies = tuple(detached if p.id == policy.id else p for p in organization.policies)
    return HandlerResult({}, put(_with_policies(organization, policies)))


def list_policies(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListPolicies: the policies of one type."""
    organization = require_management(state, caller)
    found = [p for p in organization.policies if p.type == params["Filter"]]
    chunk, more = page(found, params)
    return HandlerResult({"Policies": [policy_summary(organization, p) for p in chunk], **more})


def list_policies_for_target(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListPoliciesForTarget: the policies of one type attached directly to a target."""
    organization = require_management(state, caller)
    target = _require_target(organization, params["TargetId"])
    found = [p for p in organization.policies if p.type == params["Filter"] and target in p.targets]
    chunk, more = page(found, params)
    return HandlerResult({"Policies": [policy_summary(organization, p) for p in chunk], **more})


def list_targets_for_policy(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListTargetsForPolicy."""
    organization = require_management(state, caller)
    policy = _require_policy(organization, params["PolicyId"])
    units = {u.id: u.name for u in organization.units}
    names = {a.id: a.name for a in organization.accounts}

    def shape(target: str) -> dict[str, Any]:
        if target == organization.root_id:
            kind, name = "ROOT", "Root"
        elif target in units:
            kind, name = "ORGANIZATIONAL_UNIT", units[target]
        else:
            kind, name = "ACCOUNT", names.get(target, target)
        return {"TargetId": target, "Arn": "", "Name": name, "Type": kind}

    chunk, more = page(policy.targets, params)
    return HandlerResult({"Targets": [shape(t) for t in chunk], **more})


OPERATIONS = (
    org_operation("EnablePolicyType", enable_policy_type, OperationKind.WRITE),
    org_operation("DisablePolicyType", disable_policy_type, OperationKind.WRITE),
    org_operation("CreatePolicy", create_policy, OperationKind.WRITE),
    org_operation("DescribePolicy", describe_policy, OperationKind.READ),
    org_operation("UpdatePolicy", update_policy, OperationKind.WRITE),
    org_operation("DeletePolicy", delete_policy, OperationKind.WRITE),
    org_operation("AttachPolicy", attach_policy, OperationKind.WRITE),
    org_operation("DetachPolicy", detach_policy, OperationKind.WRITE),
    org_operation("ListPolicies", list_policies, OperationKind.READ),
    org_operation("ListPoliciesForTarget", list_policies_for_target, OperationKind.READ),
    org_operation("ListTargetsForPolicy", list_targets_for_policy, OperationKind.READ),
)
