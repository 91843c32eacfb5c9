"""Every registered action carries the kind that decides how it is answered: its AWS verb
says which, the writer honours it (a halted log refuses writes but still answers reads), and
its literal name is in the source, so a search for it finds its registration."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from awswire.errors import AwsError
from controlplane.iam import OPERATIONS as IAM_OPERATIONS
from controlplane.iam.operation import Operation, OperationKind, Requester
from controlplane.organizations import OPERATIONS as ORGANIZATIONS_OPERATIONS
from controlplane.writer import Writer
from replication.arns import root_arn
from replication.log import HEAD_KEY, STREAM_KEY, RedisChangeLog, connect
from tests.change_events import ACCOUNT, numbered_event

REGISTERED = [*IAM_OPERATIONS.values(), *ORGANIZATIONS_OPERATIONS.values()]
SOURCE_ROOT = Path(__file__).resolve().parents[3] / "controlplane"
#: answered from what Redis keeps beside the log, not from the projection
CREDENTIAL_USAGE = {"GetAccessKeyLastUsed", "GenerateCredentialReport", "GetCredentialReport"}
READ_VERBS = {"Get", "List", "Describe"}


def _expected_kind(name: str) -> OperationKind:
    """The kind AWS's own naming gives an action, with the edge-answered ones named."""
    if name in CREDENTIAL_USAGE:
        return OperationKind.CREDENTIAL_USAGE
    verb = re.match(r"[A-Z][a-z]+", name)
    assert verb is not None, name
    if verb.group() == "Simulate":
        return OperationKind.SIMULATION
    return OperationKind.READ if verb.group() in READ_VERBS else OperationKind.WRITE


def test_the_registries_hold_both_services_actions() -> None:
    assert len(IAM_OPERATIONS) > 150
    assert len(ORGANIZATIONS_OPERATIONS) > 40
    assert all(op.service == "iam" for op in IAM_OPERATIONS.values())
    assert all(op.service == "organizations" for op in ORGANIZATIONS_OPERATIONS.values())
    assert {op.kind for op in REGISTERED} == set(OperationKind)


@pytest.mark.parametrize("operation", REGISTERED, ids=lambda op: op.iam_action)
def test_each_action_has_the_kind_its_verb_names(operation: Operation) -> None:
    assert operation.kind is _expected_kind(operation.name)
    assert operation.writes == (operation.kind is OperationKind.WRITE)


def test_each_action_name_is_written_out_in_the_source() -> None:
    """Names are never assembled (``f"Attach{noun}Policy"``): grep finds every handler."""
    source = "\n".join(p.read_text() for p in SOURCE_ROOT.rglob("*.py"))
    written = set(re.findall(r'Operation\(\s*"(\w+)"', source))
    written |= set(re.findall(r'org_operation\(\s*"(\w+)"', source))
    assert {op.name for op in REGISTERED} <= written
    for key, operation in [*IAM_OPERATIONS.items(), *ORGANIZATIONS_OPERATIONS.items()]:
        assert key == operation.name


@pytest.fixture
async def halted_writer(redis_url: str) -> AsyncIterator[Writer]:
    """A writer over a log whose entry 2 cannot be decoded: it must refuse every write."""
    log = RedisChangeLog(connect(redis_url))
    await log.client.flushdb()
    await log.append(numbered_event(1))
    await log.client.xadd(STREAM_KEY, {b"e": b"not json"}, id="2-0")  # type: ignore[arg-type]
    await log.client.set(HEAD_KEY, 2)
    writer = Writer(log, clock=time.time)
    await writer.catch_up()
    assert writer.halted is not None
    yield writer
    await log.close()


async def test_a_halted_log_refuses_exactly_the_actions_whose_verb_writes(
    halted_writer: Writer,
) -> None:
    """Through the writer: a read registered as a write would be refused here (and would queue
    behind writes); a write registered as a read would run its handler, which for a valid call
    would drop its change."""
    caller = Requester(ACCOUNT, root_arn(ACCOUNT), None)
    refused_as_halted: set[str] = set()
    for operation in REGISTERED:
        try:
            await halted_writer.execute(operation, {}, caller)
        except AwsError as error:
            if "change log entry at version 2" in error.message:
                refused_as_halted.add(operation.iam_action)
        except (KeyError, TypeError, ValueError):
            pass  # the handler ran: the empty parameters are not a valid call
    writes = {op.iam_action for op in REGISTERED if _expected_kind(op.name) is OperationKind.WRITE}
    assert refused_as_halted == writes
    assert halted_writer.state.version == 1
