"""GetAccountSummary: the account's entity counts and IAM quotas, as IAM's ``SummaryMap``.

Counts come from the projection; quotas are the ones the handlers enforce (the same
constants), and AWS's defaults for the rest, so tools that read the map find every key AWS
returns.
"""

from __future__ import annotations

from datetime import datetime

from controlplane.iam.credentials.access_keys import ACCESS_KEYS_PER_USER
from controlplane.iam.credentials.signing_certificates import SIGNING_CERTIFICATES_PER_USER
from controlplane.iam.operation import (
    HandlerResult,
    Operation,
    OperationKind,
    Params,
    Requester,
    any_resource,
)
from controlplane.iam.policies.attachments import MANAGED_POLICIES_PER_ENTITY
from controlplane.iam.policies.managed_policies import POLICIES_PER_ACCOUNT, VERSIONS_PER_POLICY
from controlplane.iam.policies.user_policies import INLINE_BYTES_PER_USER
from controlplane.iam.principals.groups import GROUPS_PER_ACCOUNT, GROUPS_PER_USER
from controlplane.iam.principals.roles import ROLES_PER_ACCOUNT
from controlplane.iam.principals.users import USERS_PER_ACCOUNT
from controlplane.iam.resources.server_certificates import SERVER_CERTIFICATES_PER_ACCOUNT
from replication.state import IamState

__all__ = ["OPERATIONS", "summary_map"]

# AWS's default quotas for what the handlers do not enforce themselves
_FIXED_QUOTAS = {
    "GroupPolicySizeQuota": 5120,
    "RolePolicySizeQuota": 10240,
    "PolicySizeQuota": 6144,
    "AssumeRolePolicySizeQuota": 2048,
    "InstanceProfilesQuota": 1000,
    "PolicyVersionsInUseQuota": 10000,
    "GlobalEndpointTokenVersion": 1,
}


def summary_map(state: IamState, account: str) -> dict[str, int]:
    """Every ``SummaryMap`` entry AWS reports, for ``account``."""
    policies = state.managed_policies_of(account)
    devices = [d for (acct, _), d in state.mfa_devices.items() if acct == account]
    in_use = [d for d in devices if d.enabled_at is not None]
    counts = {
        "Users": state.user_count(account),
        "Groups": len(state.groups_of(account)),
        "Roles": len(state.roles_of(account)),
        "Policies": len(policies),
        "PolicyVersionsInUse": sum(len(p.versions) for p in policies),
        "InstanceProfiles": sum(1 for (acct, _) in state.instance_profiles if acct == account),
        "Providers": sum(1 for (acct, _) in state.oidc_providers if acct == account)
        + sum(1 for (acct, _) in state.saml_providers if acct == account),
        "MFADevices": len(devices),
        "MFADevicesInUse": len(in_use),
        "ServerCertificates": sum(1 for (acct, _) in state.server_certificates if acct == account),
        "AccountMFAEnabled": int(any(d.user_name is None for d in in_use)),
        "AccountAccessKeysPresent": int(bool(state.keys_of(account, None))),
        "AccountSigningCertificatesPresent": 0,  # the root user's own: not supported here
    }
    quotas = {
        "UsersQuota": USERS_PER_ACCOUNT,
        "GroupsQuota": GROUPS_PER_ACCOUNT,
        "RolesQuota": ROLES_PER_ACCOUNT,
        "PoliciesQuota": POLICIES_PER_ACCOUNT,
        "VersionsPerPolicyQuota": VERSIONS_PER_POLICY,
        "GroupsPerUserQuota": GROUPS_PER_USER,
        "AccessKeysPerUserQuota": ACCESS_KEYS_PER_USER,
        "UserPolicySizeQuota": INLINE_BYTES_PER_USER,
        "AttachedPoliciesPerUserQuota": MANAGED_POLICIES_PER_ENTITY,
        "AttachedPoliciesPerGroupQuota": MANAGED_POLICIES_PER_ENTITY,
        "AttachedPoliciesPerRoleQuota": MANAGED_POLICIES_PER_ENTITY,
        "ServerCertificatesQuota": SERVER_CERTIFICATES_PER_ACCOUNT,
        "SigningCertificatesPerUserQuota": SIGNING_CERTIFICATES_PER_USER,
    }
    return counts | quotas | _FIXED_QUOTAS


def get_account_summary(
    state: IamState, params: Params, caller: Requester, now: datetime
) -> HandlerResult:
    """GetAccountSummary: counts and quotas of the caller's account."""
    return HandlerResult({"SummaryMap": summary_map(state, caller.account)})


OPERATIONS = (
    Operation("GetAccountSummary", get_account_summary, any_resource, OperationKind.READ),
)
