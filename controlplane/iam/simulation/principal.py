"""SimulatePrincipalPolicy with policies added inline: the principal's stored policies, read
from the projection, plus ``PolicyInputList`` (and ``PermissionsBoundaryPolicyInputList`` in
place of the stored boundary), evaluated by the data plane's ``/evaluate``.

Without inline policies the simulation goes through ``/authorize`` (``simulation.py``), where
the replica gathers the stored policies itself; with them the control plane writes every
policy into the query, and names each as IAM does: an inline policy by its name, a managed
one by its ARN.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from controlplane.iam.operation import Params
from controlplane.iam.simulation.exclusions import exclusions_of
from controlplane.iam.simulation.inline import (
    InlineSimulation,
    SourcePolicy,
    build_simulation,
    input_policies,
)
from controlplane.iam.support.errors import invalid_input, no_such_entity
from replication.entities import Group, Role, User
from replication.state import IamState

__all__ = ["principal_simulation"]

_MANAGED_BY_AWS = "arn:aws:iam::aws:policy/"


def _managed(state: IamState, arns: tuple[str, ...]) -> list[SourcePolicy]:
    found = []
    for arn in dict.fromkeys(arns):
        policy = state.managed_policy(arn)
        if policy is not None:
            kind = "aws-managed" if arn.startswith(_MANAGED_BY_AWS) else "user-managed"
            found.append(SourcePolicy(arn, kind, policy.default_document))
    return found


def _inline(holder: User | Role | Group, kind: str) -> list[SourcePolicy]:
    return [
        SourcePolicy(name, kind, text, holder=f"{kind}/{holder.name}")
        for name, text in sorted(holder.inline_policies.items())
    ]


def stored_policies(state: IamState, entity: User | Role | Group) -> list[SourcePolicy]:
    """The identity policies IAM evaluates for the entity, as simulation sources."""
    if isinstance(entity, User):
        groups = state.groups_of_user(entity)
        return (
            _inline(entity, "user")
            + [p for g in groups for p in _inline(g, "group")]
            + _managed(
                state,
                entity.attached_policies + tuple(a for g in groups for a in g.attached_policies),
            )
        )
    kind = "role" if isinstance(entity, Role) else "group"
    return _inline(entity, kind) + _managed(state, entity.attached_policies)


def _org(state: IamState, account: str) -> dict[str, Any] | None:
    organization = state.organization_of(account)
    if organization is None:
        return None
    return {
        "id": organization.id,
        "is_management_account": organization.management_account == account,
    }


def scp_chain(state: IamState, account: str) -> list[list[Any]] | None:
    """The account's SCP levels (root, OUs, account) as documents; None when not in play."""
    organization = state.organization_of(account)
    if (
        organization is None
        or organization.management_account == account
        or "SERVICE_CONTROL_POLICY" not in organization.enabled_policy_types
    ):
        return None
    return [
        [
            orjson.loads(p.content)
            for p in organization.policies
            if p.type == "SERVICE_CONTROL_POLICY" and target in p.targets
        ]
        for target in organization.path_to(account)
    ]


def _entity(state: IamState, arn: str) -> User | Role | Group:
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam":
        raise invalid_input(f"Invalid ARN {arn}.")
    account, resource = parts[4], parts[5]
    kind, name = resource.split("/", 1)[0], resource.rsplit("/", 1)[-1]
    found: User | Role | Group | None = None
    if kind == "user":
        found = state.user(account, name)
    elif kind == "role":
        found = state.role(account, name)
    elif kind == "group":
        found = state.group(account, name)
    else:
        raise invalid_input(f"Invalid ARN {arn}: simulate a user, group or role.")
    if found is None:
        raise no_such_entity(f"The {kind} with name {name} cannot be found.")
    return found


def _principal(state: IamState, entity: User | Role | Group, now: datetime) -> dict[str, Any]:
    org = _org(state, entity.account)
    if isinstance(entity, Role):
        return {
            "type": "AssumedRole",
            "arn": f"arn:aws:sts::{entity.account}:assumed-role/{entity.name}/simulation",
            "account": entity.account,
            "role_arn": entity.arn,
            "role_unique_id": entity.role_id,
            "session_name": "simulation",
            "tags": {t.key: t.value for t in entity.tags},
            "org": org,
            "credential": {"kind": "AssumeRole", "mfa": False, "issued_at": now.isoformat()},
        }
    if isinstance(entity, User):
        tags = {t.key: t.value for t in entity.tags}
        return {
            "type": "IAMUser",
            "arn": entity.arn,
            "account": entity.account,
            "name": entity.name,
            "unique_id": entity.user_id,
            "tags": tags,
            "org": org,
        }
    # a group is simulated as a member of it would be, with only the group's policies
    return {"type": "IAMUser", "arn": entity.arn, "account": entity.account, "org": org}


def principal_simulation(state: IamState, params: Params, now: datetime) -> InlineSimulation:
    """The /evaluate queries of a SimulatePrincipalPolicy call that adds policies inline."""
    entity = _entity(state, str(params["PolicySourceArn"]))
    added, boundary = input_policies(params)
    excluded = exclusions_of(params.get("PolicyExclusionList", []))
    stored = [
        p
        for p in stored_policies(state, entity)
        if not excluded.excludes(p.policy_id, p.policy_type, p.holder)
    ]
    identity = (*stored, *added)
    if (
        boundary is None
        and not excluded.boundary
        and not isinstance(entity, Group)
        and entity.permissions_boundary
    ):
        found = _managed(state, (entity.permissions_boundary,))
        boundary = found[0] if found else None
    principal = _principal(state, entity, now)
    scps = None if excluded.organization else scp_chain(state, entity.account)
    return build_simulation(params, principal, identity, boundary, scps)
