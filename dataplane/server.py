"""The replica's HTTP API: /authorize, /state, /health, and STS's Query API at ``/``.

One aiohttp application serves two sockets: the replica's own port and the region's shared
port (SO_REUSEPORT, so the kernel spreads the region's connections over its live replicas and
losing one AZ never loses the region).
"""

from __future__ import annotations

import gc
import itertools
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
import structlog
from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from awswire.errors import AwsError
from dataplane.authorizer import Authorizer
from dataplane.inline_evaluation import evaluate_handler
from dataplane.queries import AuthorizeQuery, ReplicaState
from dataplane.replica import Replica, ReplicaStatus, StaleReplicaError
from dataplane.staleness import STALE_HEADER
from dataplane.sts.api import StsApi
from dataplane.sts.authorization_message import encode_authorization_message
from dataplane.sts.instance_metadata import InstanceMetadata

__all__ = ["build_app"]

_log = structlog.get_logger("dataplane.server")

MAX_BODY_BYTES = 1024 * 1024
MAX_BATCH = 10_000
REPLICA_KEY = web.AppKey("replica", Replica)
AUTHORIZER_KEY = web.AppKey("authorizer", Authorizer)
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
    except AwsError as error:
        return _error(error.code, error.message, error.http_status)
    except StaleReplicaError as stale:
        return _error("StaleReplica", str(stale), 503)
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
        answer = await authorizer.answer(query, source_ip)
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
    keys = authorizer.token_keys
    if answer["decision"] != "Allow" and keys is not None:  # as AWS services encode denials
        arn = str(answer["principal"])
        account = arn.split(":")[4] if arn.startswith("arn:") and arn.count(":") >= 5 else None
        answer["encoded_authorization_message"] = encode_authorization_message(
            keys, answer, query, account
        )
    response = _json(answer)
    if "stale" in answer:
        response.headers[STALE_HEADER] = orjson.dumps(answer["stale"]).decode()
    return response


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
        delay_seed=replica.seed,
    )
    return _json(body.model_dump())


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
    """200 once the replica has bootstrapped and serves; 503 before."""
    replica = request.app[REPLICA_KEY]
    ready = replica.status in (ReplicaStatus.OK, ReplicaStatus.ERROR)
    return _json({"status": replica.status.value}, 200 if ready else 503)


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


def build_app(
    replica: Replica, authorizer: Authorizer, extra_routes: Sequence[web.RouteDef] = ()
) -> web.Application:
    """The replica's application, ready to be served on its own and its regional socket."""
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[_errors_as_json])
    app[REPLICA_KEY] = replica
    app[AUTHORIZER_KEY] = authorizer
    app.on_startup.append(_tune_collector)
    sts = StsApi(
        replica,
        authorizer.token_keys,
        authorizer.policies,
        authorizer.clock,
        authorizer.key_usage,
        stale_answers=authorizer.stale_answers,
    )
    app.router.add_post("/", sts.handle)
    app.router.add_get("/", sts.handle)
    app.router.add_post("/authorize", authorize)
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
    app.router.add_route("*", "/{tail:.*}", not_found)
    return app
