"""End to end: the control plane's answers survive its restart, and the ``aws`` CLI drives it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.e2e.aws_cli import AwsCli
from tests.e2e.certificates import openssh_public_key, self_signed
from tests.e2e.cluster import NO_GATEWAY, Cluster, iam_planes, running_cluster

pytestmark = pytest.mark.e2e

ALLOW_S3 = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
)
SAML_METADATA = "<EntityDescriptor>" + "x" * 1000 + "</EntityDescriptor>"
EC2_TRUST = json.dumps(
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


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One cluster for the restart and CLI tests: one region, since a restart of the control
    plane is the story and every answer comes from it."""
    with running_cluster(
        Path(tmp_path_factory.mktemp("iam-restart")), regions=("us-east-1",), up_options=NO_GATEWAY
    ) as running:
        yield running


def _populate(iam: Any) -> None:
    """One of every kind of IAM entity, wired together."""
    iam.create_user(UserName="ann", Path="/staff/", Tags=[{"Key": "k", "Value": "v"}])
    iam.create_access_key(UserName="ann")
    iam.put_user_policy(UserName="ann", PolicyName="inline", PolicyDocument=ALLOW_S3)
    iam.create_group(GroupName="team")
    iam.add_user_to_group(GroupName="team", UserName="ann")
    iam.put_group_policy(GroupName="team", PolicyName="inline", PolicyDocument=ALLOW_S3)
    arn = iam.create_policy(PolicyName="managed", PolicyDocument=ALLOW_S3)["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=ALLOW_S3, SetAsDefault=True)
    iam.attach_user_policy(UserName="ann", PolicyArn=arn)
    iam.attach_group_policy(GroupName="team", PolicyArn=arn)
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=EC2_TRUST, PermissionsBoundary=arn)
    iam.attach_role_policy(RoleName="app", PolicyArn=arn)
    iam.put_role_policy(RoleName="app", PolicyName="inline", PolicyDocument=ALLOW_S3)
    iam.create_instance_profile(InstanceProfileName="web")
    iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="app")
    iam.create_open_id_connect_provider(
        Url="https://idp.example.com", ClientIDList=["app"], ThumbprintList=["a" * 40]
    )
    iam.create_virtual_mfa_device(VirtualMFADeviceName="token")
    iam.tag_mfa_device(SerialNumber=_mfa_serial(iam), Tags=[{"Key": "k", "Value": "v"}])
    iam.create_account_alias(AccountAlias="restart-test")
    iam.update_account_password_policy(MinimumPasswordLength=10, RequireSymbols=True)
    iam.create_login_profile(UserName="ann", Password="a-long-pass-phrase!")
    iam.upload_ssh_public_key(UserName="ann", SSHPublicKeyBody=openssh_public_key())
    body, private_key = self_signed()
    iam.upload_signing_certificate(UserName="ann", CertificateBody=body)
    iam.upload_server_certificate(
        ServerCertificateName="edge", CertificateBody=body, PrivateKey=private_key
    )
    iam.create_service_specific_credential(UserName="ann", ServiceName="codecommit.amazonaws.com")
    iam.create_saml_provider(Name="corp", SAMLMetadataDocument=SAML_METADATA)
    iam.generate_credential_report()


def _mfa_serial(iam: Any) -> str:
    return str(iam.list_virtual_mfa_devices()["VirtualMFADevices"][0]["SerialNumber"])


def _organizations(cluster: Cluster) -> Any:
    return boto3.client(
        "organizations",
        endpoint_url=cluster.file.controlplane.endpoint,
        region_name="us-east-1",
        **cluster.root_credentials(),
    )


def _populate_organization(org: Any) -> None:
    """An organization with a member account in an OU and an SCP."""
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    account = org.create_account(Email="m@example.com", AccountName="m")["CreateAccountStatus"]
    unit = org.create_organizational_unit(ParentId=root, Name="ou")["OrganizationalUnit"]["Id"]
    org.move_account(AccountId=account["AccountId"], SourceParentId=root, DestinationParentId=unit)
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    deny = ALLOW_S3.replace("Allow", "Deny")
    policy = org.create_policy(
        Content=deny, Description="", Name="d", Type="SERVICE_CONTROL_POLICY"
    )
    org.attach_policy(PolicyId=policy["Policy"]["PolicySummary"]["Id"], TargetId=unit)
    org.tag_resource(ResourceId=unit, Tags=[{"Key": "team", "Value": "blue"}])
    org.invite_account_to_organization(Target={"Id": "invitee@example.com", "Type": "EMAIL"})


def _organization_answers(org: Any) -> dict[str, Any]:
    root = org.list_roots()["Roots"][0]["Id"]
    unit = org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"][0]["Id"]
    return {
        "organization": _clean(org.describe_organization()),
        "accounts": _clean(org.list_accounts()),
        "roots": _clean(org.list_roots()),
        "units": _clean(org.list_organizational_units_for_parent(ParentId=root)),
        "policies": _clean(org.list_policies(Filter="SERVICE_CONTROL_POLICY")),
        "unit_tags": _clean(org.list_tags_for_resource(ResourceId=unit)),
        "handshakes": _clean(org.list_handshakes_for_organization()),
    }


def _clean(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != "ResponseMetadata"}


def _every_answer(iam: Any) -> dict[str, Any]:
    """Every Get/List answer about what ``_populate`` made, keyed by call."""
    arn = next(p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"])
    calls: dict[str, Any] = {
        "list_users": iam.list_users,
        "get_user": lambda: iam.get_user(UserName="ann"),
        "list_access_keys": lambda: iam.list_access_keys(UserName="ann"),
        "list_user_policies": lambda: iam.list_user_policies(UserName="ann"),
        "get_user_policy": lambda: iam.get_user_policy(UserName="ann", PolicyName="inline"),
        "list_user_tags": lambda: iam.list_user_tags(UserName="ann"),
        "list_groups": iam.list_groups,
        "get_group": lambda: iam.get_group(GroupName="team"),
        "list_groups_for_user": lambda: iam.list_groups_for_user(UserName="ann"),
        "get_group_policy": lambda: iam.get_group_policy(GroupName="team", PolicyName="inline"),
        "list_roles": iam.list_roles,
        "get_role": lambda: iam.get_role(RoleName="app"),
        "list_role_policies": lambda: iam.list_role_policies(RoleName="app"),
        "list_policies": iam.list_policies,
        "get_policy": lambda: iam.get_policy(PolicyArn=arn),
        "list_policy_versions": lambda: iam.list_policy_versions(PolicyArn=arn),
        "get_policy_version": lambda: iam.get_policy_version(PolicyArn=arn, VersionId="v2"),
        "list_entities_for_policy": lambda: iam.list_entities_for_policy(PolicyArn=arn),
        "attached_user": lambda: iam.list_attached_user_policies(UserName="ann"),
        "attached_group": lambda: iam.list_attached_group_policies(GroupName="team"),
        "attached_role": lambda: iam.list_attached_role_policies(RoleName="app"),
        "instance_profile": lambda: iam.get_instance_profile(InstanceProfileName="web"),
        "instance_profiles": iam.list_instance_profiles,
        "oidc_providers": iam.list_open_id_connect_providers,
        "virtual_mfa_devices": iam.list_virtual_mfa_devices,
        "account_aliases": iam.list_account_aliases,
        "authorization_details": iam.get_account_authorization_details,
        "account_summary": iam.get_account_summary,
        "mfa_tags": lambda: iam.list_mfa_device_tags(SerialNumber=_mfa_serial(iam)),
        "password_policy": iam.get_account_password_policy,
        "login_profile": lambda: iam.get_login_profile(UserName="ann"),
        "ssh_keys": lambda: iam.list_ssh_public_keys(UserName="ann"),
        "signing_certificates": lambda: iam.list_signing_certificates(UserName="ann"),
        "server_certificates": iam.list_server_certificates,
        "server_certificate": lambda: iam.get_server_certificate(ServerCertificateName="edge"),
        "service_credentials": lambda: iam.list_service_specific_credentials(UserName="ann"),
        "saml_providers": iam.list_saml_providers,
        "credential_report": iam.get_credential_report,
    }
    return {name: _clean(call()) for name, call in calls.items()}


def test_every_get_and_list_answers_identically_after_a_restart(cluster: Cluster) -> None:
    """kill -9 the control plane and start it: the state rebuilt from the log answers the same."""
    iam = cluster.iam()
    _populate(iam)
    _populate_organization(_organizations(cluster))
    before = _every_answer(iam) | _organization_answers(_organizations(cluster))
    state_dir = str(cluster.state_dir)
    assert iam_planes("chaos", "kill", "controlplane", "--state-dir", state_dir).returncode == 0
    started = iam_planes("chaos", "start", "controlplane", "--state-dir", state_dir)
    assert started.returncode == 0, started.stdout + started.stderr
    after = _every_answer(cluster.iam_when_up()) | _organization_answers(_organizations(cluster))
    assert after == before


def _aws(cluster: Cluster, *args: str) -> tuple[int, Any, str]:
    """Run ``aws iam ARGS`` against the control plane with the root key, in a process forked
    from the CLI fork server (tests/e2e/aws_cli.py)."""
    done = AwsCli(cluster).run("iam", *args)
    return done.returncode, done.output, done.stderr


def test_the_aws_cli_drives_groups_policies_and_roles(cluster: Cluster) -> None:
    """``aws iam`` creates, attaches and lists, and shows AWS's error on a conflict. The first
    command runs the real ``aws`` entry point."""
    created = AwsCli(cluster).run_process("iam", "create-group", "--group-name", "cli-team")
    assert created.returncode == 0, created.stderr
    assert created.output["Group"]["GroupName"] == "cli-team"
    code, policy, _ = _aws(
        cluster, "create-policy", "--policy-name", "cli-s3", "--policy-document", ALLOW_S3
    )
    assert code == 0
    arn = policy["Policy"]["Arn"]
    assert (
        _aws(cluster, "attach-group-policy", "--group-name", "cli-team", "--policy-arn", arn)[0]
        == 0
    )
    code, listed, _ = _aws(cluster, "list-attached-group-policies", "--group-name", "cli-team")
    assert listed["AttachedPolicies"] == [{"PolicyName": "cli-s3", "PolicyArn": arn}]
    code, _, stderr = _aws(cluster, "delete-policy", "--policy-arn", arn)
    assert code != 0
    assert "DeleteConflict" in stderr
    code, role, _ = _aws(
        cluster,
        "create-role",
        "--role-name",
        "cli-role",
        "--assume-role-policy-document",
        EC2_TRUST,
    )
    assert role["Role"]["RoleId"].startswith("AROA")
