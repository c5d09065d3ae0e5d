"""Loads saved objects into Kibana through its saved objects import API
(``POST [/s/<space>]/api/saved_objects/_import?overwrite=true``, multipart ``file``), with urllib3."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import urllib3

SPACE = re.compile(r"^[a-z0-9_-]+$")
"""What Kibana accepts as a space id."""


class KibanaImportError(Exception):
    """The import did not happen or did not succeed; the message is one line."""


@dataclass(frozen=True, slots=True)
class KibanaAuth:
    """An API key wins over a user; neither: no ``Authorization`` header."""

    api_key: str | None = None
    username: str | None = None
    password: str | None = None

    def headers(self) -> dict[str, str]:
        if self.api_key:
            return {"Authorization": f"ApiKey {self.api_key}"}
        if self.username:
            return dict(urllib3.make_headers(basic_auth=f"{self.username}:{self.password or ''}"))
        return {}


@dataclass(frozen=True, slots=True)
class ImportResult:
    success_count: int
    errors: tuple[str, ...]
    """One ``type/id: error type`` per object that failed."""

    def summary(self) -> str:
        failed = f"; errors: {', '.join(self.errors)}" if self.errors else ""
        return f"imported {self.success_count} saved objects{failed}"


def import_url(kibana_url: str, space: str | None = None) -> str:
    """Raises ValueError for a space id Kibana would not accept."""
    if space is not None and not SPACE.match(space):
        raise ValueError(f"{space!r} is not a Kibana space id (lower-case letters, digits, _ and -)")
    prefix = f"/s/{space}" if space else ""
    return f"{kibana_url.rstrip('/')}{prefix}/api/saved_objects/_import?overwrite=true"


def import_objects(
    ndjson: str, kibana_url: str, auth: KibanaAuth, space: str | None = None, timeout_s: float = 30.0
) -> ImportResult:
    """Blocks until Kibana answers. Raises :class:`KibanaImportError` on a connection error, an
    HTTP error, or an answer with ``success: false``."""
    url = import_url(kibana_url, space)
    headers = {"kbn-xsrf": "true", **auth.headers()}
    fields = {"file": ("export.ndjson", ndjson.encode(), "application/ndjson")}
    retries = urllib3.Retry(connect=2, read=0, redirect=0, status=0, backoff_factor=0.2)
    try:
        with urllib3.PoolManager(retries=retries, timeout=timeout_s) as pool:
            response = pool.request("POST", url, fields=fields, headers=headers)
    except urllib3.exceptions.HTTPError as exc:
        raise KibanaImportError(f"cannot reach Kibana at {kibana_url}: {_reason(exc)}") from None
    return _result(response.status, response.data)


def _reason(exc: urllib3.exceptions.HTTPError) -> str:
    reason = getattr(exc, "reason", None) or exc
    return " ".join(str(reason).split())


def _result(status: int, body: bytes) -> ImportResult:
    answer = _json(body)
    if not 200 <= status < 300:
        message = answer.get("message") if isinstance(answer, dict) else None
        detail = message or body.decode(errors="replace")[:200]
        raise KibanaImportError(" ".join(f"Kibana answered HTTP {status}: {detail}".split()))
    if not isinstance(answer, dict):
        raise KibanaImportError(f"Kibana answered HTTP {status} with no JSON object")
    errors = tuple(_error(e) for e in answer.get("errors") or ())
    if answer.get("success") is not True:
        raise KibanaImportError(
            f"Kibana did not import the objects: {', '.join(errors) or 'no reason given'}"
        )
    return ImportResult(int(answer.get("successCount", 0)), errors)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _error(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    detail = error.get("error")
    kind = detail.get("type", "error") if isinstance(detail, dict) else "error"
    return f"{error.get('type', '?')}/{error.get('id', '?')}: {kind}"
