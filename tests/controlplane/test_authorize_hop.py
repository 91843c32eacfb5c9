"""The control plane's side of the authorization hop: the query bytes it sends are those the
shared model would send, and the answers it reads are parsed as the model says."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from controlplane.authorizer import _STREAMED, signed_query_json
from replication.queries import AuthorizeQuery, SignedRequest, StreamedAnswer, StreamedError

SIGNED = {
    "method": "POST",
    "path": "/",
    "query": "",
    "headers": [
        ("Host", "127.0.0.1:4601"),
        ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
        ("X-Amz-Date", "20261207T190000Z"),
        ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261207/us-east-1/iam/..."),
        ("X-Odd", 'quote " backslash \\ tab \t newline \n bell \x07 del \x7f'),
        ("X-Unicode", "caf\u00e9 \u2028 \U0001f600"),
    ],
    "body_sha256": hashlib.sha256("Action=CreateUser&UserName=\u00e9".encode()).hexdigest(),
    "service": "iam",
    "region": "us-east-1",
}
CONTEXT = {"aws:SourceIp": "127.0.0.1", "aws:SecureTransport": False, "aws:RequestedRegion": "x"}
PASSED_ROLE = {**CONTEXT, "iam:PassedToService": "lambda.amazonaws.com", "iam:Associated": "a"}


@pytest.mark.parametrize(
    "context", [CONTEXT, PASSED_ROLE, {**CONTEXT, "aws:SecureTransport": True}]
)
@pytest.mark.parametrize("query", ["", "Action=GetUser&Version=2010-05-08&X=%C3%A9"])
def test_the_query_bytes_are_the_models(context: dict[str, Any], query: str) -> None:
    signed = {**SIGNED, "query": query}
    modelled = AuthorizeQuery(
        signed_request=SignedRequest.model_validate(signed),
        action="iam:CreateUser",
        resource="arn:aws:iam::123456789012:user/p\u00e4th/\u00e9",
        context=context,
    )
    sent = signed_query_json(signed, "iam:CreateUser", modelled.resource, context)
    assert sent == modelled.to_json()
    assert AuthorizeQuery.model_validate_json(sent) == modelled


ANSWER = {
    "decision": "Allow",
    "decided_by": "identity",
    "matched": [{"policy": "p", "sid": None, "effect": "Allow", "statement_index": 0}],
    "missing_context_keys": [],
    "errors": [],
    "principal": "arn:aws:iam::123456789012:user/alice",
    "version": 7,
    "region": "us-east-1",
    "az": "us-east-1a",
    "lag_ms": 0.5,
    "server_timing": {"sigv4": 0.0001, "policy": 0.00002},
}
ERROR = {"error": {"code": "InvalidClientTokenId", "message": "invalid"}, "status": 403}


def test_answers_and_errors_are_read_as_their_models() -> None:
    answer = _STREAMED.validate_json(orjson.dumps(ANSWER))
    assert isinstance(answer, StreamedAnswer) and answer == StreamedAnswer.model_validate(ANSWER)
    error = _STREAMED.validate_json(orjson.dumps(ERROR))
    assert isinstance(error, StreamedError) and error.status == 403


@pytest.mark.parametrize(
    "message",
    [
        {**ANSWER, "status": 200},  # an answer's fields and an error's at once
        {**ERROR, "decision": "Allow"},
        {key: value for key, value in ANSWER.items() if key != "version"},
        {**ANSWER, "decision": "Maybe"},
        {"error": {"code": "X", "message": "y"}},  # an error without its status
    ],
)
def test_a_message_neither_model_accepts_is_refused(message: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _STREAMED.validate_json(orjson.dumps(message))
