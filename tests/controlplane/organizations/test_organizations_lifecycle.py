"""The rest of the Organizations lifecycle through boto3: leaving, closing and deleting,
invitations, tags, delegated administrators and the stored-only policy types.

Callers in other accounts are sessions of the OrganizationAccountAccessRole that CreateAccount
puts in every new account; an account removed from the organization keeps that role, which is
how the tests get a stand-alone account to invite.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from tests.controlplane.conftest import error_of, error_with_response
from tests.e2e.cluster import Cluster
from tests.e2e.sts_helpers import allow, ask, credentials_of, policy, sts, version_of

pytestmark = pytest.mark.e2e

SCP = "SERVICE_CONTROL_POLICY"
DENY_S3 = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
)
TAG_POLICY = json.dumps(
    {"tags": {"costcenter": {"tag_key": {"@@assign": "CostCenter"}}}},
)
OBJECT = "arn:aws:s3:::lifecycle/report.csv"
OPS_USER = "lifecycle-ops"


def _client(cluster: Cluster, **credentials: str) -> Any:
    return boto3.client(
        "organizations",
        endpoint_url=cluster.file.controlplane.endpoint,
        region_name="us-east-1",
        **(credentials or cluster.root_credentials()),
    )


@pytest.fixture(scope="module")
def org(cluster: Cluster) -> Iterator[Any]:
    """The cluster account's organization client. When this module made the organization, it
    takes it down again at the end (remove every member, then DeleteOrganization), so other
    modules can still create theirs."""
    client = _client(cluster)
    try:
        client.create_organization(FeatureSet="ALL")
        created_here = True
    except client.exceptions.AlreadyInOrganizationException:
        created_here = False
    yield client
    if not created_here:
        return
    management = client.describe_organization()["Organization"]["MasterAccountId"]
    for admin in client.list_delegated_administrators()["DelegatedAdministrators"]:
        for service in client.list_delegated_services_for_account(AccountId=admin["Id"])[
            "DelegatedServices"
        ]:
            client.deregister_delegated_administrator(
                AccountId=admin["Id"], ServicePrincipal=service["ServicePrincipal"]
            )
    for page in client.get_paginator("list_accounts").paginate():
        for account in page["Accounts"]:
            if account["Id"] != management:
                client.remove_account_from_organization(AccountId=account["Id"])
    client.delete_organization()
    assert error_of(client.describe_organization)[0] == "AWSOrganizationsNotInUseException"


@pytest.fixture(scope="module")
def ops_key(cluster: Cluster) -> dict[str, str]:
    """A user of the cluster account allowed to assume roles in other accounts."""
    iam = cluster.iam()
    iam.create_user(UserName=OPS_USER)
    iam.put_user_policy(
        UserName=OPS_USER, PolicyName="assume", PolicyDocument=policy(allow("sts:AssumeRole"))
    )
    key = iam.create_access_key(UserName=OPS_USER)["AccessKey"]
    return {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }


def _new_account(org: Any, cluster: Cluster, name: str) -> str:
    """A fresh member account whose access role has reached every replica."""
    status = org.create_account(Email=f"{name}@lifecycle.example.com", AccountName=name)
    cluster.wait_converged(version_of(status))
    return str(status["CreateAccountStatus"]["AccountId"])


def _session(cluster: Cluster, ops_key: dict[str, str], account: str) -> dict[str, str]:
    """Credentials of an OrganizationAccountAccessRole session in ``account``."""
    answer = sts(cluster, "us-east-1", **ops_key).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
        RoleSessionName="lifecycle",
    )
    return credentials_of(answer)


def _root(org: Any) -> str:
    return str(org.list_roots()["Roots"][0]["Id"])


def _enabled(org: Any, kind: str) -> None:
    types = {t["Type"] for t in org.list_roots()["Roots"][0]["PolicyTypes"]}
    if kind not in types:
        org.enable_policy_type(RootId=_root(org), PolicyType=kind)


def _all_answer(cluster: Cluster, creds: dict[str, str], expected: str) -> None:
    """Wait (bounded) until every replica answers ``expected`` for s3:GetObject."""
    deadline = time.monotonic() + 30
    while True:
        answers = {
            url: ask(url, creds, "s3:GetObject", OBJECT)[0] for url in cluster.replicas().values()
        }
        if set(answers.values()) == {expected}:
            return
        assert time.monotonic() < deadline, answers
        time.sleep(0.05)


def test_removed_account_leaves_the_organizations_scps_behind(
    org: Any, cluster: Cluster, ops_key: dict[str, str]
) -> None:
    """An SCP denying s3:* binds a member's sessions until the account is removed; a stored-only
    tag policy on the account changes no decision; the management account cannot be removed."""
    _enabled(org, SCP)
    _enabled(org, "TAG_POLICY")
    member = _new_account(org, cluster, "lc-removed")
    session = _session(cluster, ops_key, member)
    created = org.create_policy(Content=DENY_S3, Description="", Name="lc-deny-s3", Type=SCP)
    policy_id = created["Policy"]["PolicySummary"]["Id"]
    tagged = org.create_policy(
        Content=TAG_POLICY, Description="", Name="lc-tags", Type="TAG_POLICY"
    )
    org.attach_policy(PolicyId=tagged["Policy"]["PolicySummary"]["Id"], TargetId=member)
    _all_answer(cluster, session, "Allow")
    org.attach_policy(PolicyId=policy_id, TargetId=member)
    _all_answer(cluster, session, "ExplicitDeny")

    management = org.describe_organization()["Organization"]["MasterAccountId"]
    code, status, message = error_of(org.remove_account_from_organization, AccountId=management)
    assert (code, status) == ("MasterCannotLeaveOrganizationException", 400)
    assert message.startswith("You can't remove a management account from an organization.")
    member_client = _client(cluster, **session)
    assert error_of(member_client.remove_account_from_organization, AccountId=member)[:2] == (
        "AccessDeniedException",
        400,
    )

    org.remove_account_from_organization(AccountId=member)
    _all_answer(cluster, session, "Allow")
    assert error_of(org.describe_account, AccountId=member)[:2] == ("AccountNotFoundException", 400)
    assert error_of(org.remove_account_from_organization, AccountId=member)[0] == (
        "AccountNotFoundException"
    )
    targets = org.list_targets_for_policy(PolicyId=policy_id)["Targets"]
    assert member not in [t["TargetId"] for t in targets]
    assert error_of(member_client.describe_organization)[:2] == (
        "AWSOrganizationsNotInUseException",
        400,
    )


def test_a_member_leaves_and_the_management_account_cannot(
    org: Any, cluster: Cluster, ops_key: dict[str, str]
) -> None:
    """LeaveOrganization is the member's own call; the management account gets
    MasterCannotLeaveOrganizationException."""
    member = _new_account(org, cluster, "lc-leaver")
    member_client = _client(cluster, **_session(cluster, ops_key, member))
    assert member_client.describe_organization()["Organization"]["Id"].startswith("o-")
    # a member account sees its organization but may not manage it, even as an administrator
    for call, kwargs in (
        (member_client.list_accounts, {}),
        (member_client.create_account, {"Email": "x@lifecycle.example.com", "AccountName": "x"}),
        (member_client.list_roots, {}),
        (member_client.list_policies, {"Filter": SCP}),
    ):
        assert error_of(call, **kwargs)[:2] == ("AccessDeniedException", 400)
    member_client.leave_organization()
    assert error_of(org.describe_account, AccountId=member)[0] == "AccountNotFoundException"
    assert error_of(member_client.leave_organization)[0] == "AWSOrganizationsNotInUseException"
    assert error_of(org.leave_organization)[:2] == ("MasterCannotLeaveOrganizationException", 400)


def test_invitations_are_declined_canceled_and_accepted(
    org: Any, cluster: Cluster, ops_key: dict[str, str]
) -> None:
    """A stand-alone account is invited, declines, is invited again (canceled), and finally
    accepts: it joins under the root as INVITED with FullAWSAccess and the invitation's tags."""
    _enabled(org, SCP)
    guest = _new_account(org, cluster, "lc-guest")
    org.remove_account_from_organization(AccountId=guest)
    guest_client = _client(cluster, **_session(cluster, ops_key, guest))
    target = {"Type": "ACCOUNT", "Id": guest}

    first = org.invite_account_to_organization(Target=target, Notes="join us")["Handshake"]
    assert first["Id"].startswith("h-") and first["State"] == "OPEN"
    assert first["Action"] == "INVITE"
    assert first["ExpirationTimestamp"] - first["RequestedTimestamp"] == timedelta(days=15)
    assert {"Id": guest, "Type": "ACCOUNT"} in first["Parties"]
    assert {"Value": "join us", "Type": "NOTES"} in first["Resources"]
    assert error_of(org.invite_account_to_organization, Target=target)[:2] == (
        "DuplicateHandshakeException",
        400,
    )
    mine = guest_client.list_handshakes_for_account()["Handshakes"]
    assert [h["Id"] for h in mine] == [first["Id"]]
    declined = guest_client.decline_handshake(HandshakeId=first["Id"])["Handshake"]
    assert declined["State"] == "DECLINED"
    assert error_of(guest_client.accept_handshake, HandshakeId=first["Id"])[:2] == (
        "InvalidHandshakeTransitionException",
        400,
    )
    assert error_of(guest_client.decline_handshake, HandshakeId=first["Id"])[0] == (
        "HandshakeAlreadyInStateException"
    )

    second = org.invite_account_to_organization(Target=target)["Handshake"]
    assert org.cancel_handshake(HandshakeId=second["Id"])["Handshake"]["State"] == "CANCELED"
    assert error_of(org.cancel_handshake, HandshakeId=second["Id"])[0] == (
        "HandshakeAlreadyInStateException"
    )
    assert guest_client.describe_handshake(HandshakeId=second["Id"])["Handshake"]["State"] == (
        "CANCELED"
    )

    third = org.invite_account_to_organization(
        Target=target, Tags=[{"Key": "team", "Value": "guests"}]
    )["Handshake"]
    accepted = guest_client.accept_handshake(HandshakeId=third["Id"])["Handshake"]
    assert accepted["State"] == "ACCEPTED"
    account = org.describe_account(AccountId=guest)["Account"]
    assert (account["JoinedMethod"], account["Status"]) == ("INVITED", "ACTIVE")
    assert org.list_parents(ChildId=guest)["Parents"][0]["Type"] == "ROOT"
    scps = org.list_policies_for_target(TargetId=guest, Filter=SCP)["Policies"]
    assert "FullAWSAccess" in [p["Name"] for p in scps]
    assert org.list_tags_for_resource(ResourceId=guest)["Tags"] == [
        {"Key": "team", "Value": "guests"}
    ]
    assert error_of(guest_client.accept_handshake, HandshakeId=third["Id"])[0] == (
        "HandshakeAlreadyInStateException"
    )
    states = {h["Id"]: h["State"] for h in org.list_handshakes_for_organization()["Handshakes"]}
    assert [states[h["Id"]] for h in (first, second, third)] == [
        "DECLINED",
        "CANCELED",
        "ACCEPTED",
    ]
    code, status, _, response = error_with_response(
        org.invite_account_to_organization, Target=target
    )
    assert (code, status, response["Reason"]) == (
        "HandshakeConstraintViolationException",
        400,
        "ALREADY_IN_AN_ORGANIZATION",
    )
    assert error_of(org.describe_handshake, HandshakeId="h-0000000000")[:2] == (
        "HandshakeNotFoundException",
        400,
    )


def test_a_member_of_another_organization_cannot_accept_and_deleting_needs_it_empty(
    org: Any, cluster: Cluster, ops_key: dict[str, str]
) -> None:
    """An account managing its own organization cannot accept an invitation; that organization
    can be deleted only once its member is gone, and an email invitation is listed too."""
    other = _new_account(org, cluster, "lc-other-management")
    org.remove_account_from_organization(AccountId=other)
    other_client = _client(cluster, **_session(cluster, ops_key, other))
    other_client.create_organization(FeatureSet="ALL")
    handshake = org.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": other})
    code, _, _, response = error_with_response(
        other_client.accept_handshake, HandshakeId=handshake["Handshake"]["Id"]
    )
    assert (code, response["Reason"]) == (
        "HandshakeConstraintViolationException",
        "ALREADY_IN_AN_ORGANIZATION",
    )
    their_member = other_client.create_account(Email="inner@lifecycle.example.com", AccountName="x")
    inner = their_member["CreateAccountStatus"]["AccountId"]
    code, status, message = error_of(other_client.delete_organization)
    assert (code, status) == ("OrganizationNotEmptyException", 400)
    assert "remove all accounts except the management account" in message
    other_client.remove_account_from_organization(AccountId=inner)
    other_client.delete_organization()
    assert error_of(other_client.describe_organization)[0] == "AWSOrganizationsNotInUseException"

    by_email = org.invite_account_to_organization(
        Target={"Type": "EMAIL", "Id": "someone@lifecycle.example.com"}
    )["Handshake"]
    assert {"Value": "someone@lifecycle.example.com", "Type": "EMAIL"} in by_email["Resources"]
    code, _, _, response = error_with_response(
        org.invite_account_to_organization, Target={"Type": "ORGANIZATION", "Id": "o-abcdefghij"}
    )
    assert (code, response["Reason"]) == ("InvalidInputException", "INVALID_PARTY_TYPE_TARGET")


def test_close_account_rename_ou_and_create_account_statuses(org: Any, cluster: Cluster) -> None:
    """CloseAccount suspends a member once; OUs are renamed among unique sibling names;
    ListCreateAccountStatus lists the requests by state."""
    member = _new_account(org, cluster, "lc-closing")
    org.close_account(AccountId=member)
    assert org.describe_account(AccountId=member)["Account"]["Status"] == "SUSPENDED"
    assert error_of(org.close_account, AccountId=member)[:2] == (
        "AccountAlreadyClosedException",
        400,
    )
    management = org.describe_organization()["Organization"]["MasterAccountId"]
    code, _, _, response = error_with_response(org.close_account, AccountId=management)
    assert (code, response["Reason"]) == (
        "ConstraintViolationException",
        "CANNOT_CLOSE_MANAGEMENT_ACCOUNT",
    )

    root = _root(org)
    unit = org.create_organizational_unit(ParentId=root, Name="lc-old")["OrganizationalUnit"]
    org.create_organizational_unit(ParentId=root, Name="lc-taken")
    renamed = org.update_organizational_unit(OrganizationalUnitId=unit["Id"], Name="lc-new")
    assert renamed["OrganizationalUnit"] == {**unit, "Name": "lc-new"}
    assert error_of(
        org.update_organizational_unit, OrganizationalUnitId=unit["Id"], Name="lc-taken"
    )[:2] == ("DuplicateOrganizationalUnitException", 400)
    assert error_of(
        org.update_organizational_unit, OrganizationalUnitId="ou-none-12345678", Name="x"
    )[0] == ("OrganizationalUnitNotFoundException")

    statuses = org.list_create_account_status(States=["SUCCEEDED"])["CreateAccountStatuses"]
    assert member in [s["AccountId"] for s in statuses]
    assert org.list_create_account_status(States=["FAILED"])["CreateAccountStatuses"] == []


def test_tags_on_accounts_units_roots_and_policies(org: Any, cluster: Cluster) -> None:
    """Tags round-trip on every taggable kind; unknown targets are TargetNotFoundException."""
    root = _root(org)
    unit = org.create_organizational_unit(
        ParentId=root, Name="lc-tagged", Tags=[{"Key": "env", "Value": "prod"}]
    )["OrganizationalUnit"]
    member = _new_account(org, cluster, "lc-tagged")
    created = org.create_policy(Content=DENY_S3, Description="", Name="lc-tagged", Type=SCP)
    policy_id = created["Policy"]["PolicySummary"]["Id"]
    for resource in (root, unit["Id"], member, policy_id):
        org.tag_resource(ResourceId=resource, Tags=[{"Key": "owner", "Value": "lifecycle"}])
    org.tag_resource(ResourceId=unit["Id"], Tags=[{"Key": "env", "Value": "dev"}])
    tags = org.list_tags_for_resource(ResourceId=unit["Id"])["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("env", "dev"), ("owner", "lifecycle")]
    org.untag_resource(ResourceId=unit["Id"], TagKeys=["env", "absent"])
    assert org.list_tags_for_resource(ResourceId=unit["Id"])["Tags"] == [
        {"Key": "owner", "Value": "lifecycle"}
    ]
    assert org.list_tags_for_resource(ResourceId=policy_id)["Tags"] == [
        {"Key": "owner", "Value": "lifecycle"}
    ]
    assert error_of(org.list_tags_for_resource, ResourceId="ou-none-12345678")[:2] == (
        "TargetNotFoundException",
        400,
    )
    too_many = [{"Key": f"k{i}", "Value": "v"} for i in range(50)]
    code, _, _, response = error_with_response(org.tag_resource, ResourceId=member, Tags=too_many)
    assert (code, response["Reason"]) == ("ConstraintViolationException", "MAX_TAG_LIMIT_EXCEEDED")


def test_trusted_access_and_delegated_administrators(org: Any, cluster: Cluster) -> None:
    """A member is delegated administrator of a trusted service; it must be deregistered
    before it can be removed from the organization."""
    service = "securityhub.amazonaws.com"
    member = _new_account(org, cluster, "lc-delegate")
    code, _, _, response = error_with_response(
        org.register_delegated_administrator, AccountId=member, ServicePrincipal=service
    )
    assert (code, response["Reason"]) == (
        "ConstraintViolationException",
        "SERVICE_ACCESS_NOT_ENABLED",
    )
    org.enable_aws_service_access(ServicePrincipal=service)
    enabled = org.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    assert service in [s["ServicePrincipal"] for s in enabled]
    org.register_delegated_administrator(AccountId=member, ServicePrincipal=service)
    assert error_of(
        org.register_delegated_administrator, AccountId=member, ServicePrincipal=service
    )[:2] == ("AccountAlreadyRegisteredException", 400)
    management = org.describe_organization()["Organization"]["MasterAccountId"]
    code, _, _, response = error_with_response(
        org.register_delegated_administrator, AccountId=management, ServicePrincipal=service
    )
    assert response["Reason"] == "CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR"
    admins = org.list_delegated_administrators(ServicePrincipal=service)["DelegatedAdministrators"]
    assert [a["Id"] for a in admins] == [member]
    services = org.list_delegated_services_for_account(AccountId=member)["DelegatedServices"]
    assert [s["ServicePrincipal"] for s in services] == [service]
    code, _, _, response = error_with_response(
        org.remove_account_from_organization, AccountId=member
    )
    assert response["Reason"] == "CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG"
    org.deregister_delegated_administrator(AccountId=member, ServicePrincipal=service)
    assert error_of(
        org.deregister_delegated_administrator, AccountId=member, ServicePrincipal=service
    )[:2] == ("AccountNotRegisteredException", 400)
    assert error_of(org.list_delegated_services_for_account, AccountId=member)[0] == (
        "AccountNotRegisteredException"
    )
    org.disable_aws_service_access(ServicePrincipal=service)
    enabled = org.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    assert service not in [s["ServicePrincipal"] for s in enabled]
    code, _, _, response = error_with_response(
        org.enable_aws_service_access, ServicePrincipal="nothing.example.com"
    )
    assert (code, response["Reason"]) == ("InvalidInputException", "UNRECOGNIZED_SERVICE_PRINCIPAL")


@pytest.mark.parametrize("kind", ["TAG_POLICY", "BACKUP_POLICY", "AISERVICES_OPT_OUT_POLICY"])
def test_stored_only_policy_types(org: Any, kind: str) -> None:
    """Tag, backup and AI opt-out policies are enabled, created (JSON-checked), attached,
    listed, detached down to none and disabled; no AWS managed policy comes with them."""
    root = _root(org)
    _enabled(org, kind)
    assert error_of(org.enable_policy_type, RootId=root, PolicyType=kind)[0] == (
        "PolicyTypeAlreadyEnabledException"
    )
    assert org.list_policies_for_target(TargetId=root, Filter=kind)["Policies"] == []
    code, status, _ = error_of(
        org.create_policy, Content="{not json", Description="", Name=f"lc-{kind}-bad", Type=kind
    )
    assert (code, status) == ("MalformedPolicyDocumentException", 400)
    content = json.dumps({"lifecycle": {"@@assign": kind}})
    created = org.create_policy(Content=content, Description="d", Name=f"lc-{kind}", Type=kind)
    summary = created["Policy"]["PolicySummary"]
    assert summary["Type"] == kind and f"/{kind.lower()}/" in summary["Arn"]
    org.attach_policy(PolicyId=summary["Id"], TargetId=root)
    attached = org.list_policies_for_target(TargetId=root, Filter=kind)["Policies"]
    assert [p["Id"] for p in attached] == [summary["Id"]]
    assert summary["Id"] in [p["Id"] for p in org.list_policies(Filter=kind)["Policies"]]
    org.detach_policy(PolicyId=summary["Id"], TargetId=root)
    org.delete_policy(PolicyId=summary["Id"])
    org.disable_policy_type(RootId=root, PolicyType=kind)
    types = {t["Type"] for t in org.list_roots()["Roots"][0]["PolicyTypes"]}
    assert kind not in types
