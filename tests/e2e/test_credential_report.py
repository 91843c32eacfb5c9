"""Access keys' last use and the credential report, end to end on a cluster of our own.

Uses are recorded by the data planes where the keys authenticate (STS in a region, an
``/authorize`` naming a key, the control plane's own authorization of IAM calls) and reach
GetAccessKeyLastUsed and the credential report after a flush; the shared cluster's flush
interval is short, and every wait polls with a generous timeout rather than assuming a timing.
"""

from __future__ import annotations

import base64
import csv
import io
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from tests.controlplane.conftest import error_of
from tests.e2e.aws_cli import AwsCli
from tests.e2e.cluster import Cluster, account_of_its_own
from tests.e2e.sts_helpers import ask, sts, version_of

pytestmark = pytest.mark.e2e

USER = "report-auditee"
EVENTUALLY = 60.0


@pytest.fixture(scope="module")
def cluster(shared_cluster: Cluster) -> Cluster:
    """The worker's shared cluster (its replicas flush key uses every 0.5 s), in an account
    of the module's own: no report exists in it yet."""
    return account_of_its_own(shared_cluster)


@pytest.fixture(scope="module")
def iam(cluster: Cluster) -> Any:
    """IAM with the account's root key."""
    return cluster.iam()


@pytest.fixture(scope="module")
def user_key(cluster: Cluster, iam: Any) -> dict[str, str]:
    """A fresh user's access key, applied in every region."""
    iam.create_user(UserName=USER)
    created = iam.create_access_key(UserName=USER)
    cluster.wait_converged(version_of(created))
    key = created["AccessKey"]
    return {
        "aws_access_key_id": key["AccessKeyId"],
        "aws_secret_access_key": key["SecretAccessKey"],
    }


def _eventually(read: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool]) -> Any:
    """``read()`` once ``done`` holds for it (polled; fails after a generous timeout)."""
    deadline = time.monotonic() + EVENTUALLY
    while True:
        value = read()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"still {value}"
        time.sleep(0.1)


def _last_used(iam: Any, key_id: str) -> dict[str, Any]:
    return dict(iam.get_access_key_last_used(AccessKeyId=key_id)["AccessKeyLastUsed"])


def _rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def test_report_not_present_before_any_generation(iam: Any) -> None:
    """GetCredentialReport before GenerateCredentialReport: 410 ReportNotPresent."""
    code, status, _message = error_of(iam.get_credential_report)
    assert (code, status) == ("ReportNotPresent", 410)


def test_a_new_key_was_never_used(iam: Any, user_key: dict[str, str]) -> None:
    """No LastUsedDate; service and region N/A; the owner named."""
    answer = iam.get_access_key_last_used(AccessKeyId=user_key["aws_access_key_id"])
    assert answer["UserName"] == USER
    assert answer["AccessKeyLastUsed"] == {"ServiceName": "N/A", "Region": "N/A"}


def test_sts_in_a_region_is_recorded(cluster: Cluster, iam: Any, user_key: dict[str, str]) -> None:
    """A GetCallerIdentity signed in eu-west-1 reads back as sts / eu-west-1 with a date."""
    sts(cluster, "eu-west-1", **user_key).get_caller_identity()
    used = _eventually(
        lambda: _last_used(iam, user_key["aws_access_key_id"]), lambda u: "LastUsedDate" in u
    )
    assert (used["ServiceName"], used["Region"]) == ("sts", "eu-west-1")
    assert isinstance(used["LastUsedDate"], datetime)


def test_authorize_naming_a_key_is_recorded(cluster: Cluster, iam: Any) -> None:
    """An /authorize query naming a key in ap-northeast-1 records the action's service."""
    created = iam.create_access_key(UserName=USER)
    cluster.wait_converged(version_of(created))
    key_id = created["AccessKey"]["AccessKeyId"]
    endpoint = cluster.file.regions["ap-northeast-1"].endpoint
    decision, _ = ask(endpoint, {"aws_access_key_id": key_id}, "s3:GetObject", "arn:aws:s3:::b/k")
    assert decision == "ImplicitDeny"  # denied, but the key authenticated: it was used
    used = _eventually(lambda: _last_used(iam, key_id), lambda u: "LastUsedDate" in u)
    assert (used["ServiceName"], used["Region"]) == ("s3", "ap-northeast-1")


def test_iam_calls_record_the_root_key(cluster: Cluster, iam: Any) -> None:
    """The control plane's own authorization of IAM calls records iam / us-east-1."""
    root_key = cluster.root_credentials()["aws_access_key_id"]
    iam.list_users()
    used = _eventually(lambda: _last_used(iam, root_key), lambda u: "LastUsedDate" in u)
    assert (used["ServiceName"], used["Region"]) == ("iam", "us-east-1")
    assert iam.get_access_key_last_used(AccessKeyId=root_key)["UserName"] == "root"


def test_unknown_key_is_access_denied(iam: Any) -> None:
    """A key the account does not own is refused without saying whether it exists."""
    code, status, message = error_of(
        iam.get_access_key_last_used, AccessKeyId="AKIAIOSFODNN7EXAMPLE"
    )
    assert (code, status) == ("AccessDenied", 403)
    assert message.endswith("on resource: access key AKIAIOSFODNN7EXAMPLE")


def test_report_lists_the_user_with_its_key_use(
    cluster: Cluster, iam: Any, user_key: dict[str, str]
) -> None:
    """STARTED, then COMPLETE within four hours; the CSV has the root row first and the
    user's key 1 with the use recorded in eu-west-1; the same report for every caller."""
    _eventually(
        lambda: _last_used(iam, user_key["aws_access_key_id"]), lambda u: "LastUsedDate" in u
    )
    assert iam.generate_credential_report()["State"] == "STARTED"
    assert iam.generate_credential_report()["State"] == "COMPLETE"
    report = iam.get_credential_report()
    assert report["ReportFormat"] == "text/csv"
    assert isinstance(report["GeneratedTime"], datetime)
    rows = _rows(report["Content"])
    assert rows[0]["user"] == "<root_account>"
    assert rows[0]["arn"] == f"arn:aws:iam::{cluster.account}:root"
    assert rows[0]["password_enabled"] == "not_supported"
    user = next(r for r in rows if r["user"] == USER)
    assert user["arn"] == f"arn:aws:iam::{cluster.account}:user/{USER}"
    assert user["password_enabled"] == "false"
    assert user["access_key_1_active"] == "true"
    assert user["access_key_1_last_used_service"] == "sts"
    assert user["access_key_1_last_used_region"] == "eu-west-1"
    assert datetime.fromisoformat(user["access_key_1_last_used_date"]).tzinfo is not None
    again = iam.get_credential_report()
    assert (again["Content"], again["GeneratedTime"]) == (
        report["Content"],
        report["GeneratedTime"],
    )


def test_aws_cli_fetches_the_report(cluster: Cluster, iam: Any) -> None:
    """``aws iam generate-credential-report`` then ``get-credential-report``: the report,
    base64-encoded as AWS's CLI prints it. The second command runs the real ``aws`` entry
    point, the first a process forked from the CLI fork server (tests/e2e/aws_cli.py)."""
    cli = AwsCli(cluster)
    generated = cli.run("iam", "generate-credential-report")
    assert generated.returncode == 0, generated.stderr
    assert generated.output["State"] in {"STARTED", "COMPLETE"}  # COMPLETE after the test above
    result = cli.run_process("iam", "get-credential-report")
    assert result.returncode == 0, result.stderr
    assert result.output["ReportFormat"] == "text/csv"
    content = base64.b64decode(result.output["Content"])
    assert content == iam.get_credential_report()["Content"]
    assert _rows(content)[0]["user"] == "<root_account>"
