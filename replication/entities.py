"""IAM entities as they cross the boundary between the planes.

Every model is frozen: a change event carries the whole entity after the change, so the fold
replaces entities, never edits them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from replication.arns import (
    group_arn,
    instance_profile_arn,
    mfa_arn,
    oidc_provider_arn,
    policy_arn,
    role_arn,
    root_arn,
    saml_provider_arn,
    server_certificate_arn,
    user_arn,
)

__all__ = [
    "AccessKey",
    "Account",
    "AccountRequest",
    "Entity",
    "EntityKey",
    "Group",
    "InstanceProfile",
    "LoginProfile",
    "ManagedPolicy",
    "MfaDevice",
    "OidcProvider",
    "OrgAccount",
    "OrgDelegatedAdmin",
    "OrgHandshake",
    "OrgPolicy",
    "OrgServiceAccess",
    "OrgTag",
    "OrgUnit",
    "Organization",
    "PasswordPolicy",
    "PolicyVersion",
    "Role",
    "SamlProvider",
    "ServerCertificate",
    "ServiceCredential",
    "SigningCertificate",
    "SshPublicKey",
    "Tag",
    "User",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Tag(_Frozen):
    """One IAM tag."""

    key: str
    value: str


class Account(_Frozen):
    """An AWS account known to the emulator."""

    entity: Literal["account"] = "account"
    id: str
    alias: str | None = None
    created_at: datetime
    password_policy: PasswordPolicy | None = None  # None: AWS's default rules apply

    @property
    def arn(self) -> str:
        """The account's root ARN."""
        return root_arn(self.id)


class User(_Frozen):
    """An IAM user with its inline policies (name -> document text, as the customer sent it)."""

    entity: Literal["user"] = "user"
    account: str
    name: str
    path: str = "/"
    user_id: str
    created_at: datetime
    tags: tuple[Tag, ...] = ()
    inline_policies: dict[str, str] = Field(default_factory=dict)
    groups: tuple[str, ...] = ()  # names of the groups the user is a member of, in join order
    attached_policies: tuple[str, ...] = ()  # managed policy ARNs, in attach order
    permissions_boundary: str | None = None  # managed policy ARN
    login_profile: LoginProfile | None = None  # the console password, if any
    ssh_public_keys: tuple[SshPublicKey, ...] = ()  # in upload order
    signing_certificates: tuple[SigningCertificate, ...] = ()  # in upload order
    service_credentials: tuple[ServiceCredential, ...] = ()  # in creation order

    @property
    def arn(self) -> str:
        """The user's ARN, path included."""
        return user_arn(self.account, self.path, self.name)


class LoginProfile(_Frozen):
    """A user's console password, kept only as a salted hash (``scrypt$salt$hash``)."""

    created_at: datetime
    password_hash: str = Field(repr=False)
    password_reset_required: bool = False
    password_changed_at: datetime | None = None
    # hashes of earlier passwords, newest first, for the policy's PasswordReusePrevention
    previous_hashes: tuple[str, ...] = Field(default=(), repr=False)


class SshPublicKey(_Frozen):
    """An SSH public key of a user (CodeCommit), kept in OpenSSH form."""

    key_id: str
    body: str
    fingerprint: str
    status: Literal["Active", "Inactive"] = "Active"
    uploaded_at: datetime


class SigningCertificate(_Frozen):
    """An X.509 signing certificate of a user, kept as the PEM text that was uploaded."""

    certificate_id: str
    body: str
    status: Literal["Active", "Inactive"] = "Active"
    uploaded_at: datetime


class ServiceCredential(_Frozen):
    """A service-specific credential (CodeCommit, Keyspaces); the password only as a hash."""

    credential_id: str
    service_name: str
    service_user_name: str
    password_hash: str = Field(repr=False)
    status: Literal["Active", "Inactive"] = "Active"
    created_at: datetime


class PasswordPolicy(_Frozen):
    """An account's custom password policy, as UpdateAccountPasswordPolicy set it."""

    minimum_length: int = 6
    require_symbols: bool = False
    require_numbers: bool = False
    require_uppercase: bool = False
    require_lowercase: bool = False
    allow_users_to_change: bool = False
    max_age_days: int | None = None
    reuse_prevention: int | None = None
    hard_expiry: bool | None = None


class AccessKey(_Frozen):
    """A long-term access key of a user, or of the root user when ``user_name`` is None."""

    entity: Literal["access_key"] = "access_key"
    account: str
    access_key_id: str
    secret_access_key: str = Field(repr=False)
    user_name: str | None
    status: Literal["Active", "Inactive"] = "Active"
    created_at: datetime


class Role(_Frozen):
    """An IAM role: its trust policy (document text) and its inline policies."""

    entity: Literal["role"] = "role"
    account: str
    name: str
    path: str = "/"
    role_id: str
    created_at: datetime
    trust_policy: str
    description: str | None = None
    max_session_duration: int = 3600
    tags: tuple[Tag, ...] = ()
    inline_policies: dict[str, str] = Field(default_factory=dict)
    attached_policies: tuple[str, ...] = ()
    permissions_boundary: str | None = None
    # user/role ARNs named in the trust policy -> the unique IDs they had when it was saved (R22)
    trust_principal_ids: dict[str, str] = Field(default_factory=dict)

    @property
    def arn(self) -> str:
        """The role's ARN, path included."""
        return role_arn(self.account, self.path, self.name)


class Group(_Frozen):
    """An IAM group: inline and attached policies; membership is kept on each user."""

    entity: Literal["group"] = "group"
    account: str
    name: str
    path: str = "/"
    group_id: str
    created_at: datetime
    inline_policies: dict[str, str] = Field(default_factory=dict)
    attached_policies: tuple[str, ...] = ()

    @property
    def arn(self) -> str:
        """The group's ARN, path included."""
        return group_arn(self.account, self.path, self.name)


class PolicyVersion(_Frozen):
    """One version of a managed policy."""

    version_id: str
    document: str
    created_at: datetime


class ManagedPolicy(_Frozen):
    """A customer managed policy with its versions (at most five, exactly one default)."""

    entity: Literal["managed_policy"] = "managed_policy"
    account: str
    name: str
    path: str = "/"
    policy_id: str
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    default_version: str = "v1"
    next_version: int = 2
    versions: tuple[PolicyVersion, ...]
    tags: tuple[Tag, ...] = ()

    @property
    def arn(self) -> str:
        """The policy's ARN, path included."""
        return policy_arn(self.account, self.path, self.name)

    @property
    def default_document(self) -> str:
        """The document of the default version, the only one that is evaluated."""
        return next(v.document for v in self.versions if v.version_id == self.default_version)


class InstanceProfile(_Frozen):
    """An instance profile: a container for at most one role."""

    entity: Literal["instance_profile"] = "instance_profile"
    account: str
    name: str
    path: str = "/"
    instance_profile_id: str
    created_at: datetime
    roles: tuple[str, ...] = ()  # role names
    tags: tuple[Tag, ...] = ()

    @property
    def arn(self) -> str:
        """The instance profile's ARN."""
        return instance_profile_arn(self.account, self.path, self.name)


class OidcProvider(_Frozen):
    """An OpenID Connect identity provider, named by its URL without the scheme."""

    entity: Literal["oidc_provider"] = "oidc_provider"
    account: str
    url: str
    client_ids: tuple[str, ...] = ()
    thumbprints: tuple[str, ...] = ()
    created_at: datetime
    tags: tuple[Tag, ...] = ()
    # emulator extension: the issuer's JWKS (JSON text), which AWS would fetch over the network
    jwks: str | None = None

    @property
    def arn(self) -> str:
        """The provider's ARN."""
        return oidc_provider_arn(self.account, self.url)


class SamlProvider(_Frozen):
    """A SAML 2.0 identity provider and its metadata document."""

    entity: Literal["saml_provider"] = "saml_provider"
    account: str
    name: str
    metadata_document: str
    created_at: datetime
    valid_until: datetime
    tags: tuple[Tag, ...] = ()

    @property
    def arn(self) -> str:
        """The provider's ARN."""
        return saml_provider_arn(self.account, self.name)


class MfaDevice(_Frozen):
    """A virtual MFA device; ``user_name`` is set once it is enabled for a user."""

    entity: Literal["mfa_device"] = "mfa_device"
    account: str
    name: str
    path: str = "/"
    seed: str = Field(repr=False)  # Base32 TOTP secret
    created_at: datetime
    user_name: str | None = None
    enabled_at: datetime | None = None
    tags: tuple[Tag, ...] = ()

    @property
    def serial_number(self) -> str:
        """The device's serial number (its ARN)."""
        return mfa_arn(self.account, self.path, self.name)


class ServerCertificate(_Frozen):
    """A server certificate stored in IAM: the public certificate and its chain.

    The private key uploaded with it is checked against the certificate and then dropped:
    IAM never returns it and nothing in the emulator needs it back.
    """

    entity: Literal["server_certificate"] = "server_certificate"
    account: str
    name: str
    path: str = "/"
    server_certificate_id: str
    uploaded_at: datetime
    expires_at: datetime
    certificate_body: str
    certificate_chain: str | None = None
    tags: tuple[Tag, ...] = ()

    @property
    def arn(self) -> str:
        """The certificate's ARN, path included."""
        return server_certificate_arn(self.account, self.path, self.name)


class OrgAccount(_Frozen):
    """An account as a member of an organization, and where it sits in the tree."""

    id: str
    name: str
    email: str
    parent_id: str
    joined_method: Literal["INVITED", "CREATED"]
    joined_at: datetime
    status: Literal["ACTIVE", "SUSPENDED", "PENDING_CLOSURE"] = "ACTIVE"


class OrgUnit(_Frozen):
    """An organizational unit under the root or another OU."""

    id: str
    name: str
    parent_id: str


class OrgPolicy(_Frozen):
    """An organization policy (SCP, RCP, tag, backup, AI opt-out) and where it is attached."""

    id: str
    name: str
    description: str = ""
    type: Literal[
        "SERVICE_CONTROL_POLICY",
        "RESOURCE_CONTROL_POLICY",
        # stored and listed only: the engine never evaluates these
        "TAG_POLICY",
        "BACKUP_POLICY",
        "AISERVICES_OPT_OUT_POLICY",
    ]
    content: str
    aws_managed: bool = False
    targets: tuple[str, ...] = ()


class AccountRequest(_Frozen):
    """A CreateAccount request (they succeed at once here)."""

    id: str
    account_name: str
    account_id: str
    requested_at: datetime


class OrgTag(_Frozen):
    """A tag on one of an organization's accounts, OUs, root or policies."""

    resource_id: str
    key: str
    value: str


class OrgHandshake(_Frozen):
    """An invitation (INVITE handshake) from the organization to an account or an email."""

    id: str
    target_type: Literal["ACCOUNT", "EMAIL"]
    target: str
    state: Literal["OPEN", "ACCEPTED", "DECLINED", "CANCELED"] = "OPEN"
    notes: str = ""
    requested_at: datetime
    expires_at: datetime
    accepted_by: str | None = None  # the account that accepted an EMAIL invitation


class OrgServiceAccess(_Frozen):
    """A service principal trusted by the organization (EnableAWSServiceAccess)."""

    service_principal: str
    enabled_at: datetime


class OrgDelegatedAdmin(_Frozen):
    """A member account registered as delegated administrator of one service."""

    account_id: str
    service_principal: str
    delegated_at: datetime


class Organization(_Frozen):
    """An organization as one aggregate: tree, members and policies change together.

    Every Organizations call that changes something puts the whole organization, so one
    accepted call is one event however many parts of the tree it touches.
    """

    entity: Literal["organization"] = "organization"
    id: str
    management_account: str
    management_email: str
    root_id: str
    feature_set: Literal["ALL", "CONSOLIDATED_BILLING"] = "ALL"
    created_at: datetime
    enabled_policy_types: tuple[str, ...] = ()
    accounts: tuple[OrgAccount, ...] = ()
    units: tuple[OrgUnit, ...] = ()
    policies: tuple[OrgPolicy, ...] = ()
    account_requests: tuple[AccountRequest, ...] = ()
    handshakes: tuple[OrgHandshake, ...] = ()
    resource_tags: tuple[OrgTag, ...] = ()  # not "tags": the aggregate itself is untagged
    service_access: tuple[OrgServiceAccess, ...] = ()
    delegated_admins: tuple[OrgDelegatedAdmin, ...] = ()

    @property
    def arn(self) -> str:
        """The organization's ARN."""
        return f"arn:aws:organizations::{self.management_account}:organization/{self.id}"

    def member(self, account_id: str) -> OrgAccount | None:
        """The member account of that id, if any."""
        return next((a for a in self.accounts if a.id == account_id), None)

    def path_to(self, account_id: str) -> tuple[str, ...]:
        """The ids from the root down to the account: root, OUs..., account."""
        member = self.member(account_id)
        if member is None:
            return ()
        units = {u.id: u for u in self.units}
        chain = [account_id]
        parent = member.parent_id
        while parent in units:
            chain.append(parent)
            parent = units[parent].parent_id
        chain.append(self.root_id)
        return tuple(reversed(chain))


Entity = (
    Account
    | User
    | AccessKey
    | Role
    | Group
    | ManagedPolicy
    | InstanceProfile
    | OidcProvider
    | SamlProvider
    | MfaDevice
    | ServerCertificate
    | Organization
)


class EntityKey(_Frozen):
    """What a delete event carries: the kind of entity and the key that names it."""

    entity: str
    account: str
    name: str
