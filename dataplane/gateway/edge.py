"""The gateway's aiohttp handler: recognize, authenticate, authorize, forward, answer.

Every AWS service request a replica receives (but STS, served by the replica itself) comes
here. It is authorized on *this* replica's state, so the region's propagation delay applies,
by the same engine as ``/authorize``; IAM and Organizations calls go on to the control plane.
A call the gateway cannot recognize or map is refused, never forwarded unauthorized.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import structlog
from aiohttp import web

from awswire.errors import AwsError
from dataplane.authorizer import Authorizer
from dataplane.evaluation import Decision
from dataplane.gateway.actions import actions_for
from dataplane.gateway.chunked import decode_chunked
from dataplane.gateway.context import request_context
from dataplane.gateway.errors import backend_unavailable, denial, denial_reason, refusal_of
from dataplane.gateway.forward import Backend, BackendUnavailable
from dataplane.gateway.incoming import (
    access_key_id_of,
    check_payload,
    is_chunked,
    plain_headers,
    read_body,
    s3_canonical,
    signature_claim,
)
from dataplane.gateway.lambda_roles import check_execution_role
from dataplane.gateway.owners import BucketOwners
from dataplane.gateway.resource_policies import POLICY_WRITES, ResourcePolicies
from dataplane.gateway.resources import Target, targets
from dataplane.gateway.responses import refused, response_of
from dataplane.gateway.routing import ServiceCall, protocol_hint, route, signing_name_of
from dataplane.gateway.subjects import Subject, Subjects
from dataplane.identity.authentication import HttpRequest, authenticate_http
from dataplane.identity.callers import Caller
from dataplane.identity.requests import environment_keys
from dataplane.replica import Replica
from dataplane.staleness import StaleVerdict, account_of_principal, stale_verdict
from dataplane.sts.authorization_message import encode_authorization_message
from replication.headers import STALE_HEADER
from replication.state import IamState

__all__ = ["CONTROL_PLANE_SERVICES", "Gateway"]

_log = structlog.get_logger("dataplane.gateway")

CONTROL_PLANE_SERVICES = frozenset({"iam", "organizations"})
_REQUEST_PREFIX = os.urandom(4).hex().upper()
_numbers = itertools.count(1)


@dataclass(frozen=True, slots=True)
class _Asked:
    """What one service call asks, whatever the state it is judged at."""

    call: ServiceCall
    actions: tuple[str, ...]
    http: HttpRequest | None  # None: an anonymous (unsigned) call
    context: dict[str, Any]
    source_ip: str


class Gateway:
    """Authorizes AWS service calls on a replica's state and forwards the allowed ones."""

    def __init__(
        self,
        replica: Replica,
        authorizer: Authorizer,
        backend: Backend,
        owners: BucketOwners | None,
        controlplane: Backend | None,
    ) -> None:
        self._replica = replica
        self._authorizer = authorizer
        self._backend = backend
        self._owners = owners
        self._controlplane = controlplane
        self._region = replica.identity.region
        self._policies = ResourcePolicies(backend, self._region)
        self._subjects = Subjects(owners, self._policies, authorizer.policies)

    async def close(self) -> None:
        """Close the connection pools."""
        await self._backend.close()
        if self._controlplane is not None:
            await self._controlplane.close()

    async def handle(self, request: web.Request, body: bytes | None = None) -> web.StreamResponse:
        """Answer one AWS service request (any path, any method); ``body`` when it was
        already read."""
        request_id = f"{_REQUEST_PREFIX}{next(_numbers):012X}"
        headers = {name.lower(): value for name, value in request.headers.items()}
        raw_query = request.rel_url.raw_query_string
        signing = signing_name_of(headers, raw_query)
        if signing in CONTROL_PLANE_SERVICES:
            return await self._to_controlplane(request)
        service_hint = protocol_hint(signing, headers)
        try:
            if body is None:
                body = await read_body(request)
            call = route(
                signing,
                request.method,
                request.rel_url.raw_path,
                dict(request.query.items()),
                headers,
                body,
            )
            service_hint = (call.service, call.protocol)
            return await self._authorized(request, call, body, request_id)
        except AwsError as error:
            return refused(error, service_hint, request_id, headers, self._region)
        except Exception:  # a bug: the service's own internal error, never a traceback
            _log.exception("gateway_failed", service=service_hint[0], path=request.path)
            failure = AwsError("InternalError", "We encountered an internal error.", 500, False)
            return response_of(refusal_of(failure, *service_hint, request_id))

    async def _authorized(
        self, request: web.Request, call: ServiceCall, body: bytes, request_id: str
    ) -> web.StreamResponse:
        actions = actions_for(call)
        state = self._replica.state
        now = self._authorizer.clock()
        claim = signature_claim(request, call)
        http: HttpRequest | None = None
        if claim is not None:
            check_payload(call, claim, request, body)
            http = HttpRequest(
                request.method,
                request.rel_url.raw_path,
                request.rel_url.raw_query_string,
                request.headers,
                body,
                canonical_request=s3_canonical(request, body) if call.service == "s3" else None,
            )
        asked = _Asked(call, actions, http, request_context(call), request.remote or "127.0.0.1")
        try:
            caller = self._caller_at(state, asked, now, record_use=True)
        except AwsError as error:
            # a key this replica does not know yet: would the log's head know it?
            verdict = await self._verdict(state, error.code, asked, now, None)
            headers = {name.lower(): value for name, value in request.headers.items()}
            refusal = refused(
                error, (call.service, call.protocol), request_id, headers, self._region
            )
            return self._with_verdict(refusal, verdict, None, asked)
        prepared = await self._subjects.prepare(call, caller, actions)
        denied = self._first_denial(state, caller, prepared, asked)
        if denied is not None:
            target, decision = denied
            response = self._denied(call, caller, target, decision, asked.context, request_id)
            verdict = await self._verdict(state, decision.decision.value, asked, now, prepared)
            return self._with_verdict(response, verdict, caller, asked)
        await check_execution_role(
            call,
            state,
            self._authorizer.policies,
            environment_keys(now, asked.source_ip, self._region),
            self._backend,
            self._region,
        )
        return await self._forward(request, call, body, prepared[0].owner, caller, request_id)

    def _caller_at(
        self, state: IamState, asked: _Asked, now: float, *, record_use: bool = False
    ) -> Caller | None:
        """Who signed the call, as ``state`` knows the key (None: an anonymous call)."""
        if asked.http is None:
            return None
        authorizer = self._authorizer
        return authenticate_http(
            state,
            authorizer.token_keys,
            asked.http,
            now,
            asked.call.signing_name,
            self._region,
            usage=authorizer.key_usage if record_use else None,
            action=asked.actions[0],
        )

    def _first_denial(
        self, state: IamState, caller: Caller | None, prepared: list[Subject], asked: _Asked
    ) -> tuple[Target, Decision] | None:
        """The first (action, resource) the engine does not allow at ``state``, or None."""
        for subject in prepared:
            account = caller.account if caller else subject.owner
            for target in targets(subject.call, subject.actions, self._region, account):
                decision = self._authorizer.decide(
                    state,
                    caller,
                    target.action,
                    target.resource,
                    asked.context,
                    subject.policy,
                    subject.owner,
                    asked.source_ip,
                )
                if not decision.allowed:
                    return target, decision
        return None

    async def _verdict(
        self,
        state: IamState,
        outcome: str,
        asked: _Asked,
        now: float,
        prepared: list[Subject] | None,
    ) -> StaleVerdict:
        """Would the log's head answer the call otherwise than ``outcome`` at ``state``?"""
        head = self._replica.head_state()
        if head.version > state.version and prepared is None:
            try:
                head_caller = self._caller_at(head, asked, now)
            except AwsError:
                head_caller = None
            if head_caller is not None or asked.http is None:
                prepared = await self._subjects.prepare(asked.call, head_caller, asked.actions)

        def outcome_at(at: IamState) -> str:
            try:
                who = self._caller_at(at, asked, now)
            except AwsError as error:
                return error.code
            if prepared is None:
                return "Unknown"
            denied = self._first_denial(at, who, prepared, asked)
            return "Allow" if denied is None else denied[1].decision.value

        return stale_verdict(self._replica, state, outcome, outcome_at, now)

    def _with_verdict(
        self,
        response: web.Response,
        verdict: StaleVerdict,
        caller: Caller | None,
        asked: _Asked,
    ) -> web.Response:
        """The refusal, unchanged, with the verdict in its header (and remembered)."""
        response.headers[STALE_HEADER] = verdict.header()
        principal = caller.arn if caller is not None else access_key_id_of(asked.http)
        account = (
            caller.account
            if caller is not None
            else account_of_principal({"access_key_id": principal})
        )
        self._authorizer.stale_answers.note(verdict, account, principal, asked.actions[0])
        return response

    def _denied(  # noqa: PLR0917 - the refused call and why
        self,
        call: ServiceCall,
        caller: Caller | None,
        target: Target,
        decision: Decision,
        context: dict[str, Any],
        request_id: str,
    ) -> web.Response:
        principal = caller.arn if caller is not None else "anonymous"
        _log.info(
            "gateway_denied",
            service=call.service,
            operation=call.operation,
            action=target.action,
            resource=target.resource,
            decided_by=decision.decided_by.value,
            version=self._replica.state.version,
        )
        reason = denial_reason(decision, target.action)
        error = denial(principal, target.action, target.resource, reason)
        encoded = self._encoded(decision, principal, target.action, target.resource, context)
        return response_of(
            refusal_of(error, call.service, call.protocol, request_id, None, encoded)
        )

    async def _forward(  # noqa: PLR0917 - the call, and who it is for
        self,
        request: web.Request,
        call: ServiceCall,
        body: bytes,
        owner: str,
        caller: Caller | None,
        request_id: str,
    ) -> web.StreamResponse:
        sent_headers = None
        if call.service == "s3" and is_chunked(request):
            decoded = decode_chunked(body)
            body, sent_headers = decoded.payload, plain_headers(request, decoded.trailers)
        try:
            response = await self._backend.forward(
                request, body, owner, request.rel_url.raw_path_qs, sent_headers
            )
        except BackendUnavailable as down:
            _log.warning("services_backend_unavailable", error=str(down))
            error = backend_unavailable()
            return response_of(refusal_of(error, call.service, call.protocol, request_id))
        if response.status < 300:
            await self._after(call, owner, caller)
        return response

    async def _after(self, call: ServiceCall, owner: str, caller: Caller | None) -> None:
        """Record what an allowed, successful call changed: bucket owners, resource policies."""
        if call.operation in POLICY_WRITES:
            self._policies.forget(call, owner)
        bucket = call.params.get("Bucket")
        if self._owners is None or call.service != "s3" or not isinstance(bucket, str):
            return
        if call.operation == "CreateBucket" and caller is not None:
            await self._owners.created(bucket, caller.account)
        elif call.operation == "DeleteBucket":
            await self._owners.deleted(bucket)

    def _encoded(
        self,
        decision: Decision,
        principal: str,
        action: str,
        resource: str,
        context: dict[str, Any],
    ) -> str | None:
        keys = self._authorizer.token_keys
        if keys is None:
            return None
        answer = {**decision.to_dict(), "principal": principal}
        asked = SimpleNamespace(action=action, resource=resource, context=context)
        account = principal.split(":")[4] if principal.count(":") >= 5 else None
        return encode_authorization_message(keys, answer, asked, account)

    async def _to_controlplane(self, request: web.Request) -> web.StreamResponse:
        """IAM and Organizations: the control plane answers; while it is down the caller gets
        a connection error, as IAM's writes do."""
        body = await request.read()
        if self._controlplane is not None:
            try:
                return await self._controlplane.forward(
                    request, body, "", request.rel_url.raw_path_qs
                )
            except BackendUnavailable:
                pass
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=503)
