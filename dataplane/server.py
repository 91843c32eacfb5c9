"""The replica's HTTP API: /authorize, /state, /health, and STS's Query API at ``/``.

One aiohttp application serves two sockets: the replica's own port and the region's shared
port (SO_REUSEPORT, so the kernel spreads the region's connections over its live replicas and
losing one AZ never loses the region).

``/authorize-stream`` is ``/authorize`` over a WebSocket, for the control plane, which
authorizes every IAM call it serves: one query per binary message, one answer per message in
the same order, with no HTTP request to parse or answer per query (about a quarter of the
CPU of a POST on each side). An answer carries ``server_timing`` (seconds by stage) where a
POST's carries the ``Server-Timing`` header, and an error ``{"error": ..., "status": N}``.
"""

from __future__ import annotations

import gc
import itertools
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
import structlog
from aiohttp import WSMsgType, web
from pydantic import TypeAdapter, ValidationError

from awswire.errors import AwsError
from awswire.server_timing import SERVER_TIMING, format_server_timing
from dataplane.authorizer import AuthorizationTiming, Authorizer
from dataplane.gateway.edge import Gateway
from dataplane.gateway.routing import signing_name_of
from dataplane.inline_evaluation import evaluate_handler
from dataplane.replica import Replica, ReplicaStatus
from dataplane.replica_state import HaltedAt, ReplicaState
from dataplane.sts.api import StsApi
from dataplane.sts.authorization_message import encode_authorization_message
from dataplane.sts.instance_metadata import InstanceMetadata
from replication.headers import STALE_HEADER
from replication.queries import AuthorizeQuery

__all__ = ["build_app"]

_log = structlog.get_logger("dataplane.server")

MAX_BODY_BYTES = 1024 * 1024
MAX_BATCH = 10_000
REPLICA_KEY = web.AppKey("replica", Replica)
AUTHORIZER_KEY = web.AppKey("authorizer", Authorizer)
STREAMS_KEY: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("streams")
_BATCH = TypeAdapter(list[AuthorizeQuery])
# request ids: a random per-process prefix and a counter (unique, and far cheaper than uuid4)
_REQUEST_PREFIX = os.urandom(6).hex()
_request_numbers = itertools.count(1)


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def _error(code: str, message: str, status: int) -> web.Response:
    return _json({"error": {"code": code, "message": message}}, status)


@web.middleware
async def _errors_as_json(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Every failure leaves as a JSON error with AWS's code; never a traceback or a bare 500."""
    request_id = f"{_REQUEST_PREFIX}-{next(_request_numbers):x}"
    structlog.contextvars.bind_contextvars(request_id=request_id)
    try:
        return await handler(request)
    except web.HTTPException as http:
        if http.status == 413:
            return _error("RequestEntityTooLarge", "Request body is too large.", 413)
        raise
    except AwsError as error:  # StaleReplicaError among them
        return _error(error.code, error.message, error.http_status)
    except Exception:
        _log.exception("request_failed", path=request.path)
        return _error("InternalFailure", "The request processing has failed.", 500)
    finally:
        structlog.contextvars.unbind_contextvars("request_id")


def _parse_query(raw: Any) -> AuthorizeQuery:
    try:
        return AuthorizeQuery.model_validate(raw)
    except ValidationError as invalid:
        first = invalid.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise AwsError("ValidationError", f"{where}: {first['msg']}", 400) from None


def _parse_batch(raw: list[Any]) -> list[AuthorizeQuery]:
    """Validate a whole batch in one call; when it fails, name the first bad query's error
    exactly as a single query would."""
    try:
        return _BATCH.validate_python(raw)
    except ValidationError:
        return [_parse_query(q) for q in raw]  # raises the first bad query's own error


async def _read_json(request: web.Request) -> Any:
    body = await request.read()
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise AwsError("MalformedQueryString", "The request body is not valid JSON.", 400) from None


async def _answer_one(
    authorizer: Authorizer, query: AuthorizeQuery, source_ip: str
) -> tuple[dict[str, Any], AuthorizationTiming | None]:
    """One query's answer and, for a forwarded signed request (the control plane's hop),
    where the time went."""
    timing = AuthorizationTiming() if query.signed_request is not None else None
    answer = await authorizer.answer(query, source_ip, timing)
    keys = authorizer.token_keys
    if answer["decision"] != "Allow" and keys is not None:  # as AWS services encode denials
        arn = str(answer["principal"])
        account = arn.split(":")[4] if arn.startswith("arn:") and arn.count(":") >= 5 else None
        answer["encoded_authorization_message"] = encode_authorization_message(
            keys, answer, query, account
        )
    return answer, timing


async def authorize(request: web.Request) -> web.Response:
    """Answer one query (a JSON object) or a batch (a JSON array of them)."""
    authorizer = request.app[AUTHORIZER_KEY]
    raw = await _read_json(request)
    source_ip = request.remote or "127.0.0.1"
    if isinstance(raw, list):
        if len(raw) > MAX_BATCH:
            raise AwsError("ValidationError", f"A batch holds at most {MAX_BATCH} queries.", 400)
        return _json(await authorizer.answer_batch(_parse_batch(raw), source_ip))
    query = _parse_query(raw)
    try:
        answer, timing = await _answer_one(authorizer, query, source_ip)
    except AwsError as error:
        body: dict[str, Any] = {"error": {"code": error.code, "message": error.message}}
        if query.explain:
            body["head"] = authorizer.explained_at_head(query, source_ip)
        if query.at_version is not None:  # an answer from the past is not "stale"
            return _json(body, error.http_status)
        verdict = authorizer.error_verdict(query, error.code, source_ip)
        body["stale"] = verdict.fields()
        response = _json(body, error.http_status)
        response.headers[STALE_HEADER] = verdict.header()
        return response
    response = _json(answer)
    if timing is not None:
        response.headers[SERVER_TIMING] = format_server_timing(
            (("sigv4", timing.caller), ("policy", timing.policy))
        )
    if "stale" in answer:
        response.headers[STALE_HEADER] = orjson.dumps(answer["stale"]).decode()
    return response


async def _stream_answer(authorizer: Authorizer, data: bytes, source_ip: str) -> dict[str, Any]:
    """The answer to one ``/authorize-stream`` message; a failure is an error answer."""
    try:
        try:
            raw = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise AwsError("MalformedQueryString", "The message is not valid JSON.", 400) from None
        answer, timing = await _answer_one(authorizer, _parse_query(raw), source_ip)
    except AwsError as error:  # StaleReplicaError among them
        return {
            "error": {"code": error.code, "message": error.message},
            "status": error.http_status,
        }
    except Exception:
        _log.exception("stream_query_failed")
        message = "The request processing has failed."
        return {"error": {"code": "InternalFailure", "message": message}, "status": 500}
    if timing is not None:
        answer["server_timing"] = {"sigv4": timing.caller, "policy": timing.policy}
    return answer


async def authorize_stream(request: web.Request) -> web.WebSocketResponse:
    """``/authorize`` over a WebSocket: each binary message a query, answered in order."""
    authorizer = request.app[AUTHORIZER_KEY]
    source_ip = request.remote or "127.0.0.1"
    stream = web.WebSocketResponse(max_msg_size=MAX_BODY_BYTES, autoping=True)
    await stream.prepare(request)
    streams = request.app[STREAMS_KEY]
    streams.add(stream)
    try:
        async for message in stream:
            if message.type != WSMsgType.BINARY:
                await stream.close(message=b"binary messages only")
                break
            answer = await _stream_answer(authorizer, message.data, source_ip)
            await stream.send_bytes(orjson.dumps(answer))
    finally:
        streams.discard(stream)
    return stream


async def _close_streams(app: web.Application) -> None:
    """On shutdown, close the open streams (their handlers would otherwise hold it up)."""
    streams = app[STREAMS_KEY]
    for stream in list(streams):
        await stream.close(message=b"shutting down")


async def state(request: web.Request) -> web.Response:
    """Where this replica stands: version, lag, digest, status."""
    replica = request.app[REPLICA_KEY]
    current = replica.state
    body = ReplicaState(
        region=replica.identity.region,
        az=replica.identity.az,
        version=current.version,
        read_version=replica.read_version,
        lag_ms=round(replica.lag_ms(), 3),
        digest=current.digest,
        status=replica.status.value,
        entities=current.entity_count,
        last_applied_at=replica.last_applied_at,
        halted=_halted_at(replica),
        delay_seed=replica.seed,
    )
    return _json(body.model_dump())


def _halted_at(replica: Replica) -> HaltedAt | None:
    if replica.halted is None:
        return None
    return HaltedAt(**replica.halted.as_json(), since=replica.halted_since)


async def applied(request: web.Request) -> web.Response:
    """When each recent event was committed and applied here (``?since=VERSION``)."""
    replica = request.app[REPLICA_KEY]
    try:
        since = int(request.query.get("since", "0"))
    except ValueError:
        raise AwsError("ValidationError", "since must be an integer version.", 400) from None
    rows = [
        {
            "version": a.version,
            "kind": a.kind,
            "action": a.action,
            "committed_at": a.committed_at,
            "applied_at": a.applied_at,
            "delay_ms": a.delay_ms,
        }
        for a in replica.arrivals
        if a.version > since
    ]
    return _json({"region": replica.identity.region, "az": replica.identity.az, "applied": rows})


async def stale(request: web.Request) -> web.Response:
    """The stale answers this replica gave (``?account=ID&since=EPOCH``): what a test met."""
    authorizer = request.app[AUTHORIZER_KEY]
    try:
        since = float(request.query.get("since", "0"))
    except ValueError:
        raise AwsError("ValidationError", "since must be a time in epoch seconds.", 400) from None
    replica = request.app[REPLICA_KEY]
    rows = authorizer.stale_answers.of(request.query.get("account"), since)
    return _json({"region": replica.identity.region, "az": replica.identity.az, "stale": rows})


async def health(request: web.Request) -> web.Response:
    """200 once the replica has bootstrapped and serves; 503 before.

    A HALTED replica answers 200, as one cut off from its log (ERROR) does: it still serves
    consistent answers at the version before the bad entry, and every replica meets the same
    entry, so taking halted replicas out of a load balancer (or restarting them) would turn
    stale answers into no answers at all. The status field, ``halted``, ``/metrics`` and the
    log line are what alert a person.
    """
    replica = request.app[REPLICA_KEY]
    ready = replica.status in (ReplicaStatus.OK, ReplicaStatus.ERROR, ReplicaStatus.HALTED)
    body: dict[str, Any] = {"status": replica.status.value, "version": replica.state.version}
    halted = _halted_at(replica)
    if halted is not None:
        body["halted"] = halted.model_dump()
    return _json(body, 200 if ready else 503)


async def not_found(request: web.Request) -> web.Response:
    """Unknown paths answer like an AWS endpoint would, not with an HTML page."""
    return _error("UnknownOperation", f"No such operation: {request.method} {request.path}", 404)


# The collector's youngest generation is collected every 700 allocations by default: under
# load that is many collections per batch, each also scanning what survived. Requests leave
# almost no cycles behind (their objects die by reference count), so collect far less often.
GC_THRESHOLDS = (50_000, 20, 20)


async def _tune_collector(_app: web.Application) -> None:
    """Move what exists at start (modules, the app) out of the collector's way, and collect
    the young generation less often."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


#: STS calls AWS serves unsigned (the token or assertion is the credential)
_UNSIGNED_STS = frozenset({"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"})


def _is_sts(request: web.Request, body: bytes) -> bool:
    """Whether a request at ``/`` is STS's: signed for ``sts``, or an unsigned Query call
    (AWS's unsigned STS actions, or any ``Action=`` that no service gateway takes unsigned)."""
    signing = signing_name_of(request.headers, request.rel_url.raw_query_string)
    if signing is not None:
        return signing == "sts"
    if "x-amz-target" in request.headers:
        return False
    return "Action" in request.query or body.startswith(b"Action=") or b"&Action=" in body


def _sts_or_gateway(
    sts: StsApi, gateway: Gateway | None
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """``/``: STS's Query API, or (when the gateway is on) any other service's call."""

    async def dispatch(request: web.Request) -> web.StreamResponse:
        if gateway is None:
            return await sts.handle(request)
        signing = signing_name_of(request.headers, request.rel_url.raw_query_string)
        if signing == "sts":
            return await sts.handle(request)
        body = None
        if signing is None and request.method == "POST" and "x-amz-target" not in request.headers:
            body = await request.read()  # kept by aiohttp: STS reads it again
            if _is_sts(request, body):
                return await sts.handle(request)
        elif signing is None and "Action" in request.query:
            return await sts.handle(request)
        return await gateway.handle(request, body)

    return dispatch


def build_app(
    replica: Replica,
    authorizer: Authorizer,
    extra_routes: Sequence[web.RouteDef] = (),
    gateway: Gateway | None = None,
) -> web.Application:
    """The replica's application, ready to be served on its own and its regional socket.

    With a ``gateway``, every request no route of the replica's own takes (STS, /authorize,
    /state, /health, /metrics, /imds, ...) is an AWS service call for it."""
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[_errors_as_json])
    app[REPLICA_KEY] = replica
    app[AUTHORIZER_KEY] = authorizer
    app[STREAMS_KEY] = set[web.WebSocketResponse]()
    app.on_startup.append(_tune_collector)
    app.on_shutdown.append(_close_streams)
    sts = StsApi(
        replica,
        authorizer.token_keys,
        authorizer.policies,
        authorizer.clock,
        authorizer.key_usage,
        stale_answers=authorizer.stale_answers,
    )
    root = _sts_or_gateway(sts, gateway)
    app.router.add_route("*", "/", root)
    app.router.add_post("/authorize", authorize)
    app.router.add_get("/authorize-stream", authorize_stream)
    app.router.add_post("/evaluate", evaluate_handler(replica))
    app.router.add_get("/state", state)
    app.router.add_get("/health", health)
    app.router.add_get("/applied", applied)
    app.router.add_get("/stale", stale)
    if authorizer.token_keys is not None:
        imds = InstanceMetadata(
            replica, authorizer.token_keys, authorizer.policies, authorizer.clock
        )
        app.router.add_routes(imds.routes())
    app.router.add_routes(extra_routes)
    app.router.add_route("*", "/{tail:.*}", not_found if gateway is None else gateway.handle)
    if gateway is not None:
        app.on_cleanup.append(lambda _app: gateway.close())
    return app
