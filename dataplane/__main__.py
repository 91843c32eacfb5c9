"""Run one data-plane replica: ``python -m dataplane --region R --az AZ --port P ...``.

Every setting comes from a flag or its ``IAM_PLANES_*`` environment variable, so the same
command runs a replica on this machine or in a container on another one. The Redis URL carries
a password and is read from the environment only, never from argv (which ``ps`` shows).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import time
from typing import Any

import structlog
from aiohttp import web

from awswire.http_server import GuardedAppRunner
from dataplane.admin import admin_routes, decision_observer, timing_middleware
from dataplane.authorizer import Authorizer
from dataplane.gateway.edge import Gateway
from dataplane.gateway.forward import Backend
from dataplane.gateway.owners import BucketOwners
from dataplane.identity.tokens import TOKEN_KEYS_ENV, TokenKeys
from dataplane.key_usage import DEFAULT_FLUSH_SECONDS, FLUSH_SECONDS_ENV, KeyUsage
from dataplane.metrics import ReplicaMetrics
from dataplane.replica import Replica, ReplicaIdentity
from dataplane.server import build_app
from replication.delay import RegionDelays, parse_delay_option
from replication.log import RedisChangeLog, connect
from replication.logs import configure_logging

_log = structlog.get_logger("dataplane")


def _arguments() -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m dataplane", description=__doc__)
    parser.add_argument("--region", default=env("IAM_PLANES_REGION", "us-east-1"))
    parser.add_argument("--az", default=env("IAM_PLANES_AZ"))
    parser.add_argument("--host", default=env("IAM_PLANES_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("IAM_PLANES_PORT", "4611")))
    parser.add_argument(
        "--regional-port", type=int, default=int(env("IAM_PLANES_REGIONAL_PORT", "4610"))
    )
    parser.add_argument(
        "--delay", default=env("IAM_PLANES_DELAY"), help="MS or MS+-JITTER for every change kind"
    )
    parser.add_argument(
        "--decision-log",
        action="store_true",
        default=env("IAM_PLANES_DECISION_LOG", "") == "1",
        help="log one line per decision, with the version it was made at",
    )
    parser.add_argument(
        "--delays",
        default=env("IAM_PLANES_DELAYS"),
        help="the region's delays as JSON (replication.delay.RegionDelays), from a profile",
    )
    parser.add_argument(
        "--delay-seed",
        type=int,
        default=int(env("IAM_PLANES_DELAY_SEED", "-1")),
        help="seed of the delay draws: the same seed replays the same delays (default: random)",
    )
    parser.add_argument(
        "--key-usage-flush-seconds",
        type=float,
        default=float(env(FLUSH_SECONDS_ENV, str(DEFAULT_FLUSH_SECONDS))),
        help="how often access keys' last uses are flushed to Redis",
    )
    parser.add_argument(
        "--services-backend",
        default=env("IAM_PLANES_SERVICES_BACKEND"),
        help="URL of the AWS services emulator (moto, LocalStack) authorized calls go to; "
        "unset or 'none': no services gateway",
    )
    parser.add_argument(
        "--controlplane-url",
        default=env("IAM_PLANES_CONTROLPLANE_URL"),
        help="the control plane, where IAM and Organizations calls sent here are forwarded",
    )
    args = parser.parse_args()
    if args.az is None:
        args.az = args.region + _az_suffix(env("IAM_PLANES_POD_NAME"))
    return args


def _az_suffix(pod_name: str | None) -> str:
    """A StatefulSet pod's AZ letter from its ordinal (``dataplane-eu-west-1-2`` -> ``c``)."""
    if pod_name is None or not pod_name.rsplit("-", 1)[-1].isdigit():
        return "a"
    return "abcdefghij"[int(pod_name.rsplit("-", 1)[-1]) % 10]


def _delays(args: argparse.Namespace) -> RegionDelays:
    if args.delay is not None:
        _, spec = parse_delay_option(f"{args.region}={args.delay}")
        return RegionDelays(default=spec)
    if args.delays:
        return RegionDelays.model_validate_json(args.delays)
    return RegionDelays()


def _gateway(
    args: argparse.Namespace,
    replica: Replica,
    authorizer: Authorizer,
    reader: Any,
    writer: Any,
) -> Gateway | None:
    """The AWS services gateway, when a backend is configured."""
    if not args.services_backend or args.services_backend == "none":
        _log.info("services_gateway_off")
        return None
    controlplane = Backend(args.controlplane_url) if args.controlplane_url else None
    owners = BucketOwners(reader, writer)
    _log.info("services_gateway_on", backend=args.services_backend)
    return Gateway(replica, authorizer, Backend(args.services_backend), owners, controlplane)


async def _serve(args: argparse.Namespace) -> None:
    redis_url = os.environ.get("IAM_PLANES_REDIS_URL", "redis://127.0.0.1:6379/0")
    log = RedisChangeLog(connect(redis_url))
    # a region reading a read-only Redis replica may name a writable one for key usage
    usage_url = os.environ.get("IAM_PLANES_KEY_USAGE_REDIS_URL")
    usage_client = connect(usage_url) if usage_url else log.client
    key_usage = KeyUsage(args.region)
    seed = args.delay_seed if args.delay_seed >= 0 else None
    replica = Replica(
        ReplicaIdentity(args.region, args.az), log, _delays(args), clock=time.time, seed=seed
    )
    metrics = ReplicaMetrics(replica)
    tokens = os.environ.get(TOKEN_KEYS_ENV)
    keys = TokenKeys.parse(tokens) if tokens else None
    if keys is None:
        _log.warning("sts_disabled", reason=f"{TOKEN_KEYS_ENV} is not set")
    authorizer = Authorizer(
        replica,
        clock=time.time,
        token_keys=keys,
        on_decision=decision_observer(metrics, args.decision_log),
        key_usage=key_usage,
    )
    gateway = _gateway(args, replica, authorizer, log.client, usage_client)
    app = build_app(
        replica, authorizer, extra_routes=admin_routes(replica, metrics), gateway=gateway
    )
    app.middlewares.append(timing_middleware(metrics))
    runner = GuardedAppRunner.from_env(app, service="sts", access_log=None, handle_signals=False)
    await runner.setup()
    own = web.TCPSite(runner, args.host, args.port, reuse_port=True)
    regional = web.TCPSite(runner, args.host, args.regional_port, reuse_port=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    follower = asyncio.create_task(replica.run())
    usage_flusher = asyncio.create_task(key_usage.run(usage_client, args.key_usage_flush_seconds))
    await own.start()
    await regional.start()
    _log.info("replica_listening", port=args.port, regional_port=args.regional_port)
    await stop.wait()
    follower.cancel()
    await runner.cleanup()
    usage_flusher.cancel()  # it flushes once more, briefly, before it ends
    with contextlib.suppress(asyncio.CancelledError):
        await usage_flusher
    if usage_client is not log.client:
        await usage_client.aclose()
    await log.close()
    _log.info("replica_stopped")


def main() -> None:
    """Entry point of the replica process."""
    args = _arguments()
    configure_logging(json=True)
    structlog.contextvars.bind_contextvars(region=args.region, az=args.az)
    _log.info("replica_starting", delays=_delays(args).model_dump())
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
