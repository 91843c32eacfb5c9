"""The IAM Query API endpoint: parse, authenticate and authorize, execute, serialize.

Handlers stay pure (``controlplane.iam``); this edge does the wire work with ``awswire`` and
tags every answer with the log version it reflects (header ``x-iam-planes-version``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from aiohttp import web

from awswire.errors import AwsError
from awswire.query import parse_query_request
from awswire.server_timing import SERVER_TIMING
from awswire.wire import WireResponse
from awswire.xml import query_error_response, serialize_query_result
from controlplane.api.access import CallerAccess
from controlplane.api.credential_usage import CredentialUsage
from controlplane.authorizer import DataPlaneAuthorizer
from controlplane.iam import OPERATIONS
from controlplane.iam.operation import OperationKind, Requester
from controlplane.iam.simulation.authorize_queries import (
    evaluation_results,
    has_inline_policies,
    page_of,
    simulated_pairs,
    simulation_queries,
)
from controlplane.iam.simulation.inline import custom_simulation, inline_results
from controlplane.iam.simulation.principal import principal_simulation
from controlplane.stages import StageTimes, timed_request
from controlplane.writer import Writer
from replication.headers import VERSION_HEADER

__all__ = ["IamApi"]

_log = structlog.get_logger("controlplane.api")


class IamApi:
    """Serves IAM's Query API from the writer's projection."""

    def __init__(
        self,
        writer: Writer,
        authorizer: DataPlaneAuthorizer,
        credential_usage: CredentialUsage | None = None,
        *,
        on_stages: Callable[[bool, StageTimes], None] | None = None,
    ) -> None:
        self._writer = writer
        # told every answered call's stage times, and whether the call was a write
        self._on_stages = on_stages
        self._authorizer = authorizer
        # key uses and credential reports live in Redis beside the log (None: not served)
        self._credential_usage = credential_usage
        self._access = CallerAccess(writer, authorizer)

    async def handle(self, request: web.Request) -> web.Response:
        """Answer one IAM Query request (POST form or GET query string)."""
        request_id = str(uuid.uuid4())
        structlog.contextvars.bind_contextvars(request_id=request_id)
        writes = False
        with timed_request() as times:
            try:
                body = await request.read()
                call = parse_query_request("iam", body, request.rel_url.raw_query_string)
                operation = OPERATIONS.get(call.operation)
                if operation is None:
                    raise AwsError(
                        "NotImplemented",
                        f"iam-planes does not implement {call.operation} yet.",
                        501,
                    )
                writes = operation.writes
                times.lap("parse")
                caller = await self._access.authorize(request, body, operation, call.params)
                if operation.kind is OperationKind.SIMULATION:
                    result, version = await self._simulate(call.operation, call.params, caller)
                elif (
                    operation.kind is OperationKind.CREDENTIAL_USAGE
                    and self._credential_usage is not None
                ):
                    state = self._writer.state
                    result = await self._credential_usage.answer(
                        call.operation, state, call.params, caller
                    )
                    version = state.version
                else:
                    outcome, version = await self._writer.execute(operation, call.params, caller)
                    result = outcome.result
                wire = serialize_query_result("iam", call.operation, result, request_id)
                _log.info("iam_call", action=call.operation, version=version)
            except AwsError as error:
                _log.info("iam_error", code=error.code, status=error.http_status)
                wire = query_error_response(error, request_id, "iam")
                version = self._writer.state.version
            finally:
                structlog.contextvars.unbind_contextvars("request_id")
            times.lap("reply")
            if self._on_stages is not None:
                self._on_stages(writes, times)
            return _to_http(wire, version, times.header())

    async def _simulate(
        self, action: str, params: dict[str, Any], caller: Requester
    ) -> tuple[dict[str, Any], int]:
        """Ask the us-east-1 data plane: ``/evaluate`` when policies come inline, else
        ``/authorize`` at least as fresh as this projection."""
        if action == "SimulateCustomPolicy" or has_inline_policies(params):
            simulation = (
                custom_simulation(params, caller)
                if action == "SimulateCustomPolicy"
                else principal_simulation(self._writer.state, params, datetime.now(UTC))
            )
            inline_answers = await self._authorizer.evaluate_inline(simulation.queries)
            return inline_results(simulation, inline_answers)
        pairs, more = page_of(simulated_pairs(params), params)
        queries = simulation_queries(params, pairs, self._writer.state.version)
        answers = await self._authorizer.evaluate(queries)
        return evaluation_results(queries, answers, more)


def _to_http(wire: WireResponse, version: int, timing: str) -> web.Response:
    headers = {**wire.headers, VERSION_HEADER: str(version), SERVER_TIMING: timing}
    content_type = headers.pop("Content-Type", "text/xml")
    return web.Response(
        status=wire.status, headers=headers, body=wire.body, content_type=content_type.split(";")[0]
    )
