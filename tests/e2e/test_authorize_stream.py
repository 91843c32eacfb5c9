"""``/authorize-stream``: the control plane's hop to the us-east-1 data plane over WebSockets.

Queries are answered in order, failures are error answers on a stream that stays open, and
the control plane replaces streams whose replicas died: its writes go on once a replica of
the region is back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import botocore.exceptions
import orjson
import pytest

from tests.e2e.cluster import NO_GATEWAY, Cluster, iam_planes, running_cluster

pytestmark = [pytest.mark.e2e, pytest.mark.long]

REGION_AZS = ("us-east-1a", "us-east-1b", "us-east-1c")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A cluster of us-east-1 alone (the control plane's region)."""
    with running_cluster(
        Path(tmp_path_factory.mktemp("stream")), regions=("us-east-1",), up_options=NO_GATEWAY
    ) as c:
        yield c


async def _ask_in_one_go(url: str, messages: list[bytes]) -> list[dict[str, Any]]:
    """Send every message on one stream before reading any answer; the answers, in order."""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{url}/authorize-stream") as stream,
    ):
        for message in messages:
            await stream.send_bytes(message)
        answers = []
        for _ in messages:
            received = await stream.receive(timeout=10)
            assert received.type == aiohttp.WSMsgType.BINARY, received
            answers.append(orjson.loads(received.data))
        return answers


def test_the_stream_answers_each_query_in_order(cluster: Cluster) -> None:
    """A decision, then unreadable JSON and an invalid query as error answers with AWS's
    codes and statuses, then a decision again: the stream outlives its bad messages."""
    url = cluster.file.regions["us-east-1"].endpoint
    root = f"arn:aws:iam::{cluster.account}:root"
    allowed = orjson.dumps({"principal": root, "action": "iam:GetUser", "resource": "*"})
    answers = asyncio.run(
        _ask_in_one_go(
            url,
            [allowed, b"{not json", orjson.dumps({"principal": root, "action": ""}), allowed],
        )
    )
    assert [a.get("decision") for a in answers] == ["Allow", None, None, "Allow"]
    assert answers[1]["error"]["code"] == "MalformedQueryString" and answers[1]["status"] == 400
    assert answers[2]["error"]["code"] == "ValidationError" and answers[2]["status"] == 400
    assert answers[0]["principal"] == root and "server_timing" not in answers[0]


def _restart_region(cluster: Cluster, *, start: bool = True) -> None:
    """kill -9 every us-east-1 replica, then (``start``) start them again."""
    for az in REGION_AZS:
        killed = iam_planes("chaos", "kill", az, "--state-dir", str(cluster.state_dir))
        assert killed.returncode == 0 and "killed" in killed.stdout, killed.stdout
    if not start:
        return
    for az in REGION_AZS:
        started = iam_planes("chaos", "start", az, "--state-dir", str(cluster.state_dir))
        assert started.returncode == 0, started.stdout + started.stderr


def test_a_stream_broken_while_idle_is_replaced_unseen(cluster: Cluster) -> None:
    """The region's replicas restart between two writes: the control plane's idle streams are
    dead, and the next write is answered anyway (asked again on a new stream)."""
    iam = cluster.iam()
    for index in range(3):
        iam.create_user(UserName=f"streamed-before-{index}")
    _restart_region(cluster)
    created = iam.create_user(UserName="streamed-after-restart")
    assert created["User"]["UserName"] == "streamed-after-restart"
    timing = created["ResponseMetadata"]["HTTPHeaders"]["server-timing"]
    assert "sigv4;dur=" in timing and "hop;dur=" in timing and "append;dur=" in timing


def test_writes_fail_as_unavailable_while_the_region_is_down(cluster: Cluster) -> None:
    """With no us-east-1 replica up, a write is refused as ServiceUnavailable (503) and not
    made; once they are back, writes succeed again."""
    iam = cluster.iam()
    iam.create_user(UserName="streamed-warm")
    _restart_region(cluster, start=False)
    try:
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            iam.create_user(UserName="streamed-during")
        assert refused.value.response["Error"]["Code"] == "ServiceUnavailable"
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    finally:
        for az in REGION_AZS:
            iam_planes("chaos", "start", az, "--state-dir", str(cluster.state_dir))
    iam.create_user(UserName="streamed-after")
    names = {u["UserName"] for u in iam.list_users()["Users"]}
    assert "streamed-during" not in names and "streamed-after" in names
