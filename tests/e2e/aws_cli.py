"""Run the real ``aws`` CLI (awscli, a dev dependency) against a cluster's control plane."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.cluster import Cluster

__all__ = ["AwsCli", "CliResult"]


@dataclass(frozen=True)
class CliResult:
    """What one ``aws`` invocation printed and returned."""

    returncode: int
    output: Any  # the parsed JSON of stdout, or None when it printed nothing
    stderr: str

    @property
    def error_code(self) -> str | None:
        """The AWS error code the CLI printed, e.g. ``EntityAlreadyExists``."""
        marker = "An error occurred ("
        if marker not in self.stderr:
            return None
        return self.stderr.split(marker, 1)[1].split(")", 1)[0]


class AwsCli:
    """``aws SERVICE COMMAND ...`` with a cluster's root key (or other credentials)."""

    def __init__(self, cluster: Cluster, credentials: dict[str, str] | None = None) -> None:
        keys = credentials or cluster.root_credentials()
        self._endpoint = cluster.file.controlplane.endpoint
        self._env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": keys["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": keys["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_PAGER": "",
            "AWS_MAX_ATTEMPTS": "1",
        }

    def run(self, service: str, *args: str) -> CliResult:
        """One CLI invocation, as a real process."""
        aws = Path(sys.executable).parent / "aws"
        command = [str(aws), "--endpoint-url", self._endpoint, "--output", "json", service]
        done = subprocess.run(
            [*command, *args],
            capture_output=True,
            text=True,
            env=self._env,
            timeout=120,
            check=False,
        )
        output = json.loads(done.stdout) if done.stdout.strip() else None
        return CliResult(done.returncode, output, done.stderr)

    def ok(self, service: str, *args: str) -> Any:
        """The JSON a call that must succeed printed (an empty dict when it printed nothing)."""
        result = self.run(service, *args)
        assert result.returncode == 0, (args, result.stderr)
        return {} if result.output is None else result.output

    def fails(self, service: str, *args: str) -> str:
        """The AWS error code of a call that must fail."""
        result = self.run(service, *args)
        assert result.returncode != 0, (args, result.output)
        assert result.error_code is not None, result.stderr
        return result.error_code
