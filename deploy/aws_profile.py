"""The AWS CLI/SDK profile that ``iam-planes up`` writes, so ``aws --profile iam-planes`` works."""

from __future__ import annotations

from pathlib import Path

from deploy.cluster_file import ClusterFile
from deploy.private_files import make_private_dir, write_private

__all__ = ["PROFILE", "write_aws_profile"]

PROFILE = "iam-planes"


def write_aws_profile(state_dir: Path, cluster: ClusterFile) -> Path:
    """Write ``aws/credentials``, ``aws/config`` and ``aws/env.sh`` under the state dir."""
    folder = state_dir / "aws"
    make_private_dir(folder)
    account, credentials = next(iter(cluster.accounts.items()))
    write_private(
        folder / "credentials",
        f"[{PROFILE}]\n"
        f"aws_access_key_id = {credentials.root.access_key_id}\n"
        f"aws_secret_access_key = {credentials.root.secret_access_key}\n",
    )
    sts = cluster.regions["us-east-1"].endpoint
    # every other service (S3, SQS, DynamoDB...) goes to us-east-1's gateway, when there is one
    services = f"endpoint_url = {sts}\n" if cluster.services is not None else ""
    write_private(
        folder / "config",
        f"[profile {PROFILE}]\n"
        "region = us-east-1\n"
        f"{services}"
        f"services = {PROFILE}-endpoints\n\n"
        f"[services {PROFILE}-endpoints]\n"
        f"iam =\n  endpoint_url = {cluster.controlplane.endpoint}\n"
        f"sts =\n  endpoint_url = {sts}\n",
    )
    env = folder / "env.sh"
    write_private(
        env,
        f"# source this file: the AWS CLI then talks to the emulator (account {account})\n"
        f"export AWS_CONFIG_FILE={folder.resolve() / 'config'}\n"
        f"export AWS_SHARED_CREDENTIALS_FILE={folder.resolve() / 'credentials'}\n"
        f"export AWS_PROFILE={PROFILE}\n",
    )
    return folder
