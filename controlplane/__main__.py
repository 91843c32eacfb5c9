"""Run the control plane: ``python -m controlplane --port P --authorizer URL``.

The Redis URL (which carries a password) comes from ``IAM_PLANES_REDIS_URL`` only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import time

import structlog
from aiohttp import web

from awswire.http_server import GuardedAppRunner
from controlplane.api.credential_usage import CredentialUsage
from controlplane.api.iam import IamApi
from controlplane.api.organizations import OrganizationsApi
from controlplane.authorizer import DataPlaneAuthorizer
from controlplane.metrics import ControlPlaneMetrics
from controlplane.server import build_app
from controlplane.writer import Writer
from replication.log import RedisChangeLog, connect
from replication.logs import configure_logging
from replication.snapshotter import snapshot_periodically

_log = structlog.get_logger("controlplane")


def _arguments() -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m controlplane", description=__doc__)
    parser.add_argument("--host", default=env("IAM_PLANES_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("IAM_PLANES_PORT", "4601")))
    parser.add_argument(
        "--authorizer",
        default=env("IAM_PLANES_AUTHORIZER", "http://127.0.0.1:4610"),
        help="us-east-1 data plane endpoint that authenticates and authorizes callers",
    )
    return parser.parse_args()


async def _serve(args: argparse.Namespace) -> None:
    log = RedisChangeLog(connect(os.environ.get("IAM_PLANES_REDIS_URL", "redis://127.0.0.1/0")))
    metrics = ControlPlaneMetrics(log, lambda: writer.state, lambda: writer.halted)
    writer = Writer(log, clock=time.time, on_append=metrics.observe_append)
    await writer.catch_up()
    _log.info("projection_loaded", version=writer.state.version)
    authorizer = DataPlaneAuthorizer(args.authorizer)
    iam = IamApi(writer, authorizer, CredentialUsage(log.client), on_stages=metrics.observe_stages)
    app = build_app(writer, iam, OrganizationsApi(writer, authorizer))
    app.router.add_get("/metrics", metrics.page)
    app.middlewares.append(metrics.middleware())
    runner = GuardedAppRunner.from_env(app, service="iam", access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port, reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    snapshots = asyncio.create_task(
        snapshot_periodically(log, lambda: writer.state, clock=time.time)
    )
    follower = asyncio.create_task(writer.follow_log())
    await site.start()
    _log.info("controlplane_listening", port=args.port)
    await stop.wait()
    snapshots.cancel()
    follower.cancel()
    await runner.cleanup()
    await authorizer.close()
    await log.close()


def main() -> None:
    """Entry point of the control-plane process."""
    args = _arguments()
    configure_logging(json=True)
    structlog.contextvars.bind_contextvars(plane="control", region="us-east-1")
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
