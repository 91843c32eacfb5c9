"""The STS Query API of a replica: parse, authenticate, dispatch, serialize.

Served at ``/`` (POST form or GET query string) on the replica's own port and its region's
shared port. Requests must be signed for service ``sts`` in *this* region; a request signed
for another region fails as AWS's does (SignatureDoesNotMatch naming the scope). Nothing here
talks to the control plane: STS keeps working while it is down.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import structlog
from aiohttp import web

from awswire.errors import AwsError
from awswire.query import parse_query_request
from awswire.wire import WireResponse
from awswire.xml import query_error_response, serialize_query_result
from dataplane.identity.authentication import HttpRequest, authenticate_http
from dataplane.identity.policy_index import PolicyIndex
from dataplane.identity.requests import environment_keys
from dataplane.identity.tokens import TokenKeys
from dataplane.key_usage import KeyUsage
from dataplane.replica import Replica
from dataplane.staleness import StaleAnswers, StaleVerdict, stale_verdict
from dataplane.sts.assume_role import assume_role
from dataplane.sts.authorization_message import decode_authorization_message
from dataplane.sts.call import StsCall
from dataplane.sts.caller_identity import get_access_key_info, get_caller_identity
from dataplane.sts.federation import get_federation_token, get_session_token
from dataplane.sts.saml_role import assume_role_with_saml
from dataplane.sts.web_identity import assume_role_with_web_identity
from replication.consistency import min_version_of_header, state_at_least
from replication.headers import MIN_VERSION_HEADER, STALE_HEADER, VERSION_HEADER
from replication.ids import account_of_access_key
from replication.state import IamState

__all__ = ["OPERATIONS", "UNSIGNED", "StsApi"]

#: the outcome of an STS call that succeeded, for the stale verdict
SUCCESS = "Success"
_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")

_log = structlog.get_logger("dataplane.sts")

Handler = Callable[[StsCall], dict[str, Any]]
OPERATIONS: dict[str, Handler] = {
    "AssumeRole": assume_role,
    "GetCallerIdentity": get_caller_identity,
    "GetSessionToken": get_session_token,
    "GetFederationToken": get_federation_token,
    "GetAccessKeyInfo": get_access_key_info,
    "AssumeRoleWithWebIdentity": assume_role_with_web_identity,
    "AssumeRoleWithSAML": assume_role_with_saml,
    "DecodeAuthorizationMessage": decode_authorization_message,
}
#: the calls AWS serves unsigned: the token or assertion is the credential
UNSIGNED = frozenset({"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"})


class StsApi:
    """Answers STS Query requests from the replica's current state."""

    def __init__(
        self,
        replica: Replica,
        keys: TokenKeys | None,
        index: PolicyIndex,
        clock: Callable[[], float],
        key_usage: KeyUsage | None = None,
        *,
        stale_answers: StaleAnswers | None = None,
    ) -> None:
        self._stale_answers = stale_answers
        self._replica = replica
        self._keys = keys
        self._index = index
        self._clock = clock
        self._key_usage = key_usage

    async def _state(self, request: web.Request) -> IamState:
        """The state to answer from: now, or once ``x-iam-planes-min-version`` is applied."""
        wanted = min_version_of_header(request.headers.get(MIN_VERSION_HEADER))
        return await state_at_least(self._replica, wanted)

    def _call(
        self,
        request: web.Request,
        body: bytes,
        now: float,
        state: IamState,
        usage: KeyUsage | None,
    ) -> tuple[str, dict[str, Any]]:
        parsed = parse_query_request("sts", body, request.rel_url.raw_query_string)
        handler = OPERATIONS.get(parsed.operation)
        if handler is None or self._keys is None:
            raise AwsError(
                "NotImplemented", f"iam-planes does not implement {parsed.operation} yet.", 501
            )
        region = self._replica.identity.region
        http = HttpRequest(
            request.method,
            request.rel_url.raw_path,
            request.rel_url.raw_query_string,
            request.headers,
            body,
        )
        caller = (
            None
            if parsed.operation in UNSIGNED
            else authenticate_http(state, self._keys, http, now, "sts", region, usage=usage)
        )
        call = StsCall(
            state=state,
            caller=caller,
            params=parsed.params,
            now=now,
            region=region,
            environment=environment_keys(now, request.remote or "127.0.0.1", region),
            keys=self._keys,
            index=self._index,
        )
        return parsed.operation, handler(call)

    def _verdict(
        self, request: web.Request, body: bytes, now: float, state: IamState, outcome: str
    ) -> StaleVerdict:
        """Would the same call be answered otherwise at the head? (No key use is noted.)"""

        def outcome_at(at: IamState) -> str:
            try:
                self._call(request, body, now, at, None)
            except AwsError as error:
                return error.code
            return SUCCESS

        verdict = stale_verdict(self._replica, state, outcome, outcome_at, now)
        if verdict.stale and self._stale_answers is not None:
            key_id = _signing_key_id(request, body)
            account = account_of_access_key(key_id) if key_id else None
            self._stale_answers.note(verdict, account, key_id or "?", _action(request, body))
        return verdict

    async def handle(self, request: web.Request) -> web.Response:
        """Answer one STS Query request; an error, or a success while changes are pending,
        carries the stale verdict in the ``x-iam-planes-stale`` header."""
        request_id = str(uuid.uuid4())
        state = self._replica.state
        body = b""
        now = self._clock()
        try:
            body = await request.read()
            state = await self._state(request)
            now = self._clock()
            operation, result = self._call(request, body, now, state, self._key_usage)
            _log.info("sts_call", action=operation, version=state.version)
            wire = serialize_query_result("sts", operation, result, request_id)
            verdict = self._verdict(request, body, now, state, SUCCESS)
            return _to_http(wire, state.version, verdict if verdict.stale else None)
        except AwsError as error:
            _log.info("sts_error", code=error.code, status=error.http_status)
            verdict = self._verdict(request, body, now, state, error.code)
            return _to_http(query_error_response(error, request_id, "sts"), state.version, verdict)


def _signing_key_id(request: web.Request, body: bytes) -> str | None:
    """The access key id a request is signed with (header or presigned query), if any."""
    authorization = request.headers.get("Authorization", "")
    found = _CREDENTIAL.search(authorization)
    if found is None:
        query = parse_qs(request.rel_url.raw_query_string)
        credential = query.get("X-Amz-Credential", [""])[0]
        return credential.split("/", 1)[0] or None
    return found.group(1)


def _action(request: web.Request, body: bytes) -> str:
    """``sts:Operation`` from the form body or query string, for the record of stale answers."""
    fields = parse_qs(body.decode("utf-8", "replace")) or parse_qs(request.rel_url.query_string)
    return "sts:" + fields.get("Action", ["?"])[0]


def _to_http(wire: WireResponse, version: int, verdict: StaleVerdict | None) -> web.Response:
    """The HTTP response, naming the state version it was computed at (and the verdict)."""
    headers = {**wire.headers, VERSION_HEADER: str(version)}
    if verdict is not None:
        headers[STALE_HEADER] = verdict.header()
    content_type = headers.pop("Content-Type", "text/xml")
    return web.Response(
        status=wire.status, headers=headers, body=wire.body, content_type=content_type.split(";")[0]
    )
