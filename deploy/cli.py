"""The ``iam-planes`` command: up, down, status, chaos, evaluate, log."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from deploy.chaos import CHAOS_VERBS, chaos_command, run_schedule
from deploy.cluster_file import load_cluster
from deploy.launcher import LaunchError, launch, take_down
from deploy.netns import unsupported_reason
from deploy.processes import is_running
from deploy.redis_server import APPENDFSYNC, DURABILITY_GUARANTEES
from deploy.topology import DEFAULT_BASE_PORT, DEFAULT_REGIONS, Topology
from replication.delay import DelaySpec, load_profile, parse_delay_option

__all__ = ["main"]

# Each command imports what only it uses inside its function: `down` and `chaos`, run
# again and again by scripts and tests, then start without the modules `up` or `log` need.

DEFAULT_STATE_DIR = Path(".iam-planes")
_console = Console()
_errors = Console(stderr=True)


def _state_dir(args: argparse.Namespace) -> Path:
    return Path(args.state_dir).resolve()


def _regions(values: list[str] | None) -> tuple[str, ...]:
    if not values:
        return DEFAULT_REGIONS
    return tuple(r for value in values for r in value.split(",") if r)


def _delays(values: list[str] | None) -> dict[str, DelaySpec]:
    return dict(parse_delay_option(v) for v in values or [])


def _already_up(state_dir: Path) -> bool:
    try:
        cluster = load_cluster(state_dir)
    except (FileNotFoundError, ValueError):
        return False
    return is_running(cluster.controlplane.pid, "controlplane")


def _up(args: argparse.Namespace) -> int:
    from deploy.status import cluster_status

    state_dir = _state_dir(args)
    if _already_up(state_dir):
        _console.print(f"a cluster is already up in {state_dir}; run `iam-planes down` first")
        return 1
    try:
        topology = Topology.build(
            _regions(args.regions),
            args.base_port,
            _delays(args.delay),
            load_profile(args.profile),
            args.topology or ("replicated" if args.hosts == "netns" else "single"),
            hosts=args.hosts,
            delay_seed=args.seed,
            durability=args.durability,
        )
    except (ValueError, OSError) as error:
        _console.print(f"error: {error}")
        return 2
    if topology.hosts == "netns" and (reason := unsupported_reason()) is not None:
        _console.print(f"error: {reason}")
        return 2
    try:
        cluster = launch(state_dir, topology, args.redis_url, args.services_backend)
    except LaunchError as error:
        _console.print(f"error: {error}")
        return 1
    _console.print(cluster_status(load_cluster(state_dir)).table)
    _console.print(
        f"cluster is up (delay seed {cluster.delay_seed}); state in {state_dir}; "
        f"`source {state_dir / 'aws' / 'env.sh'}` to use the AWS CLI"
    )
    if args.detach:
        return 0
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    cluster.launcher_pid = os.getpid()
    while not stopping.wait(0.5):
        for record in load_cluster(state_dir).processes().values():
            is_running(record.pid)  # reaps children that chaos killed
    _console.print("stopping the cluster")
    take_down(state_dir)
    return 0


def _down(args: argparse.Namespace) -> int:
    state_dir = _state_dir(args)
    if not take_down(state_dir):
        _console.print(f"nothing is up in {state_dir}")
        return 0
    _console.print("cluster stopped")
    return 0


def _status(args: argparse.Namespace) -> int:
    from deploy.status import cluster_status

    try:
        cluster = load_cluster(_state_dir(args))
    except FileNotFoundError:
        _console.print("no cluster: run `iam-planes up`")
        return 1
    report = cluster_status(cluster)
    if args.json:
        print(json.dumps(report.rows, indent=2))
    else:
        _console.print(report.table)
    return 0


def _chaos(args: argparse.Namespace) -> int:
    if args.verb == "run":
        return run_schedule(_state_dir(args), Path(args.target))
    return chaos_command(_state_dir(args), args.verb, args.target)


def _init(args: argparse.Namespace) -> int:
    from deploy.accounts import ensure_account

    if not args.redis_url:
        _console.print("error: --redis-url or IAM_PLANES_REDIS_URL is required")
        return 2
    roots = asyncio.run(ensure_account(args.redis_url))
    # the root credentials go to stdout only, for the operator to store; never into a log
    print(
        json.dumps({a: {"access_key_id": k, "secret_access_key": s} for a, (k, s) in roots.items()})
    )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from deploy.demo import DemoOptions, run_demo

    state_dir = Path(args.state_dir).resolve()
    if _already_up(state_dir):
        _console.print(f"a demo cluster is already up in {state_dir}; run `iam-planes down`")
        return 1
    options = DemoOptions(
        state_dir=state_dir,
        base_port=args.base_port,
        fast=args.fast,
        keep=args.keep,
        steps=tuple(args.step) if args.step else (1, 2, 3, 4, 5),
    )
    return run_demo(options, _console)


def _watch(state_dir: Path, interval: float) -> int:
    from deploy.watch import watch

    return watch(state_dir, interval)


def _snapshot(args: argparse.Namespace) -> int:
    from replication.log import PoisonedLogError, RedisChangeLog, connect
    from replication.snapshot import SnapshotInfo
    from replication.snapshotter import snapshot_now

    try:
        cluster = load_cluster(_state_dir(args))
    except FileNotFoundError:
        _console.print("no cluster: run `iam-planes up`")
        return 1

    async def take() -> SnapshotInfo:
        log = RedisChangeLog(connect(cluster.redis.url))
        try:
            return await snapshot_now(log, time.time)
        finally:
            await log.close()

    try:
        info = asyncio.run(take())
    except PoisonedLogError as poisoned:
        _console.print(
            f"no snapshot: {poisoned}; see `iam-planes log show {poisoned.entry.version}`"
        )
        return 1
    _console.print(f"snapshot at version {info.version}: {info.size} bytes, digest {info.digest}")
    return 0


def _log_redis_url(args: argparse.Namespace) -> str | None:
    """The Redis holding the log: ``--redis-url`` (or its variable), else the cluster's."""
    if args.redis_url:
        return str(args.redis_url)
    try:
        return load_cluster(_state_dir(args)).redis.url
    except FileNotFoundError:
        _console.print("no cluster: run `iam-planes up`, or give --redis-url")
        return None


def _log(args: argparse.Namespace) -> int:
    from redis.exceptions import RedisError

    from deploy.log_command import log_repair, log_show

    redis_url = _log_redis_url(args)
    if redis_url is None:
        return 1
    try:
        if args.verb == "show":
            status, text = log_show(redis_url, args.version, args.show_secrets)
        else:
            status, text = log_repair(redis_url, args.version, args.reason)
    except (RedisError, OSError) as error:
        _console.print(f"cannot reach the log's Redis: {type(error).__name__}")
        return 1
    print(text)  # plain stdout: entries are data, not markup
    return status


def _evaluate(args: argparse.Namespace) -> int:
    from deploy.evaluate_command import evaluate_command

    return evaluate_command(args.file, args.explain)


def _environment_for(args: argparse.Namespace) -> dict[str, str] | None:
    from deploy.environment import credentials_as, environment, root_credentials

    state_dir = _state_dir(args)
    try:
        cluster = load_cluster(state_dir)
    except FileNotFoundError:
        _errors.print("no cluster: run `iam-planes up`")
        return None
    if args.region not in cluster.regions:
        _errors.print(f"error: no region {args.region} (up: {', '.join(cluster.regions)})")
        return None
    try:
        key = credentials_as(
            cluster, args.identity, args.region, root_credentials(cluster), state_dir=state_dir
        )
    except ValueError as error:
        _errors.print(f"error: {error}")
        return None
    return environment(cluster, args.region, key)


def _env(args: argparse.Namespace) -> int:
    from deploy.environment import render

    variables = _environment_for(args)
    if variables is None:
        return 2
    print(render(variables, args.format))
    return 0


def _run(args: argparse.Namespace) -> int:
    from deploy.environment import applied_to

    command = args.command_line[1:] if args.command_line[:1] == ["--"] else args.command_line
    if not command:
        _errors.print("error: give the command after --: iam-planes run -- aws sts ...")
        return 2
    variables = _environment_for(args)
    if variables is None:
        return 2
    try:
        finished = subprocess.run(command, env=applied_to(os.environ, variables), check=False)
    except FileNotFoundError:
        _errors.print(f"error: no such command: {command[0]}")
        return 127
    # a command killed by a signal exits as a shell reports it: 128 + the signal's number
    return finished.returncode if finished.returncode >= 0 else 128 - finished.returncode


def _with_state_dir(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
    sub.add_argument("--state-dir", default=str(DEFAULT_STATE_DIR))
    return sub


def _log_version(text: str) -> int:
    """A log version argument: a positive integer (versions start at 1)."""
    try:
        version = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a version: {text!r}") from None
    if version < 1:
        raise argparse.ArgumentTypeError("versions start at 1")
    return version


def _add_log_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    log = commands.add_parser("log", help="inspect or repair the change log")
    log_verbs = log.add_subparsers(dest="verb", required=True)
    show = _with_state_dir(log_verbs.add_parser("show", help="print one entry as stored"))
    show.add_argument("version", type=_log_version)
    show.add_argument(
        "--show-secrets", action="store_true", help="print secret-looking values unredacted"
    )
    repair = _with_state_dir(
        log_verbs.add_parser(
            "repair",
            help="replace a bad entry by a no-op log.repair event so the planes resume",
        )
    )
    repair.add_argument("version", type=_log_version)
    repair.add_argument("--reason", required=True, help="why; recorded with the repair")
    for verb in (show, repair):
        verb.add_argument("--redis-url", default=os.environ.get("IAM_PLANES_REDIS_URL"))
    log.set_defaults(run=_log)


def _why(args: argparse.Namespace) -> int:
    from deploy.why import ask_replicas, print_why, query_for

    try:
        cluster = load_cluster(_state_dir(args))
    except FileNotFoundError:
        _errors.print("no cluster: run `iam-planes up`")
        return 1
    context = {}
    for pair in args.context or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            _errors.print(f"error: --context takes KEY=VALUE, not {pair!r}")
            return 2
        context[key] = value
    query = query_for(args.principal, args.action, args.resource, context, args.at_version)
    answers = ask_replicas(cluster, query, args.region)
    if not answers:
        _errors.print(f"error: no replica in {', '.join(args.region or [])}")
        return 2
    # piped output is read by scripts and tests: one line per table row, not wrapped at 80
    console = _console if sys.stdout.isatty() else Console(width=220)
    print_why(console, answers, args.action, args.resource, args.json)
    return 0


def _with_identity(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
    sub.add_argument("--region", default="us-east-1")
    sub.add_argument(
        "--as",
        dest="identity",
        default="root",
        metavar="root|user/NAME|role/NAME",
        help="whose credentials; a user or role is created (and applied) on first use",
    )
    return _with_state_dir(sub)


def _environment_commands(commands: Any) -> None:
    """``env`` and ``run``."""
    env = _with_identity(commands.add_parser("env", help="print the environment for SDKs/tools"))
    env.add_argument("--format", choices=["sh", "fish", "json", "dotenv"], default="sh")
    env.set_defaults(run=_env)
    run = _with_identity(commands.add_parser("run", help="run a command in that environment"))
    run.add_argument("command_line", nargs=argparse.REMAINDER, metavar="-- CMD ...")
    run.set_defaults(run=_run)
    why = _with_state_dir(
        commands.add_parser("why", help="per replica: the decision, at head, what is missing")
    )
    why.add_argument("--principal", required=True, help="an ARN or an access key id")
    why.add_argument("--action", required=True)
    why.add_argument("--resource", required=True)
    why.add_argument("--context", action="append", metavar="KEY=VALUE")
    why.add_argument("--at-version", type=int, help="as each replica would have at version N")
    why.add_argument("--region", action="append", help="only these regions' replicas")
    why.add_argument("--json", action="store_true")
    why.set_defaults(run=_why)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="iam-planes", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    up = _with_state_dir(commands.add_parser("up", help="start Redis, the control plane, replicas"))
    up.add_argument("--detach", action="store_true", help="return once everything is healthy")
    up.add_argument("--regions", nargs="+", help="regions (default: %(default)s)")
    up.add_argument(
        "--delay",
        action="append",
        metavar="REGION=MS[+-JITTER] | REGION=P50~P99",
        help="fixed, uniform (+-) or log-normal (median~p99) delay for every change kind",
    )
    up.add_argument(
        "--seed", type=int, help="seed of the delay draws (default: random, shown by status)"
    )
    up.add_argument(
        "--profile", default="instant", help="delay profile: instant, aws-like, or a JSON file"
    )
    up.add_argument("--base-port", type=int, default=DEFAULT_BASE_PORT)
    up.add_argument("--redis-url", help="use this Redis instead of the embedded one")
    up.add_argument(
        "--topology",
        choices=["single", "replicated"],
        help="replicated: one Redis per region, each a REPLICAOF us-east-1's (default: single, "
        "or replicated with --hosts netns)",
    )
    up.add_argument(
        "--hosts",
        choices=["local", "netns"],
        default="local",
        help="netns: each region on a host of its own, a Linux network namespace (needs root)",
    )
    up.add_argument(
        "--durability",
        choices=list(APPENDFSYNC),
        default="fsync",
        help=f"fsync (the default): {DURABILITY_GUARANTEES['fsync']}; write (Redis appendfsync "
        f"no, faster writes): {DURABILITY_GUARANTEES['write']}",
    )
    up.add_argument(
        "--services-backend",
        default="moto",
        metavar="moto|URL|none",
        help="where the replicas' gateway sends the AWS service calls it allows: moto (start "
        "a moto server, the default), the URL of LocalStack or another moto, or none (no "
        "gateway)",
    )
    up.set_defaults(run=_up)

    down = _with_state_dir(commands.add_parser("down", help="stop everything `up` started"))
    down.set_defaults(run=_down)

    status = _with_state_dir(commands.add_parser("status", help="every process and its state"))
    status.add_argument("--json", action="store_true")
    status.set_defaults(run=_status)

    chaos = _with_state_dir(commands.add_parser("chaos", help="kill or restart a process"))
    chaos.add_argument("verb", choices=[*CHAOS_VERBS, "run"])
    chaos.add_argument(
        "target",
        help="controlplane, redis, redis-REGION, an AZ such as eu-west-1b, a region "
        "(partition/heal/kill-host/start-host), or for `run` a JSON schedule "
        "[{at, verb, target}, ...]",
    )
    chaos.set_defaults(run=_chaos)

    init = commands.add_parser("init", help="create the first account in a Redis (for manifests)")
    init.add_argument("--redis-url", default=os.environ.get("IAM_PLANES_REDIS_URL"))
    init.set_defaults(run=_init)

    demo = commands.add_parser("demo", help="tell the eventual-consistency story, live")
    demo.add_argument("--state-dir", default=str(DEFAULT_STATE_DIR / "demo"))
    demo.add_argument("--base-port", type=int, default=4700)
    demo.add_argument("--fast", action="store_true", help="delays a tenth as long (for CI)")
    demo.add_argument("--keep", action="store_true", help="leave the cluster up afterwards")
    demo.add_argument(
        "--step",
        type=int,
        action="append",
        choices=[1, 2, 3, 4, 5],
        help="run only this step (and the steps it builds on)",
    )
    demo.set_defaults(run=_demo)

    watch = _with_state_dir(commands.add_parser("watch", help="a live dashboard of the cluster"))
    watch.add_argument("--interval", type=float, default=0.5)
    watch.set_defaults(run=lambda a: _watch(_state_dir(a), a.interval))

    snapshot = _with_state_dir(commands.add_parser("snapshot", help="snapshot the state now"))
    snapshot.set_defaults(run=_snapshot)

    _add_log_parser(commands)

    evaluate = commands.add_parser(
        "evaluate", help="evaluate a request offline (format: docs/evaluate-input.md)"
    )
    evaluate.add_argument("file", help="a JSON file, or - for standard input")
    evaluate.add_argument("--explain", action="store_true", help="print every stage as a table")
    evaluate.set_defaults(run=_evaluate)

    _environment_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``iam-planes`` command."""
    args = _parser().parse_args(argv)
    sys.exit(args.run(args))
