"""Run the AWS CLI (awscli, a dev dependency) against a cluster's control plane, two ways.

``AwsCli.run_process`` starts the real ``aws`` entry point, as a user's shell would: the console
script in a new interpreter. ``AwsCli.run`` runs the same command in a process forked from
tests/e2e/aws_cli_server.py, a server that has already imported awscli and read the service's
data files. Both exist because a new interpreter costs about a CPU-second of start-up and
botocore loading, the conformance suite makes a hundred calls, and the suite runs on two cores;
while the entry point itself must stay covered, so every module that drives the CLI makes at
least one call through ``run_process``.

The fork server is not a shortcut around the CLI: its child is an ``aws`` process in all but
its start. It gets the request's environment and argv, writes its stdout and stderr to files
through descriptors 1 and 2, builds a new awscli driver, and exits with the CLI's status. The
command does not run in the test process because that process is not the CLI's: awscli carries
its own copy of botocore (with the CLI's defaults, such as legacy retries, which change the
error message the CLI prints), and its import makes that copy the process's ``botocore`` only
where boto3 has not imported botocore first; it also installs an import hook and changes
AWS_DATA_PATH. Nor is one awscli driver reused between commands, because running a command
changes it: turning pagination off puts IAM's own ``--max-items`` back in place of the CLI's, so
the same driver would page a later ``--max-items`` command differently. tests/e2e/test_aws_cli.py
runs commands both ways and asserts the same exit status, stdout and stderr.
"""

from __future__ import annotations

import atexit
import io
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tests.e2e.cluster import Cluster

__all__ = ["AwsCli", "CliResult"]

#: seconds a command may run, as a process or forked (the fork server then ends it by SIGALRM)
COMMAND_TIMEOUT = 120
#: how much longer than that the fork server may take to answer before it is taken for stalled
SERVER_GRACE = 30


@dataclass(frozen=True)
class CliResult:
    """What one ``aws`` invocation printed and returned."""

    returncode: int
    output: Any  # the parsed JSON of stdout, or None when it printed nothing
    stderr: str
    stdout: str = ""  # as printed, for comparing the two ways of running the CLI

    @property
    def error_code(self) -> str | None:
        """The AWS error code the CLI printed, e.g. ``EntityAlreadyExists``."""
        marker = "An error occurred ("
        if marker not in self.stderr:
            return None
        return self.stderr.split(marker, 1)[1].split(")", 1)[0]


def _result(returncode: int, stdout: str, stderr: str) -> CliResult:
    output = json.loads(stdout) if stdout.strip() else None
    return CliResult(returncode, output, stderr, stdout)


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

    def _arguments(self, service: str, args: tuple[str, ...]) -> list[str]:
        return ["--endpoint-url", self._endpoint, "--output", "json", service, *args]

    def run_process(self, service: str, *args: str) -> CliResult:
        """One CLI invocation, as a real ``aws`` process."""
        done = subprocess.run(
            [str(_aws_script()), *self._arguments(service, args)],
            capture_output=True,
            text=True,
            env=self._env,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        return _result(done.returncode, done.stdout, done.stderr)

    def run(self, service: str, *args: str) -> CliResult:
        """One CLI invocation, as a process forked from the fork server (see the module's doc)."""
        argv = [str(_aws_script()), *self._arguments(service, args)]
        with tempfile.TemporaryDirectory(prefix="aws-cli-") as scratch:
            stdout, stderr = Path(scratch) / "stdout", Path(scratch) / "stderr"
            returncode = _fork_server().run(
                {
                    "service": service,
                    "argv": argv,
                    "env": self._env,
                    "stdout": str(stdout),
                    "stderr": str(stderr),
                    "timeout": COMMAND_TIMEOUT,
                }
            )
            if returncode == -signal.SIGALRM:
                raise TimeoutError(f"aws {argv[1:]} ran over {COMMAND_TIMEOUT} s")
            return _result(returncode, _decoded(stdout), _decoded(stderr))

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


def _aws_script() -> Path:
    return Path(sys.executable).parent / "aws"


def _decoded(path: Path) -> str:
    """The file's text as ``subprocess.run(text=True)`` decodes a pipe: the locale's encoding,
    universal newlines."""
    return io.TextIOWrapper(io.BytesIO(path.read_bytes())).read()


class _ForkServer:
    """tests/e2e/aws_cli_server.py running, one request at a time."""

    def __init__(self) -> None:
        script = Path(__file__).with_name("aws_cli_server.py")
        # -P: the tests' modules beside the script are not to shadow anything awscli imports
        self._process = subprocess.Popen(
            [sys.executable, "-P", str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._lock = threading.Lock()

    def alive(self) -> bool:
        return self._process.poll() is None

    def run(self, request: dict[str, Any]) -> int:
        """The exit status of the child that ran ``request``."""
        with self._lock:
            stdin, stdout = self._streams()
            stdin.write(json.dumps(request) + "\n")
            stdin.flush()
            readable, _, _ = select.select([stdout], [], [], COMMAND_TIMEOUT + SERVER_GRACE)
            if not readable:
                self.stop()
                raise TimeoutError(f"the aws fork server did not answer for {request['argv']}")
            answer = stdout.readline()
        if not answer:
            raise RuntimeError(f"the aws fork server ended (status {self._process.wait()})")
        returncode: int = json.loads(answer)["returncode"]
        return returncode

    def _streams(self) -> tuple[IO[str], IO[str]]:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        return self._process.stdin, self._process.stdout

    def stop(self) -> None:
        """Close its stdin, which ends it; kill it if it does not end."""
        stdin, stdout = self._streams()
        stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        stdout.close()


_server: _ForkServer | None = None
_server_lock = threading.Lock()


def _fork_server() -> _ForkServer:
    """The test process's fork server, started on first use (or again if it ended)."""
    global _server
    with _server_lock:
        if _server is None or not _server.alive():
            _server = _ForkServer()
            atexit.register(_server.stop)
        return _server
