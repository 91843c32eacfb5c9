"""Invitations (INVITE handshakes): invite, describe, list, accept, decline, cancel.

Handshakes live inside the inviting organization's aggregate, so accepting one (the account
joins the tree and gets the default policies) is one organization put. An invitation is open
for 15 days; past that it reads as EXPIRED without any write.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from controlplane.iam.operation import HandlerResult, OperationKind, Params, Requester
from controlplane.organizations.errors import org_error, reasoned_error
from controlplane.organizations.shapes import (
    new_id,
    org_operation,
    page,
    put,
    require_management,
    standalone_email,
    with_tags,
)
from controlplane.organizations.tree import with_default_policies
from replication.entities import OrgAccount, Organization, OrgHandshake
from replication.state import IamState

__all__ = ["OPERATIONS"]

HANDSHAKE_LIFETIME = timedelta(days=15)
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_EMAIL = re.compile(r"^[^\s@]{1,64}@[^\s@]{1,255}$")
_ALREADY_IN_AN_ORGANIZATION = (
    "The handshake request is invalid because the invited account is already a member of an "
    "organization."
)


def _state_of(handshake: OrgHandshake, now: datetime) -> str:
    if handshake.state == "OPEN" and now >= handshake.expires_at:
        return "EXPIRED"
    return handshake.state


def _handshake_shape(
    organization: Organization, handshake: OrgHandshake, now: datetime
) -> dict[str, Any]:
    """The ``Handshake`` structure of an invitation."""
    management = organization.member(organization.management_account)
    feature_set = "FULL" if organization.feature_set == "ALL" else "CONSOLIDATED_BILLING"
    resources: list[dict[str, Any]] = [
        {
            "Value": organization.id,
            "Type": "ORGANIZATION",
            "Resources": [
                {"Value": organization.management_email, "Type": "MASTER_EMAIL"},
                {
                    "Value": management.name if management else "management",
                    "Type": "MASTER_NAME",
                },
                {
                    "Value": feature_set,
                    "Type": "ORGANIZATION_FEATURE_SET",
                },
            ],
        },
        {"Value": handshake.target, "Type": handshake.target_type},
    ]
    if handshake.notes:
        resources.append({"Value": handshake.notes, "Type": "NOTES"})
    arn = (
        f"arn:aws:organizations::{organization.management_account}:handshake/"
        f"{organization.id}/invite/{handshake.id}"
    )
    return {
        "Id": handshake.id,
        "Arn": arn,
        "Parties": [
            {"Id": organization.id, "Type": "ORGANIZATION"},
            {"Id": handshake.target, "Type": handshake.target_type},
        ],
        "State": _state_of(handshake, now),
        "RequestedTimestamp": handshake.requested_at,
        "ExpirationTimestamp": handshake.expires_at,
        "Action": "INVITE",
        "Resources": resources,
    }


def _email_of(state: IamState, account_id: str) -> str:
    organization = state.organization_of(account_id)
    member = organization.member(account_id) if organization is not None else None
    return member.email if member is not None else standalone_email(account_id)


def _addressed_to(state: IamState, handshake: OrgHandshake, account_id: str) -> bool:
    if handshake.target_type == "ACCOUNT":
        return handshake.target == account_id
    return handshake.target.lower() == _email_of(state, account_id).lower()


def invite_account_to_organization(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """InviteAccountToOrganization: an OPEN invitation to an account id or an email address."""
    organization = require_management(state, caller)
    target = params["Target"]
    kind, target_id = target["Type"], target["Id"]
    if kind == "ACCOUNT":
        if not _ACCOUNT_ID.match(target_id):
            raise reasoned_error(
                "InvalidInputException",
                "INVALID_PATTERN_TARGET_ID",
                "You specified a policy target ID that doesn't match the required pattern.",
            )
        if target_id not in state.accounts:
            raise org_error(
                "AccountNotFoundException",
                "We can't find an AWS account with the AccountId that you specified.",
            )
        if organization.member(target_id) is not None:
            raise reasoned_error(
                "HandshakeConstraintViolationException",
                "ALREADY_IN_AN_ORGANIZATION",
                _ALREADY_IN_AN_ORGANIZATION,
            )
    elif kind == "EMAIL":
        if not _EMAIL.match(target_id):
            raise reasoned_error(
                "InvalidInputException",
                "INVALID_EMAIL_ADDRESS_TARGET",
                "You specified an invalid email address for the invited account owner.",
            )
    else:
        raise reasoned_error(
            "InvalidInputException",
            "INVALID_PARTY_TYPE_TARGET",
            "You specified the wrong type of entity (account, organization, or email) as a party.",
        )
    pending = [
        h
        for h in organization.handshakes
        if _state_of(h, now) == "OPEN" and h.target_type == kind and h.target == target_id
    ]
    if pending:
        raise org_error(
            "DuplicateHandshakeException",
            "A handshake with the same action and target already exists. For example, if you "
            "invited an account to join your organization, the invited account might already "
            "have a pending invitation from this organization.",
        )
    handshake = OrgHandshake(
        id=new_id("h-", 10),
        target_type=kind,
        target=target_id,
        notes=params.get("Notes", ""),
        requested_at=now,
        expires_at=now + HANDSHAKE_LIFETIME,
    )
    changed = organization.model_copy(update={"handshakes": (*organization.handshakes, handshake)})
    # the invitation's tags wait on the handshake and move to the account when it joins
    changed = with_tags(changed, handshake.id, params.get("Tags"))
    return HandlerResult({"Handshake": _handshake_shape(changed, handshake, now)}, put(changed))


def _find(state: IamState, handshake_id: str) -> tuple[Organization, OrgHandshake]:
    for organization in state.organizations.values():
        for handshake in organization.handshakes:
            if handshake.id == handshake_id:
                return organization, handshake
    raise org_error(
        "HandshakeNotFoundException",
        "We can't find a handshake with the HandshakeId that you specified.",
    )


def _visible(
    state: IamState, handshake_id: str, caller: Requester
) -> tuple[Organization, OrgHandshake]:
    """A handshake the caller is a party to: its organization's management account or the
    invited account. Anyone else is told it does not exist."""
    organization, handshake = _find(state, handshake_id)
    if caller.account == organization.management_account or _addressed_to(
        state, handshake, caller.account
    ):
        return organization, handshake
    raise org_error(
        "HandshakeNotFoundException",
        "We can't find a handshake with the HandshakeId that you specified.",
    )


def describe_handshake(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DescribeHandshake."""
    organization, handshake = _visible(state, params["HandshakeId"], caller)
    return HandlerResult({"Handshake": _handshake_shape(organization, handshake, now)})


def _filter_admits_invitations(params: Params) -> bool:
    wanted = params.get("Filter") or {}
    # every handshake here is an INVITE and none has a parent handshake
    return not (wanted.get("ParentHandshakeId") or wanted.get("ActionType", "INVITE") != "INVITE")


def list_handshakes_for_organization(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListHandshakesForOrganization: the organization's invitations in every state."""
    organization = require_management(state, caller)
    found = [(organization, h) for h in organization.handshakes]
    found = found if _filter_admits_invitations(params) else []
    chunk, more = page(found, params)
    return HandlerResult({"Handshakes": [_handshake_shape(o, h, now) for o, h in chunk], **more})


def list_handshakes_for_account(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """ListHandshakesForAccount: the invitations addressed to the caller's account."""
    found = [
        (organization, handshake)
        for organization in state.organizations.values()
        for handshake in organization.handshakes
        if _addressed_to(state, handshake, caller.account)
    ]
    found = found if _filter_admits_invitations(params) else []
    chunk, more = page(found, params)
    return HandlerResult({"Handshakes": [_handshake_shape(o, h, now) for o, h in chunk], **more})


def _invited(
    state: IamState, handshake_id: str, caller: Requester, now: datetime, final: str
) -> tuple[Organization, OrgHandshake]:
    """An OPEN handshake addressed to the caller, about to become ``final``."""
    organization, handshake = _find(state, handshake_id)
    if not _addressed_to(state, handshake, caller.account):
        raise org_error(
            "HandshakeNotFoundException",
            "We can't find a handshake with the HandshakeId that you specified.",
        )
    _require_open(handshake, now, final)
    return organization, handshake


def _require_open(handshake: OrgHandshake, now: datetime, final: str) -> None:
    current = _state_of(handshake, now)
    if current == final:
        raise org_error(
            "HandshakeAlreadyInStateException",
            "The specified handshake is already in the requested state. For example, you can't "
            "accept a handshake that was already accepted.",
        )
    if current != "OPEN":
        raise org_error(
            "InvalidHandshakeTransitionException",
            "You can't perform the operation on the handshake in its current state. For "
            "example, you can't cancel a handshake that was already accepted or accept a "
            "handshake that was already declined.",
        )


def _with_handshake(organization: Organization, handshake: OrgHandshake) -> Organization:
    handshakes = tuple(handshake if h.id == handshake.id else h for h in organization.handshakes)
    return organization.model_copy(update={"handshakes": handshakes})


def _without_pending_tags(organization: Organization, handshake_id: str) -> Organization:
    tags = tuple(t for t in organization.resource_tags if t.resource_id != handshake_id)
    return organization.model_copy(update={"resource_tags": tags})


def accept_handshake(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """AcceptHandshake: the invited account joins under the root (joined method INVITED), with
    the FullAccess policy of every enabled type attached, as a created account would be."""
    organization, handshake = _invited(state, params["HandshakeId"], caller, now, "ACCEPTED")
    if state.organization_of(caller.account) is not None:
        raise reasoned_error(
            "HandshakeConstraintViolationException",
            "ALREADY_IN_AN_ORGANIZATION",
            _ALREADY_IN_AN_ORGANIZATION,
        )
    account = state.accounts.get(caller.account)
    member = OrgAccount(
        id=caller.account,
        name=(account.alias if account is not None and account.alias else caller.account),
        email=handshake.target
        if handshake.target_type == "EMAIL"
        else standalone_email(caller.account),
        parent_id=organization.root_id,
        joined_method="INVITED",
        joined_at=now,
    )
    accepted = handshake.model_copy(update={"state": "ACCEPTED", "accepted_by": caller.account})
    changed = _with_handshake(organization, accepted)
    changed = changed.model_copy(update={"accounts": (*changed.accounts, member)})
    changed = with_default_policies(changed, member.id)
    pending_tags = [
        {"Key": t.key, "Value": t.value}
        for t in changed.resource_tags
        if t.resource_id == handshake.id
    ]
    changed = with_tags(_without_pending_tags(changed, handshake.id), member.id, pending_tags)
    return HandlerResult({"Handshake": _handshake_shape(changed, accepted, now)}, put(changed))


def decline_handshake(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """DeclineHandshake: the invited account says no."""
    organization, handshake = _invited(state, params["HandshakeId"], caller, now, "DECLINED")
    declined = handshake.model_copy(update={"state": "DECLINED"})
    changed = _without_pending_tags(_with_handshake(organization, declined), handshake.id)
    return HandlerResult({"Handshake": _handshake_shape(changed, declined, now)}, put(changed))


def cancel_handshake(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """CancelHandshake: the inviting organization withdraws an open invitation."""
    organization = require_management(state, caller)
    handshake = next((h for h in organization.handshakes if h.id == params["HandshakeId"]), None)
    if handshake is None:
        raise org_error(
            "HandshakeNotFoundException",
            "We can't find a handshake with the HandshakeId that you specified.",
        )
    _require_open(handshake, now, "CANCELED")
    canceled = handshake.model_copy(update={"state": "CANCELED"})
    changed = _without_pending_tags(_with_handshake(organization, canceled), handshake.id)
    return HandlerResult({"Handshake": _handshake_shape(changed, canceled, now)}, put(changed))


OPERATIONS = (
    org_operation(
        "InviteAccountToOrganization", invite_account_to_organization, OperationKind.WRITE
    ),
    org_operation("DescribeHandshake", describe_handshake, OperationKind.READ),
    org_operation(
        "ListHandshakesForOrganization", list_handshakes_for_organization, OperationKind.READ
    ),
    org_operation("ListHandshakesForAccount", list_handshakes_for_account, OperationKind.READ),
    org_operation("AcceptHandshake", accept_handshake, OperationKind.WRITE),
    org_operation("DeclineHandshake", decline_handshake, OperationKind.WRITE),
    org_operation("CancelHandshake", cancel_handshake, OperationKind.WRITE),
)
