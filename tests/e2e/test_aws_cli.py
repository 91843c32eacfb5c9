"""The AWS CLI run by the fork server answers as the real ``aws`` process does.

tests/e2e/aws_cli.py runs most CLI calls in processes forked from a server that has imported
awscli once, to spare an interpreter start per call; these tests hold it to the real entry
point, command for command: the same exit status, the same stdout to the byte and the same
stderr.
"""

from __future__ import annotations

import sys

import pytest

from tests.e2e.aws_cli import AwsCli, CliResult
from tests.e2e.cluster import Cluster, account_of_its_own

pytestmark = pytest.mark.e2e

USERS = ("same-1", "same-2", "same-3")


@pytest.fixture(scope="module")
def cluster(shared_cluster: Cluster) -> Cluster:
    """The shared cluster, in an account of the module's own."""
    return account_of_its_own(shared_cluster)


@pytest.fixture(scope="module")
def aws(cluster: Cluster) -> AwsCli:
    """The CLI with the account's root key; the account holds three users."""
    iam = cluster.iam()
    for name in USERS:
        iam.create_user(UserName=name, Path="/same/")
    return AwsCli(cluster)


def _both_ways(aws: AwsCli, service: str, *args: str) -> CliResult:
    """Run the command as a process and through the fork server; they must agree in every
    detail."""
    real = aws.run_process(service, *args)
    forked = aws.run(service, *args)
    assert forked.returncode == real.returncode, (args, real, forked)
    assert forked.stdout == real.stdout, args
    assert forked.stderr == real.stderr, args
    return real


def test_a_success_prints_the_same_json(aws: AwsCli) -> None:
    user = _both_ways(aws, "iam", "get-user", "--user-name", "same-2")
    assert user.returncode == 0
    assert user.output["User"]["UserName"] == "same-2"


def test_the_cli_pages_the_same_and_a_call_leaves_nothing_behind(aws: AwsCli) -> None:
    """--max-items pages with the CLI's NextToken. --no-paginate makes awscli swap IAM's own
    --max-items back into the operation's arguments; the next forked call, run by a new
    driver, pages with the CLI's token again as a new process does."""
    first = _both_ways(aws, "iam", "list-users", "--path-prefix", "/same/", "--max-items", "2")
    assert [u["UserName"] for u in first.output["Users"]] == ["same-1", "same-2"]
    rest = _both_ways(
        aws, "iam", "list-users", "--path-prefix", "/same/",
        "--starting-token", first.output["NextToken"],
    )  # fmt: skip
    assert [u["UserName"] for u in rest.output["Users"]] == ["same-3"]
    one_page = _both_ways(
        aws, "iam", "list-users", "--path-prefix", "/same/", "--no-paginate", "--max-items", "1"
    )
    assert one_page.output["IsTruncated"] is True
    assert "NextToken" not in one_page.output
    again = _both_ways(aws, "iam", "list-users", "--path-prefix", "/same/", "--max-items", "1")
    assert [u["UserName"] for u in again.output["Users"]] == ["same-1"]
    assert "NextToken" in again.output


def test_an_aws_error_prints_the_same_code_and_message(aws: AwsCli) -> None:
    missing = _both_ways(aws, "iam", "get-user", "--user-name", "same-nobody")
    assert missing.returncode != 0
    assert missing.error_code == "NoSuchEntity"
    assert missing.output is None


def test_the_cli_refuses_bad_usage_the_same_way(aws: AwsCli) -> None:
    """argparse's usage errors (argparse exits), an unknown command, and botocore's parameter
    validation before any request is sent."""
    no_name = _both_ways(aws, "iam", "create-user")
    assert no_name.returncode != 0
    assert "the following arguments are required: --user-name" in no_name.stderr
    unknown = _both_ways(aws, "iam", "create-nothing")
    assert unknown.returncode != 0
    assert "Invalid choice" in unknown.stderr
    empty = _both_ways(aws, "iam", "create-user", "--user-name", "")
    assert empty.returncode != 0
    assert "Invalid length for parameter UserName" in empty.stderr


def test_each_call_reads_its_own_credentials(aws: AwsCli, cluster: Cluster) -> None:
    """The fork server keeps no credentials: a CLI with an unknown key is refused, and the CLI
    with the root key, whose calls are forked from the same server, is not."""
    stranger = AwsCli(
        cluster,
        {"aws_access_key_id": "AKIAI44QH8DHBEXAMPLE", "aws_secret_access_key": "x" * 40},
    )
    refused = _both_ways(stranger, "iam", "get-user", "--user-name", "same-1")
    assert refused.error_code == "InvalidClientTokenId"
    assert _both_ways(aws, "iam", "get-user", "--user-name", "same-1").returncode == 0


def test_the_test_process_never_imports_awscli(aws: AwsCli) -> None:
    """awscli's import would make its own botocore copy and import hook the test process's."""
    assert aws.run("iam", "get-user", "--user-name", "same-1").returncode == 0
    assert "awscli" not in sys.modules
