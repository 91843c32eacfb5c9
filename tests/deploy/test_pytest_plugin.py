"""The pytest plugin, run the way its users run it: pytest in a subprocess (pytester), with
the plugin loaded from its ``pytest11`` entry point, against a real cluster."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cluster import Cluster, running_cluster

pytestmark = [pytest.mark.e2e, pytest.mark.long]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The cluster the inner runs attach to (``--iam-planes-state-dir``)."""
    with running_cluster(
        Path(tmp_path_factory.mktemp("plugin")), regions=("us-east-1", "eu-west-1")
    ) as running:
        yield running


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=240)


def _attached(
    pytester: pytest.Pytester, cluster: Cluster, *args: str
) -> tuple[pytest.RunResult, dict[str, Any]]:
    report = pytester.path / "report.json"
    result = _run(
        pytester,
        "--iam-planes-state-dir",
        str(cluster.state_dir),
        "--iam-planes-report",
        str(report),
        *args,
    )
    return result, json.loads(report.read_text()) if report.exists() else {}


def _entry(report: dict[str, Any], suffix: str) -> dict[str, Any]:
    """The report's entry of the one test whose node id ends with ``suffix``."""
    (found,) = [entry for nodeid, entry in report["tests"].items() if nodeid.endswith(suffix)]
    return found


def _cluster_dirs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("iam-planes-pytest-*"))


def test_inert_when_no_test_uses_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain():\n    assert 1 + 1 == 2\n")
    before = _cluster_dirs()
    result = _run(pytester)
    result.assert_outcomes(passed=1)
    output = result.stdout.str()
    assert "delay seed" not in output
    assert "== iam-planes ==" not in output
    assert _cluster_dirs() == before  # no cluster was started


def test_each_test_gets_its_own_account_and_the_environment_is_restored(
    pytester: pytest.Pytester, cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "outer-profile")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    pytester.makepyfile(
        """
        import os
        import boto3

        def _same_user_in_its_own_account(aws_env):
            iam = boto3.client("iam")
            iam.create_user(UserName="alice")  # no EntityAlreadyExists: another account
            assert [u["UserName"] for u in iam.list_users()["Users"]] == ["alice"]
            caller = boto3.client("sts").get_caller_identity()
            assert caller["Account"] == aws_env["IAM_PLANES_ACCOUNT"]
            assert "AWS_PROFILE" not in os.environ
            return caller["Account"]

        def test_one(aws_env):
            _same_user_in_its_own_account(aws_env)

        def test_two(aws_env):
            _same_user_in_its_own_account(aws_env)

        def test_environment_is_back_afterwards():
            assert os.environ["AWS_PROFILE"] == "outer-profile"
            assert "AWS_ACCESS_KEY_ID" not in os.environ
        """
    )
    result, report = _attached(pytester, cluster)
    result.assert_outcomes(passed=3)
    accounts = {entry["account"] for entry in report["tests"].values()}
    assert len(accounts) == 2
    assert cluster.account not in accounts
    assert report["seed"] == cluster.file.delay_seed
    assert f"delay seed {report['seed']}" in result.stdout.str()


def test_the_report_counts_the_stale_denials_a_race_met(
    pytester: pytest.Pytester, cluster: Cluster
) -> None:
    pytester.makepyfile(
        """
        import pytest
        from deploy.environment import Credentials

        @pytest.mark.iam_planes(delays="1000")
        def test_new_key_race(iam_planes):
            iam = iam_planes.client("iam")
            iam.create_user(UserName="racer")
            key = iam.create_access_key(UserName="racer")["AccessKey"]
            mine = Credentials(iam_planes.account, key["AccessKeyId"], key["SecretAccessKey"])
            sts = iam_planes.client("sts", credentials=mine)
            caller = iam_planes.eventually(sts.get_caller_identity, within=30, interval=0.05)
            assert caller["Arn"].endswith(":user/racer")

        def test_no_race(iam_planes):
            iam_planes.client("iam").create_user(UserName="calm")
        """
    )
    result, report = _attached(pytester, cluster)
    result.assert_outcomes(passed=2)
    raced = _entry(report, "::test_new_key_race")
    calm = _entry(report, "::test_no_race")
    assert raced["transient_denials"] >= 1
    assert raced["denied"] == ["sts:GetCallerIdentity: InvalidClientTokenId"]
    assert 0 <= raced["waited_through_denials_s"] <= 30
    assert calm["transient_denials"] == 0
    assert "transient denials" in result.stdout.str()


def test_wait_until_applied_and_chaos(pytester: pytest.Pytester, cluster: Cluster) -> None:
    pytester.makepyfile(
        """
        import time
        import pytest
        from botocore.exceptions import EndpointConnectionError
        from deploy.status import http_json

        def _versions(iam_planes, region):
            replicas = iam_planes.cluster.regions[region].replicas.values()
            return [http_json(r.endpoint + "/state")[1]["version"] for r in replicas]

        def test_partition_then_wait(iam_planes):
            iam = iam_planes.client("iam")
            with iam_planes.partitioned("eu-west-1"):
                created = iam.create_user(UserName="cut-off")
                version = iam_planes.wait_until_applied(created, regions=["us-east-1"])
                time.sleep(0.3)
                assert all(v < version for v in _versions(iam_planes, "eu-west-1"))
            assert iam_planes.wait_until_applied(created, regions=["eu-west-1"]) == version
            assert all(v >= version for v in _versions(iam_planes, "eu-west-1"))

        def test_control_plane_down_but_sts_answers(iam_planes):
            iam = iam_planes.client("iam")
            with iam_planes.control_plane_down():
                with pytest.raises(EndpointConnectionError):
                    iam.list_users()
                caller = iam_planes.client("sts").get_caller_identity()
                assert caller["Account"] == iam_planes.account
            iam_planes.eventually(iam.list_users, within=30)

        def test_delays_hold_changes_back(iam_planes):
            iam = iam_planes.client("iam")
            with iam_planes.delays(eu_west_1=1500):
                created = iam.create_user(UserName="slow")
                iam_planes.wait_until_applied(created, regions=["us-east-1"])
                version = int(created["ResponseMetadata"]["HTTPHeaders"]["x-iam-planes-version"])
                assert all(v < version for v in _versions(iam_planes, "eu-west-1"))
                iam_planes.wait_until_applied(created, regions=["eu-west-1"], timeout=10)
        """
    )
    result, _ = _attached(pytester, cluster)
    result.assert_outcomes(passed=3)


def test_a_cluster_of_its_own_with_the_seed_in_the_header(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from deploy.status import http_json

        def test_seeded(iam_planes):
            replica = iam_planes.cluster.regions["us-east-1"].replicas["us-east-1a"].endpoint
            assert http_json(replica + "/admin/delays")[1]["seed"] == 4242
            assert iam_planes.client("sts").get_caller_identity()["Account"] == iam_planes.account
        """
    )
    result = _run(
        pytester,
        "--iam-planes-regions",
        "us-east-1",
        "--iam-planes-seed",
        "4242",
        "--iam-planes-delay",
        "us-east-1=100+-50",
    )
    result.assert_outcomes(passed=1)
    output = result.stdout.str()
    assert "iam-planes: a cluster per session, delay seed 4242" in output
    assert "--iam-planes-seed 4242 replays it" in output
