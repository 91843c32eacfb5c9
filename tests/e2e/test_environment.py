"""``iam-planes env`` and ``run``: any SDK or tool reaches the emulator with the printed
environment, as root, as a user or as a role created on first use."""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cluster import Cluster, iam_planes, running_cluster

pytestmark = [pytest.mark.e2e, pytest.mark.long]

_AWS = str(Path(sys.executable).parent / "aws")
# the delay makes "created but not yet applied" a real state, so waiting is tested
_DELAY = "eu-west-1=800"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A cluster whose eu-west-1 applies changes 0.8 s after they are committed; us-east-1 is
    the other region the tests use."""
    with running_cluster(
        Path(tmp_path_factory.mktemp("environment")), _DELAY, regions=("us-east-1", "eu-west-1")
    ) as running:
        yield running


def _state(cluster: Cluster) -> list[str]:
    return ["--state-dir", str(cluster.state_dir)]


def _caller(cluster: Cluster, *options: str, env: dict[str, str] | None = None) -> dict[str, str]:
    ran = iam_planes(
        "run", *_state(cluster), *options, "--", _AWS, "sts", "get-caller-identity", env=env
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    identity: dict[str, str] = json.loads(ran.stdout)
    return identity


def test_json_names_the_region_endpoints_and_the_root_key(cluster: Cluster) -> None:
    printed = iam_planes("env", *_state(cluster), "--region", "eu-west-1", "--format", "json")
    assert printed.returncode == 0, printed.stderr
    variables = json.loads(printed.stdout)
    file = cluster.file
    assert variables["AWS_ENDPOINT_URL"] == file.regions["eu-west-1"].endpoint
    assert variables["AWS_ENDPOINT_URL_STS"] == file.regions["eu-west-1"].endpoint
    assert variables["AWS_ENDPOINT_URL_IAM"] == file.controlplane.endpoint
    assert variables["AWS_REGION"] == variables["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert variables["AWS_ACCESS_KEY_ID"] == file.accounts[cluster.account].root.access_key_id
    assert variables["AWS_PROFILE"] is None  # to be unset: a stray profile would win


def test_sh_fish_and_dotenv_forms(cluster: Cluster) -> None:
    forms = {
        form: iam_planes("env", *_state(cluster), "--format", form).stdout
        for form in ("sh", "fish", "dotenv")
    }
    assert "export AWS_REGION=us-east-1" in forms["sh"]
    assert "unset AWS_PROFILE" in forms["sh"]
    assert "set -gx AWS_REGION us-east-1" in forms["fish"]
    assert "set -e AWS_PROFILE" in forms["fish"]
    assert 'AWS_REGION="us-east-1"' in forms["dotenv"]


def test_run_as_root_even_with_a_foreign_profile_set(cluster: Cluster) -> None:
    identity = _caller(cluster, env={"AWS_PROFILE": "no-such-profile"})
    assert identity["Arn"] == f"arn:aws:iam::{cluster.account}:root"


def test_run_as_a_new_user_works_at_once_in_a_delayed_region(cluster: Cluster) -> None:
    identity = _caller(cluster, "--region", "eu-west-1", "--as", "user/env-alice")
    assert identity["Arn"] == f"arn:aws:iam::{cluster.account}:user/env-alice"
    again = _caller(cluster, "--region", "eu-west-1", "--as", "user/env-alice")
    assert again == identity
    keys = cluster.iam().list_access_keys(UserName="env-alice")["AccessKeyMetadata"]
    assert len(keys) == 1  # the second run reused the first run's key
    cache = cluster.state_dir / "identities.json"
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600


def test_run_as_a_new_role_assumes_it(cluster: Cluster) -> None:
    identity = _caller(cluster, "--region", "eu-west-1", "--as", "role/env-admin")
    assert identity["Arn"] == (f"arn:aws:sts::{cluster.account}:assumed-role/env-admin/iam-planes")


def test_run_exits_with_the_command_s_code(cluster: Cluster) -> None:
    ran = iam_planes("run", *_state(cluster), "--", sys.executable, "-c", "raise SystemExit(7)")
    assert ran.returncode == 7


def test_bad_identity_and_region_are_refused(cluster: Cluster) -> None:
    bad_identity = iam_planes("env", *_state(cluster), "--as", "group/x")
    assert bad_identity.returncode == 2
    assert "--as must be root, user/NAME or role/NAME" in bad_identity.stderr
    bad_region = iam_planes("env", *_state(cluster), "--region", "mars-1")
    assert bad_region.returncode == 2
    assert "no region mars-1" in bad_region.stderr
