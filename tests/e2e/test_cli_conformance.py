"""The ``aws`` CLI drives every family of the control plane's IAM and Organizations API.

Each test walks one family with the ``aws`` CLI: the happy path, AWS's error codes on the
documented failures, pagination and quotas. (boto3 covers the same operations in
tests/controlplane; this suite shows the CLI's own serialization and parsing agree too.) The
first user is created by the real ``aws`` entry point; every other command runs in a process
forked from the CLI fork server, which spares an interpreter start per command (see
tests/e2e/aws_cli.py, and tests/e2e/test_aws_cli.py for the two answering alike).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.aws_cli import AwsCli
from tests.e2e.certificates import openssh_public_key, self_signed
from tests.e2e.cluster import Cluster, account_of_its_own

pytestmark = [pytest.mark.e2e, pytest.mark.long]


def _policy(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ALLOW_S3 = _policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
ALLOW_SQS = _policy({"Effect": "Allow", "Action": "sqs:*", "Resource": "*"})
EC2_TRUST = _policy(
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
)


@pytest.fixture(scope="module")
def cluster(shared_cluster: Cluster) -> Cluster:
    """The shared cluster, in an account of the module's own: this suite creates the account's
    organization."""
    return account_of_its_own(shared_cluster)


@pytest.fixture(scope="module")
def aws(cluster: Cluster) -> AwsCli:
    """The ``aws`` CLI with the account's root key."""
    return AwsCli(cluster)


def test_users_access_keys_and_pagination(aws: AwsCli) -> None:
    """Users with paths and tags, EntityAlreadyExists, MaxItems pagination, two keys per
    user, Active/Inactive keys."""
    first_user = aws.run_process(
        "iam", "create-user", "--user-name", "cli-u1", "--path", "/cli/",
        "--tags", "Key=team,Value=blue",
    )  # fmt: skip
    assert first_user.returncode == 0, first_user.stderr
    assert first_user.output["User"]["UserId"].startswith("AIDA")
    for name in ("cli-u2", "cli-u3"):
        created = aws.ok(
            "iam", "create-user", "--user-name", name, "--path", "/cli/",
            "--tags", "Key=team,Value=blue",
        )  # fmt: skip
        assert created["User"]["UserId"].startswith("AIDA")
    assert aws.fails("iam", "create-user", "--user-name", "CLI-U1") == "EntityAlreadyExists"
    page = aws.ok("iam", "list-users", "--path-prefix", "/cli/", "--max-items", "2")
    assert [u["UserName"] for u in page["Users"]] == ["cli-u1", "cli-u2"]
    rest = aws.ok(
        "iam", "list-users", "--path-prefix", "/cli/", "--starting-token", page["NextToken"]
    )
    assert [u["UserName"] for u in rest["Users"]] == ["cli-u3"]
    first = aws.ok("iam", "create-access-key", "--user-name", "cli-u1")["AccessKey"]
    assert first["AccessKeyId"].startswith("AKIA")
    aws.ok("iam", "create-access-key", "--user-name", "cli-u1")
    assert aws.fails("iam", "create-access-key", "--user-name", "cli-u1") == "LimitExceeded"
    aws.ok(
        "iam", "update-access-key", "--user-name", "cli-u1",
        "--access-key-id", first["AccessKeyId"], "--status", "Inactive",
    )  # fmt: skip
    keys = aws.ok("iam", "list-access-keys", "--user-name", "cli-u1")["AccessKeyMetadata"]
    statuses = {k["AccessKeyId"]: k["Status"] for k in keys}
    assert statuses[first["AccessKeyId"]] == "Inactive"
    assert sorted(statuses.values()) == ["Active", "Inactive"]
    assert aws.fails("iam", "get-user", "--user-name", "cli-nobody") == "NoSuchEntity"
    tags = aws.ok("iam", "list-user-tags", "--user-name", "cli-u2")["Tags"]
    assert tags == [{"Key": "team", "Value": "blue"}]
    aws.ok("iam", "tag-user", "--user-name", "cli-u2", "--tags", "Key=env,Value=prod")
    aws.ok("iam", "untag-user", "--user-name", "cli-u2", "--tag-keys", "team")
    tags = aws.ok("iam", "list-user-tags", "--user-name", "cli-u2")["Tags"]
    assert tags == [{"Key": "env", "Value": "prod"}]


def test_groups_inline_and_managed_policies_and_conflicts(aws: AwsCli) -> None:
    """Groups and membership, inline policies, managed policy versions (at most five, one
    default), attachments, boundaries, and DeleteConflict until everything is detached."""
    aws.ok("iam", "create-user", "--user-name", "cli-dev")
    aws.ok("iam", "create-group", "--group-name", "cli-devs")
    aws.ok("iam", "add-user-to-group", "--group-name", "cli-devs", "--user-name", "cli-dev")
    group = aws.ok("iam", "get-group", "--group-name", "cli-devs")
    assert [u["UserName"] for u in group["Users"]] == ["cli-dev"]
    aws.ok(
        "iam", "put-group-policy", "--group-name", "cli-devs", "--policy-name", "s3",
        "--policy-document", ALLOW_S3,
    )  # fmt: skip
    got = aws.ok("iam", "get-group-policy", "--group-name", "cli-devs", "--policy-name", "s3")
    assert got["PolicyDocument"]["Statement"][0]["Action"] == "s3:*"
    assert aws.fails(
        "iam", "put-user-policy", "--user-name", "cli-dev", "--policy-name", "bad",
        "--policy-document", '{"Statement": [{"Effect": "Maybe"}]}',
    ) == "MalformedPolicyDocument"  # fmt: skip

    arn = aws.ok(
        "iam", "create-policy", "--policy-name", "cli-sqs", "--policy-document", ALLOW_SQS
    )["Policy"]["Arn"]
    for _ in range(4):
        aws.ok(
            "iam", "create-policy-version", "--policy-arn", arn,
            "--policy-document", ALLOW_SQS, "--set-as-default",
        )  # fmt: skip
    assert aws.fails(
        "iam", "create-policy-version", "--policy-arn", arn, "--policy-document", ALLOW_SQS
    ) == "LimitExceeded"  # fmt: skip
    versions = aws.ok("iam", "list-policy-versions", "--policy-arn", arn)["Versions"]
    assert len(versions) == 5
    assert [v["VersionId"] for v in versions if v["IsDefaultVersion"]] == ["v5"]
    assert aws.fails(
        "iam", "delete-policy-version", "--policy-arn", arn, "--version-id", "v5"
    ) == "DeleteConflict"  # fmt: skip
    aws.ok("iam", "set-default-policy-version", "--policy-arn", arn, "--version-id", "v1")
    aws.ok("iam", "delete-policy-version", "--policy-arn", arn, "--version-id", "v5")

    aws.ok("iam", "attach-user-policy", "--user-name", "cli-dev", "--policy-arn", arn)
    aws.ok("iam", "attach-group-policy", "--group-name", "cli-devs", "--policy-arn", arn)
    aws.ok(
        "iam", "put-user-permissions-boundary", "--user-name", "cli-dev",
        "--permissions-boundary", arn,
    )  # fmt: skip
    user = aws.ok("iam", "get-user", "--user-name", "cli-dev")["User"]
    assert user["PermissionsBoundary"]["PermissionsBoundaryArn"] == arn
    attached = aws.ok("iam", "list-attached-user-policies", "--user-name", "cli-dev")
    assert attached["AttachedPolicies"] == [{"PolicyName": "cli-sqs", "PolicyArn": arn}]
    entities = aws.ok("iam", "list-entities-for-policy", "--policy-arn", arn)
    assert [u["UserName"] for u in entities["PolicyUsers"]] == ["cli-dev"]
    assert [g["GroupName"] for g in entities["PolicyGroups"]] == ["cli-devs"]

    assert aws.fails("iam", "delete-policy", "--policy-arn", arn) == "DeleteConflict"
    assert aws.fails("iam", "delete-group", "--group-name", "cli-devs") == "DeleteConflict"
    assert aws.fails("iam", "delete-user", "--user-name", "cli-dev") == "DeleteConflict"
    aws.ok("iam", "delete-user-permissions-boundary", "--user-name", "cli-dev")
    aws.ok("iam", "detach-user-policy", "--user-name", "cli-dev", "--policy-arn", arn)
    aws.ok("iam", "detach-group-policy", "--group-name", "cli-devs", "--policy-arn", arn)
    assert aws.fails("iam", "delete-policy", "--policy-arn", arn) == "DeleteConflict"  # versions
    for version in ("v2", "v3", "v4"):
        aws.ok("iam", "delete-policy-version", "--policy-arn", arn, "--version-id", version)
    aws.ok("iam", "delete-policy", "--policy-arn", arn)
    aws.ok("iam", "remove-user-from-group", "--group-name", "cli-devs", "--user-name", "cli-dev")
    aws.ok("iam", "delete-group-policy", "--group-name", "cli-devs", "--policy-name", "s3")
    aws.ok("iam", "delete-group", "--group-name", "cli-devs")
    aws.ok("iam", "delete-user", "--user-name", "cli-dev")
    assert aws.fails("iam", "get-group", "--group-name", "cli-devs") == "NoSuchEntity"


def test_roles_trust_and_instance_profiles(aws: AwsCli, cluster: Cluster) -> None:
    """Roles with trust policies, max session duration and descriptions; the trust policy's
    principal rules; instance profiles; service-linked roles."""
    role = aws.ok(
        "iam", "create-role", "--role-name", "cli-web", "--path", "/app/",
        "--assume-role-policy-document", EC2_TRUST, "--description", "web tier",
        "--max-session-duration", "7200",
    )["Role"]  # fmt: skip
    assert role["RoleId"].startswith("AROA")
    assert role["MaxSessionDuration"] == 7200
    assert aws.fails(
        "iam", "update-role", "--role-name", "cli-web", "--max-session-duration", "50000"
    ) == "ValidationError"  # fmt: skip
    aws.ok("iam", "update-role", "--role-name", "cli-web", "--description", "web")
    assert aws.ok("iam", "get-role", "--role-name", "cli-web")["Role"]["Description"] == "web"
    missing = f"arn:aws:iam::{cluster.account}:user/cli-ghost"
    bad_trust = _policy(
        {"Effect": "Allow", "Principal": {"AWS": missing}, "Action": "sts:AssumeRole"}
    )
    result = aws.run(
        "iam", "create-role", "--role-name", "cli-ghost-role",
        "--assume-role-policy-document", bad_trust,
    )  # fmt: skip
    assert result.error_code == "MalformedPolicyDocument"
    assert "Invalid principal in policy" in result.stderr
    aws.ok(
        "iam", "put-role-policy", "--role-name", "cli-web", "--policy-name", "s3",
        "--policy-document", ALLOW_S3,
    )  # fmt: skip
    assert aws.ok("iam", "list-role-policies", "--role-name", "cli-web")["PolicyNames"] == ["s3"]
    aws.ok("iam", "tag-role", "--role-name", "cli-web", "--tags", "Key=tier,Value=web")
    profile = aws.ok(
        "iam", "create-instance-profile", "--instance-profile-name", "cli-web"
    )["InstanceProfile"]  # fmt: skip
    assert profile["InstanceProfileId"].startswith("AIPA")
    aws.ok(
        "iam", "add-role-to-instance-profile", "--instance-profile-name", "cli-web",
        "--role-name", "cli-web",
    )  # fmt: skip
    profiles = aws.ok("iam", "list-instance-profiles-for-role", "--role-name", "cli-web")
    assert [p["InstanceProfileName"] for p in profiles["InstanceProfiles"]] == ["cli-web"]
    assert aws.fails("iam", "delete-role", "--role-name", "cli-web") == "DeleteConflict"
    linked = aws.ok(
        "iam", "create-service-linked-role", "--aws-service-name", "autoscaling.amazonaws.com"
    )["Role"]  # fmt: skip
    assert linked["Path"].startswith("/aws-service-role/autoscaling.amazonaws.com/")
    assert aws.fails(
        "iam", "delete-role", "--role-name", linked["RoleName"]
    ) == "UnmodifiableEntity"  # fmt: skip
    deletion = aws.ok("iam", "delete-service-linked-role", "--role-name", linked["RoleName"])
    assert deletion["DeletionTaskId"]


def test_identity_providers_mfa_alias_and_authorization_details(
    aws: AwsCli, tmp_path: Path
) -> None:
    """OIDC and SAML providers, a virtual MFA device written to a file, the account alias,
    and GetAccountAuthorizationDetails."""
    oidc = aws.ok(
        "iam", "create-open-id-connect-provider", "--url", "https://cli.example.com",
        "--client-id-list", "app", "--thumbprint-list", "9e99a48a9960b14926bb7f3b02e22da2b0ab7280",
    )["OpenIDConnectProviderArn"]  # fmt: skip
    assert oidc.endswith(":oidc-provider/cli.example.com")
    got = aws.ok("iam", "get-open-id-connect-provider", "--open-id-connect-provider-arn", oidc)
    assert got["ClientIDList"] == ["app"]
    metadata = tmp_path / "metadata.xml"
    metadata.write_text("<EntityDescriptor>" + "x" * 1000 + "</EntityDescriptor>")
    saml = aws.ok(
        "iam", "create-saml-provider", "--name", "cli-idp",
        "--saml-metadata-document", f"file://{metadata}",
    )["SAMLProviderArn"]  # fmt: skip
    assert saml.endswith(":saml-provider/cli-idp")
    listed = aws.ok("iam", "list-saml-providers")["SAMLProviderList"]
    assert saml in [p["Arn"] for p in listed]
    seed = tmp_path / "seed.txt"
    device = aws.ok(
        "iam", "create-virtual-mfa-device", "--virtual-mfa-device-name", "cli-mfa",
        "--outfile", str(seed), "--bootstrap-method", "Base32StringSeed",
    )["VirtualMFADevice"]  # fmt: skip
    assert device["SerialNumber"].endswith(":mfa/cli-mfa")
    assert len(seed.read_text().strip()) >= 16
    aws.ok("iam", "create-account-alias", "--account-alias", "cli-alias")
    assert aws.ok("iam", "list-account-aliases")["AccountAliases"] == ["cli-alias"]
    aws.ok("iam", "create-user", "--user-name", "cli-detail")
    details = aws.ok("iam", "get-account-authorization-details", "--filter", "User")
    assert "cli-detail" in [u["UserName"] for u in details["UserDetailList"]]
    assert details["RoleDetailList"] == []


def test_user_credentials_and_certificates(aws: AwsCli, tmp_path: Path) -> None:
    """Password policy and login profiles, SSH keys, signing and server certificates."""
    assert aws.fails("iam", "get-account-password-policy") == "NoSuchEntity"
    aws.ok(
        "iam", "update-account-password-policy", "--minimum-password-length", "12",
        "--require-numbers",
    )  # fmt: skip
    policy = aws.ok("iam", "get-account-password-policy")["PasswordPolicy"]
    assert policy["MinimumPasswordLength"] == 12
    assert policy["RequireNumbers"] is True
    aws.ok("iam", "create-user", "--user-name", "cli-cred")
    assert aws.fails(
        "iam", "create-login-profile", "--user-name", "cli-cred", "--password", "short1"
    ) == "PasswordPolicyViolation"  # fmt: skip
    aws.ok(
        "iam", "create-login-profile", "--user-name", "cli-cred",
        "--password", "long-enough-password-1", "--password-reset-required",
    )  # fmt: skip
    profile = aws.ok("iam", "get-login-profile", "--user-name", "cli-cred")["LoginProfile"]
    assert profile["PasswordResetRequired"] is True
    assert aws.fails("iam", "delete-user", "--user-name", "cli-cred") == "DeleteConflict"

    openssh = openssh_public_key()
    uploaded = aws.ok(
        "iam", "upload-ssh-public-key", "--user-name", "cli-cred",
        "--ssh-public-key-body", openssh,
    )["SSHPublicKey"]  # fmt: skip
    assert uploaded["SSHPublicKeyId"].startswith("APKA")
    listed = aws.ok("iam", "list-ssh-public-keys", "--user-name", "cli-cred")["SSHPublicKeys"]
    assert [k["SSHPublicKeyId"] for k in listed] == [uploaded["SSHPublicKeyId"]]

    body, private_key = self_signed()
    (tmp_path / "cert.pem").write_text(body)
    (tmp_path / "key.pem").write_text(private_key)
    signing = aws.ok(
        "iam", "upload-signing-certificate", "--user-name", "cli-cred",
        "--certificate-body", f"file://{tmp_path / 'cert.pem'}",
    )["Certificate"]  # fmt: skip
    assert signing["Status"] == "Active"
    server = aws.ok(
        "iam", "upload-server-certificate", "--server-certificate-name", "cli-edge",
        "--certificate-body", f"file://{tmp_path / 'cert.pem'}",
        "--private-key", f"file://{tmp_path / 'key.pem'}",
    )["ServerCertificateMetadata"]  # fmt: skip
    assert server["ServerCertificateId"].startswith("ASCA")
    got = aws.ok("iam", "get-server-certificate", "--server-certificate-name", "cli-edge")
    assert "PrivateKey" not in got["ServerCertificate"]
    assert aws.fails(
        "iam", "upload-server-certificate", "--server-certificate-name", "cli-bad",
        "--certificate-body", "not a certificate",
        "--private-key", f"file://{tmp_path / 'key.pem'}",
    ) == "MalformedCertificate"  # fmt: skip


def test_simulation(aws: AwsCli, cluster: Cluster) -> None:
    """simulate-principal-policy and simulate-custom-policy answer from the data plane."""
    user = aws.ok("iam", "create-user", "--user-name", "cli-sim")["User"]["Arn"]
    aws.ok(
        "iam", "put-user-policy", "--user-name", "cli-sim", "--policy-name", "s3",
        "--policy-document", ALLOW_S3,
    )  # fmt: skip
    answer = aws.ok(
        "iam", "simulate-principal-policy", "--policy-source-arn", user,
        "--action-names", "s3:GetObject", "sqs:SendMessage",
    )  # fmt: skip
    decisions = {r["EvalActionName"]: r["EvalDecision"] for r in answer["EvaluationResults"]}
    assert decisions == {"s3:GetObject": "allowed", "sqs:SendMessage": "implicitDeny"}
    custom = aws.ok(
        "iam", "simulate-custom-policy", "--policy-input-list", ALLOW_SQS,
        "--action-names", "sqs:SendMessage",
    )  # fmt: skip
    assert custom["EvaluationResults"][0]["EvalDecision"] == "allowed"


def test_organizations(aws: AwsCli, cluster: Cluster) -> None:
    """The organization, accounts, OUs, SCPs with FullAWSAccess, and their errors."""
    organization = aws.ok("organizations", "create-organization", "--feature-set", "ALL")
    assert organization["Organization"]["MasterAccountId"] == cluster.account
    assert aws.fails("organizations", "create-organization") == "AlreadyInOrganizationException"
    status = aws.ok(
        "organizations", "create-account", "--email", "cli@example.com", "--account-name", "cli"
    )["CreateAccountStatus"]  # fmt: skip
    assert status["State"] == "SUCCEEDED"
    member = status["AccountId"]
    root = aws.ok("organizations", "list-roots")["Roots"][0]["Id"]
    unit = aws.ok(
        "organizations", "create-organizational-unit", "--parent-id", root, "--name", "apps"
    )["OrganizationalUnit"]["Id"]  # fmt: skip
    aws.ok(
        "organizations", "move-account", "--account-id", member,
        "--source-parent-id", root, "--destination-parent-id", unit,
    )  # fmt: skip
    children = aws.ok("organizations", "list-accounts-for-parent", "--parent-id", unit)
    assert [a["Id"] for a in children["Accounts"]] == [member]
    policy = aws.ok(
        "organizations", "create-policy", "--name", "s3-only", "--description", "s3",
        "--type", "SERVICE_CONTROL_POLICY", "--content", ALLOW_S3,
    )["Policy"]["PolicySummary"]["Id"]  # fmt: skip
    assert aws.fails(
        "organizations", "attach-policy", "--policy-id", policy, "--target-id", unit
    ) == "PolicyTypeNotEnabledException"  # fmt: skip
    aws.ok(
        "organizations", "enable-policy-type", "--root-id", root,
        "--policy-type", "SERVICE_CONTROL_POLICY",
    )  # fmt: skip
    aws.ok("organizations", "attach-policy", "--policy-id", policy, "--target-id", unit)
    attached = aws.ok(
        "organizations", "list-policies-for-target", "--target-id", unit,
        "--filter", "SERVICE_CONTROL_POLICY",
    )["Policies"]  # fmt: skip
    assert sorted(p["Name"] for p in attached) == ["FullAWSAccess", "s3-only"]
    assert aws.fails(
        "organizations", "delete-policy", "--policy-id", policy
    ) == "PolicyInUseException"  # fmt: skip
    assert aws.fails(
        "organizations", "delete-organizational-unit", "--organizational-unit-id", unit
    ) == "OrganizationalUnitNotEmptyException"  # fmt: skip
