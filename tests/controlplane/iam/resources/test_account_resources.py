"""Instance profiles, identity providers, virtual MFA, aliases and authorization details."""

from __future__ import annotations

import time
from typing import Any

import pytest

from controlplane.iam.credentials.totp import STEP_SECONDS, totp
from tests.controlplane.conftest import allow, error_of, trust

pytestmark = pytest.mark.e2e

EC2 = trust({"Service": "ec2.amazonaws.com"})
THUMBPRINT = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"
SAML_METADATA = "<EntityDescriptor>" + "x" * 1000 + "</EntityDescriptor>"


def test_instance_profile_holds_one_role(iam: Any) -> None:
    """A profile takes one role; a second is LimitExceeded; conflicts guard both deletes."""
    profile = iam.create_instance_profile(InstanceProfileName="ip-web", Path="/web/")
    assert profile["InstanceProfile"]["InstanceProfileId"].startswith("AIPA")
    iam.create_role(RoleName="ip-role", AssumeRolePolicyDocument=EC2)
    iam.create_role(RoleName="ip-role2", AssumeRolePolicyDocument=EC2)
    iam.add_role_to_instance_profile(InstanceProfileName="ip-web", RoleName="ip-role")
    assert error_of(
        iam.add_role_to_instance_profile, InstanceProfileName="ip-web", RoleName="ip-role2"
    )[:2] == ("LimitExceeded", 409)
    got = iam.get_instance_profile(InstanceProfileName="ip-web")["InstanceProfile"]
    assert [r["RoleName"] for r in got["Roles"]] == ["ip-role"]
    for_role = iam.list_instance_profiles_for_role(RoleName="ip-role")["InstanceProfiles"]
    assert [p["InstanceProfileName"] for p in for_role] == ["ip-web"]
    assert error_of(iam.delete_role, RoleName="ip-role") == (
        "DeleteConflict",
        409,
        "Cannot delete entity, must remove roles from instance profile first.",
    )
    assert error_of(iam.delete_instance_profile, InstanceProfileName="ip-web")[:2] == (
        "DeleteConflict",
        409,
    )
    iam.remove_role_from_instance_profile(InstanceProfileName="ip-web", RoleName="ip-role")
    iam.delete_instance_profile(InstanceProfileName="ip-web")
    assert error_of(iam.get_instance_profile, InstanceProfileName="ip-web")[:2] == (
        "NoSuchEntity",
        404,
    )


def test_oidc_provider_lifecycle(iam: Any) -> None:
    """An OIDC provider keeps its client IDs and thumbprints; a duplicate URL is refused."""
    arn = iam.create_open_id_connect_provider(
        Url="https://token.example.com", ClientIDList=["app"], ThumbprintList=[THUMBPRINT]
    )["OpenIDConnectProviderArn"]
    assert arn.endswith(":oidc-provider/token.example.com")
    assert error_of(
        iam.create_open_id_connect_provider,
        Url="https://token.example.com",
        ThumbprintList=[THUMBPRINT],
    )[:2] == ("EntityAlreadyExists", 409)
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="cli")
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert (got["Url"], got["ClientIDList"], got["ThumbprintList"]) == (
        "token.example.com",
        ["app", "cli"],
        [THUMBPRINT],
    )
    listed = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert {"Arn": arn} in listed
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert error_of(iam.get_open_id_connect_provider, OpenIDConnectProviderArn=arn)[:2] == (
        "NoSuchEntity",
        404,
    )


def test_saml_provider_lifecycle(iam: Any) -> None:
    """A SAML provider is created, read, listed and deleted."""
    arn = iam.create_saml_provider(SAMLMetadataDocument=SAML_METADATA, Name="corp")[
        "SAMLProviderArn"
    ]
    assert arn.endswith(":saml-provider/corp")
    assert iam.get_saml_provider(SAMLProviderArn=arn)["SAMLMetadataDocument"] == SAML_METADATA
    assert arn in [p["Arn"] for p in iam.list_saml_providers()["SAMLProviderList"]]
    iam.delete_saml_provider(SAMLProviderArn=arn)
    assert error_of(iam.get_saml_provider, SAMLProviderArn=arn)[:2] == ("NoSuchEntity", 404)


def test_virtual_mfa_device_enables_with_two_consecutive_codes(iam: Any) -> None:
    """The seed is a real TOTP secret: wrong codes are refused, consecutive ones enable it."""
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="mfa-user-device")
    serial = device["VirtualMFADevice"]["SerialNumber"]
    seed = device["VirtualMFADevice"]["Base32StringSeed"].decode()
    iam.create_user(UserName="mfa-user")
    assert error_of(
        iam.enable_mfa_device,
        UserName="mfa-user",
        SerialNumber=serial,
        AuthenticationCode1="000000",
        AuthenticationCode2="000000",
    )[:2] == ("InvalidAuthenticationCode", 403)
    now = time.time()
    iam.enable_mfa_device(
        UserName="mfa-user",
        SerialNumber=serial,
        AuthenticationCode1=totp(seed, now - STEP_SECONDS),
        AuthenticationCode2=totp(seed, now),
    )
    devices = iam.list_mfa_devices(UserName="mfa-user")["MFADevices"]
    assert [d["SerialNumber"] for d in devices] == [serial]
    assigned = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    # the cluster is shared with other modules, which may have devices of their own
    assert [d["User"]["UserName"] for d in assigned if d["SerialNumber"] == serial] == ["mfa-user"]
    assert error_of(iam.delete_virtual_mfa_device, SerialNumber=serial)[:2] == (
        "DeleteConflict",
        409,
    )
    assert error_of(iam.delete_user, UserName="mfa-user")[2] == (
        "Cannot delete entity, must delete MFA device first."
    )
    iam.deactivate_mfa_device(UserName="mfa-user", SerialNumber=serial)
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    iam.delete_user(UserName="mfa-user")


def test_account_alias(iam: Any) -> None:
    """One alias per account; deleting another name is NoSuchEntity."""
    iam.create_account_alias(AccountAlias="planes-test")
    assert iam.list_account_aliases()["AccountAliases"] == ["planes-test"]
    assert error_of(iam.delete_account_alias, AccountAlias="other")[:2] == ("NoSuchEntity", 404)
    iam.delete_account_alias(AccountAlias="planes-test")
    assert iam.list_account_aliases()["AccountAliases"] == []


def test_get_account_authorization_details(iam: Any) -> None:
    """Users, groups, roles and local policies come back with their policies."""
    iam.create_user(UserName="gaad-user")
    iam.put_user_policy(UserName="gaad-user", PolicyName="inline", PolicyDocument=allow("s3:*"))
    arn = iam.create_policy(PolicyName="gaad-policy", PolicyDocument=allow("s3:*"))["Policy"]["Arn"]
    iam.attach_user_policy(UserName="gaad-user", PolicyArn=arn)
    details = iam.get_account_authorization_details(Filter=["User", "LocalManagedPolicy"])
    user = next(u for u in details["UserDetailList"] if u["UserName"] == "gaad-user")
    assert user["UserPolicyList"][0]["PolicyName"] == "inline"
    assert user["AttachedManagedPolicies"] == [{"PolicyName": "gaad-policy", "PolicyArn": arn}]
    policy = next(p for p in details["Policies"] if p["Arn"] == arn)
    assert policy["PolicyVersionList"][0]["IsDefaultVersion"] is True
    assert details["RoleDetailList"] == []
