"""IAM's own guards in the pure handlers: attachable policies, size quotas, passed roles.

Each call runs the handler on a projection and folds its change in, as the writer does.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from awswire.errors import AwsError
from controlplane.iam import OPERATIONS
from controlplane.iam.operation import Requester
from replication.events import ChangeEvent
from replication.policy import policy_size
from replication.state import IamState, apply

OWNER = "111111111111"
OTHER = "222222222222"
NOW = datetime(2026, 12, 7, tzinfo=UTC)
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
TRUST_EC2 = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


def _root(account: str) -> Requester:
    return Requester(account, f"arn:aws:iam::{account}:root", None)


def _call(state: IamState, action: str, caller: Requester, **params: Any) -> IamState:
    """Run ``action`` as ``caller`` and fold its change into ``state``."""
    outcome = OPERATIONS[action].handler(state, params, caller, NOW)
    if outcome.change is None:
        return state
    event = ChangeEvent(
        version=state.version + 1,
        committed_at=NOW.timestamp(),
        kind=outcome.change.kind,
        account=caller.account,
        action=action,
        payload=outcome.change.payload,
    )
    return apply(state, event)


def _refused(
    state: IamState, action: str, caller: Requester, **params: Any
) -> tuple[str, int, str]:
    with pytest.raises(AwsError) as raised:
        _call(state, action, caller, **params)
    return raised.value.code, raised.value.http_status, raised.value.message


def _sized(size: int, spacing: int = 0) -> str:
    """A valid identity policy of exactly ``size`` characters once white space is taken out,
    with ``spacing`` spaces added (which the quota does not count)."""
    template = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": ""}],
    }
    base = policy_size(json.dumps(template, separators=(",", ":")))
    statement = template["Statement"][0]  # type: ignore[index]
    statement["Resource"] = "arn:aws:s3:::" + "b" * (size - base - len("arn:aws:s3:::"))
    text = json.dumps(template, separators=(",", ":")) + " " * spacing
    assert policy_size(text) == size
    return text


@pytest.fixture
def two_accounts() -> IamState:
    """OWNER holds a customer managed policy; OTHER has a user and a role of its own."""
    state = IamState()
    state = _call(
        state, "CreatePolicy", _root(OWNER), PolicyName="mine", PolicyDocument=_sized(200)
    )
    state = _call(state, "CreateUser", _root(OTHER), UserName="bob")
    state = _call(state, "CreateGroup", _root(OTHER), GroupName="devs")
    return _call(
        state, "CreateRole", _root(OTHER), RoleName="app", AssumeRolePolicyDocument=TRUST_EC2
    )


FOREIGN = f"arn:aws:iam::{OWNER}:policy/mine"
NOT_ATTACHABLE = f"Policy {FOREIGN} does not exist or is not attachable."


@pytest.mark.parametrize(
    ("action", "params"),
    [
        ("AttachUserPolicy", {"UserName": "bob", "PolicyArn": FOREIGN}),
        ("AttachGroupPolicy", {"GroupName": "devs", "PolicyArn": FOREIGN}),
        ("AttachRolePolicy", {"RoleName": "app", "PolicyArn": FOREIGN}),
        ("PutUserPermissionsBoundary", {"UserName": "bob", "PermissionsBoundary": FOREIGN}),
        ("PutRolePermissionsBoundary", {"RoleName": "app", "PermissionsBoundary": FOREIGN}),
        ("CreateUser", {"UserName": "eve", "PermissionsBoundary": FOREIGN}),
    ],
)
def test_another_accounts_policy_is_not_attachable(
    two_accounts: IamState, action: str, params: dict[str, str]
) -> None:
    """Another account's customer managed policy is refused as a missing one is."""
    assert _refused(two_accounts, action, _root(OTHER), **params) == (
        "NoSuchEntity",
        404,
        NOT_ATTACHABLE,
    )


def test_aws_managed_and_own_policies_stay_attachable(two_accounts: IamState) -> None:
    """AWS managed policies attach in any account, and the owner attaches its own policy."""
    state = _call(
        two_accounts, "AttachUserPolicy", _root(OTHER), UserName="bob", PolicyArn=ADMIN_POLICY
    )
    assert state.user(OTHER, "bob").attached_policies == (ADMIN_POLICY,)  # type: ignore[union-attr]
    state = _call(state, "CreateUser", _root(OWNER), UserName="alice")
    state = _call(state, "AttachUserPolicy", _root(OWNER), UserName="alice", PolicyArn=FOREIGN)
    assert state.user(OWNER, "alice").attached_policies == (FOREIGN,)  # type: ignore[union-attr]


def test_a_managed_policy_is_held_to_6144_characters_white_space_not_counted() -> None:
    """CreatePolicy and CreatePolicyVersion refuse 6,145 characters (and 131,072) with IAM's
    LimitExceeded; 6,144 characters padded with white space pass."""
    state = _call(
        IamState(), "CreatePolicy", _root(OWNER), PolicyName="p", PolicyDocument=_sized(6144, 500)
    )
    quota = ("LimitExceeded", 409, "Cannot exceed quota for PolicySize: 6144")
    for size in (6145, 131_072):
        document = _sized(size)
        assert (
            _refused(state, "CreatePolicy", _root(OWNER), PolicyName="q", PolicyDocument=document)
            == quota
        )
        assert (
            _refused(
                state,
                "CreatePolicyVersion",
                _root(OWNER),
                PolicyArn=f"arn:aws:iam::{OWNER}:policy/p",
                PolicyDocument=document,
            )
            == quota
        )


def _trust_of(size: int) -> str:
    """A trust policy of exactly ``size`` characters, white space not counted."""
    document = json.loads(TRUST_EC2)
    base = policy_size(json.dumps(document, separators=(",", ":")))
    document["Statement"][0]["Sid"] = "S" * (size - base - len(',"Sid":""'))
    text = json.dumps(document, separators=(",", ":"))
    assert policy_size(text) == size
    return text


def test_a_trust_policy_is_held_to_2048_characters() -> None:
    """CreateRole and UpdateAssumeRolePolicy answer ACLSizePerRole past 2,048 characters."""
    state = _call(
        IamState(),
        "CreateRole",
        _root(OWNER),
        RoleName="r",
        AssumeRolePolicyDocument=_trust_of(2048),
    )
    quota = ("LimitExceeded", 409, "Cannot exceed quota for ACLSizePerRole: 2048")
    too_big = _trust_of(2049)
    assert (
        _refused(state, "CreateRole", _root(OWNER), RoleName="s", AssumeRolePolicyDocument=too_big)
        == quota
    )
    assert (
        _refused(
            state, "UpdateAssumeRolePolicy", _root(OWNER), RoleName="r", PolicyDocument=too_big
        )
        == quota
    )


@pytest.mark.parametrize(
    ("create", "noun", "put", "limit"),
    [
        ("CreateUser", "User", "PutUserPolicy", 2048),
        ("CreateGroup", "Group", "PutGroupPolicy", 5120),
        ("CreateRole", "Role", "PutRolePolicy", 10240),
    ],
)
def test_inline_policies_are_held_to_their_aggregate_quota(
    create: str, noun: str, put: str, limit: int
) -> None:
    """A principal's inline policies together fit its quota: exactly the quota passes, one
    character more in a second policy is AWS's 'Maximum policy size ... exceeded'."""
    name = {f"{noun}Name": "holder"}
    extra = {"AssumeRolePolicyDocument": TRUST_EC2} if noun == "Role" else {}
    state = _call(IamState(), create, _root(OWNER), **name, **extra)
    state = _call(
        state, put, _root(OWNER), **name, PolicyName="a", PolicyDocument=_sized(limit - 200)
    )
    state = _call(state, put, _root(OWNER), **name, PolicyName="b", PolicyDocument=_sized(200))
    assert _refused(
        state, put, _root(OWNER), **name, PolicyName="b", PolicyDocument=_sized(201)
    ) == (
        "LimitExceeded",
        409,
        f"Maximum policy size of {limit} bytes exceeded for {noun.lower()} holder",
    )


def test_add_role_to_instance_profile_passes_the_role_to_ec2(two_accounts: IamState) -> None:
    """The call names the role it passes (its real ARN) and EC2 as the service it goes to."""
    passed = OPERATIONS["AddRoleToInstanceProfile"].passed_role
    assert passed is not None
    role = passed(two_accounts, {"InstanceProfileName": "web", "RoleName": "APP"}, _root(OTHER))
    assert role.arn == f"arn:aws:iam::{OTHER}:role/app"
    assert role.service == "ec2.amazonaws.com"
    assert role.associated_resource == f"arn:aws:ec2:*:{OTHER}:instance/*"


def test_only_actions_aws_documents_pass_roles() -> None:
    """Of the implemented IAM actions, AddRoleToInstanceProfile alone passes a role (AWS's
    API reference names PassRole for no other IAM action; CreateServiceLinkedRole does not)."""
    passing = sorted(name for name, op in OPERATIONS.items() if op.passed_role is not None)
    assert passing == ["AddRoleToInstanceProfile"]


@pytest.mark.parametrize(
    ("noun", "extra", "missing", "taken"),
    [
        ("User", {}, "The user with name {} cannot be found.", "User with name {} already exists."),
        (
            "Group",
            {},
            "The group with name {} cannot be found.",
            "Group with name {} already exists.",
        ),
        (
            "Role",
            {"AssumeRolePolicyDocument": TRUST_EC2},
            "The role with name {} cannot be found.",
            "Role with name {} already exists.",
        ),
        (
            "InstanceProfile",
            {},
            "Instance Profile {} cannot be found.",
            "Instance Profile {} already exists.",
        ),
    ],
)
def test_missing_and_taken_names_are_worded_as_aws_words_each_kind(
    noun: str, extra: dict[str, str], missing: str, taken: str
) -> None:
    """Each name-keyed kind keeps AWS's own NoSuchEntity and EntityAlreadyExists wording, with
    the name as the call spelled it; a name taken in another case is still taken."""
    param = f"{noun}Name"
    assert _refused(IamState(), f"Get{noun}", _root(OWNER), **{param: "absent"}) == (
        "NoSuchEntity",
        404,
        missing.format("absent"),
    )
    state = _call(IamState(), f"Create{noun}", _root(OWNER), **{param: "held"}, **extra)
    assert _refused(state, f"Create{noun}", _root(OWNER), **{param: "HELD"}, **extra) == (
        "EntityAlreadyExists",
        409,
        taken.format("HELD"),
    )


def test_a_missing_server_certificate_and_user_policy_are_worded_as_aws_words_them() -> None:
    """The server certificate's and the user inline policy's NoSuchEntity wording."""
    absent = _refused(
        IamState(), "GetServerCertificate", _root(OWNER), ServerCertificateName="absent"
    )
    assert absent == (
        "NoSuchEntity",
        404,
        "The Server Certificate with name absent cannot be found.",
    )
    state = _call(IamState(), "CreateUser", _root(OWNER), UserName="holder")
    assert _refused(
        state, "GetUserPolicy", _root(OWNER), UserName="holder", PolicyName="absent"
    ) == ("NoSuchEntity", 404, "The user policy with name absent cannot be found.")


@pytest.mark.parametrize(
    ("noun", "kind"),
    [("Group", "group"), ("Role", "role"), ("InstanceProfile", "instance-profile")],
)
def test_an_action_is_authorized_on_the_entitys_arn_or_the_one_it_would_get(
    noun: str, kind: str
) -> None:
    """The resource is the existing entity's ARN (its own path and spelling), else the ARN the
    call's Path and name would give it."""
    resource = OPERATIONS[f"Get{noun}"].resource
    param = f"{noun}Name"
    extra = {"AssumeRolePolicyDocument": TRUST_EC2} if noun == "Role" else {}
    would_be = resource(IamState(), {param: "App", "Path": "/p/"}, _root(OWNER))
    assert would_be == f"arn:aws:iam::{OWNER}:{kind}/p/App"
    state = _call(
        IamState(), f"Create{noun}", _root(OWNER), **{param: "App"}, Path="/team/", **extra
    )
    assert resource(state, {param: "APP"}, _root(OWNER)) == f"arn:aws:iam::{OWNER}:{kind}/team/App"
