"""Pure tests: GetAccessKeyLastUsed's shaping and the credential report's CSV (no cluster)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from awswire.errors import AwsError
from controlplane.iam.credentials.access_key_usage import access_key_last_used
from controlplane.iam.credentials.credential_report import (
    COLUMNS,
    StoredReport,
    credential_report_csv,
    generation_result,
    key_ids_of_account,
    needs_generation,
    report_result,
)
from controlplane.iam.operation import Requester
from replication.entities import (
    AccessKey,
    Account,
    LoginProfile,
    MfaDevice,
    PasswordPolicy,
    SigningCertificate,
    User,
)
from replication.key_usage import KeyUse
from replication.state import IamState, state_from_entities

ACCOUNT = "111122223333"
OTHER = "444455556666"
CREATED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ROOT = Requester(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", None)
USE = KeyUse(at=int(datetime(2026, 2, 1, 12, 0, 0, tzinfo=UTC).timestamp()), service="sts",
             region="eu-west-1")  # fmt: skip


def _key(
    key_id: str, user: str | None, status: str = "Active", account: str = ACCOUNT
) -> AccessKey:
    return AccessKey(
        account=account,
        access_key_id=key_id,
        secret_access_key="s" * 40,
        user_name=user,
        status=status,  # type: ignore[arg-type]
        created_at=CREATED,
    )


def _state() -> IamState:
    policy = PasswordPolicy(max_age_days=90)
    alice = User(
        account=ACCOUNT,
        name="alice",
        user_id="AIDAALICE0000000000001",
        created_at=CREATED,
        login_profile=LoginProfile(created_at=CREATED, password_hash="scrypt$x$y"),
        signing_certificates=(
            SigningCertificate(certificate_id="C1", body="pem", uploaded_at=CREATED),
            SigningCertificate(
                certificate_id="C2", body="pem", status="Inactive", uploaded_at=CREATED
            ),
        ),
    )
    bob = User(account=ACCOUNT, name="Bob", user_id="AIDABOB00000000000001", created_at=CREATED)
    device = MfaDevice(
        account=ACCOUNT,
        name="alice-mfa",
        seed="JBSWY3DPEHPK3PXP",
        created_at=CREATED,
        user_name="alice",
        enabled_at=CREATED,
    )
    return state_from_entities(
        1,
        [
            Account(id=ACCOUNT, created_at=CREATED, password_policy=policy),
            Account(id=OTHER, created_at=CREATED),
            alice,
            bob,
            device,
            _key("AKIAALICE00000000001", "alice"),
            _key("AKIAALICE00000000002", "alice", status="Inactive"),
            _key("AKIAROOT000000000001", None),
            _key("AKIAOTHER00000000001", None, account=OTHER),
        ],
    )


def _rows(content: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content)))


def test_a_key_never_used_reads_not_applicable() -> None:
    """No recorded use: no LastUsedDate, service and region N/A."""
    answer = access_key_last_used(_state(), {"AccessKeyId": "AKIAALICE00000000001"}, ROOT, None)
    assert answer == {
        "UserName": "alice",
        "AccessKeyLastUsed": {"ServiceName": "N/A", "Region": "N/A"},
    }


def test_a_used_key_names_its_date_service_and_region() -> None:
    """The recorded use is reported as is, the date at seconds precision."""
    answer = access_key_last_used(_state(), {"AccessKeyId": "AKIAALICE00000000001"}, ROOT, USE)
    assert answer["AccessKeyLastUsed"] == {
        "LastUsedDate": datetime(2026, 2, 1, 12, 0, 0, tzinfo=UTC),
        "ServiceName": "sts",
        "Region": "eu-west-1",
    }


def test_the_root_users_key_is_owned_by_root() -> None:
    """The root user's key answers UserName root, as CreateAccessKey names it."""
    answer = access_key_last_used(_state(), {"AccessKeyId": "AKIAROOT000000000001"}, ROOT, None)
    assert answer["UserName"] == "root"


@pytest.mark.parametrize("key_id", ["AKIANOSUCHKEY0000001", "AKIAOTHER00000000001"])
def test_unknown_and_foreign_keys_are_access_denied(key_id: str) -> None:
    """Keys that are not the caller's account's are refused without saying which."""
    with pytest.raises(AwsError) as refused:
        access_key_last_used(_state(), {"AccessKeyId": key_id}, ROOT, USE)
    assert (refused.value.code, refused.value.http_status) == ("AccessDenied", 403)
    assert refused.value.message == (
        f"User: {ROOT.arn} is not authorized to perform: iam:GetAccessKeyLastUsed "
        f"on resource: access key {key_id}"
    )


def test_report_has_aws_columns_root_first_then_users_by_name() -> None:
    """Header as documented; the root row first; users sorted by name ignoring case."""
    content = credential_report_csv(_state(), ACCOUNT, {})
    assert content.splitlines()[0] == ",".join(COLUMNS)
    rows = _rows(content)
    assert [r["user"] for r in rows] == ["<root_account>", "alice", "Bob"]
    assert all(len(r) == len(COLUMNS) for r in rows)


def test_root_row_values() -> None:
    """The root user's password columns are not_supported; its own key is reported."""
    root = _rows(credential_report_csv(_state(), ACCOUNT, {"AKIAROOT000000000001": USE}))[0]
    assert root["arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert root["user_creation_time"] == "2026-01-02T03:04:05+00:00"
    assert root["password_enabled"] == "not_supported"
    assert root["password_last_used"] == "no_information"
    assert root["password_last_changed"] == "not_supported"
    assert root["password_next_rotation"] == "not_supported"
    assert root["mfa_active"] == "false"
    assert root["access_key_1_active"] == "true"
    assert root["access_key_1_last_used_date"] == "2026-02-01T12:00:00+00:00"
    assert root["access_key_1_last_used_service"] == "sts"
    assert root["access_key_2_active"] == "false"
    assert root["access_key_2_last_rotated"] == "N/A"
    assert (root["cert_1_active"], root["cert_1_last_rotated"]) == ("false", "N/A")


def test_user_with_password_mfa_keys_and_certificates() -> None:
    """Password and rotation from the login profile and the policy's max age; key 1 with its
    use; an inactive key 2 with no rotation date; an inactive certificate 2."""
    alice = _rows(credential_report_csv(_state(), ACCOUNT, {"AKIAALICE00000000001": USE}))[1]
    assert alice["password_enabled"] == "true"
    assert alice["password_last_used"] == "no_information"
    assert alice["password_last_changed"] == "2026-01-02T03:04:05+00:00"
    expected_rotation = (CREATED + timedelta(days=90)).isoformat()
    assert alice["password_next_rotation"] == expected_rotation
    assert alice["mfa_active"] == "true"
    assert alice["access_key_1_active"] == "true"
    assert alice["access_key_1_last_rotated"] == "2026-01-02T03:04:05+00:00"
    assert alice["access_key_1_last_used_date"] == "2026-02-01T12:00:00+00:00"
    assert alice["access_key_1_last_used_region"] == "eu-west-1"
    assert alice["access_key_1_last_used_service"] == "sts"
    assert alice["access_key_2_active"] == "false"
    assert alice["access_key_2_last_rotated"] == "N/A"
    assert alice["access_key_2_last_used_date"] == "N/A"
    assert (alice["cert_1_active"], alice["cert_1_last_rotated"]) == (
        "true",
        "2026-01-02T03:04:05+00:00",
    )
    assert (alice["cert_2_active"], alice["cert_2_last_rotated"]) == ("false", "N/A")


def test_user_without_credentials_is_all_not_applicable() -> None:
    """No password, no MFA, no key, no certificate."""
    bob = _rows(credential_report_csv(_state(), ACCOUNT, {}))[2]
    assert bob["arn"] == f"arn:aws:iam::{ACCOUNT}:user/Bob"
    assert bob["password_enabled"] == "false"
    for column in ("password_last_used", "password_last_changed", "password_next_rotation"):
        assert bob[column] == "N/A"
    assert bob["mfa_active"] == "false"
    for n in (1, 2):
        assert bob[f"access_key_{n}_active"] == "false"
        for suffix in ("last_rotated", "last_used_date", "last_used_region", "last_used_service"):
            assert bob[f"access_key_{n}_{suffix}"] == "N/A"


def test_report_covers_only_the_accounts_keys() -> None:
    """The uses read for a report are the account's users' and root user's keys only."""
    assert sorted(key_ids_of_account(_state(), ACCOUNT)) == [
        "AKIAALICE00000000001",
        "AKIAALICE00000000002",
        "AKIAROOT000000000001",
    ]


def test_generation_happens_at_most_every_four_hours() -> None:
    """None yet or four hours old: generate (STARTED); younger: COMPLETE, the same report."""
    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert needs_generation(None, now)
    recent = StoredReport(generated_at=now - timedelta(hours=3, minutes=59), content="x")
    assert not needs_generation(recent, now)
    old = StoredReport(generated_at=now - timedelta(hours=4), content="x")
    assert needs_generation(old, now)
    assert generation_result(generated=True)["State"] == "STARTED"
    assert generation_result(generated=False) == {"State": "COMPLETE"}


def test_get_before_generation_is_report_not_present() -> None:
    """410 ReportNotPresent; once stored, the CSV bytes, format and time."""
    with pytest.raises(AwsError) as missing:
        report_result(None)
    assert (missing.value.code, missing.value.http_status) == ("ReportNotPresent", 410)
    at = datetime(2026, 3, 1, tzinfo=UTC)
    assert report_result(StoredReport(generated_at=at, content="a,b\n")) == {
        "Content": b"a,b\n",
        "ReportFormat": "text/csv",
        "GeneratedTime": at,
    }
