"""The credential report: GenerateCredentialReport and GetCredentialReport.

The report is a CSV with one row per user, the account's root user first, in the columns and
with the ``N/A`` / ``not_supported`` / ``no_information`` values the IAM User Guide documents.
Building it is pure (the projection and the recorded key uses in, text out); the API edge
reads the uses, stores the report in Redis and serves it, so every caller and every
control-plane restart sees the same report. IAM generates at most one report per account
every four hours: a request within that window answers with the existing report.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from awswire.errors import AwsError
from controlplane.iam.operation import (
    Operation,
    OperationKind,
    answered_at_the_edge,
    any_resource,
)
from replication.arns import root_arn
from replication.entities import AccessKey, SigningCertificate, User
from replication.key_usage import KeyUse
from replication.state import IamState

__all__ = [
    "COLUMNS",
    "OPERATIONS",
    "REGENERATE_AFTER",
    "REPORT_KEY_PREFIX",
    "StoredReport",
    "credential_report_csv",
    "generation_result",
    "key_ids_of_account",
    "needs_generation",
    "report_not_present",
    "report_result",
]

#: answered by the API edge, which reads key uses and stores reports in Redis
REPORT_KEY_PREFIX = "iam:credential-report:"
REGENERATE_AFTER = timedelta(hours=4)
ROOT_USER = "<root_account>"
NOT_APPLICABLE = "N/A"
NOT_SUPPORTED = "not_supported"
NO_INFORMATION = "no_information"
STARTED_DESCRIPTION = "No report exists. Starting a new report generation task"

COLUMNS = (
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
)


class StoredReport(BaseModel):
    """A generated report as the edge keeps it in Redis (one per account)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    generated_at: datetime
    content: str


def _when(moment: datetime) -> str:
    """ISO 8601 with the UTC offset and seconds precision, as the reports write dates."""
    return moment.replace(microsecond=0).isoformat()


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _key_columns(key: AccessKey | None, uses: Mapping[str, KeyUse]) -> list[str]:
    """active, last_rotated, last_used_date, last_used_region, last_used_service."""
    if key is None:
        return ["false", NOT_APPLICABLE, NOT_APPLICABLE, NOT_APPLICABLE, NOT_APPLICABLE]
    active = key.status == "Active"
    # AWS documents last_rotated as N/A when the key is not active; its use stays reported
    rotated = _when(key.created_at) if active else NOT_APPLICABLE
    use = uses.get(key.access_key_id)
    if use is None:
        return [_flag(active), rotated, NOT_APPLICABLE, NOT_APPLICABLE, NOT_APPLICABLE]
    return [_flag(active), rotated, _when(use.used_at), use.region, use.service]


def _cert_columns(certificate: SigningCertificate | None) -> list[str]:
    """active, last_rotated."""
    if certificate is None or certificate.status != "Active":
        return [_flag(False), NOT_APPLICABLE]
    return [_flag(True), _when(certificate.uploaded_at)]


def _two(items: tuple[Any, ...]) -> tuple[Any, Any]:
    """The first two items (oldest first), None where there are fewer."""
    padded = (*items[:2], None, None)
    return padded[0], padded[1]


def _credential_columns(
    keys: tuple[AccessKey, ...],
    certificates: tuple[SigningCertificate, ...],
    uses: Mapping[str, KeyUse],
) -> list[str]:
    first_key, second_key = _two(keys)
    first_cert, second_cert = _two(certificates)
    return [
        *_key_columns(first_key, uses),
        *_key_columns(second_key, uses),
        *_cert_columns(first_cert),
        *_cert_columns(second_cert),
    ]


def _mfa_active(state: IamState, account: str, user_name: str | None) -> bool:
    wanted = None if user_name is None else user_name.lower()
    for (device_account, _), device in state.mfa_devices.items():
        if device_account != account or device.enabled_at is None:
            continue
        owner = None if device.user_name is None else device.user_name.lower()
        if owner == wanted:
            return True
    return False


def _password_columns(state: IamState, user: User) -> list[str]:
    """password_enabled, password_last_used, password_last_changed, password_next_rotation."""
    profile = user.login_profile
    if profile is None:
        return ["false", NOT_APPLICABLE, NOT_APPLICABLE, NOT_APPLICABLE]
    changed = profile.password_changed_at or profile.created_at
    account = state.accounts.get(user.account)
    policy = account.password_policy if account is not None else None
    max_age = policy.max_age_days if policy is not None else None
    rotation = NOT_APPLICABLE if not max_age else _when(changed + timedelta(days=max_age))
    # console sign-ins are not emulated, so a password's use is never known
    return ["true", NO_INFORMATION, _when(changed), rotation]


def _root_row(state: IamState, account: str, uses: Mapping[str, KeyUse]) -> list[str]:
    known = state.accounts.get(account)
    created = _when(known.created_at) if known is not None else NOT_APPLICABLE
    # the root user's signing certificates are not emulated
    return [
        ROOT_USER,
        root_arn(account),
        created,
        NOT_SUPPORTED,
        NO_INFORMATION,
        NOT_SUPPORTED,
        NOT_SUPPORTED,
        _flag(_mfa_active(state, account, None)),
        *_credential_columns(state.keys_of(account, None), (), uses),
    ]


def _user_row(state: IamState, user: User, uses: Mapping[str, KeyUse]) -> list[str]:
    return [
        user.name,
        user.arn,
        _when(user.created_at),
        *_password_columns(state, user),
        _flag(_mfa_active(state, user.account, user.name)),
        *_credential_columns(
            state.keys_of(user.account, user.name), user.signing_certificates, uses
        ),
    ]


def key_ids_of_account(state: IamState, account: str) -> list[str]:
    """Every access key id of the account's users and root user (whose uses the report
    shows)."""
    owners: Iterable[str | None] = [None, *(u.name for u in state.users_of(account))]
    return [k.access_key_id for owner in owners for k in state.keys_of(account, owner)]


def credential_report_csv(state: IamState, account: str, uses: Mapping[str, KeyUse]) -> str:
    """The account's credential report: the header, the root user, then users by name."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerow(_root_row(state, account, uses))
    for user in state.users_of(account):
        writer.writerow(_user_row(state, user, uses))
    return out.getvalue()


def needs_generation(stored: StoredReport | None, now: datetime) -> bool:
    """Whether a GenerateCredentialReport makes a new report: none yet, or the last one is
    at least four hours old."""
    return stored is None or now - stored.generated_at >= REGENERATE_AFTER


def generation_result(generated: bool) -> dict[str, Any]:
    """GenerateCredentialReport's answer: STARTED when this call started a report,
    COMPLETE when a recent one already exists."""
    if generated:
        return {"State": "STARTED", "Description": STARTED_DESCRIPTION}
    return {"State": "COMPLETE"}


def report_not_present() -> AwsError:
    """410 ReportNotPresent: nothing was generated for the account yet."""
    return AwsError(
        "ReportNotPresent",
        "The request was rejected because the credential report does not exist. "
        "To generate a credential report, use GenerateCredentialReport.",
        410,
    )


def report_result(stored: StoredReport | None) -> dict[str, Any]:
    """GetCredentialReport's answer (the CSV; the wire layer base64-encodes it)."""
    if stored is None:
        raise report_not_present()
    return {
        "Content": stored.content.encode("utf-8"),
        "ReportFormat": "text/csv",
        "GeneratedTime": stored.generated_at,
    }


OPERATIONS = (
    Operation(
        "GenerateCredentialReport",
        answered_at_the_edge,
        any_resource,
        OperationKind.CREDENTIAL_USAGE,
    ),
    Operation(
        "GetCredentialReport", answered_at_the_edge, any_resource, OperationKind.CREDENTIAL_USAGE
    ),
)
