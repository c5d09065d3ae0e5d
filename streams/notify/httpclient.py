"""One HTTP POST for the webhook and PagerDuty notifiers (a session per send: pages are rare, and
nothing is left open between them)."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp

from streams.notify.notifier import Retryable, SendResult, check_http


async def post(url: str, body: bytes, headers: Mapping[str, str], timeout_s: float) -> SendResult:
    """POST ``body``; the answer is classified by :func:`check_http`. A connection failure or a
    timeout is :class:`Retryable` (the reason never contains the URL, which may hold a secret)."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session,
            session.post(url, data=body, headers=dict(headers)) as response,
        ):
            text = await response.text(errors="replace")
            return check_http(response.status, response.headers, text)
    except TimeoutError:
        raise Retryable(f"no answer within {timeout_s:g}s") from None
    except aiohttp.ClientError as exc:
        raise Retryable(f"{type(exc).__name__}: {exc}") from None
