"""A small synchronous HTTP client for the collectors (urllib3, pooled), with errors that never
carry a token: credentials go in headers, never in the URL, and the URL in an error has its
query string removed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import urllib3


class Unreachable(Exception):
    """No HTTP answer: connection refused, reset, timed out, bad TLS. Worth trying again later."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: Mapping[str, str]
    """Lower-case names."""
    body: bytes

    def json(self) -> Any:
        """The body as JSON; raises ``ValueError`` (one line) when it is not."""
        try:
            return json.loads(self.body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"answer is not JSON ({exc})") from None


def without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


class Http:
    def __init__(self, timeout_s: float = 30.0, user_agent: str = "flarewatch-collector") -> None:
        self._pool = urllib3.PoolManager(
            timeout=urllib3.Timeout(total=timeout_s), retries=False, headers={"User-Agent": user_agent}
        )

    def get(
        self,
        url: str,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """GET ``url`` (``params`` appended as its query); any status is returned, only a failure
        to get an answer raises :class:`Unreachable`."""
        try:
            answer = self._pool.request(
                "GET",
                url,
                fields={k: str(v) for k, v in (params or {}).items()},
                headers=dict(headers or {}),
                redirect=True,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise Unreachable(f"{without_query(url)}: {type(exc).__name__}") from None
        return Response(answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.data)

    def close(self) -> None:
        self._pool.clear()
