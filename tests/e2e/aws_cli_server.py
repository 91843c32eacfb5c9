"""A fork server for ``aws`` commands: the process side of ``tests.e2e.aws_cli.AwsCli.run``.

Started as a script, it imports awscli before anything else, as the ``aws`` script does: awscli
carries its own copy of botocore (whose retry mode, for one, is the CLI's, not boto3's), and
importing awscli makes that copy the process's ``botocore``. So only the standard library and
awscli are imported here; never boto3, nor the tests' modules.

It reads one JSON request a line on stdin (``argv``, ``env``, the ``stdout`` and ``stderr``
files to write, the ``service`` and a ``timeout`` in seconds), forks a child per request, and
answers a JSON line with the child's exit status. The child is the ``aws`` process: it takes the
request's environment and argv, writes to the two files through file descriptors 1 and 2, builds
a new awscli driver and exits with its status, so nothing one command does reaches the next.
What the server keeps for its children is awscli imported and botocore's loader of the JSON data
files (service models, endpoints, the CLI's own data) holding every file it has read: the server
loads a service's files before it forks the first command for it. It exits when stdin closes.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import traceback
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import Any


def _import_awscli() -> tuple[ModuleType, str | None, str]:
    """awscli's driver module; AWS_DATA_PATH as the environment gave it, and as awscli's import
    extended it (with its own data directory), which an ``aws`` process runs with."""
    given = os.environ.get("AWS_DATA_PATH")
    import awscli.clidriver

    return awscli.clidriver, given, os.environ["AWS_DATA_PATH"]


CLIDRIVER, GIVEN_DATA_PATH, DATA_PATH = _import_awscli()


def _data_loader() -> Any:
    from botocore.loaders import create_loader  # awscli's copy: awscli is imported

    return create_loader(DATA_PATH)


LOADER = _data_loader()
#: an environment that reads no configuration file, for loading data outside any command
QUIET_ENV = {"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def load_service(service: str) -> None:
    """Read into the loader what a command of ``service`` reads: the CLI's data and command
    table, the service's model, paginators and waiters, and what a client is built from."""
    from botocore.exceptions import DataNotFoundError

    with _environment({**os.environ, **QUIET_ENV}):
        driver = CLIDRIVER.create_clidriver()
        session = driver.session
        session.register_component("data_loader", LOADER)
        driver.create_help_command()
        session.get_paginator_model(service)
        with contextlib.suppress(DataNotFoundError):
            session.get_waiter_model(service)
        session.create_client(
            service,
            region_name="us-east-1",
            aws_access_key_id="loading-only",
            aws_secret_access_key="loading-only",
        )


def run_command(argv: list[str], env: dict[str, str]) -> int:
    """What ``aws ARGV`` exits with, run in this process as the ``aws`` script runs it."""
    if env.get("AWS_DATA_PATH") != GIVEN_DATA_PATH:
        print("the fork server was started with another AWS_DATA_PATH", file=sys.stderr)
        return 1
    os.environ.clear()
    os.environ.update({**env, "AWS_DATA_PATH": DATA_PATH})
    if os.environ.get("LC_CTYPE", "") == "UTF-8":  # as the ``aws`` script does
        os.environ["LC_CTYPE"] = "en_US.UTF-8"
    sys.argv = argv
    try:
        driver = CLIDRIVER.create_clidriver()
        session = driver.session
        if session.get_config_variable("data_path") == DATA_PATH:
            session.register_component("data_loader", LOADER)
        returncode: int = driver.main()
        CLIDRIVER.HISTORY_RECORDER.record("CLI_RC", returncode, "CLI")
        return returncode
    except SystemExit as exit_:  # argparse's usage errors; the interpreter's treatment of them
        if exit_.code is None or isinstance(exit_.code, int):
            return exit_.code or 0
        print(exit_.code, file=sys.stderr)
        return 1
    except BaseException:  # as the interpreter ends a process on an uncaught exception
        traceback.print_exc()
        return 1


def _child(request: dict[str, Any]) -> None:
    """The ``aws`` process of one request; it never returns."""
    returncode = 1
    try:
        signal.alarm(request["timeout"])  # SIGALRM ends the command: no request stalls the server
        sys.stdin.close()
        for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
            target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(target, fd)
            os.close(target)
        returncode = run_command(request["argv"], request["env"])
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(returncode)


def serve() -> None:
    from botocore.exceptions import BotoCoreError

    loaded: set[str] = set()
    for line in sys.stdin:
        request = json.loads(line)
        service = request["service"]
        if service not in loaded:
            loaded.add(service)
            # an unknown service, say, is for the command to report: the child loads what the
            # server could not
            with contextlib.suppress(BotoCoreError):
                load_service(service)
        pid = os.fork()
        if pid == 0:
            _child(request)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == "__main__":
    serve()
