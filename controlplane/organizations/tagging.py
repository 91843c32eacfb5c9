"""Tags on an organization's accounts, OUs, root and policies: TagResource, UntagResource,
ListTagsForResource. Tags live on the organization aggregate, keyed by resource id."""

from __future__ import annotations

from datetime import datetime

from controlplane.iam.operation import HandlerResult, OperationKind, Params, Requester
from controlplane.organizations.errors import constraint_violation, org_error
from controlplane.organizations.shapes import (
    org_operation,
    page,
    put,
    require_management,
    with_tags,
)
from replication.entities import Organization
from replication.state import IamState

__all__ = ["OPERATIONS"]

TAGS_PER_RESOURCE = 50


def _require_taggable(organization: Organization, resource_id: str) -> str:
    """A root, OU, member account or customer managed policy of the organization."""
    taggable = {
        organization.root_id,
        *(u.id for u in organization.units),
        *(a.id for a in organization.accounts),
        *(p.id for p in organization.policies if not p.aws_managed),
    }
    if resource_id not in taggable:
        raise org_error(
            "TargetNotFoundException",
            "We can't find a root, OU, account, or policy with the TargetId that you specified.",
        )
    return resource_id


def tag_resource(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """TagResource: add or overwrite tags, at most 50 on a resource."""
    organization = require_management(state, caller)
    resource = _require_taggable(organization, params["ResourceId"])
    changed = with_tags(organization, resource, params["Tags"])
    if sum(1 for t in changed.resource_tags if t.resource_id == resource) > TAGS_PER_RESOURCE:
        raise constraint_violation(
            "MAX_TAG_LIMIT_EXCEEDED",
            "You have exceeded the number of tags allowed on this resource.",
        )
    return HandlerResult({}, put(changed))


def untag_resource(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """UntagResource: remove tags by key (a key that is not there is no error)."""
    organization = require_management(state, caller)
    resource = _require_taggable(organization, params["ResourceId"])
    keys = set(params["TagKeys"])
    tags = tuple(
        t for t in organization.resource_tags if not (t.resource_id == resource and t.key in keys)
    )
    return HandlerResult({}, put(organization.model_copy(update={"resource_tags": tags})))


def list_tags_for_resource(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListTagsForResource."""
    organization = require_management(state, caller)
    resource = _require_taggable(organization, params["ResourceId"])
    found = [
        {"Key": t.key, "Value": t.value}
        for t in organization.resource_tags
        if t.resource_id == resource
    ]
    chunk, more = page(found, params)
    return HandlerResult({"Tags": chunk, **more})


OPERATIONS = (
    org_operation("TagResource", tag_resource, OperationKind.WRITE),
    org_operation("UntagResource", untag_resource, OperationKind.WRITE),
    org_operation("ListTagsForResource", list_tags_for_resource, OperationKind.READ),
)
