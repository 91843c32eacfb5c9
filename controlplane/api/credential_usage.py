"""The edge of the actions that need Redis besides the log: access keys' last use (recorded
by the data planes) and the stored credential reports.

The handlers in ``controlplane.iam.credentials`` (``access_key_usage`` and
``credential_report``) stay pure; this module does the reads and writes around them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
import structlog
from pydantic import ValidationError
from redis.exceptions import RedisError

from awswire.errors import AwsError, service_failure
from controlplane.iam.credentials.access_key_usage import access_key_last_used, key_id_of
from controlplane.iam.credentials.credential_report import (
    REPORT_KEY_PREFIX,
    StoredReport,
    credential_report_csv,
    generation_result,
    key_ids_of_account,
    needs_generation,
    report_result,
)
from controlplane.iam.operation import Params, Requester
from replication.key_usage import read_key_uses
from replication.state import IamState

__all__ = ["CredentialUsage"]

_log = structlog.get_logger("controlplane.credential_usage")


class CredentialUsage:
    """Answers GetAccessKeyLastUsed and the credential report actions from Redis."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._client = client

    async def answer(
        self, action: str, state: IamState, params: Params, caller: Requester
    ) -> dict[str, Any]:
        """The result of ``action`` for ``caller``; ServiceFailure when Redis fails."""
        try:
            if action == "GetAccessKeyLastUsed":
                key_id = key_id_of(params)
                uses = await read_key_uses(self._client, [key_id])
                return access_key_last_used(state, params, caller, uses.get(key_id))
            if action == "GenerateCredentialReport":
                return await self._generate(state, caller.account)
            if action == "GetCredentialReport":
                return report_result(await self._stored(caller.account))
        except RedisError as error:
            _log.error("credential_usage_unavailable", action=action, error=type(error).__name__)
            raise service_failure() from None
        raise AwsError("NotImplemented", f"iam-planes does not implement {action} yet.", 501)

    async def _stored(self, account: str) -> StoredReport | None:
        raw = await self._client.get(REPORT_KEY_PREFIX + account)
        if raw is None:
            return None
        try:
            return StoredReport.model_validate_json(raw)
        except ValidationError:
            return None  # unreadable: as if none was generated

    async def _generate(self, state: IamState, account: str) -> dict[str, Any]:
        now = datetime.now(UTC).replace(microsecond=0)
        if not needs_generation(await self._stored(account), now):
            return generation_result(generated=False)
        uses = await read_key_uses(self._client, key_ids_of_account(state, account))
        report = StoredReport(generated_at=now, content=credential_report_csv(state, account, uses))
        await self._client.set(REPORT_KEY_PREFIX + account, report.model_dump_json())
        _log.info("credential_report_generated", account=account)
        return generation_result(generated=True)
