"""A Graph API client for one page token: GET with ``fields``, cursor pagination, the usage
headers, error classification and bounded retries.

The token travels only in the ``Authorization: Bearer`` header, never in a URL; no error, log line
or stats kind carries it (Graph's own error messages are scrubbed of it too).

Errors, by what the caller should do:

- :class:`TokenRejected` (code 190, any subcode; 102) and :class:`PermissionDenied` (code 10,
  200-299) are :class:`SourceStopped`: a person must renew the token or grant the permission.
  :class:`RequestRejected` (any other refusal, e.g. code 100 on the page itself, 368) is one too:
  asking again next minute would get the same answer.
- :class:`NotFound` (code 100 subcode 33, code 803, HTTP 404): the object is gone or unreadable;
  the caller decides (a deleted post ends its thread).
- :class:`Throttled` (codes 4, 17, 32, 613, 80001-80014, HTTP 429) and :class:`ServerError` (5xx,
  codes 1 and 2, ``is_transient``, an error status without a Graph error object: a proxy's), like
  a failure to get any answer (:class:`Unreachable`), are retried with bounded back-off (tenacity,
  sleeping with the context's ``sleep``); once the attempts are spent they are raised as
  :class:`Unreachable` subclasses: try at the next poll.

Usage headers (``X-App-Usage``, ``X-Page-Usage``, ``X-Business-Use-Case-Usage``): each gives
``call_count``, ``total_cputime`` and ``total_time`` as percentages of a quota, and the BUC header
(and sometimes the page one) ``estimated_time_to_regain_access`` in minutes. Above
``slowdown_percent`` the next request waits in proportion to how close the highest share is to 100
(up to :data:`MAX_SLOWDOWN_S`); at 100 it waits the estimated time to regain access, or
:data:`FULL_WAIT_S` when none is given. Every such wait is counted with ``stats.rate_limited``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from streams.collectors.http import Http, Response, Unreachable
from streams.collectors.source import SourceContext, SourceStopped

USAGE_HEADERS = ("x-app-usage", "x-page-usage", "x-business-use-case-usage")
MAX_SLOWDOWN_S = 30.0
"""The wait before a request when usage is just under 100%."""
FULL_WAIT_S = 300.0
"""The wait at 100% usage when Graph gives no estimated time to regain access."""
MAX_WAIT_S = 3600.0
"""No single rate-limit wait is longer than this."""
MAX_PAGES = 10_000
"""A read stops after this many pages, whatever the cursors say."""
THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
PERMISSION_CODES = frozenset({10, *range(200, 300)})
TOKEN_CODES = frozenset({102, 190})
TRANSIENT_CODES = frozenset({1, 2})


class GraphError(Exception):
    """A request Graph answered with an error. ``kind`` is the bounded stats label (``graph_613``,
    ``http_500``); ``str()`` is one line without the token."""

    def __init__(self, message: str, kind: str, code: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code


class NotFound(GraphError):
    """The object does not exist (any more) or this token cannot see it."""


class GraphUnavailable(Unreachable):
    """Graph kept failing or throttling after the bounded retries: try again at the next poll."""

    def __init__(self, message: str, kind: str, code: int | None = None, wait_s: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.wait_s = wait_s
        """The back-off Graph asked for (usage headers), if any."""


class Throttled(GraphUnavailable):
    pass


class ServerError(GraphUnavailable):
    pass


class GraphStopped(SourceStopped):
    def __init__(self, message: str, kind: str, code: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code


class TokenRejected(GraphStopped):
    pass


class PermissionDenied(GraphStopped):
    pass


class RequestRejected(GraphStopped):
    pass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 5
    """Tries per request, the first included."""
    backoff_s: float = 2.0
    """First wait after a 5xx or no answer; doubles up to ``backoff_max_s``."""
    backoff_max_s: float = 60.0
    throttle_s: float = 60.0
    """First wait after a throttling error without an estimate; doubles up to ``throttle_max_s``."""
    throttle_max_s: float = 900.0


@dataclass(frozen=True, slots=True)
class Usage:
    percent: float = 0.0
    """The highest share of any quota in the usage headers."""
    regain_s: float = 0.0
    """The longest ``estimated_time_to_regain_access``, in seconds."""


def usage_of(headers: Mapping[str, str]) -> Usage:
    """The usage headers (lower-case names) read together; a malformed header counts as absent."""
    shares: list[float] = []
    regain: list[float] = []
    for name in USAGE_HEADERS:
        try:
            value = json.loads(headers.get(name) or "null")
        except ValueError:
            continue
        for entry in _usage_entries(value):
            shares += [float(v) for k, v in entry.items() if k in _SHARES and _number(v)]
            minutes = entry.get("estimated_time_to_regain_access")
            if isinstance(minutes, int | float) and _number(minutes):
                regain.append(float(minutes) * 60.0)
    return Usage(max(shares, default=0.0), max(regain, default=0.0))


_SHARES = ("call_count", "total_cputime", "total_time")


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _usage_entries(value: Any) -> Iterator[Mapping[str, Any]]:
    """App and page usage are one object; BUC usage maps business ids to lists of objects."""
    if not isinstance(value, dict):
        return
    if any(k in value for k in _SHARES):
        yield value
        return
    for entries in value.values():
        for entry in entries if isinstance(entries, list) else [entries]:
            if isinstance(entry, dict):
                yield entry


def usage_delay(usage: Usage, slowdown_percent: float) -> float:
    """Seconds to wait before the next request, given the last answer's usage."""
    if usage.regain_s > 0:
        return min(usage.regain_s, MAX_WAIT_S)
    if usage.percent >= 100:
        return FULL_WAIT_S
    if usage.percent > slowdown_percent:
        return MAX_SLOWDOWN_S * (usage.percent - slowdown_percent) / (100.0 - slowdown_percent)
    return 0.0


@dataclass(frozen=True, slots=True)
class GraphPage:
    data: tuple[Mapping[str, Any], ...]
    next_params: Mapping[str, str] | None
    """Query parameters that read the next page; None on the last page."""


def next_params(body: Mapping[str, Any]) -> dict[str, str] | None:
    """Where the next page starts, when ``paging.next`` says there is one: its
    ``paging.cursors.after``, or for time-based paging (no cursors) the query of ``paging.next``
    itself minus any ``access_token`` (the URL is never requested as given: its host and path are
    not trusted). None on the last page: no ``next``, or no data."""
    paging = body.get("paging")
    if not isinstance(paging, dict) or not body.get("data"):
        return None
    following = paging.get("next")
    cursors = paging.get("cursors")
    after = cursors.get("after") if isinstance(cursors, dict) else None
    if not isinstance(following, str) or not following:
        return None
    if isinstance(after, str) and after:
        return {"after": after}
    params = dict(parse_qsl(urlsplit(following).query))
    params.pop("access_token", None)
    return params or None


class GraphClient:
    """One page token's requests. Not thread-safe; one poll at a time. ``get`` and ``pages`` may
    block for as long as the rate limits and the retries ask (sleeping with ``context.sleep``)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        name: str,
        http: Http,
        slowdown_percent: float = 75.0,
        policy: RetryPolicy | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._token = token
        self._name = name
        self._http = http
        self._slowdown = slowdown_percent
        self._policy = policy or RetryPolicy()
        self._resume_at: datetime | None = None

    def __repr__(self) -> str:
        return f"GraphClient({self._base!r}, name={self._name!r})"

    def pages(
        self, path: str, params: Mapping[str, str | int], context: SourceContext
    ) -> Iterator[GraphPage]:
        """The pages of an edge, following the cursors; stops at the last page, an empty page or a
        cursor seen before."""
        query = dict(params)
        seen: set[tuple[tuple[str, str], ...]] = set()
        for _ in range(MAX_PAGES):
            body = self.get(path, query, context)
            data = body.get("data")
            items = tuple(i for i in data if isinstance(i, dict)) if isinstance(data, list) else ()
            following = next_params(body)
            key = tuple(sorted(following.items())) if following else ()
            if following is not None and key in seen:
                following = None
            seen.add(key)
            yield GraphPage(items, following)
            if following is None:
                return
            query = {**dict(params), **following}

    def get(self, path: str, params: Mapping[str, str | int], context: SourceContext) -> Mapping[str, Any]:
        """One object or one page of an edge (``path`` below the versioned base URL)."""
        retrying = Retrying(
            retry=retry_if_exception_type(Unreachable),
            stop=stop_after_attempt(self._policy.attempts),
            wait=lambda state: self._backoff(state, context),
            sleep=context.sleep,
            reraise=True,
        )
        return retrying(self._attempt, path, params, context)

    def _attempt(
        self, path: str, params: Mapping[str, str | int], context: SourceContext
    ) -> Mapping[str, Any]:
        self._wait_for_quota(context)
        url = f"{self._base}/{path.lstrip('/')}"
        try:
            response = self._http.get(url, params, {"Authorization": f"Bearer {self._token}"})
        except Unreachable as exc:
            context.stats.error("unreachable")
            raise Unreachable(f"{self._name}: {self._scrub(str(exc))}") from None
        usage = usage_of(response.headers)
        delay = usage_delay(usage, self._slowdown)
        if delay > 0:
            self._resume_at = context.now() + timedelta(seconds=delay)
        if response.status == 200:
            body = self._json(response)
            if body is not None:
                return body
        error = self._error(response, path, usage)
        context.stats.error(error.kind)
        raise error

    def _wait_for_quota(self, context: SourceContext) -> None:
        if self._resume_at is None:
            return
        wait = (self._resume_at - context.now()).total_seconds()
        self._resume_at = None
        if wait > 0:
            context.stats.rate_limited(wait)
            context.sleep(wait)

    def _backoff(self, state: RetryCallState, context: SourceContext) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        step = 2.0 ** (state.attempt_number - 1)
        policy = self._policy
        if isinstance(exc, Throttled):
            wait = float(exc.wait_s or min(policy.throttle_s * step, policy.throttle_max_s))
            self._resume_at = None
            context.stats.rate_limited(wait)
            return wait
        return float(min(policy.backoff_s * step, policy.backoff_max_s))

    def _json(self, response: Response) -> Mapping[str, Any] | None:
        try:
            body = response.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _error(
        self, response: Response, path: str, usage: Usage
    ) -> GraphError | GraphUnavailable | GraphStopped:
        body = self._json(response) or {}
        found = body.get("error")
        error: Mapping[str, Any] = found if isinstance(found, dict) else {}
        code = _int(error.get("code"))
        subcode = _int(error.get("error_subcode"))
        text = self._scrub(str(error.get("message") or f"HTTP {response.status}"))
        kind = f"graph_{code}" if code is not None else f"http_{response.status}"
        where = f"{self._name}: GET {path.split('?')[0]}"
        numbers = f"code {code}" + (f", subcode {subcode}" if subcode is not None else "")
        if code in TOKEN_CODES:
            message = f"{self._name}: page token rejected ({numbers}): renew it ({text})"
            return TokenRejected(message, kind, code)
        if code in PERMISSION_CODES:
            return PermissionDenied(
                f"{self._name}: the page token lacks a permission ({numbers}): {text}", kind, code
            )
        if code in THROTTLE_CODES or response.status == 429:
            wait = min(usage.regain_s, MAX_WAIT_S) or None
            numbers = numbers if code is not None else "HTTP 429"
            return Throttled(f"{where}: throttled ({numbers}): {text}", kind, code, wait)
        if (code == 100 and subcode == 33) or code == 803 or response.status == 404:
            numbers = numbers if code is not None else "HTTP 404"
            return NotFound(f"{where}: not found ({numbers}): {text}", kind, code)
        if response.status == 200:
            return ServerError(f"{where}: the answer is not a JSON object", "bad_answer")
        if (
            code is None
            or response.status >= 500
            or code in TRANSIENT_CODES
            or error.get("is_transient") is True
        ):
            # No Graph error object (a proxy, a load balancer), or Graph says it is passing.
            return ServerError(f"{where}: HTTP {response.status}: {text}", kind, code)
        return RequestRejected(f"{where}: Graph refused the request ({numbers}): {text}", kind, code)

    def _scrub(self, text: str) -> str:
        """One line, at most 300 characters, without the token."""
        line = " ".join(text.replace(self._token, "***").split())
        return line if len(line) <= 300 else line[:299] + "…"


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
