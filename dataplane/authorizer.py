"""``/authorize``: resolve the caller, gather its policies, run the engine, name the version.

The consistency token is resolved here, once, at the edge: ``min_version`` waits (bounded)
for the replica to catch up or fails with StaleReplica; otherwise the answer comes from
whatever state the replica has now, as in AWS.

What depends only on the caller and the state (the resolved caller, the engine principal and
the PolicySet with its per-action candidate memo) is cached per state object: entities are
immutable and every applied event makes a new state, so a cache is dropped exactly when the
state it was built from is replaced. A batch reads the clock once: every query of it is
answered with the same environment keys and lag.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from awswire.errors import AwsError
from dataplane.evaluation import (
    CompiledPolicy,
    Decision,
    PolicySet,
    Principal,
    Request,
    account_decisions,
    evaluate,
    explain_facts,
)
from dataplane.identity.authentication import authenticate, is_temporary, named_caller
from dataplane.identity.callers import Caller, policy_set_for
from dataplane.identity.policy_index import PolicyIndex, resource_account
from dataplane.identity.requests import engine_request, environment_keys
from dataplane.identity.tokens import TokenKeys
from dataplane.key_usage import KeyUsage
from dataplane.replica import Replica, VersionUnavailableError
from dataplane.staleness import StaleAnswers, StaleVerdict, account_of_principal, stale_verdict
from replication.consistency import StaleReplicaError, state_at_least
from replication.policy import PolicyKind
from replication.queries import AccessKeyPrincipal, AuthorizeQuery
from replication.state import IamState

__all__ = ["AuthorizationTiming", "Authorizer"]

#: entries one state's cache may hold before it starts over (bounds memory, not correctness)
_CACHE_LIMIT = 50_000
_ENVIRONMENTS_KEPT = 256


def _bounded(cache: _StateCache) -> None:
    """Start a cache over once it holds too much (bounds memory, not correctness)."""
    if cache.size() > _CACHE_LIMIT:
        cache.clear()


@dataclass(slots=True)
class AuthorizationTiming:
    """Where one answer's time went (seconds): naming the caller (for a signed request,
    verifying its SigV4 signature), then evaluating its policies."""

    caller: float = 0.0
    policy: float = 0.0


class _StateCache:
    """What was resolved and built from one state object; valid while that state is current."""

    __slots__ = ("callers", "policy_sets", "principals", "state")

    def __init__(self, state: IamState) -> None:
        self.state = state
        # the query's principal (ARN, or long-term access key id) -> the caller and its key
        self.callers: dict[str | tuple[str], tuple[Caller, str]] = {}
        # caller key -> the engine principal (clock-independent principals only)
        self.principals: dict[str, Principal] = {}
        # (caller key, id of the resource policy, the resource's account) -> (the resource
        # policy, the PolicySet): RCPs are those of the account owning the resource
        self.policy_sets: dict[tuple[str, int, str], tuple[CompiledPolicy | None, PolicySet]] = {}

    def size(self) -> int:
        return len(self.callers) + len(self.principals) + len(self.policy_sets)

    def clear(self) -> None:
        self.callers.clear()
        self.principals.clear()
        self.policy_sets.clear()


class _Asked(NamedTuple):
    """What one question asks beside its caller: the action on a resource, in a context,
    under the resource's own policy, for the resource's owner (None: from its ARN)."""

    action: str
    resource: str
    context: dict[str, Any]
    resource_policy: CompiledPolicy | None
    owner: str | None


class _Clocked:
    """One clock reading and what derives from it, shared by every query of a batch."""

    __slots__ = ("environment", "lag_ms", "now")

    def __init__(self, now: float, environment: dict[str, Any], lag_ms: float) -> None:
        self.now = now
        self.environment = environment
        self.lag_ms = lag_ms


class Authorizer:
    """Answers authorization queries from the replica's current state."""

    def __init__(
        self,
        replica: Replica,
        clock: Callable[[], float],
        *,
        token_keys: TokenKeys | None = None,
        policies: PolicyIndex | None = None,
        on_decision: Callable[[dict[str, Any], AuthorizeQuery], None] | None = None,
        key_usage: KeyUsage | None = None,
    ) -> None:
        self._on_decision = on_decision
        self._key_usage = key_usage
        self._replica = replica
        self._clock = clock
        self._token_keys = token_keys
        self._policies = policies or PolicyIndex()
        self._cache = _StateCache(replica.state)
        self._environments: dict[tuple[int, str], dict[str, Any]] = {}
        self._matched_dicts: dict[Any, dict[str, Any]] = {}
        self.stale_answers = StaleAnswers(clock)
        self._head_cache = _StateCache(replica.state)

    @property
    def policies(self) -> PolicyIndex:
        """The replica's compiled-policy caches (shared with STS)."""
        return self._policies

    @property
    def clock(self) -> Callable[[], float]:
        """The clock every answer is made at."""
        return self._clock

    @property
    def key_usage(self) -> KeyUsage | None:
        """Where long-term access keys' uses are noted (None: not recorded)."""
        return self._key_usage

    @property
    def token_keys(self) -> TokenKeys | None:
        """The session-token keys shared by every replica (None: sessions unsupported)."""
        return self._token_keys

    async def _state_for(self, query: AuthorizeQuery) -> IamState:
        if query.at_version is not None:
            if query.min_version is not None:
                raise AwsError(
                    "ValidationError", "min_version and at_version exclude each other.", 400
                )
            try:
                return await self._replica.state_at(query.at_version)
            except VersionUnavailableError as gone:
                raise AwsError("ValidationError", str(gone), 400) from None
        return await state_at_least(self._replica, query.min_version)

    def _cache_for(self, state: IamState) -> _StateCache:
        cache = self._cache
        if cache.state is not state:
            cache = self._cache = _StateCache(state)
        elif cache.size() > _CACHE_LIMIT:  # checked when an entry is added
            cache.clear()
        return cache

    def _clocked(self, source_ip: str) -> _Clocked:
        now = self._clock()
        # the environment keys change once a second: build them once per second and caller IP
        key = (int(now), source_ip)
        environment = self._environments.get(key)
        if environment is None:
            if len(self._environments) > _ENVIRONMENTS_KEPT:
                self._environments.clear()
            environment = environment_keys(now, source_ip, self._replica.identity.region)
            self._environments[key] = environment
        return _Clocked(now, environment, round(self._replica.lag_ms(), 3))

    def _caller(
        self,
        state: IamState,
        cache: _StateCache,
        query: AuthorizeQuery,
        now: float,
        usage: KeyUsage | None,
    ) -> tuple[Caller, str]:
        """The caller and its cache key (``Caller.cache_key``); a long-term key's use is
        noted at ``now`` in ``usage`` on every query, cached or not."""
        caller: Caller
        if query.signed_request is not None:
            caller = authenticate(
                state,
                query.signed_request,
                self._clock,
                self._token_keys,
                usage=usage,
                action=query.action,
            )
            return caller, caller.cache_key
        named = query.principal
        if named is None:
            raise AwsError("ValidationError", "principal or signed_request is required.", 400)
        cache_key: str | tuple[str] = named if isinstance(named, str) else (named.access_key_id,)
        if isinstance(named, AccessKeyPrincipal) and (
            is_temporary(named.access_key_id) or named.session_token is not None
        ):  # a session, checked each time (or a long-term key sent with a token: refused)
            caller = named_caller(state, self._token_keys, named, self._clock())
            return caller, caller.cache_key
        found = cache.callers.get(cache_key)
        if found is None:  # an ARN's or a long-term key's caller depends on the state only
            caller = named_caller(state, self._token_keys, named, self._clock())
            found = cache.callers[cache_key] = (caller, caller.cache_key)
            _bounded(cache)
        if usage is not None and isinstance(named, AccessKeyPrincipal):
            usage.record(named.access_key_id, query.action, now)  # a dict store: no I/O here
        return found

    def _resource_policy(self, query: AuthorizeQuery) -> CompiledPolicy | None:
        if query.resource_policy is None:
            return None
        return self._policies.document(query.resource_policy, PolicyKind.RESOURCE, "resource")

    def _request(  # noqa: PLR0917 - the hot path passes what it already has
        self,
        state: IamState,
        cache: _StateCache,
        caller: Caller,
        key: str,
        query: AuthorizeQuery,
        clocked: _Clocked,
    ) -> tuple[Request, PolicySet]:
        """The engine's request and policy set for the query (cached where they can be)."""
        resource = None if query.resource_policy is None else self._resource_policy(query)
        return self._caller_request(
            state,
            cache,
            (caller, key),
            _Asked(query.action, query.resource, query.context, resource, query.resource_owner),
            clocked,
        )

    def _caller_request(
        self,
        state: IamState,
        cache: _StateCache,
        keyed: tuple[Caller, str],
        asked: _Asked,
        clocked: _Clocked,
    ) -> tuple[Request, PolicySet]:
        caller, key = keyed
        index = self._policies
        principal = cache.principals.get(key)
        if principal is None:
            principal = caller.principal(state, index, clocked.now)
            if caller.principal_is_timeless:
                cache.principals[key] = principal
        resource = asked.resource_policy
        owner = asked.owner or resource_account(asked.resource, caller.account)
        cached = cache.policy_sets.get((key, id(resource), owner))
        if cached is not None and cached[0] is resource:
            policies = cached[1]
        else:
            policies = policy_set_for(state, index, caller, resource, owner)
            cache.policy_sets[key, id(resource), owner] = (resource, policies)
            _bounded(cache)
        # the engine takes the owner's organization as the caller's unless told otherwise
        resource_owner = (
            None if owner == caller.account else index.organization(state, owner).owner(owner)
        )
        request = engine_request(
            principal,
            asked.action,
            asked.resource,
            clocked.environment,
            asked.context,
            caller.request_context,
            resource_owner,
        )
        return request, policies

    def decide(  # noqa: PLR0917 - one call's whole question
        self,
        state: IamState,
        caller: Caller | None,
        action: str,
        resource: str,
        context: dict[str, Any],
        resource_policy: CompiledPolicy | None,
        resource_owner: str,
        source_ip: str,
    ) -> Decision:
        """The engine's decision for an already authenticated ``caller`` (None: an unsigned,
        anonymous request, which only ``resource_policy`` can allow) on ``resource``, owned by
        ``resource_owner``, from ``state``: the AWS service gateway's question."""
        clocked = self._clocked(source_ip)
        if caller is None:
            owner = self._policies.organization(state, resource_owner).owner(resource_owner)
            request = engine_request(
                Principal.anonymous(), action, resource, clocked.environment, context, None, owner
            )
            policies = policy_set_for(state, self._policies, None, resource_policy, resource_owner)
            return evaluate(request, policies)
        cache = self._cache if self._cache.state is state else self._cache_for(state)
        asked = _Asked(action, resource, context, resource_policy, resource_owner)
        request, policies = self._caller_request(
            state, cache, (caller, caller.cache_key), asked, clocked
        )
        return evaluate(request, policies)

    def _matched(self, decision: Decision) -> list[dict[str, Any]]:
        """The matched statements as JSON objects, each built once (they are shared)."""
        dicts = self._matched_dicts
        found = []
        for match in decision.matched:
            as_dict = dicts.get(match)
            if as_dict is None:
                if len(dicts) > _CACHE_LIMIT:
                    dicts.clear()
                as_dict = dicts[match] = match.to_dict()
            found.append(as_dict)
        return found

    def _explained_at(
        self, state: IamState, query: AuthorizeQuery, clocked: _Clocked
    ) -> dict[str, Any]:
        """The decision at ``state`` with its reasons and facts (or the error), uncached."""
        cache = _StateCache(state)
        try:
            caller, key = self._caller(state, cache, query, clocked.now, None)
            request, policies = self._request(state, cache, caller, key, query, clocked)
        except AwsError as error:
            return {
                "version": state.version,
                "error": {"code": error.code, "message": error.message},
            }
        decision = evaluate(request, policies)
        facts = explain_facts(request, policies)
        return {
            "version": state.version,
            "decision": decision.decision.value,
            "decided_by": decision.decided_by.value,
            "matched": [m.to_dict() for m in decision.matched],
            "facts": None if facts is None else facts._asdict(),
        }

    def explained_at_head(self, query: AuthorizeQuery, source_ip: str) -> dict[str, Any]:
        """The explained decision at the newest version read (``explain`` on an error)."""
        return self._explained_at(self._replica.head_state(), query, self._clocked(source_ip))

    def _other_cache(self, state: IamState) -> _StateCache:
        """The cache for a state other than the current one: the head's is kept while the
        head stays the same (answers under a stream of writes ask it again and again); any
        other state's is thrown away after one answer."""
        if state is not self._replica.head_state():
            return _StateCache(state)
        if self._head_cache.state is not state:
            self._head_cache = _StateCache(state)
        else:
            _bounded(self._head_cache)
        return self._head_cache

    def _outcome_at(self, state: IamState, query: AuthorizeQuery, clocked: _Clocked) -> str:
        """The decision (or the error code) at another state than the current one: no key
        use noted, no decision observed."""
        cache = self._other_cache(state)
        try:
            caller, key = self._caller(state, cache, query, clocked.now, None)
            request, policies = self._request(state, cache, caller, key, query, clocked)
        except AwsError as error:
            return error.code
        return evaluate(request, policies).decision.value

    def verdict(
        self, state: IamState, query: AuthorizeQuery, outcome: str, clocked: _Clocked
    ) -> StaleVerdict:
        """Whether ``outcome``, the answer at ``state``, is only stale."""
        return stale_verdict(
            self._replica,
            state,
            outcome,
            lambda at: self._outcome_at(at, query, clocked),
            clocked.now,
        )

    def _with_verdict(
        self, state: IamState, query: AuthorizeQuery, answer: dict[str, Any], clocked: _Clocked
    ) -> dict[str, Any]:
        """Add the stale verdict: always to a denial; to an Allow only while a pending change
        concerns the caller's account (a revocation on its way), which keeps Allows cheap."""
        decision = answer["decision"]
        principal = str(answer["principal"])
        account = principal.split(":")[4] if principal.count(":") >= 5 else None
        if decision == "Allow" and not self._replica.pending_for(account):
            return answer
        verdict = self.verdict(state, query, decision, clocked)
        answer["stale"] = verdict.fields()
        self.stale_answers.note(verdict, account, principal, query.action)
        return answer

    def error_verdict(self, query: AuthorizeQuery, code: str, source_ip: str) -> StaleVerdict:
        """The verdict on an error answered now (an unknown key, say): would the head answer?"""
        return self._error_verdict(self._replica.state, query, code, self._clocked(source_ip))

    def _error_verdict(
        self, state: IamState, query: AuthorizeQuery, code: str, clocked: _Clocked
    ) -> StaleVerdict:
        verdict = self.verdict(state, query, code, clocked)
        named = query.principal
        if isinstance(named, AccessKeyPrincipal):
            account, shown = account_of_principal(named.model_dump()), named.access_key_id
        else:
            account, shown = account_of_principal(named), str(named)
        self.stale_answers.note(verdict, account, shown, query.action)
        return verdict

    def _answer(
        self,
        state: IamState,
        query: AuthorizeQuery,
        clocked: _Clocked,
        timing: AuthorizationTiming | None = None,
    ) -> dict[str, Any]:
        cache = self._cache if self._cache.state is state else self._cache_for(state)
        started = time.perf_counter() if timing is not None else 0.0
        caller, key = self._caller(state, cache, query, clocked.now, self._key_usage)
        if timing is not None:
            resolved = time.perf_counter()
            timing.caller = resolved - started
        request, policies = self._request(state, cache, caller, key, query, clocked)
        decision = evaluate(request, policies)
        identity = self._replica.identity
        answer: dict[str, Any] = {
            "decision": decision.decision.value,
            "decided_by": decision.decided_by.value,
            "matched": self._matched(decision) if decision.matched else [],
            "missing_context_keys": list(decision.missing_context_keys),
            "errors": list(decision.errors),
            "principal": caller.arn,
            "version": state.version,
            "region": identity.region,
            "az": identity.az,
            "lag_ms": clocked.lag_ms,
        }
        if query.account_details:
            sides = account_decisions(request, policies, decision)
            if sides is not None:
                answer["account_decisions"] = sides._asdict()
        if timing is not None:
            timing.policy = time.perf_counter() - resolved
        if query.explain:
            facts = explain_facts(request, policies)
            answer["facts"] = None if facts is None else facts._asdict()
            answer["head"] = self._explained_at(self._replica.head_state(), query, clocked)
        if self._on_decision is not None:
            self._on_decision(answer, query)
        if query.at_version is not None:
            return answer  # an answer from the past: "stale" compares the present only
        return self._with_verdict(state, query, answer, clocked)

    async def answer(
        self, query: AuthorizeQuery, source_ip: str, timing: AuthorizationTiming | None = None
    ) -> dict[str, Any]:
        """The decision for one query, with the version, region, AZ and lag it was made at;
        where its time went is recorded in ``timing`` when one is given."""
        state = await self._state_for(query)
        return self._answer(state, query, self._clocked(source_ip), timing)

    async def answer_or_error(self, query: AuthorizeQuery, source_ip: str) -> dict[str, Any]:
        """Like ``answer``, but an AWS error becomes an ``{"error": ...}`` item of the batch."""
        return (await self.answer_batch([query], source_ip))[0]

    async def answer_batch(
        self, queries: Sequence[AuthorizeQuery], source_ip: str
    ) -> list[dict[str, Any]]:
        """Every query's answer, in order, made at one clock reading; an AWS error becomes an
        ``{"error": ...}`` item of the batch."""
        clocked = self._clocked(source_ip)
        answers: list[dict[str, Any]] = []
        replica = self._replica
        for query in queries:
            try:
                # no await (and no task switch) unless the query asks for a minimum version
                timeless = query.min_version is None and query.at_version is None
                state = replica.state if timeless else await self._state_for(query)
                answers.append(self._answer(state, query, clocked))
            except StaleReplicaError:
                raise  # the batch names one token: it fails whole, as a 503
            except AwsError as error:
                failed: dict[str, Any] = {"error": {"code": error.code, "message": error.message}}
                if query.at_version is None:  # an answer from the past is not "stale"
                    verdict = self._error_verdict(replica.state, query, error.code, clocked)
                    failed["stale"] = verdict.fields()
                answers.append(failed)
        return answers
